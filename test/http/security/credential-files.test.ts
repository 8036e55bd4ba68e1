// A tokens file that another user can change is a way to the admin role: `nobody` adds a line with the hash of
// a token of their own (or swaps the file for one, through a folder anyone can write to) and waits for the next
// reload. The gateway refuses such a file: at start it does not start; on reload it keeps the tokens it had and
// says why in the log. nobody's token then changes nothing on the real libvirtd, as virt-admin shows.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../../src/config.js';
import { startGateway, StartupError } from '../../../src/server.js';
import { Authenticator } from '../../../src/security/authenticate.js';
import { CredentialReloads } from '../../../src/security/reloadable.js';
import { hashToken, tokenLine, TokenStore } from '../../../src/security/tokens.js';
import { startRealDaemons, type RealDaemons } from '../../harness/libvirtd.js';
import { NOBODY } from '../../harness/other-user.js';
import { startAttackGateway, type AttackGateway } from './attack-gateway.js';
import { send } from './https-client.js';

const ADMIN = '4d3c2b1a09f8e7d6c5b4a3928170f6e5';
const PLANTED = '00112233445566778899aabbccddeeff';

/** Runs a shell command as nobody; fails the test unless it exits 0. */
function asNobody(script: string, ...args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      'setpriv',
      [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', 'sh', '-c', script, 'sh', ...args],
      (err, _out, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve()),
    );
  });
}

describe('credential files others can write (real libvirtd)', () => {
  let daemons: RealDaemons;
  let dir: string;
  before(async () => {
    daemons = await startRealDaemons({ daemons: ['libvirtd'] });
    dir = await mkdtemp(join(tmpdir(), 'credfiles-'));
    await chmod(dir, 0o755);
  });
  after(async () => {
    await daemons?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const minWorkers = async (): Promise<number> => {
    const result = await daemons.virtAdmin('libvirtd', 'srv-threadpool-info', 'admin');
    assert.equal(result.code, 0, result.stderr);
    return Number(/minWorkers\s*:\s*(\d+)/.exec(result.stdout)?.[1]);
  };

  it('a world-writable tokens file stops the gateway from starting, whatever nobody wrote into it', async () => {
    const file = join(dir, 'tokens-at-start');
    await writeFile(file, `${tokenLine('admin', ADMIN, 'ops')}\n`);
    await chmod(file, 0o666);
    await asNobody('printf "%s\\n" "$1" >> "$2"', `admin ${hashToken(PLANTED)} planted`, file);
    const invocation = loadConfig(
      [
        '--connect',
        daemons.adminUri('libvirtd'),
        '--listen',
        '127.0.0.1:0',
        '--log-level',
        'silent',
        '--tokens-file',
        file,
      ],
      {},
    );
    assert.equal(invocation.kind, 'run');
    await assert.rejects(
      startGateway(invocation.config, () => {}),
      (err: unknown) => {
        assert.ok(err instanceof StartupError);
        assert.equal(err.exitCode, 2);
        assert.equal(
          err.message,
          `refusing tokens file ${file}: ${file} is writable by its group and by others (mode 0666); whoever can write it chooses the callers' roles. Run chmod go-w on it`,
        );
        return true;
      },
    );
  });

  describe('on reload', () => {
    let gw: AttackGateway;
    let reloads: CredentialReloads;
    let conf: string;
    let file: string;
    before(async () => {
      conf = join(dir, 'conf');
      await mkdir(conf, { mode: 0o755 });
      file = join(conf, 'tokens');
      await writeFile(file, `${tokenLine('admin', ADMIN, 'ops')}\n`);
      const tokens = await TokenStore.load(file);
      gw = await startAttackGateway([{ uri: daemons.adminUri('libvirtd') }], {
        security: { authenticator: new Authenticator({ tokens }) },
      });
      // The reload SIGHUP runs, awaited here (SIGHUP itself is tested in listen.test.ts and stream-revocation.test.ts).
      reloads = new CredentialReloads([tokens], gw.app.log);
    });
    after(() => gw?.close());

    const attempt = (token: string, value: number) =>
      send(gw.url, { method: 'PATCH', path: '/servers/admin/threadpool', token, body: { minWorkers: value } });
    const refusals = () =>
      gw.records().filter((record) => record['msg'] === 'tokens file not reloaded; keeping the previous one');

    it('keeps the old tokens when nobody added theirs to a file made world-writable by mistake', async () => {
      const original = await minWorkers();
      await chmod(file, 0o666);
      await asNobody('printf "%s\\n" "$1" >> "$2"', `admin ${hashToken(PLANTED)} planted`, file);
      await reloads.reload('test');
      assert.equal((await attempt(PLANTED, original + 1)).status, 401);
      assert.equal(await minWorkers(), original);
      assert.equal((await attempt(ADMIN, original)).status, 200, 'the tokens in force are the old ones');
      assert.equal(refusals().length, 1);
      assert.match(
        String(refusals()[0]!['reason']),
        /^refusing tokens file .*: .* is writable by its group and by others \(mode 0666\)/,
      );
      // Put right again by root.
      await writeFile(file, `${tokenLine('admin', ADMIN, 'ops')}\n`);
      await chmod(file, 0o644);
      await reloads.reload('test');
      assert.equal(refusals().length, 1);
    });

    it('keeps the old tokens when nobody swapped the file through its folder, made world-writable by mistake', async () => {
      const original = await minWorkers();
      await chmod(conf, 0o777);
      await asNobody(
        'printf "%s\\n" "$1" > "$2.new" && mv -f "$2.new" "$2"',
        `admin ${hashToken(PLANTED)} planted`,
        file,
      );
      await reloads.reload('test');
      assert.equal((await attempt(PLANTED, original + 1)).status, 401);
      assert.equal(await minWorkers(), original);
      assert.equal((await attempt(ADMIN, original)).status, 200);
      assert.equal(refusals().length, 2);
      assert.match(
        String(refusals()[1]!['reason']),
        /the folder .*\/conf is writable by its group and by others without the sticky bit/,
      );
    });
  });
});
