import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { LibvirtError, VirErrorNumber } from '../../../rpc/errors.js';
import { Role } from '../../../security/roles.js';
import { HttpProblemCode, ProblemError } from '../../problems.js';
import { ServerName } from '../../schemas/common.js';
import { scopeOf, type ScopeOptions } from '../scope.js';

/** `/servers/{server}/tls/reload`: make the server re-read its TLS certificates, keys and CRLs. */
const tls: FastifyPluginAsyncTypebox<ScopeOptions> = async (fastify, opts) => {
  const s = scopeOf(opts);
  fastify.post(
    '/:server/tls/reload',
    {
      config: { access: Role.OPERATOR, audit: 'tls.reload' },
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
      const { server } = request.params;
      await fastify.changes.act(request, { status: 204 }, () =>
        request.daemonConnection.call((admin, options) => admin.updateTlsFiles(server, options)).catch(noTlsListener),
      );
      return reply.code(204).send();
    },
  );
};

export default tls;

// virNetServerUpdateTlsFiles reports an internal error only when the server has no TLS service (a failure to read
// the files is a system or TLS error): that is the state of the server, not a failure of the daemon.
function noTlsListener(err: unknown): never {
  if (err instanceof LibvirtError && err.libvirtCode === VirErrorNumber.INTERNAL_ERROR) {
    throw new ProblemError(HttpProblemCode.NO_TLS_LISTENER, err.message, { cause: err });
  }
  throw err;
}
