import { Type, type Static } from '@sinclair/typebox';
import type { ThreadpoolParams, ThreadpoolSettings } from '../admin/params.js';
import { EventType } from '../monitoring/events.js';
import { Role } from '../security/roles.js';
import { PolicyErrorCode, PolicyRefusedError } from './change-policy.js';
import type { ServerTarget, SettingsResource } from './resource.js';

const Uint = (description: string) => Type.Integer({ minimum: 0, maximum: 4294967295, description });

/** A server's worker pool, as `virt-admin srv-threadpool-info` shows it. */
export const Threadpool = Type.Object(
  {
    minWorkers: Uint('Workers kept even when idle: libvirt typed parameter `minWorkers`.'),
    maxWorkers: Uint('Most workers there may be: libvirt typed parameter `maxWorkers`.'),
    prioWorkers: Uint(
      'Workers reserved for high-priority calls, as running: libvirt typed parameter `prioWorkers`. After it is lowered the ' +
        'figure falls as the surplus workers exit, which may be just after the change is answered.',
    ),
    currentWorkers: Uint('Workers that exist now (read-only): libvirt typed parameter `nWorkers`.'),
    freeWorkers: Uint('Workers idle now (read-only): libvirt typed parameter `freeWorkers`.'),
    jobQueueDepth: Uint('Calls waiting for a worker (read-only): libvirt typed parameter `jobQueueDepth`.'),
  },
  {
    $id: 'Threadpool',
    examples: [{ minWorkers: 5, maxWorkers: 20, prioWorkers: 5, currentWorkers: 5, freeWorkers: 5, jobQueueDepth: 0 }],
  },
);
export type Threadpool = Static<typeof Threadpool>;

/** PATCH /servers/{server}/threadpool: the settings to change (at least one). */
export const ThreadpoolChange = Type.Object(
  {
    minWorkers: Type.Optional(Uint('libvirt typed parameter `minWorkers`; must not exceed the (new) maxWorkers.')),
    maxWorkers: Type.Optional(
      Uint('libvirt typed parameter `maxWorkers`; libvirt refuses to switch it between zero and non-zero.'),
    ),
    prioWorkers: Type.Optional(Uint('libvirt typed parameter `prioWorkers`.')),
  },
  { additionalProperties: false, minProperties: 1, examples: [{ minWorkers: 2, maxWorkers: 10 }] },
);
export type ThreadpoolChange = Static<typeof ThreadpoolChange>;

/** The worker counts a change may set, in the order libvirt's error messages name them. */
const WORKER_FIELDS = ['minWorkers', 'maxWorkers', 'prioWorkers'] as const;

/** `/servers/{server}/threadpool`: a server's worker pool (SERVER_GET/SET_THREADPOOL_PARAMETERS). */
export const threadpool: SettingsResource<
  ThreadpoolParams,
  ThreadpoolSettings,
  ThreadpoolChange,
  ThreadpoolChange,
  ServerTarget,
  Threadpool
> = {
  name: 'threadpool',
  scope: 'server',
  path: '/threadpool',
  tag: 'servers',
  schema: Threadpool,
  returns: 'The worker pool.',
  read: {
    operationId: 'getThreadpool',
    summary: "A server's worker pool",
    description: 'Like `virt-admin srv-threadpool-info`.',
  },
  changes: [
    {
      method: 'PATCH',
      body: ThreadpoolChange,
      audit: 'threadpool.update',
      text: {
        operationId: 'updateThreadpool',
        summary: "Change a server's worker pool",
        description:
          'Like `virt-admin srv-threadpool-set`. libvirt checks the values (minWorkers must not exceed maxWorkers, ' +
          'maxWorkers must not switch between zero and non-zero) and nothing changes if one fails. The gateway refuses ' +
          'worker counts above its ceiling (`--max-workers`, 403). Returns the new state. With If-Match, the change ' +
          'is made only if the settings still have that ETag (else 412).',
      },
    },
  ],
  access: { read: Role.VIEWER, change: Role.OPERATOR },
  fetch: (admin, { server }, options) => admin.getThreadpool(server, options),
  settings: (t) => ({ minWorkers: t.minWorkers, maxWorkers: t.maxWorkers, prioWorkers: t.prioWorkers }),
  present: (t): Threadpool => ({
    minWorkers: t.minWorkers,
    maxWorkers: t.maxWorkers,
    prioWorkers: t.prioWorkers,
    currentWorkers: t.nWorkers,
    freeWorkers: t.freeWorkers,
    jobQueueDepth: t.jobQueueDepth,
  }),
  async prepare(change, _target, policy) {
    for (const field of WORKER_FIELDS) {
      const value = change[field];
      if (value !== undefined && value > policy.maxWorkers) {
        throw new PolicyRefusedError(
          PolicyErrorCode.ABOVE_CEILING,
          `${field} ${value} is above this gateway's ceiling of ${policy.maxWorkers} workers (--max-workers)`,
        );
      }
    }
    return change;
  },
  apply: (admin, { server }, change, options) => admin.setThreadpool(server, change, options),
  changed: ({ daemon, server }, threadpool, previous, etag) => ({
    type: EventType.THREADPOOL_CHANGED,
    daemon,
    server: server,
    threadpool,
    previous,
    etag,
  }),
};
