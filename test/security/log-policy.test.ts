import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LoggingSyntaxError } from '../../src/admin/logging/syntax-error.js';
import { DEFAULT_ALLOWED_LOG_DIRS, LogOutputPolicy, normaliseAllowedDir } from '../../src/security/log-policy.js';
import { LogStringRefusedError } from '../../src/security/log-strings.js';
import { LogOutputRefusedError } from '../../src/security/errors.js';

describe('LogOutputPolicy', () => {
  let root: string; // a temp dir holding the allowed dir and the places attacks point at
  let allowed: string;
  let outside: string;
  let policy: LogOutputPolicy;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'logpolicy-'));
    allowed = join(root, 'log');
    outside = join(root, 'etc');
    await mkdir(join(allowed, 'sub'), { recursive: true });
    await mkdir(outside);
    await writeFile(join(outside, 'shadow'), 'secret');
    await writeFile(join(allowed, 'existing.log'), '');
    await symlink(join(outside, 'shadow'), join(allowed, 'to-shadow.log'));
    await symlink(outside, join(allowed, 'to-etc'));
    await symlink(join(outside, 'not-yet'), join(allowed, 'dangling.log'));
    await symlink(join(allowed, 'existing.log'), join(allowed, 'inner-link.log'));
    await symlink(join(allowed, 'sub'), join(allowed, 'sub-link'));
    await symlink(allowed, join(root, 'log-alias'));
    policy = new LogOutputPolicy([allowed]);
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const refused = async (input: Parameters<LogOutputPolicy['check']>[0], reason: RegExp): Promise<void> => {
    await assert.rejects(policy.check(input), (err: unknown) => {
      assert.ok(err instanceof LogOutputRefusedError, String(err));
      assert.equal(err.statusCode, 403);
      assert.match(err.message, reason);
      return true;
    });
  };
  /** Refused as unreadable (400), before any directory rule: the string never reaches a daemon. */
  const invalid = async (input: Parameters<LogOutputPolicy['check']>[0], reason: RegExp): Promise<void> => {
    await assert.rejects(policy.check(input), (err: unknown) => {
      assert.ok(err instanceof LogStringRefusedError || err instanceof LoggingSyntaxError, String(err));
      assert.match(err.message, reason);
      return true;
    });
  };

  it('defaults to /var/log/libvirt', () => {
    assert.deepEqual(new LogOutputPolicy().allowedDirs, DEFAULT_ALLOWED_LOG_DIRS);
    assert.deepEqual(DEFAULT_ALLOWED_LOG_DIRS, ['/var/log/libvirt']);
  });

  it('accepts files inside the allowed directory, existing or not, and links that stay inside', async () => {
    await policy.check(`1:file:${allowed}/new.log`);
    await policy.check(`2:file:${allowed}/existing.log 3:stderr`);
    await policy.check(`1:file:${allowed}/sub/deeper/new.log`);
    await policy.check(`1:file:${allowed}/inner-link.log`);
    await policy.check(`1:file:${allowed}/sub-link/x.log`);
    await policy.check(`1:file:${allowed}//./new.log`);
    await policy.check([{ level: 1, destination: 'file', path: `${allowed}/new.log` }]);
  });

  it('lets stderr, syslog and journald outputs pass, and "" (the default output)', async () => {
    await policy.check('1:stderr 2:syslog:libvirtd 3:journald 4:syslog:');
    await policy.check([
      { priority: 'error', destination: 'syslog', ident: 'x' },
      { level: 2, destination: 'journald' },
    ]);
    await policy.check('');
    await policy.check([]);
  });

  it('lets blanks only pass: libvirt then logs nowhere, as virt-admin lets it', async () => {
    assert.deepEqual((await policy.approveOutputs('   ')).outputs, []);
  });

  it('refuses ".." traversal, even when it would land inside again', async () => {
    await refused(`1:file:${allowed}/../etc/shadow`, /contains '\.\.'/);
    await refused(`1:file:${allowed}/sub/../new.log`, /contains '\.\.'/);
    await refused([{ level: 1, destination: 'file', path: `${allowed}/../../x` }], /contains '\.\.'/);
  });

  it('refuses relative paths (libvirtd would resolve them from /)', async () => {
    await refused('1:file:etc/shadow', /is not absolute/);
    await refused('1:file:', /is not absolute/);
    // An object is formatted first, and that refuses a relative path already (400).
    await invalid([{ level: 1, destination: 'file', path: 'x.log' }], /must be absolute/);
  });

  it('refuses files outside the allowed directories, and the directory itself', async () => {
    await refused(`1:file:${outside}/shadow`, /is outside the allowed log directories \(/);
    await refused(`1:file:${allowed}`, /outside/);
    await refused(`1:file:${allowed}-evil/x.log`, /outside/);
    await refused(`1:file:/${allowed}/x.log`, /outside/); // '//' keeps a meaning of its own in POSIX
  });

  it('refuses symbolic links that lead outside, dangling links and non-files', async () => {
    await refused(`1:file:${allowed}/to-shadow.log`, /leads through a symbolic link outside/);
    await refused(`1:file:${allowed}/to-etc/new.log`, /leads through a symbolic link outside/);
    await refused(`1:file:${allowed}/dangling.log`, /symbolic link that points to nothing/);
    await refused(`1:file:${allowed}/sub`, /is not a regular file/);
    await refused(`1:file:${allowed}/sub-link`, /is not a regular file/);
  });

  it('refuses NUL, newline, tab and other control characters with 400, raw and as objects', async () => {
    for (const bad of ['\u0000', '\n', '\r', '\t', '\u001b', '\u007f', '\u0085', '\u2028', '\ud800']) {
      await invalid(`1:file:${allowed}/a${bad}b.log`, /refused: it contains U\+/);
      await invalid([{ level: 1, destination: 'file', path: `${allowed}/a${bad}b.log` }], /refused: it contains U\+/);
      await invalid([{ level: 1, destination: 'syslog', ident: `a${bad}b` }], /refused: it contains U\+/);
    }
    // The issue 11 attack: the daemon reads up to the NUL and would open the file outside.
    await invalid(`1:file:${outside}/x\u0000:junk`, /U\+0000 \(NUL/);
  });

  it('refuses a FIFO, which would block libvirtd in open() until someone reads it', async () => {
    execFileSync('mkfifo', [join(allowed, 'pipe.log')]);
    await refused(`1:file:${allowed}/pipe.log`, /is not a regular file/);
  });

  it('refuses a list where only one output is bad, naming that one', async () => {
    await refused(
      `1:stderr 1:file:${allowed}/ok.log 2:file:${outside}/x 3:journald`,
      new RegExp(`"2:file:${outside}/x"`),
    );
    await refused(
      [
        { level: 1, destination: 'file', path: `${allowed}/ok.log` },
        { level: 1, destination: 'file', path: `${allowed}/to-shadow.log` },
      ],
      /to-shadow\.log/,
    );
  });

  it("refuses a token libvirt cannot parse (400, in libvirt's words), whatever the others hold", async () => {
    await invalid(`1:file:${outside}/x 9:bogus`, /Invalid log priority '9'/);
    await invalid(`9:bogus 1:file:${outside}/x`, /Invalid log priority '9'/);
    await invalid(`1:file:${allowed}/ok.log 1:nowhere`, /Invalid log destination 'nowhere'/);
    await invalid(`1:file:${allowed}/a:b`, /does not meet the format requirements/);
    await invalid(`1:file:${allowed}/a b.log`, /Malformed format for log output 'b\.log'/);
  });

  it('parses raw tokens like libvirtd: a sign or zeros before the level do not hide a file output', async () => {
    await refused(`+01:file:${outside}/x`, /outside/);
    await invalid(`\t1:file:${outside}/x`, /U\+0009 \(TAB/);
  });

  it('says what it approved: the string to send, the outputs libvirt will hold and the files it will open', async () => {
    const raw = ` 1:file:${allowed}/a.log 3:stderr  2:file:${allowed}/./a.log 1:file:${allowed}/sub/b.log/`;
    assert.deepEqual(await policy.approveOutputs(raw).then(({ wire, files }) => ({ wire, files })), {
      wire: raw,
      files: [`${allowed}/a.log`, `${allowed}/sub/b.log`],
    });
    const approved = await policy.approveOutputs(raw);
    assert.deepEqual(
      approved.outputs?.map((o) => o.raw),
      ['3:stderr', `2:file:${allowed}/./a.log`, `1:file:${allowed}/sub/b.log/`],
    );
    const objects = await policy.approveOutputs([
      { priority: 'info', destination: 'file', path: `${allowed}/c.log` },
      { level: 4, destination: 'stderr' },
    ]);
    assert.equal(objects.wire, `2:file:${allowed}/c.log 4:stderr`);
    assert.deepEqual(objects.files, [`${allowed}/c.log`]);
    assert.deepEqual(await policy.approveOutputs(''), { wire: '', outputs: null, files: [] });
  });

  it('approves filters that read cleanly and refuses the rest with 400', () => {
    assert.deepEqual(
      policy.approveFilters(' 3:remote 1:+qemu ').filters.map((f) => [f.level, f.match]),
      [
        [3, 'remote'],
        [1, 'qemu'],
      ],
    );
    assert.equal(policy.approveFilters(' 3:remote 1:+qemu ').wire, ' 3:remote 1:+qemu ');
    assert.equal(
      policy.approveFilters([
        { priority: 'debug', match: 'util' },
        { level: 4, match: 'x', stackTrace: true },
      ]).wire,
      '1:util 4:+x',
    );
    assert.deepEqual(policy.approveFilters(''), { wire: '', filters: [] });
    assert.throws(() => policy.approveFilters('1:x\nssh-ed25519 AAAA'), LogStringRefusedError);
    assert.throws(() => policy.approveFilters([{ level: 1, match: 'x\ny' }]), LogStringRefusedError);
    assert.throws(() => policy.approveFilters('1:a:b'), LogStringRefusedError);
    assert.throws(() => policy.approveFilters('7:x'), LoggingSyntaxError);
  });

  it('checks both the path as written and where it really leads when the allowed dir is reached through a link', async () => {
    const viaAlias = new LogOutputPolicy([join(root, 'log-alias')]);
    await viaAlias.check(`1:file:${root}/log-alias/a.log`);
    await assert.rejects(viaAlias.check(`1:file:${allowed}/a.log`), /outside the allowed log directories/);
    await assert.rejects(viaAlias.check(`1:file:${root}/log-alias/to-etc/x`), /symbolic link outside/);
  });

  it('accepts several allowed directories, including ones that do not exist yet', async () => {
    const several = new LogOutputPolicy([join(root, 'missing', 'dir'), allowed]);
    await several.check(`1:file:${root}/missing/dir/x.log 1:file:${allowed}/y.log`);
    await assert.rejects(several.check(`1:file:${root}/missing/x.log`), LogOutputRefusedError);
  });
});

describe('normaliseAllowedDir', () => {
  it('normalises slashes and refuses relative, ".." and control characters', () => {
    assert.equal(normaliseAllowedDir('/var//log/libvirt/'), '/var/log/libvirt');
    assert.equal(normaliseAllowedDir('/'), '/');
    assert.throws(() => normaliseAllowedDir('var/log'), /must be an absolute path/);
    assert.throws(() => normaliseAllowedDir('/var/log/../etc'), /must not contain '\.\.'/);
    assert.throws(() => normaliseAllowedDir('/var/log\n'), /control character/);
    assert.throws(() => new LogOutputPolicy([]), /at least one/);
  });
});
