// The dashboard in real headless Chromium against a real libvirtd with clients connected: what it shows equals
// what virt-admin says, it follows changes live, its actions go through the API with the caller's role (a viewer
// sees none), a disconnect from the page removes the client, a stale form gets a clear 412, a bad token a clear
// message, and axe-core finds no serious or critical accessibility violation.
//
// DASHBOARD_SCREENSHOTS=docs/screenshots writes the screenshots the README shows.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { Page } from 'playwright-core';
import { buildUi } from '../../scripts/build-ui.js';
import { Authenticator } from '../../src/security/authenticate.js';
import { parseTokensFile, tokenLine, TokenStore } from '../../src/security/tokens.js';
import { eventually } from '../helpers/wait.js';
import {
  parseVirtAdminKeyValues,
  parseVirtAdminTable,
  startRealDaemons,
  type RealDaemons,
} from '../harness/libvirtd.js';
import { openRawClients, type RawClients } from '../harness/raw-clients.js';
import { buildGateway } from '../http/gateway.js';
import { startBrowser, type TestBrowser } from './browser.js';

const TOKENS = {
  admin: 'dashboard-admin-token-0123456789abcdefghij',
  operator: 'dashboard-operator-token-0123456789abcdefgh',
  viewer: 'dashboard-viewer-token-0123456789abcdefghijk',
};
const SHOTS = process.env['DASHBOARD_SCREENSHOTS'];
const WAIT = { timeout: 15_000 };

describe('the dashboard in Chromium against a real libvirtd', () => {
  let daemons: RealDaemons;
  let tmp: string;
  let app: FastifyInstance;
  let base: string;
  let browser: TestBrowser;
  const raw: RawClients[] = [];
  /** Every URL the browser asked for. */
  const requested: string[] = [];

  before(async () => {
    daemons = await startRealDaemons();
    tmp = await mkdtemp(join(tmpdir(), 'dashboard-'));
    await buildUi(join(tmp, 'ui'));
    const lines = Object.entries(TOKENS).map(([role, token]) =>
      tokenLine(role as 'viewer', token, role === 'operator' ? 'ops' : role),
    );
    app = await buildGateway([{ uri: daemons.adminUri('libvirtd') }, { uri: daemons.adminUri('virtlogd') }], {
      ui: { dir: join(tmp, 'ui') },
      monitoring: { watchIntervalMs: 500 },
      security: {
        authenticator: new Authenticator({ tokens: TokenStore.fromEntries(parseTokensFile(lines.join('\n'))) }),
        mutationRateLimit: 0,
      },
      history: { clientHistory: { stateDir: join(tmp, 'state') } },
    });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
    raw.push(await openRawClients(daemons.readOnlyClientSocket, 3));
    browser = await startBrowser(base);
    browser.context.on('request', (r) => requested.push(r.url()));
  });
  after(async () => {
    await browser?.close();
    for (const r of raw) r.close();
    await app?.close();
    await daemons?.stop();
    await rm(tmp, { recursive: true, force: true });
  });

  const virtAdmin = async (...args: string[]) => {
    const result = await daemons.virtAdmin('libvirtd', ...args);
    assert.equal(result.code, 0, result.stderr);
    return result.stdout;
  };
  const clientIds = async () =>
    parseVirtAdminTable(await virtAdmin('srv-clients-list', 'libvirtd')).map(([id]) => Number(id));
  const field = (page: Page, name: string, server = 'libvirtd') =>
    page.locator(`[data-server="${server}"] [data-field="${name}"]`).textContent();
  const shownIds = async (page: Page) =>
    await page
      .locator('[data-clients="libvirtd"] tbody tr')
      .evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-client'))));

  /** A new tab, signed in with `token`, once the libvirtd card shows figures and the stream is live. */
  const signedIn = async (token: string): Promise<Page> => {
    const page = await browser.page();
    await page.goto(`${base}/ui/`);
    await page.locator('#token').fill(token);
    await page.locator('#token').press('Enter');
    await page.locator('[data-server="libvirtd"] [data-field="maxWorkers"]').filter({ hasText: /^\d+$/ }).waitFor(WAIT);
    await page.locator('#stream-state[data-state="live"]').waitFor(WAIT);
    await page.locator('[data-clients="libvirtd"] tbody tr').first().waitFor(WAIT);
    return page;
  };
  const shot = async (page: Page, name: string) => {
    if (SHOTS) await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  };

  it('asks for a token, and says clearly when one is not accepted', async () => {
    const page = await browser.page();
    await page.goto(`${base}/ui/`);
    const alert = page.locator('#signin-error');
    await alert.waitFor(WAIT);
    assert.match((await alert.textContent())!, /needs credentials: Authentication required: send a bearer token/);
    await page.locator('#token').fill('not-the-right-token-0123456789abcdef');
    await page.locator('#token').press('Enter');
    await page.locator('#signin-error', { hasText: 'The token was not accepted' }).waitFor(WAIT);
    assert.match((await alert.textContent())!, /^The token was not accepted: The bearer token is not valid$/);
    await shot(page, 'sign-in');
    assert.equal(await page.evaluate('sessionStorage.length'), 0, 'a refused token is not kept');
    await page.close();
  });

  it('shows the worker pool, client counts and clients exactly as virt-admin does', async () => {
    const page = await signedIn(TOKENS.operator);
    const pool = parseVirtAdminKeyValues(await virtAdmin('srv-threadpool-info', 'libvirtd'));
    const limits = parseVirtAdminKeyValues(await virtAdmin('srv-clients-info', 'libvirtd'));
    const expected: Record<string, string> = {
      minWorkers: pool['minWorkers']!,
      maxWorkers: pool['maxWorkers']!,
      currentWorkers: pool['nWorkers']!,
      freeWorkers: pool['freeWorkers']!,
      prioWorkers: pool['prioWorkers']!,
      jobQueueDepth: pool['jobQueueDepth']!,
      maxClients: limits['nclients_max']!,
      currentClients: limits['nclients']!,
      maxUnauthClients: limits['nclients_unauth_max']!,
      currentUnauthClients: limits['nclients_unauth']!,
    };
    for (const [name, value] of Object.entries(expected)) assert.equal(await field(page, name), value, name);
    assert.deepEqual(await shownIds(page), await clientIds());
    assert.equal(
      await page.locator('[data-clients="libvirtd"] tbody tr').first().locator('td').nth(4).textContent(),
      String(process.pid),
    );
    // The token lives in this tab's session storage only: never in local storage, never in a URL.
    assert.equal(await page.evaluate('localStorage.length'), 0);
    assert.equal(await page.evaluate("sessionStorage.getItem('libvirt-admin-gateway.token')"), TOKENS.operator);
    for (const url of requested) assert.ok(!url.includes(TOKENS.operator), url);
    await page.close();
  });

  it('updates live when a client connects and when virt-admin changes the threadpool', async () => {
    const page = await signedIn(TOKENS.operator);
    const before = new Set(await clientIds());
    raw.push(await openRawClients(daemons.readOnlyClientSocket, 1));
    const id = (await clientIds()).find((i) => !before.has(i))!;
    await page.locator(`[data-clients="libvirtd"] tr[data-client="${id}"]`).waitFor(WAIT);
    const count = parseVirtAdminKeyValues(await virtAdmin('srv-clients-info', 'libvirtd'))['nclients']!;
    await eventually(async () => (await field(page, 'currentClients')) === count, `currentClients ${count}`);
    await page.locator(`[data-feed] li[data-type="client.connected"]`).first().waitFor(WAIT);

    await virtAdmin('srv-threadpool-set', 'libvirtd', '--min-workers', '6', '--max-workers', '27');
    await eventually(
      async () => (await field(page, 'maxWorkers')) === '27' && (await field(page, 'minWorkers')) === '6',
      'the new pool shown',
    );
    await page.locator(`[data-feed] li[data-type="threadpool.changed"]`).first().waitFor(WAIT);
    const pool = parseVirtAdminKeyValues(await virtAdmin('srv-threadpool-info', 'libvirtd'));
    await eventually(
      async () => (await field(page, 'currentWorkers')) === pool['nWorkers'],
      'currentWorkers as virt-admin says',
    );
    // The plot has points to draw.
    await page.locator('[data-server="libvirtd"] canvas').first().waitFor(WAIT);
    await shot(page, 'dashboard');
    await page.close();
  });

  it('disconnects a client from the page after asking, and virt-admin no longer lists it', async () => {
    const page = await signedIn(TOKENS.operator);
    const id = (await shownIds(page))[0]!;
    await page.getByRole('button', { name: `Disconnect client ${id}` }).click();
    const dialog = page.locator('dialog#confirm');
    await dialog.waitFor({ state: 'visible', ...WAIT });
    assert.match(
      (await page.locator('#confirm-text').textContent())!,
      new RegExp(`Disconnect client ${id} \\(root \\(uid 0\\), process ${process.pid}\\)`),
    );
    await shot(page, 'confirm-disconnect');
    // Cancel first: nothing happens.
    await page.locator('#confirm-cancel').click();
    assert.ok((await clientIds()).includes(id));
    await page.getByRole('button', { name: `Disconnect client ${id}` }).click();
    await page.locator('#confirm-ok').click();
    await page.locator('.clients [role="status"]', { hasText: `Client ${id} was disconnected.` }).waitFor(WAIT);
    assert.ok(!(await clientIds()).includes(id), 'virt-admin no longer lists it');
    await page.locator(`[data-clients="libvirtd"] tr[data-client="${id}"]`).waitFor({ state: 'detached', ...WAIT });
    // The history shows who did it.
    await page
      .locator(`[data-history] li[data-event="disconnected"][data-client="${id}"]`, {
        hasText: "disconnected by token 'ops'",
      })
      .waitFor(WAIT);
    await shot(page, 'history');
    await page.close();
  });

  it('keeps what was typed into a settings form while its read was under way (operator)', async () => {
    const page = await signedIn(TOKENS.operator);
    const card = page.locator('[data-server="libvirtd"]');
    // Hold the read the form makes when opened until the user has typed in one field.
    const limits = /\/servers\/libvirtd\/client-limits(\?|$)/;
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    await page.route(limits, async (route) => {
      await held;
      await route.continue();
    });
    await card.locator('summary', { hasText: 'Change client limits' }).click();
    const maxClients = card.locator('input[name="maxClients"]');
    await maxClients.fill('77');
    const landed = page.waitForResponse(limits);
    release();
    await landed;
    await page.unroute(limits);
    const cli = parseVirtAdminKeyValues(await virtAdmin('srv-clients-info', 'libvirtd'));
    // The other field takes the daemon's value; the typed one stays.
    const unauth = card.locator('input[name="maxUnauthClients"]');
    await eventually(async () => (await unauth.inputValue()) === cli['nclients_unauth_max'], 'the other field filled');
    assert.equal(await maxClients.inputValue(), '77');
    await page.close();
  });

  it('sends If-Match: a form opened before someone else changed the pool gets a clear 412 and changes nothing', async () => {
    const page = await signedIn(TOKENS.operator);
    const card = page.locator('[data-server="libvirtd"]');
    await card.locator('summary', { hasText: 'Change worker pool' }).click();
    const max = card.locator('input[name="maxWorkers"]');
    await eventually(async () => (await max.inputValue()) !== '', 'the form filled');
    await virtAdmin('srv-threadpool-set', 'libvirtd', '--max-workers', '31');
    await max.fill('40');
    await card.getByRole('button', { name: 'Apply' }).click();
    await page.locator('#confirm-ok').click();
    const alert = card.locator('[role="alert"]');
    await alert.waitFor(WAIT);
    assert.match((await alert.textContent())!, /Someone changed it after you opened this form, so nothing was changed/);
    assert.equal(parseVirtAdminKeyValues(await virtAdmin('srv-threadpool-info', 'libvirtd'))['maxWorkers'], '31');
    // Reloading the values takes the new ETag; then the change goes through.
    await card.getByRole('button', { name: 'Reload values' }).click();
    await eventually(async () => (await max.inputValue()) === '31', 'reloaded');
    await max.fill('32');
    await card.getByRole('button', { name: 'Apply' }).click();
    await page.locator('#confirm-ok').click();
    await card.locator('[role="status"]', { hasText: 'Done' }).waitFor(WAIT);
    assert.equal(parseVirtAdminKeyValues(await virtAdmin('srv-threadpool-info', 'libvirtd'))['maxWorkers'], '32');
    await page.close();
  });

  it('validates the logging editor as it is typed, and applies what the daemon accepts (admin)', async () => {
    const page = await signedIn(TOKENS.admin);
    const outputs = page.locator('#log-outputs');
    await eventually(async () => (await outputs.inputValue()) !== '', 'the editor filled');
    // Opening the editor reads the settings again. Hold that read until the user has typed: what they typed stays
    // when it lands (it once wiped the typing on a slow machine).
    const logging = /\/logging(\?|$)/;
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    await page.route(logging, async (route) => {
      await held;
      await route.continue();
    });
    await page.locator('summary', { hasText: 'Change logging' }).click();
    await outputs.fill('3:carrier-pigeon');
    await page.locator('#log-outputs-error', { hasText: "Invalid log destination 'carrier-pigeon'" }).waitFor(WAIT);
    const landed = page.waitForResponse(logging);
    release();
    await landed;
    await page.unroute(logging);
    // The message and the field's state are set by the same validation pass; wait for both.
    await eventually(async () => (await outputs.getAttribute('aria-invalid')) === 'true', 'the field marked invalid');
    assert.equal(await outputs.inputValue(), '3:carrier-pigeon');
    assert.equal(await page.locator('#log-save').isDisabled(), true);
    await outputs.fill('3:stderr');
    await page.locator('#log-filters').fill('2:rpc 4:event');
    await eventually(async () => (await outputs.getAttribute('aria-invalid')) === 'false', 'the field valid again');
    await shot(page, 'logging');
    await page.locator('#log-save').click();
    await page.locator('#confirm-ok').click();
    await page.locator('.logging [role="status"]', { hasText: 'Logging of libvirtd changed.' }).waitFor(WAIT);
    assert.equal(
      (await daemons.virtAdmin('libvirtd', 'daemon-log-outputs')).stdout.trim(),
      'Logging outputs: 3:stderr',
    );
    assert.match((await daemons.virtAdmin('libvirtd', 'daemon-log-filters')).stdout, /2:\*rpc\* 4:\*event\*/);
    await page.close();
  });

  it('shows a viewer no actions at all', async () => {
    const page = await signedIn(TOKENS.viewer);
    assert.equal(await page.locator('[data-role]').getAttribute('data-role'), 'viewer');
    assert.equal(await page.getByRole('button', { name: /Disconnect/ }).count(), 0);
    assert.equal(await page.locator('details.edit').count(), 0);
    assert.equal(await page.locator('form.settings, #log-outputs').count(), 0);
    // Still everything to look at.
    assert.ok((await shownIds(page)).length > 0);
    await page.close();
  });

  it('has no serious or critical accessibility violations (axe-core)', async (t) => {
    const page = await signedIn(TOKENS.admin);
    await page.locator('summary', { hasText: 'Change logging' }).click();
    await page.locator('[data-server="libvirtd"] summary', { hasText: 'Change worker pool' }).click();
    const axe = await readFile(new URL('../../node_modules/axe-core/axe.min.js', import.meta.url), 'utf8');
    // Evaluated through the DevTools protocol, which the page's CSP does not govern.
    await page.evaluate(axe);
    const violations = await page.evaluate<Array<{ id: string; impact: string; help: string; targets: string[] }>>(
      'axe.run().then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.slice(0, 3).map((n) => JSON.stringify(n.target)) })))',
    );
    // Every rule ran: the page was checked, not skipped.
    assert.equal(await page.evaluate('typeof axe.version'), 'string');
    const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    assert.deepEqual(serious, [], JSON.stringify(violations, null, 2));
    t.diagnostic(
      `axe-core: ${violations.length} minor or moderate: ${violations.map((v) => `${v.id} (${v.impact})`).join(', ') || 'none'}`,
    );
    await page.close();
  });

  it('broke no CSP rule, threw no error and asked nothing of another origin', () => {
    assert.deepEqual(browser.problems, []);
    assert.ok(requested.every((url) => url.startsWith(`${base}/`)));
  });
});
