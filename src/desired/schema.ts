/**
 * The desired-state document of one daemon: the settings the gateway keeps true across daemon restarts. Every part
 * is optional; a part left out is not managed (the daemon keeps whatever it has). The parts reuse the request
 * schemas of the resources (src/resources/), so a declared threadpool is what a PATCH of the threadpool may send,
 * and it passes the same policy checks (src/desired/validate.ts).
 */
import { Type, type Static } from '@sinclair/typebox';
import { ClientLimitsChange } from '../resources/client-limits.js';
import { LoggingChange } from '../resources/logging.js';
import { ThreadpoolChange } from '../resources/threadpool.js';

/** What the reconciler does with a difference: re-apply it, or only report it. */
export const DesiredMode = {
  ENFORCE: 'enforce',
  OBSERVE: 'observe',
} as const;
export type DesiredMode = (typeof DesiredMode)[keyof typeof DesiredMode];

/** The managed settings of one admin server (libvirt's names: `libvirtd`, `admin`, `virtlogd`, ...). */
export const DesiredServer = Type.Object(
  {
    threadpool: Type.Optional(ThreadpoolChange),
    clientLimits: Type.Optional(ClientLimitsChange),
  },
  { additionalProperties: false, description: "The server's managed settings; a part left out is not managed." },
);
export type DesiredServer = Static<typeof DesiredServer>;

/** GET/PUT /daemons/{daemon}/desired-state. */
export const DesiredState = Type.Object(
  {
    mode: Type.Optional(
      Type.Union([Type.Literal(DesiredMode.ENFORCE), Type.Literal(DesiredMode.OBSERVE)], {
        description:
          '`enforce` (default): differences are applied to the daemon; `observe`: they are only reported (status, ' +
          '`drift.detected`).',
      }),
    ),
    servers: Type.Optional(
      Type.Record(Type.String({ pattern: '^[A-Za-z0-9_.-]{1,128}$' }), DesiredServer, {
        description: 'Managed settings per admin server, by its name.',
      }),
    ),
    logging: Type.Optional(LoggingChange),
    timeout: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 4294967295,
        description:
          "The daemon's auto-shutdown timeout in seconds, as PUT /daemon/timeout sets it (0: never). libvirt cannot read " +
          'it back, so it never shows as drift: in enforce mode it is applied on every (re)connection to the daemon ' +
          '(a restarted daemon has lost it) and by a period or declaration that finds it not yet applied on this ' +
          'connection; the status says when it was last applied. In observe mode it is not applied.',
      }),
    ),
  },
  {
    additionalProperties: false,
    description:
      'Settings the gateway keeps true on this daemon: re-applied on every (re)connection and every period. ' +
      'libvirt forgets runtime settings when its daemon exits; this is how they survive.',
    examples: [
      {
        mode: 'enforce',
        servers: { libvirtd: { threadpool: { minWorkers: 4, maxWorkers: 40 }, clientLimits: { maxClients: 100 } } },
        logging: { filters: '3:remote 4:event' },
      },
    ],
  },
);
export type DesiredState = Static<typeof DesiredState>;

/** The `--desired-state` file: a document per daemon, by the daemon's name in the gateway. */
export const DesiredStateFile = Type.Object(
  { daemons: Type.Record(Type.String({ minLength: 1 }), DesiredState) },
  { additionalProperties: false },
);
export type DesiredStateFile = Static<typeof DesiredStateFile>;

/** One setting whose actual value differs from the declared one. */
export const Difference = Type.Object(
  {
    path: Type.String({
      description: 'JSON pointer into the document, e.g. `/servers/libvirtd/threadpool/maxWorkers`.',
    }),
    desired: Type.Unknown({ description: 'The declared value.' }),
    actual: Type.Unknown({ description: 'What the daemon has (null when it could not be read).' }),
  },
  { additionalProperties: false },
);
export type Difference = Static<typeof Difference>;

/** A setting the daemon refused (or could not be reached for). */
export const Failure = Type.Object(
  {
    path: Type.String({ description: 'The part of the document that could not be applied or read.' }),
    code: Type.String({ description: 'The problem code the same failure would have over the API.' }),
    message: Type.String(),
  },
  { additionalProperties: false },
);
export type Failure = Static<typeof Failure>;

/** GET /daemons/{daemon}/desired-state/status. */
export const DesiredStatus = Type.Object(
  {
    daemon: Type.String(),
    source: Type.Union([Type.Literal('api'), Type.Literal('file'), Type.Null()], {
      description: 'Where the declaration comes from; null when nothing is declared.',
    }),
    mode: Type.Union([Type.Literal(DesiredMode.ENFORCE), Type.Literal(DesiredMode.OBSERVE)]),
    converged: Type.Boolean({ description: 'True when the last reconciliation found no difference and no failure.' }),
    differences: Type.Array(Difference, {
      description: 'What differed at the last reconciliation (after applying, in enforce mode).',
    }),
    failures: Type.Array(Failure, { description: 'What could not be read or applied at the last reconciliation.' }),
    lastReconcile: Type.Union([
      Type.Object(
        {
          at: Type.String({ format: 'date-time' }),
          reason: Type.String({ description: '`connected`, `period`, `declared` or `requested`.' }),
          durationMs: Type.Number(),
        },
        { additionalProperties: false },
      ),
      Type.Null(),
    ]),
    lastConverged: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    timeout: Type.Optional(
      Type.Object(
        {
          seconds: Type.Integer({ description: 'The declared timeout.' }),
          state: Type.Union(
            [Type.Literal('applied'), Type.Literal('pending'), Type.Literal('failed'), Type.Literal('observe-only')],
            {
              description:
                '`applied` on the current connection (libvirt cannot read it back: unobservable, never drift), `pending` ' +
                'until the next connection or period applies it, `failed` when the daemon refused it (see `failures`, ' +
                'path `/timeout`), `observe-only` in observe mode (not applied).',
            },
          ),
          lastApplied: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
            description: 'When it was last set on the daemon.',
          }),
        },
        { additionalProperties: false },
      ),
    ),
    lastError: Type.Union([
      Type.Object(
        { at: Type.String({ format: 'date-time' }), message: Type.String() },
        { additionalProperties: false },
      ),
      Type.Null(),
    ]),
  },
  { additionalProperties: false },
);
export type DesiredStatus = Static<typeof DesiredStatus>;

/** One change a reconciliation makes (or would make, in a plan). */
export const PlanStep = Type.Object(
  {
    path: Type.String({ description: 'The part of the document, e.g. `/servers/libvirtd/threadpool`.' }),
    action: Type.String({ description: 'The audit action it is recorded as, e.g. `threadpool.update`.' }),
    change: Type.Unknown({ description: 'What is sent (every declared field of that part, in one call).' }),
    differences: Type.Array(Difference),
  },
  { additionalProperties: false },
);
export type PlanStep = Static<typeof PlanStep>;

/** POST /daemons/{daemon}/desired-state/plan. */
export const DesiredPlan = Type.Object(
  {
    daemon: Type.String(),
    mode: Type.Union([Type.Literal(DesiredMode.ENFORCE), Type.Literal(DesiredMode.OBSERVE)]),
    steps: Type.Array(PlanStep, { description: 'In the order they would be applied; empty when converged.' }),
    failures: Type.Array(Failure),
  },
  { additionalProperties: false },
);
export type DesiredPlan = Static<typeof DesiredPlan>;

/**
 * `schema` as an answer: without `additionalProperties: false` anywhere, so that clients generated from the
 * document accept fields added later. Requests keep it: there an unknown key is a typo to refuse.
 */
export function openForAdditions<T>(schema: T): T {
  if (Array.isArray(schema)) return schema.map((item: unknown) => openForAdditions(item)) as T;
  if (schema === null || typeof schema !== 'object') return schema;
  const source = schema as Record<string | symbol, unknown>;
  const out: Record<string | symbol, unknown> = {};
  for (const key of Reflect.ownKeys(source)) {
    if (key === 'additionalProperties' && source[key] === false) continue;
    out[key] = openForAdditions(source[key]);
  }
  return out as T;
}
