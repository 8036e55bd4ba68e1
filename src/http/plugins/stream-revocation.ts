/**
 * Issue 11 item 8: long-lived answers (event streams) are closed when a credentials reload takes their caller's
 * access to the route away, checked with the same rules as a new request of that route.
 */
import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { authorize } from '../../security/authenticate.js';
import { OpenStreams } from '../../security/open-streams.js';
import type { CredentialReloads } from '../../security/reloadable.js';
import { requiredRoleOf } from './route-access.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Long-lived answers (event streams), closed when a reload takes their caller's access away. */
    openStreams: OpenStreams;
    /**
     * Registers a long-lived answer to `request`: `close` is called when, after a credentials reload, its caller
     * would no longer be admitted to its route. Returns the function to call when the answer ends.
     */
    holdWhileAllowed(request: FastifyRequest, close: () => void): () => void;
  }
}

/** Options of the stream revocation. */
export interface StreamRevocationOptions {
  /** Credential reloads: after each, open streams are checked against the new credentials. */
  reloads?: CredentialReloads;
}

export default fp<StreamRevocationOptions>(
  async (app, options) => {
    const streams = new OpenStreams();
    const authenticator = app.authenticator;
    app.decorate('openStreams', streams);
    app.decorate('holdWhileAllowed', (request: FastifyRequest, close: () => void) => {
      const required = requiredRoleOf(request);
      const identity = request.identity;
      return streams.add({
        holder: identity === null ? 'a public caller' : `${identity.kind} '${identity.name}'`,
        // The same checks as a new request of this route would pass, against the credentials in force now.
        stillAllowed: () => required === 'public' || (authorize(authenticator.authenticate(request), required), true),
        close,
      });
    });
    const stopRechecking = options.reloads?.onReloaded(() => void streams.recheck(app.log));
    if (stopRechecking) app.addHook('onClose', async () => stopRechecking());
  },
  { name: 'stream-revocation', fastify: '5.x', dependencies: ['authentication'] },
);
