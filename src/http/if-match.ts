/**
 * If-Match (RFC 9110 §13.1.1) against the strong ETags of src/resources/etag.ts. The admin protocol has no
 * compare-and-set, so the change runner reads the current state under the resource's lock, compares, and only
 * then writes.
 */
import { HttpProblemCode } from './problems.js';

/** Error raised when If-Match does not match the resource's current ETag; nothing was changed. */
export class PreconditionFailedError extends Error {
  override readonly name = 'PreconditionFailedError';
  readonly code = HttpProblemCode.PRECONDITION_FAILED;
  readonly statusCode = 412;

  constructor(
    /** The ETag the resource has now, so the client can re-read and retry. */
    readonly currentEtag: string,
  ) {
    super(`If-Match does not match the current ETag ${currentEtag}: the resource was changed meanwhile`);
  }
}

/** One element of a list: optional `W/` and a quoted opaque tag (which may hold commas), or nothing (RFC 9110 §5.6.1). */
const LIST_ELEMENT = /[ \t]*(?:(W\/)?("[\x21\x23-\x7e\x80-\xff]*")[ \t]*)?(?:,|$)/y;

/**
 * True when an If-Match header lets the request go ahead (RFC 9110 §13.1.1): no header, `*` (the resource
 * always exists here), or a list holding the current ETag by strong comparison. Weak tags never match, and a
 * header that is not a valid list matches nothing.
 */
export function ifMatchPasses(header: string | string[] | undefined, current: string): boolean {
  if (header === undefined) return true;
  const value = (Array.isArray(header) ? header.join(',') : header).trim();
  if (value === '*') return true;
  let found = false;
  LIST_ELEMENT.lastIndex = 0;
  while (LIST_ELEMENT.lastIndex < value.length) {
    const at = LIST_ELEMENT.lastIndex;
    const m = LIST_ELEMENT.exec(value);
    if (!m || LIST_ELEMENT.lastIndex === at) return false;
    if (!m[1] && m[2] === current) found = true;
  }
  return found;
}
