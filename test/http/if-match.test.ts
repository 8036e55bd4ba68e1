import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ifMatchPasses } from '../../src/http/if-match.js';

describe('ifMatchPasses', () => {
  const current = '"abc"';
  it('passes without a header and for *', () => {
    assert.equal(ifMatchPasses(undefined, current), true);
    assert.equal(ifMatchPasses('*', current), true);
    assert.equal(ifMatchPasses(' * ', current), true);
  });

  it('compares strongly, within lists', () => {
    assert.equal(ifMatchPasses('"abc"', current), true);
    assert.equal(ifMatchPasses('"xyz", "abc"', current), true);
    assert.equal(ifMatchPasses(['"xyz"', '"abc"'], current), true);
    assert.equal(ifMatchPasses('"xyz"', current), false);
    assert.equal(ifMatchPasses('W/"abc"', current), false, 'weak tags never match If-Match');
  });

  it('accepts empty list elements, as RFC 9110 lists allow', () => {
    assert.equal(ifMatchPasses(', "abc",,', current), true);
  });

  it('reads quoted tags that hold commas', () => {
    assert.equal(ifMatchPasses('"a,b", "abc"', current), true);
    assert.equal(ifMatchPasses('"a,b"', '"a,b"'), true);
  });

  it('matches nothing for a malformed header', () => {
    for (const bad of ['', ',', 'abc', '"abc', 'abc"', '"abc" "abc"', '"abc"x', '**']) {
      assert.equal(ifMatchPasses(bad, current), false, bad);
    }
  });
});
