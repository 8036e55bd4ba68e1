// The cross-site rule on its own: which changes a browser could send from another site without a preflight.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkCrossSite, isJsonMediaType } from '../../src/security/cross-site.js';
import { crossSiteRequestError, notJsonChangeError, SecurityError } from '../../src/security/errors.js';

const outcome = (method: string, headers: Record<string, string> = {}): string => {
  try {
    checkCrossSite({ method, headers });
    return 'ok';
  } catch (err) {
    if (err instanceof SecurityError) return `${err.statusCode} ${err.code}`;
    throw err;
  }
};

describe('checkCrossSite', () => {
  it('leaves reads alone, whatever they carry', () => {
    for (const method of ['GET', 'HEAD', 'OPTIONS', 'get']) {
      assert.equal(outcome(method), 'ok');
      assert.equal(outcome(method, { 'content-type': 'text/plain' }), 'ok');
    }
  });

  it('refuses every body-less change without a token or X-Requested-With (what fetch no-cors sends): 403', () => {
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE', 'post']) {
      assert.equal(outcome(method), '403 ERR_CROSS_SITE_REQUEST', method);
    }
    // What a browser attaches by itself does not count.
    assert.equal(outcome('POST', { authorization: 'Basic dXNlcjpwYXNz' }), '403 ERR_CROSS_SITE_REQUEST');
    assert.equal(outcome('POST', { authorization: 'Negotiate YII=' }), '403 ERR_CROSS_SITE_REQUEST');
    assert.equal(
      outcome('POST', { origin: 'https://evil.example', referer: 'https://evil.example/' }),
      '403 ERR_CROSS_SITE_REQUEST',
    );
    assert.equal(outcome('POST', { 'x-requested-with': '  ' }), '403 ERR_CROSS_SITE_REQUEST');
    assert.equal(outcome('POST', { authorization: 'Bearer ' }), '403 ERR_CROSS_SITE_REQUEST');
  });

  it('admits a body-less change with a bearer token or X-Requested-With', () => {
    assert.equal(outcome('POST', { authorization: 'Bearer abc' }), 'ok');
    assert.equal(outcome('DELETE', { authorization: 'bearer abc' }), 'ok');
    assert.equal(outcome('POST', { 'x-requested-with': 'cli' }), 'ok');
  });

  it('refuses the three form encodings and any other non-JSON type with 415, even with a token or an empty body', () => {
    for (const type of [
      'text/plain',
      'text/plain;charset=UTF-8',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/xml',
      'application/jsonx',
      'application/json-seq',
      'text/json',
    ]) {
      assert.equal(outcome('POST', { 'content-type': type }), '415 ERR_UNSUPPORTED_MEDIA_TYPE', type);
      assert.equal(
        outcome('PATCH', { 'content-type': type, authorization: 'Bearer abc' }),
        '415 ERR_UNSUPPORTED_MEDIA_TYPE',
        type,
      );
    }
  });

  it('admits JSON bodies (application/json and application/*+json, any case and parameters)', () => {
    for (const type of [
      'application/json',
      'Application/JSON; charset=utf-8',
      'application/merge-patch+json',
      'application/problem+json ;x=y',
    ]) {
      assert.equal(outcome('PATCH', { 'content-type': type }), 'ok', type);
      assert.equal(isJsonMediaType(type), true, type);
    }
    assert.equal(isJsonMediaType(undefined), false);
    assert.equal(isJsonMediaType('application/+json'), false);
  });

  it('says what to send', () => {
    assert.match(crossSiteRequestError().message, /Authorization: Bearer.*X-Requested-With/);
    assert.match(notJsonChangeError('text/plain').message, /application\/json.*"text\/plain"/);
  });
});
