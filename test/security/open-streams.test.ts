// The registry of long-lived answers: a recheck closes the streams whose callers lost access, and only those.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OpenStreams } from '../../src/security/open-streams.js';

function stream(holder: string, allowed: () => boolean) {
  const closed: string[] = [];
  return { holder, stillAllowed: allowed, close: () => closed.push(holder), closed };
}

describe('OpenStreams', () => {
  it('closes and forgets the streams whose check fails or throws, logging each', () => {
    const streams = new OpenStreams();
    let tokenValid = true;
    const kept = stream("token 'grafana'", () => true);
    const revoked = stream("token 'ci'", () => tokenValid);
    const throwing = stream("certificate 'laptop'", () => {
      throw new Error('no role');
    });
    for (const s of [kept, revoked, throwing]) streams.add(s);
    assert.equal(streams.size, 3);

    const logged: string[] = [];
    const log = { info: (obj: object, msg: string) => logged.push(`${JSON.stringify(obj)} ${msg}`) };
    assert.equal(streams.recheck(log), 1, 'the throwing check counts as refused');
    assert.deepEqual([kept.closed, revoked.closed, throwing.closed], [[], [], ["certificate 'laptop'"]]);
    tokenValid = false;
    assert.equal(streams.recheck(log), 1);
    assert.deepEqual(revoked.closed, ["token 'ci'"]);
    assert.equal(streams.size, 1);
    assert.equal(streams.recheck(log), 0, 'closed streams are not closed twice');
    assert.deepEqual(logged, [
      `{"holder":"certificate 'laptop'"} closing a stream of certificate 'laptop': its credentials no longer allow it`,
      `{"holder":"token 'ci'"} closing a stream of token 'ci': its credentials no longer allow it`,
    ]);
  });

  it('forgets a stream that ended on its own', () => {
    const streams = new OpenStreams();
    const gone = stream('x', () => false);
    const release = streams.add(gone);
    release();
    assert.equal(streams.recheck(), 0);
    assert.deepEqual(gone.closed, []);
  });
});
