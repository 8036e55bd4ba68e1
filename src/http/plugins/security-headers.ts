/** The security headers of every answer (src/security/headers.ts says which and why). */
import fp from 'fastify-plugin';
import { API_RESPONSE_HEADERS, SECURITY_HEADERS } from '../../security/headers.js';

export default fp(
  async (app) => {
    // Set first, so that every answer has them, streams (hijacked replies) included. The CSP is set below per
    // response type, because the HTML API reference needs scripts and styles that a JSON API never does.
    app.addHook('onRequest', (_request, reply, done) => {
      reply.headers(SECURITY_HEADERS);
      done();
    });
    app.addHook('onSend', async (_request, reply, payload) => {
      const type = String(reply.getHeader('content-type') ?? '');
      if (!type.startsWith('text/html')) reply.headers(API_RESPONSE_HEADERS);
      return payload;
    });
  },
  { name: 'security-headers', fastify: '5.x' },
);
