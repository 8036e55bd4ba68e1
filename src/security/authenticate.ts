/**
 * Who is calling: a bearer token, a verified client certificate, or, when no credentials are configured, the
 * anonymous caller of the gateway's unix socket or the holder of the local token.
 *
 * Identity rests on what the kernel said when one of the gateway's listeners accepted the connection (see
 * connection-origin.ts), and on credentials; never on socket properties read later, which a peer can change by
 * resetting its connection. A request on a connection no listener of ours accepted has no established caller
 * and is refused, unless the gateway serves anyone (`--insecure`).
 *
 * Precedence: a request that sends an Authorization header is judged by it alone (a bad token is 401 even over a
 * connection with a good certificate, or on the unix socket), otherwise the client certificate counts.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { peerCertificateStatus, type ClientRoles } from './client-certs.js';
import { originOf } from './connection-origin.js';
import type { LocalToken } from './local-token.js';
import { AuthenticationError, ForbiddenError } from './errors.js';
import { Role, roleAllows } from './roles.js';
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
  /** The connection: its accept-time record, and a TLS socket's client certificate. */
  socket: unknown;
}

/** The credential sources that are configured. */
export interface AuthenticatorOptions {
  /** Bearer tokens (from --tokens-file). */
  tokens?: TokenStore | undefined;
  /** CN -> role of verified client certificates; set when --tls-client-ca is given. */
  clientRoles?: ClientRoles | undefined;
  /** Without tokens or client certificates: the token made at start, which identifies LOCAL_IDENTITY. */
  localToken?: LocalToken | undefined;
  /**
   * Whom the gateway serves. `established` (the default): callers whose connection one of the gateway's listeners
   * accepted; without credentials configured, those on a unix listener are the anonymous admin (the socket's file
   * mode is the boundary) and TCP callers need the local token. `anyone` (--insecure, and in-process tests that
   * ask for it): without credentials every caller is the anonymous admin, and requests on connections no listener
   * accepted (fastify's inject) are served too.
   */
  callers?: 'established' | 'anyone';
}

/** The anonymous caller: the admin, on the unix socket without credentials, or everybody with --insecure. */
export const ANONYMOUS: Identity = Object.freeze({ kind: 'anonymous', name: 'anonymous', role: Role.ADMIN });

/** The holder of the local token. */
export const LOCAL_IDENTITY: Identity = Object.freeze({ kind: 'token', name: 'local', role: Role.ADMIN });

const BEARER = /^Bearer[ ]+([\x21-\x7e]+)[ ]*$/i;

/** Identifies callers from the configured credential sources. */
export class Authenticator {
  constructor(private readonly options: AuthenticatorOptions = {}) {}

  /** True when tokens or client certificates are configured: every caller must then present one. */
  get credentialsConfigured(): boolean {
    return this.options.tokens !== undefined || this.options.clientRoles !== undefined;
  }

  /** True with --insecure (or an in-process test's opt-in): see AuthenticatorOptions.callers. */
  get servesAnyone(): boolean {
    return this.options.callers === 'anyone';
  }

  /** The identity of a request; throws AuthenticationError (401) when it has none or a bad one. */
  authenticate(request: CredentialSource): Identity {
    const origin = originOf(request.socket);
    if (origin === undefined && !this.servesAnyone) {
      throw new AuthenticationError(
        "The caller of this request cannot be established: its connection was not accepted by one of the gateway's listeners",
      );
    }
    const header = request.headers.authorization;
    if (this.credentialsConfigured) {
      if (header !== undefined) return this.fromAuthorization(header);
      return this.fromCertificate(request.socket);
    }
    if (this.servesAnyone) return ANONYMOUS;
    if (header !== undefined) return this.fromLocalToken(header);
    if (origin?.transport === 'unix') return ANONYMOUS;
    throw new AuthenticationError(this.localHint());
  }

  private fromAuthorization(header: string): Identity {
    const token = bearerToken(header);
    const entry = this.options.tokens?.verify(token) ?? null;
    if (entry === null) throw new AuthenticationError('The bearer token is not valid', 'invalid_token');
    return { kind: 'token', name: entry.name, role: entry.role };
  }

  private fromCertificate(socket: unknown): Identity {
    const cert = peerCertificateStatus(socket);
    if (cert.kind === 'unverified') {
      throw new AuthenticationError(`The client certificate was not accepted: ${cert.reason}`);
    }
    if (cert.kind === 'verified' && this.options.clientRoles !== undefined) {
      return { kind: 'certificate', name: cert.commonName, role: this.options.clientRoles.roleOf(cert.commonName) };
    }
    throw new AuthenticationError(this.credentialsHint());
  }

  private fromLocalToken(header: string): Identity {
    const token = bearerToken(header);
    if (this.options.localToken?.verify(token) !== true) {
      throw new AuthenticationError('The bearer token is not valid', 'invalid_token');
    }
    return LOCAL_IDENTITY;
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

  private localHint(): string {
    const path = this.options.localToken?.path;
    return path === undefined
      ? "Authentication required: no credentials are configured, so only callers on the gateway's unix socket are served"
      : `Authentication required: no credentials are configured, so TCP callers send the gateway's local token ` +
          `(Authorization: Bearer <the contents of ${path}>), or use its unix socket`;
  }
}

/** The token of a `Bearer <token>` header; throws 401 invalid_token for any other form. */
function bearerToken(header: string): string {
  const token = BEARER.exec(header)?.[1];
  if (token === undefined) {
    throw new AuthenticationError('The Authorization header must be "Bearer <token>"', 'invalid_token');
  }
  return token;
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
