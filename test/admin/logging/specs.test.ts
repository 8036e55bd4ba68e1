// Outputs and filters given as objects, turned into libvirt strings, and the round trip through the daemon's
// syntax and back.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  formatFiltersReply,
  parseFilter,
  parseFilters,
  parseFiltersReply,
} from '../../../src/admin/logging/filters.js';
import { formatOutputs, parseOutput, parseOutputs, parseOutputsReply } from '../../../src/admin/logging/outputs.js';
import { priorityName } from '../../../src/admin/logging/priority.js';
import {
  formatFilterSpecs,
  formatOutputSpecs,
  type LogFilterSpec,
  type LogOutputSpec,
} from '../../../src/admin/logging/specs.js';
import { LoggingSyntaxError } from '../../../src/admin/logging/syntax-error.js';

/** Asserts that fn throws a LoggingSyntaxError with exactly libvirt's message. */
function assertLibvirtError(fn: () => unknown, message: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof LoggingSyntaxError, `expected LoggingSyntaxError, got ${String(error)}`);
    assert.equal(error.message, message);
    return true;
  });
}

describe('objects -> SET string', () => {
  it('formats outputs and filters', () => {
    const outputs: LogOutputSpec[] = [
      { level: 3, destination: 'file', path: '/var/log/libvirt/libvirtd.log' },
      { priority: 'debug', destination: 'journald' },
      { level: 2, priority: 'info', destination: 'syslog', ident: 'libvirtd' },
      { level: 4, destination: 'stderr' },
    ];
    assert.equal(
      formatOutputSpecs(outputs),
      '3:file:/var/log/libvirt/libvirtd.log 1:journald 2:syslog:libvirtd 4:stderr',
    );
    const filters: LogFilterSpec[] = [
      { level: 4, match: 'event' },
      { priority: 'warning', match: 'remote', stackTrace: true },
    ];
    assert.equal(formatFilterSpecs(filters), '4:event 3:+remote');
    assert.equal(formatOutputSpecs([]), '');
    assert.equal(formatFilterSpecs([]), '');
  });

  const outputErrors: [LogOutputSpec, string][] = [
    [{ level: 7, destination: 'stderr' }, "Invalid log priority '7' for log output '7:stderr'"],
    [{ level: 7, destination: 'stdout' }, "Invalid log priority '7' for log output '7:stdout'"],
    [{ level: 1, destination: 'stdout' }, "Invalid log destination 'stdout' for log output '1:stdout'"],
    [{ level: 1, destination: 'file:/x' }, "Invalid log destination 'file:/x' for log output '1:file:/x'"],
    [
      { level: 1, destination: 'file' },
      "Log output '1:file' does not meet the format requirements for destination type 'file'",
    ],
    [
      { level: 1, destination: 'syslog' },
      "Log output '1:syslog' does not meet the format requirements for destination type 'syslog'",
    ],
    [
      { level: 1, destination: 'file', path: '/a:b' },
      "Log output '1:file:/a:b' does not meet the format requirements for destination type 'file'",
    ],
    [{ level: 1, destination: 'file', path: 'rel.log' }, "Log file path 'rel.log' must be absolute"],
    [{ level: 1, destination: 'file', path: '/a b' }, "Log output path '/a b' must not contain spaces"],
    [{ level: 1, destination: 'syslog', ident: 'a b' }, "Log output ident 'a b' must not contain spaces"],
    [
      { level: 1, destination: 'file', path: '/x', ident: 'y' },
      "'ident' is not allowed for log output destination 'file'",
    ],
    [{ level: 1, destination: 'syslog', path: '/x' }, "'path' is not allowed for log output destination 'syslog'"],
    [{ level: 1, destination: 'stderr', path: '/x' }, "'path' is not allowed for log output destination 'stderr'"],
    [{ level: 1, destination: 'journald', ident: 'x' }, "'ident' is not allowed for log output destination 'journald'"],
    [{ destination: 'stderr' }, "Missing level or priority for log output destination 'stderr'"],
    [
      { priority: 'warn', destination: 'stderr' },
      "Unknown priority 'warn' for log output destination 'stderr', expected debug, info, warning or error",
    ],
    [
      { level: 1, priority: 'error', destination: 'stderr' },
      "Level 1 and priority 'error' disagree for log output destination 'stderr'",
    ],
  ];
  for (const [spec, detail] of outputErrors) {
    it(`rejects output ${JSON.stringify(spec)}`, () =>
      assertLibvirtError(() => formatOutputSpecs([spec]), `invalid argument: ${detail}`));
  }

  const filterErrors: [LogFilterSpec, string][] = [
    [{ level: 0, match: 'x' }, "Invalid priority '0' for filter '0:x'"],
    [{ level: 1, match: '' }, "Invalid match string ''"],
    [{ level: 1, match: '', stackTrace: true }, "Invalid match string '+'"],
    [{ level: 1, match: 'a:b' }, "Log filter match 'a:b' must not contain ':' or spaces"],
    [{ level: 1, match: 'a b' }, "Log filter match 'a b' must not contain ':' or spaces"],
    [{ level: 1, match: '+x' }, "Log filter match '+x' must not start with '+' unless stackTrace is set"],
    [{ match: 'x' }, "Missing level or priority for log filter 'x'"],
  ];
  for (const [spec, detail] of filterErrors) {
    it(`rejects filter ${JSON.stringify(spec)}`, () =>
      assertLibvirtError(() => formatFilterSpecs([spec]), `invalid argument: ${detail}`));
  }

  it('keeps a leading + in the match when stackTrace is set', () => {
    assert.equal(formatFilterSpecs([{ level: 1, match: '+x', stackTrace: true }]), '1:++x');
    assert.equal(parseFilter('1:++x').match, '+x');
  });
});

describe('round trips object -> SET string -> daemon state -> GET reply -> object', () => {
  const level = fc.constantFrom(1, 2, 3, 4);
  // Names without ' ' and ':' (the two characters the syntax cannot carry); paths are absolute and canonical.
  const segment = fc.stringMatching(/^[A-Za-z0-9_.\-+*?\t]{1,8}$/).filter((s) => s !== '.' && s !== '..');
  const output = fc.oneof(
    fc.record({ level, destination: fc.constantFrom('stderr', 'journald') }),
    fc.record({ level, destination: fc.constant('syslog'), ident: fc.stringMatching(/^[A-Za-z0-9_.\-+*\t]{0,8}$/) }),
    fc.record({
      level,
      destination: fc.constant('file'),
      path: fc.array(segment, { minLength: 1, maxLength: 4 }).map((p) => `/${p.join('/')}`),
    }),
  );

  it('outputs', () => {
    // fast-check records have a null prototype; copy them so deepEqual compares plain objects.
    const key = (o: LogOutputSpec): string => JSON.stringify([o.destination, o.path, o.ident]);
    fc.assert(
      fc.property(fc.array(output, { maxLength: 6 }), (specs) => {
        const parsed = parseOutputs(formatOutputSpecs(specs)) ?? [];
        const reply = parseOutputsReply(formatOutputs(parsed));
        // De-duplication keeps the last of identical outputs, in the order of those last occurrences.
        const expected = specs
          .filter((s, i) => !specs.slice(i + 1).some((t) => key(t) === key(s)))
          .map((s) => ({ ...s }));
        assert.deepEqual(
          reply.map(({ raw: _raw, priority: _priority, ...rest }) => rest),
          expected,
        );
        assert.deepEqual(
          reply.map((o) => o.priority),
          expected.map((o) => priorityName(o.level as 1)),
        );
      }),
    );
  });

  it('filters', () => {
    const filter = fc.record({
      level,
      match: fc.stringMatching(/^[A-Za-z0-9_.\-*?\t][A-Za-z0-9_.\-+*?\t]{0,8}$/),
      stackTrace: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(filter, { maxLength: 6 }), (specs) => {
        const reply = parseFiltersReply(formatFiltersReply(parseFilters(formatFilterSpecs(specs))));
        // GET does not show the stack-trace marker, so it comes back false.
        assert.deepEqual(
          reply.map((f) => ({ level: f.level, match: f.match })),
          specs.map((s) => ({ level: s.level, match: s.match })),
        );
        assert.ok(reply.every((f) => !f.stackTrace && f.stored === `*${f.match}*`));
      }),
    );
  });

  it('a parsed object formats back to its own token', () => {
    for (const token of ['3:file:/var/log/libvirt/libvirtd.log', '1:journald', '2:syslog:libvirtd', '4:stderr']) {
      assert.equal(formatOutputSpecs([parseOutput(token)]), token);
    }
    for (const token of ['4:event', '3:+remote', '1:*x*']) assert.equal(formatFilterSpecs([parseFilter(token)]), token);
  });
});
