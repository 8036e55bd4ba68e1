/**
 * Issue 11 item 9's request guards (src/security/allowed-hosts.ts, cross-site.ts), checked before credentials
 * are looked at: a Host this gateway is not (DNS rebinding) and a change a browser could send from another site.
 */
import fp from 'fastify-plugin';
import { HostAllowlist } from '../../security/allowed-hosts.js';
import { originOf } from '../../security/connection-origin.js';
import { checkCrossSite } from '../../security/cross-site.js';

/** Options of the request guards. */
export interface RequestGuardsOptions {
  /** The Host names served (default: loopback names and addresses only). */
  hosts?: HostAllowlist;
}

export default fp<RequestGuardsOptions>(
  async (app, options) => {
    const hosts = options.hosts ?? new HostAllowlist();
    app.addHook('onRequest', async (request) => {
      // A unix socket has no DNS name to rebind, and its clients send what they like as Host.
      if (originOf(request.socket)?.transport !== 'unix') hosts.check(request.headers.host);
      // A route that does not exist changes nothing: its 404 says more than a refusal would.
      if (!request.is404) checkCrossSite(request);
    });
  },
  { name: 'request-guards', fastify: '5.x' },
);
