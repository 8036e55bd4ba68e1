// The error every step of the log syntax raises.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseOutputs } from '../../../src/admin/logging/outputs.js';
import { LoggingSyntaxError } from '../../../src/admin/logging/syntax-error.js';
import { ErrorCode, LocalError } from '../../../src/rpc/errors.js';

describe('LoggingSyntaxError', () => {
  it('carries libvirt code 8, domain 0, the prefixed message and the detail', () => {
    try {
      parseOutputs('1:foo');
      assert.fail('expected an error');
    } catch (error) {
      assert.ok(error instanceof LoggingSyntaxError);
      assert.ok(error instanceof LocalError);
      assert.equal(error.libvirtCode, 8); // [live] 8/0
      assert.equal(error.libvirtDomain, 0);
      assert.equal(error.code, ErrorCode.INVALID_ARGUMENT);
      assert.equal(error.name, 'LoggingSyntaxError');
      assert.equal(error.detail, "Invalid log destination 'foo' for log output '1:foo'");
      assert.equal(error.message, `invalid argument: ${error.detail}`);
    }
  });
});
