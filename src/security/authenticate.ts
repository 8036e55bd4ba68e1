/**
 * Who is calling: a bearer token, a verified client certificate, or (when no credentials are configured at all)
 * the anonymous caller of a loopback-only gateway, who must then run as the gateway's own user or root.
 *
 * Precedence: a request that sends an Authorization header is judged by it alone (a bad token is 401 even over a
 * connection with a good certificate), otherwise the client certificate counts.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { peerCertificateStatus, type ClientRoles } from './client-certs.js';
import { AuthenticationError, ForbiddenError, Role, roleAllows } from './roles.js';
import { LoopbackPeers, type TcpEnds } from './loopback-peer.js';
import type { TokenStore } from './tokens.js';

/** The caller of one request. */
export interface Identity {
  /** How the caller was identified. */
  kind: 'anonymous' | 'token' | 'certificate';
  /** The token's name, the certificate's CN, or 'anonymous'. */
  name: string;
  /** The caller's role; null for a verified certificate whose CN has no role. */
  role: Role | null;
}

/** What the authenticator reads from a request (a fastify request fits). */
export interface CredentialSource {
  headers: IncomingHttpHeaders;
  /** The connection; a TLS socket carries the client certificate. */
  socket: unknown;
}

/** The credential sources that are configured. */
export interface AuthenticatorOptions {
  /** Bearer tokens (from --tokens-file). */
  tokens?: TokenStore | undefined;
  /** CN -> role of verified client certificates; set when --tls-client-ca is given. */
  clientRoles?: ClientRoles | undefined;
  /**
   * Who the anonymous caller (no credentials configured) may be: `local-owner` (the default), a process of this
   * host running as the gateway's own user or as root, as libvirt's admin socket allows; `anyone` (--insecure).
   */
  anonymousCallers?: 'local-owner' | 'anyone';
}

/** The caller everybody is when no credentials are configured (loopback-only, as before authentication existed). */
export const ANONYMOUS: Identity = Object.freeze({ kind: 'anonymous', name: 'anonymous', role: Role.ADMIN });

const BEARER = /^Bearer[ ]+([\x21-\x7e]+)[ ]*$/i;

/** Identifies callers from the configured credential sources. */
export class Authenticator {
  private readonly peers = new LoopbackPeers();

  constructor(private readonly options: AuthenticatorOptions = {}) {}

  /** True when anonymous callers are checked against the gateway's own user (see admitAnonymous). */
  get anonymousLocalOwnerOnly(): boolean {
    return !this.enabled && this.options.anonymousCallers !== 'anyone' && LoopbackPeers.supported;
  }

  /** False when neither tokens nor client certificates are configured: every caller is ANONYMOUS (admin). */
  get enabled(): boolean {
    return this.options.tokens !== undefined || this.options.clientRoles !== undefined;
  }

  /** The identity of a request; throws AuthenticationError (401) when it has none or a bad one. */
  authenticate(request: CredentialSource): Identity {
    if (!this.enabled) return ANONYMOUS;
    const header = request.headers.authorization;
    if (header !== undefined) return this.fromAuthorization(header);
    const cert = peerCertificateStatus(request.socket);
    if (cert.kind === 'unverified') {
      throw new AuthenticationError(`The client certificate was not accepted: ${cert.reason}`);
    }
    if (cert.kind === 'verified' && this.options.clientRoles !== undefined) {
      return { kind: 'certificate', name: cert.commonName, role: this.options.clientRoles.roleOf(cert.commonName) };
    }
    throw new AuthenticationError(this.credentialsHint());
  }

  /**
   * Throws ForbiddenError unless the anonymous caller on `socket` may be served: with `local-owner`, a TCP peer
   * must run as the gateway's own user or as root. A connection without TCP ports passes: a unix socket, whose
   * file mode decides, or an in-process request.
   */
  async admitAnonymous(socket: TcpEnds & object, required: Role): Promise<void> {
    if (!this.anonymousLocalOwnerOnly || socket.remotePort === undefined) return;
    const own = process.getuid?.() ?? 0;
    const uid = await this.peers.uidOf(socket);
    if (uid === own || uid === 0) return;
    const who = uid === null ? 'the user of this connection could not be determined' : `this connection belongs to uid ${uid}`;
    throw new ForbiddenError(
      `No credentials are configured, so only local callers running as the gateway's own user (uid ${own}) or root ` +
        `are served; ${who}. Configure --tokens-file to serve other users`,
      required,
      null,
    );
  }

  private fromAuthorization(header: string): Identity {
    const token = BEARER.exec(header)?.[1];
    if (token === undefined) {
      throw new AuthenticationError('The Authorization header must be "Bearer <token>"', 'invalid_token');
    }
    const entry = this.options.tokens?.verify(token) ?? null;
    if (entry === null) throw new AuthenticationError('The bearer token is not valid', 'invalid_token');
    return { kind: 'token', name: entry.name, role: entry.role };
  }

  private credentialsHint(): string {
    const { tokens, clientRoles } = this.options;
    if (tokens !== undefined && clientRoles !== undefined) {
      return 'Authentication required: send a bearer token or a client certificate';
    }
    return tokens !== undefined
      ? 'Authentication required: send a bearer token'
      : 'Authentication required: send a client certificate';
  }
}

/** Throws ForbiddenError (403) unless the identity's role is `required` or higher. */
export function authorize(identity: Identity, required: Role): void {
  if (identity.role === null) {
    throw new ForbiddenError(
      `This operation needs the ${required} role; the certificate '${identity.name}' has no role ` +
        `(it is not listed in the client roles file)`,
      required,
      null,
    );
  }
  if (!roleAllows(identity.role, required)) {
    throw new ForbiddenError(
      `This operation needs the ${required} role; ${describe(identity)} has the ${identity.role} role`,
      required,
      identity.role,
    );
  }
}

function describe(identity: Identity): string {
  return identity.kind === 'certificate' ? `the certificate '${identity.name}'` : `the token '${identity.name}'`;
}
