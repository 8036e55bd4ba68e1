// Every expectation below was checked against virt-admin 9.0.0 on this machine: for each URI, the socket path it
// tried to connect to (`Failed to connect socket to '<path>'`) or its error text (§5 of the protocol reference).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode, InvalidArgumentError } from '../../src/rpc/errors.js';
import { adminSocketName, resolveAdminUri, type UriEnvironment } from '../../src/admin/uri.js';

const ENV: UriEnvironment = { XDG_RUNTIME_DIR: '/run/user/1000', HOME: '/home/u' };
const path = (uri: string, env: UriEnvironment = ENV) => resolveAdminUri(uri, env).socketPath;
const fails = (uri: string, message: string) =>
  assert.throws(
    () => resolveAdminUri(uri, ENV),
    (e: unknown) => e instanceof InvalidArgumentError && e.code === ErrorCode.INVALID_URI && e.message === message,
    uri,
  );

describe('admin URIs: socket file names', () => {
  it('libvirtd uses libvirt-admin-sock, every virt* daemon <scheme>-admin-sock', () => {
    assert.equal(adminSocketName('libvirtd'), 'libvirt-admin-sock');
    assert.equal(adminSocketName('virtqemud'), 'virtqemud-admin-sock');
    assert.equal(path('libvirtd:///system'), '/run/libvirt/libvirt-admin-sock');
    assert.equal(path('virtqemud:///system'), '/run/libvirt/virtqemud-admin-sock');
    assert.equal(path('virtlogd:///system'), '/run/libvirt/virtlogd-admin-sock');
    assert.equal(path('virtlockd:///system'), '/run/libvirt/virtlockd-admin-sock');
    assert.equal(path('virtproxyd:///system'), '/run/libvirt/virtproxyd-admin-sock');
    assert.equal(path('virt:///system'), '/run/libvirt/virt-admin-sock');
    assert.equal(path('virt-x:///system'), '/run/libvirt/virt-x-admin-sock');
  });

  it('reports the daemon and the mode', () => {
    assert.deepEqual(resolveAdminUri('virtqemud:///session', ENV), {
      uri: 'virtqemud:///session',
      daemon: 'virtqemud',
      mode: 'session',
      socketPath: '/run/user/1000/libvirt/virtqemud-admin-sock',
    });
  });
});

describe('admin URIs: /system and /session', () => {
  it('/session lives in $XDG_RUNTIME_DIR/libvirt', () => {
    assert.equal(path('libvirtd:///session'), '/run/user/1000/libvirt/libvirt-admin-sock');
    assert.equal(path('virtlogd:///session'), '/run/user/1000/libvirt/virtlogd-admin-sock');
  });

  it('without XDG_RUNTIME_DIR (or with it empty) /session falls back to $XDG_CACHE_HOME, then $HOME/.cache', () => {
    assert.equal(path('libvirtd:///session', { HOME: '/tmp/hh' }), '/tmp/hh/.cache/libvirt/libvirt-admin-sock');
    assert.equal(
      path('libvirtd:///session', { XDG_RUNTIME_DIR: '', HOME: '/tmp/hh' }),
      '/tmp/hh/.cache/libvirt/libvirt-admin-sock',
    );
    assert.equal(
      path('libvirtd:///session', { HOME: '/tmp/hh', XDG_CACHE_HOME: '/tmp/cc' }),
      '/tmp/cc/libvirt/libvirt-admin-sock',
    );
  });

  it('ignores the host part and the fragment', () => {
    assert.equal(path('libvirtd://host/system'), '/run/libvirt/libvirt-admin-sock');
    assert.equal(path('libvirtd://user@host:99/system'), '/run/libvirt/libvirt-admin-sock');
    assert.equal(path('libvirtd://[::1]/system'), '/run/libvirt/libvirt-admin-sock');
    assert.equal(path('libvirtd:///system#frag'), '/run/libvirt/libvirt-admin-sock');
  });

  it('percent-decodes the path', () => {
    assert.equal(path('libvirtd:///%73ystem'), '/run/libvirt/libvirt-admin-sock');
    assert.equal(path('libvirtd:///sys%74em'), '/run/libvirt/libvirt-admin-sock');
  });

  it('accepts an empty query and empty or nameless parameters', () => {
    for (const q of ['?', '?&', '?=x', '?&&'])
      assert.equal(path(`libvirtd:///system${q}`), '/run/libvirt/libvirt-admin-sock', q);
  });
});

describe('admin URIs: ?socket=', () => {
  it('wins over scheme and path, which are then not checked', () => {
    assert.equal(path('libvirtd:///system?socket=/tmp/x'), '/tmp/x');
    assert.equal(path('foo:///bar?socket=/nonexist'), '/nonexist');
    assert.equal(path('LIBVIRTD:///system?socket=/q'), '/q');
    assert.deepEqual(resolveAdminUri('foo:///bar?socket=/s', ENV), {
      uri: 'foo:///bar?socket=/s',
      daemon: 'foo',
      mode: null,
      socketPath: '/s',
    });
    assert.equal(resolveAdminUri('libvirtd:///session?socket=/s', ENV).mode, 'session');
  });

  it('takes the last socket parameter', () => {
    assert.equal(path('libvirtd:///system?socket=/x&socket=/y'), '/y');
  });

  it('decodes %XX in names and values and keeps "+" as it is', () => {
    assert.equal(path('libvirtd:///system?socket=/tmp/a%20b'), '/tmp/a b');
    assert.equal(path('libvirtd:///system?socket=/tmp/a+b'), '/tmp/a+b');
    assert.equal(path('libvirtd:///system?socket=/a%41'), '/aA');
    assert.equal(path('libvirtd:///system?so%63ket=/q'), '/q');
    // A decoded NUL ends the C string.
    assert.equal(path('libvirtd:///system?socket=/a%00b'), '/a');
  });

  it('keeps "=", "?" and quotes inside the value, and takes relative or empty paths as given', () => {
    assert.equal(path('libvirtd:///system?socket=/a=b'), '/a=b');
    assert.equal(path('libvirtd:///system?socket=/a?b'), '/a?b');
    assert.equal(path("libvirtd:///system?socket=/a'b"), "/a'b");
    assert.equal(path('libvirtd:///session?socket=rel/path'), 'rel/path');
    assert.equal(path('libvirtd:///system?socket='), '');
    assert.equal(path('libvirtd:///system?socket'), '');
  });
});

describe("admin URIs: libvirt's errors, word for word", () => {
  it('any other parameter: Unknown URI parameter (names are case-sensitive)', () => {
    fails('libvirtd:///system?bar=1', "unsupported configuration: Unknown URI parameter 'bar'");
    fails('libvirtd:///system?socket=/x&bar=2', "unsupported configuration: Unknown URI parameter 'bar'");
    fails('libvirtd:///system?Socket=/x', "unsupported configuration: Unknown URI parameter 'Socket'");
  });

  it('";" separates parameters only when no "&" is left', () => {
    fails('libvirtd:///system?a;socket=/x', "unsupported configuration: Unknown URI parameter 'a'");
    fails('libvirtd:///system?socket=/x;y', "unsupported configuration: Unknown URI parameter 'y'");
  });

  it('a scheme that is neither libvirtd nor virt*: Unsupported URI scheme (case-sensitive)', () => {
    fails('foo:///system', "unsupported configuration: Unsupported URI scheme 'foo'");
    fails('Libvirtd:///system', "unsupported configuration: Unsupported URI scheme 'Libvirtd'");
    fails('lib+virt.d-1:///system', "unsupported configuration: Unsupported URI scheme 'lib+virt.d-1'");
  });

  it('no scheme at all: No URI scheme specified', () => {
    for (const uri of ['', 'foo', '/system']) fails(uri, 'unsupported configuration: No URI scheme specified');
  });

  it('a path other than /system or /session: Invalid URI path, not normalised', () => {
    fails('libvirtd:///foo', "unsupported configuration: Invalid URI path '/foo', try '/system'");
    fails('libvirtd:///', "unsupported configuration: Invalid URI path '/', try '/system'");
    fails('libvirtd://', "unsupported configuration: Invalid URI path '', try '/system'");
    fails('libvirtd:///system/', "unsupported configuration: Invalid URI path '/system/', try '/system'");
    fails('libvirtd:///SYSTEM', "unsupported configuration: Invalid URI path '/SYSTEM', try '/system'");
    fails('libvirtd:system', "unsupported configuration: Invalid URI path 'system', try '/system'");
    fails('libvirtd:////system', "unsupported configuration: Invalid URI path '//system', try '/system'");
    fails('libvirtd:///a/../system', "unsupported configuration: Invalid URI path '/a/../system', try '/system'");
  });

  it('text that is no RFC 3986 URI: Unable to parse URI', () => {
    for (const uri of [
      ':::',
      '1abc:///system',
      'libvirtd:///sys tem',
      'libvirtd:///system?socket=/a%2',
      'libvirtd:///system?socket=/a|b',
      'libvirtd:///system?socket=/a"b',
      'libvirtd:///system?socket=/a[b',
      'libvirtd:///sys{t',
      'libvirtd:///system#a#b',
      'libvirtd://[::1/system',
      'libvirtd:///system?socket=/é',
    ]) {
      fails(uri, `internal error: Unable to parse URI ${uri}`);
    }
  });

  it('checks parameters before the scheme and the path, as libvirt does', () => {
    fails('foo:///bad?bar=1', "unsupported configuration: Unknown URI parameter 'bar'");
    fails('foo:///bad', "unsupported configuration: Unsupported URI scheme 'foo'");
  });
});
