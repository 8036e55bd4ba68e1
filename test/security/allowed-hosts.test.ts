// The Host allowlist on its own: loopback, the listen address, the interfaces of a wildcard listener (re-read
// when an unknown address shows up, at most every INTERFACE_REFRESH_MS), and configured names.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AllowedHostError,
  HostAllowlist,
  hostOfHeader,
  INTERFACE_REFRESH_MS,
  osInterfaceAddresses,
  parseAllowedHost,
} from '../../src/security/allowed-hosts.js';
import { SecurityError } from '../../src/security/errors.js';

describe('hostOfHeader', () => {
  it('takes the host out of host[:port], lower-cased, IPv6 unbracketed and canonical', () => {
    assert.equal(hostOfHeader('LocalHost:8080'), 'localhost');
    assert.equal(hostOfHeader('localhost.'), 'localhost');
    assert.equal(hostOfHeader('127.0.0.1'), '127.0.0.1');
    assert.equal(hostOfHeader('[::1]:8080'), '::1');
    assert.equal(hostOfHeader('[0:0:0:0:0:0:0:1]'), '::1');
    assert.equal(hostOfHeader('[FE80::A]:1'), 'fe80::a');
  });

  it('refuses what is not host[:port]', () => {
    for (const bad of [
      '',
      'a b',
      'evil.example@localhost',
      'localhost/x',
      'localhost:80:80',
      '::1',
      '[::1',
      '[zz::1]',
      'localhost:123456',
      '[fe80::1%25eth0]',
    ]) {
      assert.equal(hostOfHeader(bad), null, bad);
    }
  });
});

describe('parseAllowedHost', () => {
  it('takes names, *.domain and addresses', () => {
    assert.equal(parseAllowedHost('GW.Example.COM.'), 'gw.example.com');
    assert.equal(parseAllowedHost('*.svc.cluster.local'), '*.svc.cluster.local');
    assert.equal(parseAllowedHost('[2001:DB8::1]'), '2001:db8::1');
    assert.equal(parseAllowedHost('10.0.0.7'), '10.0.0.7');
  });

  it('refuses anything else, saying what it got', () => {
    for (const bad of ['', 'a b', 'http://x', 'x:80', '*', '*.', 'a.*.b', 'x/y']) {
      assert.throws(() => parseAllowedHost(bad), AllowedHostError, bad);
    }
    assert.throws(() => parseAllowedHost('x/y'), /--allowed-host "x\/y" is not a host name/);
  });
});

describe('HostAllowlist', () => {
  it('serves loopback names and addresses on any port, and nothing else by default', () => {
    const hosts = new HostAllowlist({
      interfaces: () => assert.fail('a loopback listener never reads the interfaces'),
    });
    for (const ok of [
      'localhost',
      'localhost:8080',
      'LOCALHOST:1',
      '127.0.0.1:8080',
      '127.1.2.3',
      '[::1]:9000',
      undefined,
    ]) {
      assert.equal(hosts.allows(ok), true, String(ok));
    }
    for (const bad of [
      'evil.example',
      'evil.example:8080',
      'localhost.evil.example',
      'evil.localhost',
      '10.0.0.7',
      '2130706433',
      '127.1',
      '[::2]',
    ]) {
      assert.equal(hosts.allows(bad), false, bad);
    }
  });

  it('serves the address it listens on, and names given with --allowed-host', () => {
    const hosts = new HostAllowlist({
      listenHost: '10.0.0.7',
      allowed: ['gw.example.com', '*.nodes.example.com', '2001:db8::1'],
      interfaces: () => [],
    });
    for (const ok of [
      '10.0.0.7:8080',
      'gw.example.com',
      'GW.example.com.:443',
      'h1.nodes.example.com',
      'a.b.nodes.example.com',
      '[2001:db8:0::1]',
    ]) {
      assert.equal(hosts.allows(ok), true, ok);
    }
    for (const bad of ['nodes.example.com', 'xnodes.example.com', 'gw.example.com.evil.example', '10.0.0.8']) {
      assert.equal(hosts.allows(bad), false, bad);
    }
  });

  it('serves every interface address of a wildcard listener, re-reading them at most every INTERFACE_REFRESH_MS', () => {
    let now = 1_000_000;
    let addresses = ['127.0.0.1', '10.1.2.3', 'fe80::1%eth0'];
    let reads = 0;
    const hosts = new HostAllowlist({ listenHost: '0.0.0.0', interfaces: () => (reads++, addresses), now: () => now });
    assert.equal(hosts.allows('10.1.2.3:8080'), true);
    assert.equal(hosts.allows('[fe80::1]:8080'), true);
    assert.equal(reads, 1);
    // A name is never looked up in the interfaces.
    assert.equal(hosts.allows('evil.example'), false);
    assert.equal(reads, 1);
    // The pod got a new address: unknown until the next allowed re-read.
    addresses = ['127.0.0.1', '10.9.9.9'];
    now += INTERFACE_REFRESH_MS - 1;
    assert.equal(hosts.allows('10.9.9.9'), false);
    assert.equal(reads, 1);
    now += 1;
    assert.equal(hosts.allows('10.9.9.9'), true);
    assert.equal(reads, 2);
    // The old address went with the re-read.
    assert.equal(hosts.allows('10.1.2.3'), false);
    assert.equal(reads, 2);
  });

  it("reads this host's real interfaces by default", () => {
    const addresses = osInterfaceAddresses();
    assert.ok(addresses.includes('127.0.0.1'), addresses.join(' '));
    const hosts = new HostAllowlist({ listenHost: '::' });
    for (const address of addresses)
      assert.equal(hosts.allows(address.includes(':') ? `[${address}]` : address), true, address);
  });

  it('refuses with 421 ERR_HOST_NOT_ALLOWED, quoting the Host', () => {
    const hosts = new HostAllowlist();
    assert.throws(
      () => hosts.check('evil.example:8080'),
      (err: unknown) =>
        err instanceof SecurityError &&
        err.statusCode === 421 &&
        err.code === 'ERR_HOST_NOT_ALLOWED' &&
        err.message.startsWith('This gateway does not answer to the host name "evil.example:8080"'),
    );
    assert.doesNotThrow(() => hosts.check('localhost'));
  });
});
