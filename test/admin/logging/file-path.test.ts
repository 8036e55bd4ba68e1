// Log file paths resolved like g_canonicalize_filename.
// Cases marked [live] were checked by hand against libvirtd 9.0.0 (Debian 9.0.0-4+deb12u2) with virt-admin
// daemon-log-outputs/daemon-log-filters and with raw admin calls (procs 14-17) that show the exact GET bytes and
// error codes. A one-off differential run also sent 4,500 random strings (pieces like digits, '+', '-', ':', ' ',
// '\t', '\n', destinations, globs) to that libvirtd and compared error texts/codes and GET replies with these
// modules: all equal, except the GET after a SET of blanks, which libvirtd fails with a stale per-thread error
// (see formatOutputs).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalizeLogPath } from '../../../src/admin/logging/file-path.js';

describe('canonicalizeLogPath (g_canonicalize_filename from cwd /)', () => {
  const cases: [string, string][] = [
    ['rel.log', '/rel.log'], // [live]
    ['', '/'], // [live] then "failed to open /: Is a directory"
    ['.', '/'], // [live]
    ['/var/log/libvirt/..', '/var/log'], // [live]
    ['/var/log/libvirt/../libvirt/b.log', '/var/log/libvirt/b.log'], // [live]
    ['/var/log/libvirt/./d.log', '/var/log/libvirt/d.log'], // [live]
    ['/var/log/libvirt//e.log', '/var/log/libvirt/e.log'], // [live]
    ['/var/log/libvirt/f.log/', '/var/log/libvirt/f.log'], // [live]
    ['/../var/log/libvirt/g.log', '/var/log/libvirt/g.log'], // [live]
    ['//var/log/libvirt/c.log', '//var/log/libvirt/c.log'], // [live] two leading slashes are kept
    ['///var/log/libvirt/c.log', '/var/log/libvirt/c.log'], // [live]
    ['/', '/'],
    ['a/../../b', '/b'],
  ];
  for (const [path, expected] of cases) {
    it(`${JSON.stringify(path)} -> ${expected}`, () => assert.equal(canonicalizeLogPath(path), expected));
  }

  it('resolves a relative path from another cwd', () => {
    assert.equal(canonicalizeLogPath('x/../y.log', '/srv/'), '/srv/y.log');
    assert.equal(canonicalizeLogPath('y.log', '/srv'), '/srv/y.log');
  });
});
