/**
 * The local token: without configured credentials, TCP callers (loopback only) present a random 256-bit token
 * the gateway makes at every start and keeps in `<runtime folder>/local-token`, readable by the gateway's own
 * user only. Reading that file is the proof of being that user (or root), as opening the admin socket is for
 * libvirt; nothing about the caller is guessed from ports or addresses.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { constants } from 'node:fs';
import { readFile, unlink } from 'node:fs/promises';
import type { RuntimeDir } from './runtime-dir.js';

/** The token file's name in the runtime folder. */
export const LOCAL_TOKEN_FILE = 'local-token';
/** Bytes of randomness in a local token (written as 64 hex digits). */
export const LOCAL_TOKEN_BYTES = 32;

/** A local token in force: where it is kept, and a constant-time check of a presented token. */
export class LocalToken {
  /** The file the token is written to (shown in the banner and in 401 answers). */
  readonly path: string;
  private readonly hash: Buffer;
  private token: string | undefined;
  private written = false;

  private constructor(
    private readonly dir: RuntimeDir,
    token: string,
  ) {
    this.path = dir.file(LOCAL_TOKEN_FILE);
    this.token = token;
    this.hash = sha256(token);
  }

  /** Makes a new random token for `dir`; it is accepted at once, and written to the file by write(). */
  static generate(dir: RuntimeDir): LocalToken {
    return new LocalToken(dir, randomBytes(LOCAL_TOKEN_BYTES).toString('hex'));
  }

  /**
   * Writes the token to its file (mode 0600 from the first instant, never through a symbolic link: see
   * RuntimeDir.writePrivateFile). Called once the gateway listens, so that a start that fails leaves the file
   * of a gateway already running there alone. The token itself is not kept in memory afterwards.
   */
  async write(): Promise<void> {
    if (this.token === undefined) throw new Error('the local token was already written');
    await this.dir.writePrivateFile(LOCAL_TOKEN_FILE, `${this.token}\n`);
    this.token = undefined;
    this.written = true;
  }

  /** Removes the token file, if it still holds this token (a later gateway may have written its own). */
  async remove(): Promise<void> {
    if (!this.written) return;
    this.written = false;
    const content = await readFile(this.path, {
      encoding: 'utf8',
      flag: constants.O_RDONLY | constants.O_NOFOLLOW,
    }).catch(() => '');
    if (this.verify(content.trim())) await unlink(this.path).catch(() => undefined);
  }

  /** True when `token` is this token (compared as SHA-256 digests, in constant time). */
  verify(token: string): boolean {
    return timingSafeEqual(this.hash, sha256(token));
  }
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
