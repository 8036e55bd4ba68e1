// SECURITY.md states every limit the gateway enforces (issue 11). Each statement is checked here against the
// constant the code enforces, so that changing one without the other fails.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { DEFAULT_LOAD_LIMITS } from '../src/gateway/daemon-connection.js';
import { ADMIN_CLIENTS_RESERVE, WorkerCeilings } from '../src/resources/change-policy.js';
import { AuthThrottle } from '../src/security/auth-throttle.js';
import { LOCAL_TOKEN_BYTES } from '../src/security/local-token.js';
import { MutationRateLimit, RequestLimits } from '../src/security/limits.js';
import { MIN_TOKEN_BITS } from '../src/security/token-strength.js';
import { DEFAULT_SOCKET_MODE } from '../src/security/unix-socket.js';

const text = readFileSync(new URL('../SECURITY.md', import.meta.url), 'utf8');

/** The cells of the Defaults table row whose first cell is `setting`. */
function defaultsRow(setting: string): string {
  const row = text.split('\n').find((line) => line.startsWith(`| ${setting} |`));
  assert.ok(row, `SECURITY.md has a Defaults row "${setting}"`);
  return row;
}

const kib = (bytes: number) => `${bytes / 1024} KiB`;
const seconds = (ms: number) => `${ms / 1000} s`;
const octal = (mode: number) => `\`0${mode.toString(8)}\``;

describe('SECURITY.md states the limits the code enforces', () => {
  it('request sizes and times', () => {
    assert.match(defaultsRow('Request body'), new RegExp(`\\| ${kib(RequestLimits.BODY_BYTES)} \\|`));
    const sizes = defaultsRow('Headers / path parameters');
    assert.ok(sizes.includes(`${kib(RequestLimits.HEADER_BYTES)} / ${RequestLimits.PARAM_LENGTH} characters`), sizes);
    const times = defaultsRow('Request time');
    assert.ok(
      times.includes(`${seconds(RequestLimits.HEADERS_TIMEOUT_MS)} to receive the request line and headers`),
      times,
    );
    assert.ok(times.includes(`${seconds(RequestLimits.REQUEST_TIMEOUT_MS)} to receive the whole request`), times);
    assert.ok(times.includes(`checked every ${seconds(RequestLimits.TIMEOUT_CHECK_INTERVAL_MS)}`), times);
    assert.ok(times.includes(`${seconds(RequestLimits.KEEP_ALIVE_TIMEOUT_MS)} idle keep-alive`), times);
  });

  it('rate limits and the authentication throttle', () => {
    const window = MutationRateLimit.WINDOW_MS === 60_000 ? 'minute' : `${String(MutationRateLimit.WINDOW_MS)} ms`;
    assert.ok(defaultsRow('Change rate').includes(`${MutationRateLimit.MAX} changes per identity per ${window}`));
    assert.ok(defaultsRow('Failed authentication').includes(`${AuthThrottle.MAX_FAILURES} per source per minute`));
    assert.equal(AuthThrottle.WINDOW_MS, 60_000);
    assert.ok(
      text.includes(
        `wrong credentials ${AuthThrottle.MAX_FAILURES} times within ${AuthThrottle.WINDOW_MS / 1000} seconds`,
      ),
    );
    assert.ok(text.includes(`remembers at most ${AuthThrottle.MAX_SOURCES.toLocaleString('en-US')} sources`));
  });

  it('the identity model: socket mode, local token, token strength', () => {
    assert.ok(defaultsRow('Unix socket').includes(`mode ${octal(DEFAULT_SOCKET_MODE)}`));
    assert.ok(defaultsRow('Local token').includes(`${LOCAL_TOKEN_BYTES * 8} random bits`));
    assert.ok(text.includes(`must have at least ${MIN_TOKEN_BITS} bits`));
  });

  it('the changes no role may make', () => {
    assert.ok(text.includes(`above ${WorkerCeilings.MAX_WORKERS} (\`--max-workers\`)`));
    assert.ok(
      text.includes(
        `(\`--pool-size\`, ${DEFAULT_LOAD_LIMITS.connections} by default) plus ${ADMIN_CLIENTS_RESERVE} for virt-admin`,
      ),
    );
  });
});
