import type { FastifyReply, FastifyRequest } from 'fastify';

/** How to read and change one mutable resource of the request's daemon. */
export interface GuardedResource<T> {
  /** The resource's path under its daemon (`servers/libvirtd/threadpool`, `logging`): the lock key. */
  resource: string;
  /** The strong ETag of a state (of its settable part only). */
  etag: (state: T) => string;
  /** Read the current state (for If-Match). */
  read: () => Promise<T>;
  /** Make the change and return the new state. */
  update: () => Promise<T>;
}

/**
 * Run a PATCH/PUT of a mutable resource: serialised with every other change of that resource made through the
 * gateway, refused with 412 (PreconditionFailedError, nothing changed) when If-Match no longer matches, and
 * answered with the new state's ETag.
 */
export async function guardedUpdate<T>(request: FastifyRequest, reply: FastifyReply, r: GuardedResource<T>): Promise<T> {
  const state = await request.server.monitoring.guard.update({
    key: `${request.daemon.name}/${r.resource}`,
    ifMatch: request.headers['if-match'],
    currentEtag: async () => r.etag(await r.read()),
    mutate: r.update,
  });
  reply.header('etag', r.etag(state));
  return state;
}
