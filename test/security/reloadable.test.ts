// Credential reloads: every file is re-read, then every listener runs; reloads never interleave; SIGHUP triggers one.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CredentialReloads, reloadOnSighup, type Reloadable } from '../../src/security/reloadable.js';

const silent = { info: () => {}, error: () => {} };

describe('CredentialReloads', () => {
  it('runs the listeners after every file was re-read, in order, one reload after the other', async () => {
    const steps: string[] = [];
    const file = (name: string, ms: number): Reloadable => ({
      name,
      paths: [],
      async reload() {
        steps.push(`start ${name}`);
        await new Promise((resolve) => setTimeout(resolve, ms));
        steps.push(`end ${name}`);
        return true;
      },
    });
    const reloads = new CredentialReloads([file('tokens', 20), file('roles', 5)], silent);
    reloads.onReloaded(() => void steps.push('listener'));
    await Promise.all([reloads.reload('first'), reloads.reload('second')]);
    assert.deepEqual(steps, [
      'start tokens',
      'start roles',
      'end roles',
      'end tokens',
      'listener',
      'start tokens',
      'start roles',
      'end roles',
      'end tokens',
      'listener',
    ]);
  });

  it('logs a failing listener and goes on with the others; a removed listener is not called', async () => {
    const errors: string[] = [];
    const reloads = new CredentialReloads([], {
      info: () => {},
      error: (obj) => errors.push((obj as { reason: string }).reason),
    });
    const calls: string[] = [];
    reloads.onReloaded(() => {
      throw new Error('boom');
    });
    const stop = reloads.onReloaded(() => void calls.push('removed'));
    reloads.onReloaded(async () => void calls.push('after'));
    stop();
    await reloads.reload('test');
    assert.deepEqual([errors, calls], [['boom'], ['after']]);
  });

  it('reloads on SIGHUP until stopped', async () => {
    const triggers: string[] = [];
    const reloads = new CredentialReloads([], {
      info: (obj) => triggers.push((obj as { trigger: string }).trigger),
      error: () => {},
    });
    const done = new Promise<void>((resolve) => reloads.onReloaded(resolve));
    const stop = reloadOnSighup(reloads);
    try {
      process.kill(process.pid, 'SIGHUP');
      // A signal handler does not keep the event loop alive; the deadline timer does, and fails a lost signal.
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('no reload within 5 s of SIGHUP')), 5000);
      });
      await Promise.race([done, deadline]).finally(() => clearTimeout(timer));
      assert.deepEqual(triggers, ['SIGHUP']);
    } finally {
      stop();
    }
    assert.equal(process.listenerCount('SIGHUP'), 0);
  });
});
