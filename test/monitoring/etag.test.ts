import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clientLimitsEtag, ifMatchPasses, loggingEtag, threadpoolEtag } from '../../src/monitoring/etag.js';

const tp = { minWorkers: 5, maxWorkers: 20, prioWorkers: 5 };

describe('ETags', () => {
  it('are strong, quoted and stable for the same settings', () => {
    const tag = threadpoolEtag(tp);
    assert.match(tag, /^"[A-Za-z0-9_-]{27}"$/);
    assert.equal(threadpoolEtag({ ...tp }), tag);
  });

  it('ignore the live figures: only settable fields count', () => {
    const live = { ...tp, nWorkers: 7, freeWorkers: 3, jobQueueDepth: 2, extra: [] };
    assert.equal(threadpoolEtag(live), threadpoolEtag(tp));
    const limits = { maxClients: 5000, maxUnauthClients: 20 };
    assert.equal(clientLimitsEtag({ ...limits, clients: 3, unauthClients: 1, extra: [] } as typeof limits), clientLimitsEtag(limits));
  });

  it('change with every settable field', () => {
    const tags = new Set([
      threadpoolEtag(tp),
      threadpoolEtag({ ...tp, minWorkers: 6 }),
      threadpoolEtag({ ...tp, maxWorkers: 21 }),
      threadpoolEtag({ ...tp, prioWorkers: 6 }),
      clientLimitsEtag({ maxClients: 5, maxUnauthClients: 20 }),
      clientLimitsEtag({ maxClients: 5, maxUnauthClients: 2 }),
      loggingEtag({ outputs: '3:stderr', filters: '' }),
      loggingEtag({ outputs: '3:stderr', filters: '1:*util* ' }),
      loggingEtag({ outputs: '2:stderr', filters: '' }),
    ]);
    assert.equal(tags.size, 9);
  });

  it('treat "no filters" alike whether null or empty', () => {
    assert.equal(loggingEtag({ outputs: '3:stderr', filters: null }), loggingEtag({ outputs: '3:stderr', filters: '' }));
  });

  it('keep different resources apart even with equal values', () => {
    assert.notEqual(threadpoolEtag({ minWorkers: 1, maxWorkers: 2, prioWorkers: 3 }), clientLimitsEtag({ maxClients: 1, maxUnauthClients: 2 }));
  });
});

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
