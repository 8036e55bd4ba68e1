/** Raised when XDR data is truncated, exceeds a protocol bound or is otherwise malformed. */
export class XdrError extends Error {
  override readonly name = 'XdrError';
}
