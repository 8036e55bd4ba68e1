/**
 * Bearer tokens: a tokens file of `<role> <sha256-hex> [name]` lines, checked in constant time.
 *
 * The file holds only SHA-256 digests, so reading it (or a backup of it) gives nobody a token. A presented token
 * is hashed and compared with every entry through timingSafeEqual, without stopping at the first match, so the
 * time taken does not tell which entry (or how many bytes of one) matched. Tokens must be high-entropy random
 * strings (e.g. `openssl rand -hex 32`): an unsalted SHA-256 of a guessable password would be guessable too.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { ReloadableFile } from './reloadable.js';
import { SecurityErrorCode } from './errors.js';
import { isRole, type Role } from './roles.js';

/** One entry of the tokens file. */
export interface TokenEntry {
  role: Role;
  /** The SHA-256 digest of the token (32 bytes). */
  hash: Buffer;
  /** The name given on the line, or `token-<first 8 hex digits>`; used in logs and audit records. */
  name: string;
  /** Line number in the file (for messages). */
  line: number;
}

/** A tokens file line is invalid; `message` names the file and the line. */
export class TokensFileError extends Error {
  override readonly name = 'TokensFileError';
  readonly code = SecurityErrorCode.TOKENS_FILE;
}

// A token longer than any sane bearer token is refused before hashing (headers are capped anyway).
const MAX_TOKEN_LENGTH = 4096;
const HEX_DIGEST = /^[0-9a-fA-F]{64}$/;

/** The SHA-256 digest of a token's UTF-8 bytes, as lower-case hex (what the tokens file stores). */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** One tokens-file line for `token`: `<role> <sha256-hex>[ <name>]`. */
export function tokenLine(role: Role, token: string, name?: string): string {
  const tail = name === undefined || name === '' ? '' : ` ${name}`;
  return `${role} ${hashToken(token)}${tail}`;
}

/** Parses the text of a tokens file; throws TokensFileError naming the first bad line. */
export function parseTokensFile(text: string, source = 'tokens file'): TokenEntry[] {
  const entries: TokenEntry[] = [];
  const seen = new Map<string, number>();
  text.split('\n').forEach((rawLine, index) => {
    const line = index + 1;
    const content = rawLine.trim();
    if (content === '' || content.startsWith('#')) return;
    const [role = '', digest = '', ...rest] = content.split(/\s+/);
    const where = `${source} line ${line}`;
    if (!isRole(role)) {
      throw new TokensFileError(`${where}: unknown role '${role}' (expected viewer, operator or admin)`);
    }
    if (!HEX_DIGEST.test(digest)) {
      // Never echo the field: it may be a plaintext token pasted by mistake.
      throw new TokensFileError(
        `${where}: the second field must be the SHA-256 of the token as 64 hex digits ` +
          `(printf %s TOKEN | sha256sum), not the token itself`,
      );
    }
    const hex = digest.toLowerCase();
    const earlier = seen.get(hex);
    if (earlier !== undefined) throw new TokensFileError(`${where}: the same token hash is already on line ${earlier}`);
    seen.set(hex, line);
    const name = rest.join(' ') || `token-${hex.slice(0, 8)}`;
    entries.push({ role, hash: Buffer.from(hex, 'hex'), name, line });
  });
  return entries;
}

/** Finds the entry of a presented token, comparing against every entry in constant time; null when none. */
export function findToken(entries: readonly TokenEntry[], token: string): TokenEntry | null {
  if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) return null;
  const presented = createHash('sha256').update(token, 'utf8').digest();
  let found: TokenEntry | null = null;
  for (const entry of entries) {
    // No early exit: every entry is compared whatever the outcome of the others.
    const equal = timingSafeEqual(entry.hash, presented);
    if (equal && found === null) found = entry;
  }
  return found;
}

/** The token set loaded from a tokens file; reload() (on SIGHUP) keeps the old set if the new file is bad. */
export class TokenStore extends ReloadableFile<readonly TokenEntry[]> {
  /** Reads and parses the file; throws ConfigFileError (the gateway must not start with a bad file). */
  static async load(path: string): Promise<TokenStore> {
    return new TokenStore(
      path,
      'tokens file',
      parseTokensFile,
      await ReloadableFile.read(path, 'tokens file', parseTokensFile),
    );
  }

  /** A store from entries already parsed (tests). */
  static fromEntries(entries: readonly TokenEntry[], path = '(memory)'): TokenStore {
    return new TokenStore(path, 'tokens file', parseTokensFile, entries);
  }

  /** Number of tokens in force. */
  get size(): number {
    return this.current.length;
  }

  /** The entry of a presented token, or null. */
  verify(token: string): TokenEntry | null {
    return findToken(this.current, token);
  }
}
