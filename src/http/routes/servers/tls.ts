import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { LibvirtError, VirErrorNumber } from '../../../rpc/errors.js';
import { ProblemCode, ProblemError } from '../../problems.js';
import { ServerName } from '../../schemas/common.js';
import { scopeOf, type ScopeOptions } from '../scope.js';

/** `/servers/{server}/tls/reload`: make the server re-read its TLS certificates, keys and CRLs. */
const tls: FastifyPluginAsyncTypebox<ScopeOptions> = async (fastify, opts) => {
  const s = scopeOf(opts);
  fastify.post(
    '/:server/tls/reload',
    {
      schema: {
        operationId: s.operationId('reloadTls'),
        summary: "Reload a server's TLS files",
        description: 'Like `virt-admin srv-update-tls`. A server without a TLS listener answers 409.',
        tags: ['servers'],
        params: s.params({ server: ServerName }),
        response: { 204: { description: 'The files were re-read.', type: 'null' }, ...s.problems(400, 404, 409) },
      },
    },
    async (request, reply) => {
      try {
        await request.daemon.call((client, options) => client.updateTlsFiles(request.params.server, options));
      } catch (err) {
        // libvirt reports "no tls service found" as an internal error (virNetServerUpdateTlsFiles); it is the
        // state of that server, not a failure of the daemon.
        if (err instanceof LibvirtError && err.libvirtCode === VirErrorNumber.INTERNAL_ERROR && /no tls service/i.test(err.message)) {
          throw new ProblemError(ProblemCode.NO_TLS_LISTENER, err.message, { cause: err });
        }
        throw err;
      }
      return reply.code(204).send();
    },
  );
};

export default tls;
