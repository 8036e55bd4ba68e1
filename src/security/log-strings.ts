/**
 * Reads a log outputs or filters string the way the daemon will act on it, and refuses (400) every string the
 * gateway cannot read exactly so, before anything is sent.
 *
 * What the daemon acts on: the gateway sends the string as UTF-8 in an XDR string; libvirtd hands it to
 * virLogSetOutputs/virLogSetFilters as a C string (src/admin/admin_server.c), so it ends at the first NUL byte,
 * and then splits it at spaces and ':' (src/util/virlog.c). Hence the rules here:
 * - no NUL: `1:file:/x<NUL>:y` would reach the parser as `1:file:/x`;
 * - no other control character (C0, DEL, C1) and no Unicode line or paragraph separator: libvirt does not
 *   separate at them, writes filters and outputs verbatim into its debug log (a newline in a filter makes lines
 *   of the attacker's choosing in a root-owned file), and a tab before a level is read as blank by strtoul;
 * - no unpaired UTF-16 surrogate: it cannot be sent as UTF-8 (it would arrive as U+FFFD, another name);
 * - every token must parse exactly as libvirt parses it (libvirt's own error text, which names the token);
 * - nothing libvirt would silently drop or read differently: a filter with more than one ':' (libvirt ignores
 *   the rest), an outputs string of blanks only (libvirt then logs nowhere and fails every later read), a file
 *   path the kernel cannot take (longer than PATH_MAX, or a component longer than NAME_MAX).
 * Other non-ASCII text is fine: libvirt treats it as bytes, and paths in UTF-8 are legal.
 */
import { parseFilter, type VirLogFilter } from '../admin/logging/filters.js';
import { splitLogList } from '../admin/logging/list.js';
import { addOutput, LogDestination, parseOutput, type VirLogOutput } from '../admin/logging/outputs.js';
import { ErrorCode, LocalError } from '../rpc/errors.js';

/** Linux limits a file path must fit (linux/limits.h), in bytes. */
export const PathLimits = {
  /** PATH_MAX: a path with its terminating NUL. */
  PATH_MAX: 4096,
  /** NAME_MAX: one path component. */
  NAME_MAX: 255,
} as const;

/** Which list a string is: outputs or filters (used in messages). */
export type LogList = 'output' | 'filter';

/** A log outputs or filters string the gateway refuses to send (400); `token` is the part it names. */
export class LogStringRefusedError extends LocalError {
  override readonly name = 'LogStringRefusedError';
  constructor(
    message: string,
    /** The token (or, for a whole-string problem, the string) refused, exactly as given. */
    readonly token: string,
  ) {
    super(ErrorCode.INVALID_ARGUMENT, message);
  }
}

/** A character no outputs or filters string may hold, and where it is. */
export interface ForbiddenCharacter {
  /** Index in the string (UTF-16 units, as JavaScript counts). */
  index: number;
  /** `U+0000`, `U+000A`, ... */
  codePoint: string;
  /** Why it is refused, in a few words. */
  reason: string;
}

// Short names of the characters an attacker reaches for first, so the message says what was found.
const NAMES: Record<number, string> = {
  0x00: 'NUL',
  0x09: 'TAB',
  0x0a: 'LF',
  0x0b: 'VT',
  0x0c: 'FF',
  0x0d: 'CR',
  0x1b: 'ESC',
  0x7f: 'DEL',
  0x85: 'NEL',
  0x2028: 'LINE SEPARATOR',
  0x2029: 'PARAGRAPH SEPARATOR',
};

/** The first character of `text` that no outputs or filters string may hold, or null. */
export function findForbiddenCharacter(text: string): ForbiddenCharacter | null {
  let index = 0;
  for (const char of text) {
    const cp = char.codePointAt(0) as number;
    const reason = forbiddenBecause(cp);
    if (reason !== null) {
      const hex = cp.toString(16).toUpperCase().padStart(4, '0');
      const name = NAMES[cp];
      return { index, codePoint: `U+${hex}`, reason: name === undefined ? reason : `${name}, ${reason}` };
    }
    index += char.length;
  }
  return null;
}

function forbiddenBecause(cp: number): string | null {
  if (cp === 0) return 'where the daemon would stop reading';
  if (cp <= 0x1f || (cp >= 0x7f && cp <= 0x9f)) return 'a control character';
  if (cp === 0x2028 || cp === 0x2029) return 'a line break';
  if (cp >= 0xd800 && cp <= 0xdfff) return 'half of a surrogate pair, not sendable as UTF-8';
  return null;
}

/** Outputs as the daemon will read them: every token in order, and the list it will then hold. */
export interface ReadOutputs {
  /** Each token parsed, in order, duplicates included (libvirtd opens each file output while parsing). */
  tokens: VirLogOutput[];
  /** The outputs the daemon will hold (a later identical output replaces an earlier one); null: its default. */
  outputs: VirLogOutput[] | null;
}

/** Reads an outputs string as libvirtd will; throws LogStringRefusedError or LoggingSyntaxError (both 400). */
export function readOutputs(text: string): ReadOutputs {
  refuseForbiddenCharacters(text, 'output');
  if (text === '') return { tokens: [], outputs: null };
  // Blanks only are not the default output: libvirtd drops every output and logs nowhere, as virt-admin lets it
  // (and the gateway reads its failing GET of zero outputs as an empty list: src/resources/logging.ts).
  const tokens = splitLogList(text).map((token) => parseOutput(token));
  let outputs: VirLogOutput[] = [];
  for (const output of tokens) {
    if (output.destination === LogDestination.FILE) refuseLongPath(output);
    outputs = addOutput(outputs, output);
  }
  return { tokens, outputs };
}

/** Reads a filters string as libvirtd will (""/blanks: no filter); throws LogStringRefusedError or LoggingSyntaxError. */
export function readFilters(text: string): VirLogFilter[] {
  refuseForbiddenCharacters(text, 'filter');
  return splitLogList(text).map((token) => {
    const filter = parseFilter(token);
    // virLogParseFilter reads the first two ':'-separated fields and drops the rest without a word.
    const extra = token.split(':').slice(2);
    if (extra.length > 0) {
      throw new LogStringRefusedError(
        `Log filter ${JSON.stringify(token)} refused: libvirt would ignore ${JSON.stringify(`:${extra.join(':')}`)} ` +
          "after the match (a match cannot hold ':')",
        token,
      );
    }
    return filter;
  });
}

function refuseForbiddenCharacters(text: string, list: LogList): void {
  const found = findForbiddenCharacter(text);
  if (found === null) return;
  // Name the space-separated token that holds the character (the whole string if it is a space-free one).
  const start = text.lastIndexOf(' ', found.index) + 1;
  const end = text.indexOf(' ', found.index);
  const token = text.slice(start, end < 0 ? text.length : end);
  throw new LogStringRefusedError(
    `Log ${list} ${JSON.stringify(token)} refused: it contains ${found.codePoint} (${found.reason}); ` +
      'control characters, line breaks and unpaired surrogates are not allowed in log outputs and filters',
    token,
  );
}

// The kernel refuses these paths anyway (ENAMETOOLONG): refusing them here keeps the gateway's reading and the
// daemon's the same, and answers before the daemon is asked.
function refuseLongPath(output: VirLogOutput): void {
  const path = output.path ?? '';
  const refuse = (why: string): never => {
    throw new LogStringRefusedError(`Log output ${JSON.stringify(output.raw)} refused: ${why}`, output.raw);
  };
  if (Buffer.byteLength(path, 'utf8') >= PathLimits.PATH_MAX) {
    refuse(`the path is longer than ${PathLimits.PATH_MAX - 1} bytes (PATH_MAX)`);
  }
  for (const component of path.split('/')) {
    if (Buffer.byteLength(component, 'utf8') > PathLimits.NAME_MAX) {
      refuse(`the path has a component longer than ${PathLimits.NAME_MAX} bytes (NAME_MAX)`);
    }
  }
}
