/**
 * `libvirt-admin-gateway hash-token [--role ROLE] [--name NAME] [--generate]`: prints a tokens-file line.
 *
 * The token is read from stdin (one trailing newline is dropped, so `echo "$TOKEN" | ...` and
 * `printf %s "$TOKEN" | ...` agree), never from the command line where `ps` and shell history would see it.
 * The same line can be made without the gateway: `printf '%s %s %s\n' operator "$(printf %s "$TOKEN" |
 * sha256sum | cut -d' ' -f1)" ci`.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { isRole, Role } from './roles.js';
import { MIN_TOKEN_BITS, tokenStrengthBits } from './token-strength.js';
import { tokenLine } from './tokens.js';

/** Usage text of the hash-token command. */
export const HASH_TOKEN_USAGE = `Usage: libvirt-admin-gateway hash-token [--role viewer|operator|admin] [--name NAME] [--generate]

Reads a bearer token on stdin and prints the line to add to the tokens file:
  <role> <sha256 of the token> [name]
--role      the token's role (default: viewer)
--name      a name for logs and audit records (default: derived from the hash)
--generate  make a new random token (256 bits) instead of reading one; the token is printed on stderr, once

A token read on stdin must have at least ${MIN_TOKEN_BITS} bits, counted as length x log2(alphabet): e.g. 32 hex
digits (openssl rand -hex 16) or 22 base64url characters.
`;

/** Where the command reads and writes (process streams in the CLI, buffers in tests). */
export interface HashTokenIo {
  readStdin(): Promise<string>;
  stdout(text: string): void;
  stderr(text: string): void;
}

/** Runs the command; returns the exit code (0 ok, 2 usage error). */
export async function runHashToken(argv: readonly string[], io: HashTokenIo): Promise<number> {
  let values: { role?: string; name?: string; generate?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        role: { type: 'string' },
        name: { type: 'string' },
        generate: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    io.stderr(`${(err as Error).message}\n\n${HASH_TOKEN_USAGE}`);
    return 2;
  }
  if (values.help === true) {
    io.stdout(HASH_TOKEN_USAGE);
    return 0;
  }
  const role = values.role ?? Role.VIEWER;
  if (!isRole(role)) {
    io.stderr(`unknown role '${role}' (expected viewer, operator or admin)\n`);
    return 2;
  }
  if (values.name !== undefined && !/^\S+$/.test(values.name)) {
    io.stderr('--name must be one word without blanks\n');
    return 2;
  }
  let token: string;
  if (values.generate === true) {
    token = randomBytes(32).toString('base64url');
    io.stderr(`token (shown once): ${token}\n`);
  } else {
    token = (await io.readStdin()).replace(/\r?\n$/, '');
    if (token === '') {
      io.stderr('no token on stdin\n');
      return 2;
    }
    // An Authorization header can only carry visible ASCII (RFC 6750 b64token is narrower still).
    if (!/^[\x21-\x7e]+$/.test(token)) {
      io.stderr('the token must be visible ASCII without blanks (it travels in an HTTP header)\n');
      return 2;
    }
    const bits = tokenStrengthBits(token);
    if (bits < MIN_TOKEN_BITS) {
      io.stderr(
        `the token is too weak: ${Math.floor(bits)} bits (length ${token.length}), at least ${MIN_TOKEN_BITS} are needed. ` +
          'Use 32 hex digits or more (openssl rand -hex 32), or let hash-token --generate make one\n',
      );
      return 2;
    }
  }
  io.stdout(`${tokenLine(role, token, values.name)}\n`);
  return 0;
}

/** Reads all of process.stdin as UTF-8. */
export async function readProcessStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
