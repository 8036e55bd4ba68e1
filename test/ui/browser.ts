// Headless Chromium for the dashboard tests: Debian's `chromium` package (scripts/install-libvirt.sh installs it),
// driven by playwright-core with the system browser, never a downloaded one. Without the browser the tests fail
// (a missing browser is a broken setup, not a reason to skip).
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** Debian's Chromium. */
export const CHROMIUM = '/usr/bin/chromium';

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
];

/** A browser with a fresh profile; close() ends it and removes the profile. */
export interface TestBrowser {
  context: BrowserContext;
  /** A new tab; every console error, page error and CSP violation it reports is kept in `problems`. */
  page(): Promise<Page>;
  /** What went wrong in any tab: console errors, uncaught errors, CSP violations, requests to other origins. */
  problems: string[];
  close(): Promise<void>;
}

/** Starts Chromium for pages of `origin` (requests anywhere else are recorded as problems and blocked). */
export async function startBrowser(origin: string): Promise<TestBrowser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (sudo bash scripts/install-libvirt.sh)`);
  }
  const profile = await mkdtemp(join(tmpdir(), 'chromium-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: { width: 1360, height: 1000 },
  });
  const problems: string[] = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(`${origin}/`)) return route.continue();
    problems.push(`request outside the gateway: ${url}`);
    return route.abort();
  });
  return {
    context,
    problems,
    async page() {
      const page = await context.newPage();
      page.on('console', (message) => {
        // 401s and 4xx answers the page expects (a bad token, a refused change) are logged by Chromium as console errors.
        if (
          message.type() === 'error' &&
          !/Failed to load resource: the server responded with a status of 4\d\d/.test(message.text())
        ) {
          problems.push(`console: ${message.text()}`);
        }
      });
      page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
      // Run in the page (a string: this file is compiled without the DOM types).
      await page.addInitScript(
        "document.addEventListener('securitypolicyviolation', (e) => console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI))",
      );
      return page;
    },
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
