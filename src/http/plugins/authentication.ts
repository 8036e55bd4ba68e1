/**
 * Who is calling, and may they: every request to a non-public route is authenticated (src/security/authenticate.ts)
 * and authorized against its route's access, with failed authentications throttled per source. Refusals are
 * thrown as typed errors, so the app's one error handler answers them as problem+json like every other error.
 */
import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { AuthFailureThrottle, AuthThrottle, throttleSource } from '../../security/auth-throttle.js';
import { Authenticator, authorize, type Identity } from '../../security/authenticate.js';
import { peerCertificateStatus } from '../../security/client-certs.js';
import { originOf, recordOrigins, type ConnectionOrigin } from '../../security/connection-origin.js';
import { requiredRoleOf } from './route-access.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling; null until authenticated and on public routes. */
    identity: Identity | null;
  }
  interface FastifyInstance {
    /** The credential sources requests are judged by (also after a reload, by the stream revocation). */
    authenticator: Authenticator;
  }
}

/** Options of authentication. */
export interface AuthenticationOptions {
  /** Credential sources (default: none configured; callers on a unix listener are admin, TCP callers refused). */
  authenticator?: Authenticator;
  /** Failed authentications per source per minute before 429; 0 turns the throttle off (default AuthThrottle.MAX_FAILURES). */
  authFailureLimit?: number;
}

export default fp<AuthenticationOptions>(
  async (app, options) => {
    const authenticator = options.authenticator ?? new Authenticator();
    app.decorate('authenticator', authenticator);
    app.decorateRequest('identity', null);
    // Who a caller may be rests on the accept-time record of its connection (security/connection-origin.ts).
    recordOrigins(app.server);

    const failureLimit = options.authFailureLimit ?? AuthThrottle.MAX_FAILURES;
    const throttle = failureLimit > 0 ? new AuthFailureThrottle({ maxFailures: failureLimit, log: app.log }) : null;

    app.addHook('onRequest', async (request) => {
      const required = requiredRoleOf(request);
      if (required === 'public') return;
      const identity = authenticateThrottled(request);
      request.identity = identity;
      authorize(identity, required);
    });

    // Item 9: failed authentication throttled per source; a throttled source's credentials are not even looked at.
    function authenticateThrottled(request: FastifyRequest): Identity {
      if (!authenticator.credentialsConfigured || throttle === null) return authenticator.authenticate(request);
      const source = throttleKey(originOf(request.socket));
      throttle.check(source);
      try {
        return authenticator.authenticate(request);
      } catch (err) {
        // Wrong credentials count; none at all (a browser or probe asking first) does not.
        const presented =
          request.headers.authorization !== undefined || peerCertificateStatus(request.socket).kind === 'unverified';
        if (presented) throttle.fail(source);
        throw err;
      }
    }
  },
  { name: 'authentication', fastify: '5.x', dependencies: ['route-access'] },
);

/** The throttle's key for a connection: its remote address (per /64 for IPv6), or the unix socket's path. */
function throttleKey(origin: ConnectionOrigin | undefined): string {
  if (origin === undefined) return 'unknown';
  return origin.transport === 'unix' ? `unix:${origin.path}` : throttleSource(origin.remoteAddress);
}
