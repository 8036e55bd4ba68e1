// The gateway as the attack tests meet it: the whole app on a real TCP socket, with its log captured line by line
// (the audit records included), in front of whatever daemons the test gives it.
import Fastify, { type FastifyInstance } from 'fastify';
import { Writable } from 'node:stream';
import type { DaemonSpec } from '../../../src/gateway/daemon-registry.js';
import gateway, { type AppOptions } from '../../../src/http/app.js';
import { gatewayServerOptions } from '../../../src/http/server-options.js';

/** A gateway listening on 127.0.0.1 with its log kept. */
export interface AttackGateway {
  app: FastifyInstance;
  /** `http://127.0.0.1:<port>`. */
  url: string;
  port: number;
  /** Every log line written so far, as written. */
  logText(): string;
  /** Every log record written so far. */
  records(): Array<Record<string, unknown>>;
  /** The audit records (`"audit":true`) written so far. */
  audit(): Array<Record<string, unknown>>;
  close(): Promise<void>;
}

/** Builds the app in front of `daemons` with `options`, logging at info into memory, and listens on 127.0.0.1:0. */
export async function startAttackGateway(
  daemons: DaemonSpec[],
  options: Partial<AppOptions> = {},
): Promise<AttackGateway> {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString('utf8');
      done();
    },
  });
  const app = Fastify(gatewayServerOptions({ level: 'info', stream }));
  await app.register(gateway, { daemons, callTimeoutMs: 5000, ...options });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const records = () =>
    text
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return {
    app,
    url,
    port: Number(new URL(url).port),
    logText: () => text,
    records,
    audit: () => records().filter((record) => record['audit'] === true),
    close: () => app.close(),
  };
}
