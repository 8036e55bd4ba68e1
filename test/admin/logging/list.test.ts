// Splitting an outputs or filters list into tokens.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { splitLogList } from '../../../src/admin/logging/list.js';

describe('splitLogList', () => {
  it('splits at spaces only and drops empty tokens', () => {
    assert.deepEqual(splitLogList('  1:a   2:b  '), ['1:a', '2:b']);
    assert.deepEqual(splitLogList('1:a\t2:b'), ['1:a\t2:b']);
    assert.deepEqual(splitLogList('   '), []);
    assert.deepEqual(splitLogList(''), []);
  });
});
