/**
 * Long-lived answers (the /events stream) are authorized once, when they open; a token removed or a role lowered
 * afterwards would not reach them. Every such stream is registered here with a check that re-runs its caller's
 * authentication and authorization against the credentials now in force, and after every reload of the
 * credential files the streams whose check fails are closed: a token no longer in the tokens file, a role now
 * below what the route needs, a certificate whose CN no longer has a role.
 */

/** A stream that stays open only while its caller's credentials hold. */
export interface RevocableStream {
  /** Who holds it, for the log (e.g. "token 'grafana'"). */
  readonly holder: string;
  /** True while the caller would still be admitted (a throw counts as false). */
  stillAllowed(): boolean;
  /** Ends the stream. */
  close(): void;
}

/** Where a revocation is logged (pino's signature). */
export interface RevocationLogger {
  info(obj: object, msg: string): void;
}

/** The streams open now. */
export class OpenStreams {
  private readonly streams = new Set<RevocableStream>();

  /** Number of streams registered. */
  get size(): number {
    return this.streams.size;
  }

  /** Registers a stream; returns the function that unregisters it (call it when the stream ends). */
  add(stream: RevocableStream): () => void {
    this.streams.add(stream);
    return () => void this.streams.delete(stream);
  }

  /** Closes (and unregisters) every stream whose caller is no longer admitted; returns how many. */
  recheck(log?: RevocationLogger): number {
    let closed = 0;
    for (const stream of [...this.streams]) {
      let allowed: boolean;
      try {
        allowed = stream.stillAllowed();
      } catch {
        allowed = false;
      }
      if (allowed) continue;
      this.streams.delete(stream);
      closed += 1;
      log?.info({ holder: stream.holder }, `closing a stream of ${stream.holder}: its credentials no longer allow it`);
      stream.close();
    }
    return closed;
  }
}
