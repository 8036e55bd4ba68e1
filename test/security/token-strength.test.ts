// How token strength is counted: length × log2(alphabet), the alphabet from the character classes used.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { MIN_TOKEN_BITS, tokenAlphabetSize, tokenStrengthBits } from '../../src/security/token-strength.js';

describe('token strength', () => {
  it('counts hex as 16, else the classes used (26 + 26 + 10 + 2 for -_ + 30 for other visible ASCII)', () => {
    assert.equal(tokenAlphabetSize('deadBEEF09'), 16);
    assert.equal(tokenAlphabetSize('abcxyz'), 26);
    assert.equal(tokenAlphabetSize('abcXYZ'), 52);
    assert.equal(tokenAlphabetSize('abcXYZ09'), 62);
    assert.equal(tokenAlphabetSize('abcXYZ09-_'), 64);
    assert.equal(tokenAlphabetSize('abcXYZ09-_!~'), 94);
    assert.equal(tokenAlphabetSize('ghij'), 26);
  });

  it('is length × log2(alphabet), 0 for nothing', () => {
    assert.equal(tokenStrengthBits(''), 0);
    assert.equal(tokenStrengthBits('a'), Math.log2(16));
    assert.equal(tokenStrengthBits('0123456789abcdef0123456789abcdef'), 128);
  });

  it('puts the floor at 128 bits: 32 hex digits, 22 base64url characters, 20 of every class', () => {
    assert.equal(MIN_TOKEN_BITS, 128);
    assert.ok(tokenStrengthBits('f'.repeat(31)) < MIN_TOKEN_BITS);
    assert.ok(tokenStrengthBits('f'.repeat(32)) >= MIN_TOKEN_BITS);
    assert.ok(tokenStrengthBits('aB3'.repeat(7)) < MIN_TOKEN_BITS); // 21 of 62: 125 bits
    assert.ok(tokenStrengthBits('aB3'.repeat(7) + 'x') >= MIN_TOKEN_BITS); // 22 of 62: 131 bits
    assert.ok(tokenStrengthBits('aB3-!'.repeat(4).slice(0, 19)) < MIN_TOKEN_BITS);
    assert.ok(tokenStrengthBits('aB3-!'.repeat(4)) >= MIN_TOKEN_BITS);
  });

  it('passes what the documented generators make', () => {
    for (let i = 0; i < 50; i++) {
      assert.ok(tokenStrengthBits(randomBytes(16).toString('hex')) >= MIN_TOKEN_BITS); // openssl rand -hex 16
      assert.ok(tokenStrengthBits(randomBytes(32).toString('base64url')) >= MIN_TOKEN_BITS); // hash-token --generate
    }
  });
});
