// --on-demand: which daemons are connected to per request, and their idle time; names checked against --connect.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig, onDemandDaemons, type Config } from '../src/config.js';

function config(argv: string[], env: NodeJS.ProcessEnv = {}): Config {
  const result = loadConfig(argv, env);
  assert.equal(result.kind, 'run');
  return (result as { config: Config }).config;
}

const TWO = ['--connect', 'libvirtd:///system', '--connect', 'virtlogd:///system'];

describe('--on-demand', () => {
  it('holds every daemon by default', () => {
    assert.deepEqual(config(TWO).onDemand, []);
    assert.deepEqual(onDemandDaemons(config(TWO)), new Map());
  });

  it('names daemons as /daemons does, with the idle time in ms (2000 unless given)', () => {
    const c = config([...TWO, '--on-demand', 'virtlogd', '--on-demand', 'libvirtd=500']);
    assert.deepEqual(c.onDemand, ['virtlogd', 'libvirtd=500']);
    assert.deepEqual(
      onDemandDaemons(c),
      new Map([
        ['virtlogd', 2000],
        ['libvirtd', 500],
      ]),
    );
    // A second daemon of the same scheme is `libvirtd-2`, as in /daemons.
    const twice = config([
      '--connect',
      'libvirtd:///system',
      '--connect',
      'libvirtd:///session',
      '--on-demand',
      'libvirtd-2=0',
    ]);
    assert.deepEqual(onDemandDaemons(twice), new Map([['libvirtd-2', 0]]));
  });

  it('reads the environment, space-separated; the command line wins', () => {
    const env = { LIBVIRT_ADMIN_GATEWAY_ON_DEMAND: 'libvirtd=100 virtlogd' };
    assert.deepEqual(
      onDemandDaemons(config(TWO, env)),
      new Map([
        ['libvirtd', 100],
        ['virtlogd', 2000],
      ]),
    );
    assert.deepEqual(onDemandDaemons(config([...TWO, '--on-demand', 'virtlogd=7'], env)), new Map([['virtlogd', 7]]));
  });

  const bad: Array<[string[], RegExp]> = [
    [
      [...TWO, '--on-demand', 'virtqemud'],
      /invalid --on-demand "virtqemud": no daemon named 'virtqemud' \(the daemons are libvirtd, virtlogd\)/,
    ],
    [['--on-demand', 'libvirtd'], /no daemon named 'libvirtd' \(only --connect daemons can be on demand\)/],
    [
      [...TWO, '--on-demand', 'libvirtd=soon'],
      /invalid --on-demand .*"libvirtd=soon".*expected <daemon> or <daemon>=<idle ms>/,
    ],
    [[...TWO, '--on-demand', 'libvirtd=-1'], /expected <daemon> or <daemon>=<idle ms>/],
    [[...TWO, '--on-demand', 'libvirtd=1e3'], /expected <daemon> or <daemon>=<idle ms>/],
    [[...TWO, '--on-demand', ''], /expected <daemon> or <daemon>=<idle ms>/],
  ];
  for (const [argv, message] of bad) {
    it(`refuses --on-demand ${JSON.stringify(argv.at(-1))}${argv.length === 2 ? ' without --connect' : ''}`, () => {
      assert.throws(
        () => loadConfig(argv, {}),
        (err: unknown) => err instanceof ConfigError && message.test(err.message),
      );
    });
  }
});
