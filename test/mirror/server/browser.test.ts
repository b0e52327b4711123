// The browse pages in a real headless Chromium (Debian `chromium` driven by playwright-core):
// click from the trains to a build, read a rock's image digest, follow the history chart to a
// build, and compare two builds with the diff form, all without any script on the pages.
// Without /usr/bin/chromium the test is skipped with the reason, except under CI, where it fails.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../../mirror/server/index.js';
import type { TempStore } from '../helpers.js';
import { B1, B2, B3, SERIES, cleanup, fixtureMirror, imageDigest, serve, type Served } from './fixtures.js';

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
const inCi = Boolean(process.env['CI']);
const SKIP = `skipped: ${CHROMIUM} is missing; install it with \`sudo .ci/install-test-deps\` (Debian package chromium)`;
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let t: TempStore;
let s: Served;
let profile: string;

beforeAll(async () => {
  t = await fixtureMirror();
  s = await serve(t.store);
  profile = await mkdtemp(join(tmpdir(), 'heliostat-chromium-'));
});
afterAll(async () => {
  await cleanup(t, s);
  await rm(profile, { recursive: true, force: true });
});

/** A fresh browser with its own profile directory; records script errors and dialogs (there must be none). */
async function browser(name: string, options: { httpCredentials?: { username: string; password: string } } = {}): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
  if (!haveChromium) throw new Error(`${CHROMIUM} is required under CI: run .ci/install-test-deps`);
  const context = await chromium.launchPersistentContext(join(profile, name), { executablePath: CHROMIUM, headless: true, args: ARGS, ...options });
  const page = context.pages()[0] ?? (await context.newPage());
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('dialog', (dialog) => {
    problems.push(`dialog: ${dialog.message()}`);
    void dialog.dismiss();
  });
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
  });
  return { context, page, problems };
}

const title = haveChromium || inCi ? 'browse pages in headless Chromium' : `browse pages in headless Chromium — ${SKIP}`;

describe(title, () => {
  it.skipIf(!haveChromium && !inCi)('clicks from the trains to a build, its digest, the history chart and the package diff', async () => {
    const { context, page, problems } = await browser('walk');
    try {
      await page.goto(`${s.url}/`);
      expect(await page.title()).toBe('Trains · heliostat mirror');
      await page.getByRole('link', { name: 'reference', exact: true }).click();
      await page.waitForURL(`${s.url}/reference/`);
      await page.getByRole('link', { name: 'noble', exact: true }).click();
      await page.waitForURL(`${s.url}/${SERIES}/`);
      await expect.poll(() => page.locator('table.builds tbody tr').count()).toBe(3);
      expect(await page.locator(`tr[data-build="${B3}"] .badge.latest`).textContent()).toBe('latest');
      expect(await page.locator(`tr[data-build="${B1}"] .badge`).allTextContents()).toEqual(['stable', 'pin:prod']);
      expect(await page.locator(`tr[data-build="${B2}"] td.fail`).textContent()).toBe('fail');

      await page.getByRole('link', { name: B3, exact: true }).first().click();
      await page.waitForURL(`${s.url}/${SERIES}/${B3}/`);
      expect(await page.locator('h1').textContent()).toContain(`${SERIES}/${B3}`);
      expect(await page.locator('tr[data-rock="keystone"] code.digest').textContent()).toBe(imageDigest('keystone', B3));
      expect(await page.locator('tr[data-rock="glance"] code.digest').textContent()).toBe(imageDigest('glance', B3));
      const commands = (await page.locator('pre.commands').textContent()) ?? '';
      expect(commands).toContain(`curl -fO ${s.url}/${SERIES}/${B3}/outputs/rocks/keystone_2024.1_amd64.rock`);
      expect(commands).toContain(`heliostat mirror pull ${SERIES}/${B3} -o ${B3} --mirror ${s.url}/`);
      expect(commands).toContain(`skopeo copy docker://localhost:5000/keystone:2024.1-reference-${B3} oci-archive:keystone_2024.1_amd64.rock`);

      // A log opens as text: its "<script>" is shown, not run.
      await page.getByRole('link', { name: 'logs/keystone.log' }).click();
      await page.waitForURL(/outputs\/logs\/keystone\.log$/);
      expect(await page.locator('body').textContent()).toContain('<script>alert(1)</script>');
      await page.goBack();

      await page.getByRole('link', { name: 'build history' }).click();
      await page.waitForURL(`${s.url}/${SERIES}/history`);
      const chart = page.locator('svg.chart');
      expect(await chart.getAttribute('aria-label')).toBe('Build history: 3 builds, 2 successful, 1 failed');
      expect(await chart.locator('rect.success').count()).toBe(2);
      expect(await chart.locator('rect.fail').count()).toBe(1);
      expect(await chart.locator(`rect[data-build="${B2}"] title`).textContent()).toBe(`${B2}: fail, 30 min`);
      // Each bar links to its build.
      await chart.locator(`rect[data-build="${B1}"]`).click();
      await page.waitForURL(`${s.url}/${SERIES}/${B1}/`);
      expect(await page.locator('tr[data-rock="keystone"] code.digest').textContent()).toBe(imageDigest('keystone', B1));

      await page.goto(`${s.url}/${SERIES}/${B3}/`);
      await page.getByRole('link', { name: 'package diff with the previous build' }).click();
      await page.waitForURL(`${s.url}/${SERIES}/diff?to=${B3}`);
      expect(await page.locator('select[name="from"]').inputValue()).toBe(B2);
      expect(await page.locator('section[data-rock="keystone"] tr.removed td').first().textContent()).toBe('python3-ldap');
      // The form is a plain GET: choose the stable build and compare.
      await page.locator('select[name="from"]').selectOption(B1);
      await page.getByRole('button', { name: 'compare' }).click();
      await page.waitForURL(`${s.url}/${SERIES}/diff?from=${B1}&to=${B3}`);
      const changed = page.locator('section[data-rock="keystone"] tr.changed');
      expect(await changed.count()).toBe(2);
      expect(await changed.first().locator('td').allTextContents()).toEqual(['keystone', '2:25.0.0-0ubuntu1', '2:25.0.1-0ubuntu1', 'changed']);
      expect(await page.locator('p.summary').textContent()).toBe('2 changed, 1 added, 1 removed package versions across 2 of 2 rocks.');
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it.skipIf(!haveChromium && !inCi)('signs in to a private mirror with basic auth', async () => {
    const password = 'browser password';
    const closed = await serve(t.store, { readAuth: { public: false, clients: [{ name: 'viewer', passwordHash: await hashPassword(password) }] }, title: 'Private rocks' });
    const anonymous = await browser('anonymous');
    const signed = await browser('signed', { httpCredentials: { username: 'viewer', password } });
    try {
      // Chromium without credentials answers the challenge with nothing: the page is refused.
      const refused = await anonymous.page.goto(`${closed.url}/`).catch((err: unknown) => err);
      expect(String(refused)).toMatch(/ERR_INVALID_AUTH_CREDENTIALS/);
      expect((await anonymous.page.request.get(`${closed.url}/`)).status()).toBe(401);
      await signed.page.goto(`${closed.url}/`);
      expect(await signed.page.title()).toBe('Trains · Private rocks');
      await signed.page.getByRole('link', { name: 'fix-1234', exact: true }).click();
      await signed.page.waitForURL(`${closed.url}/fix-1234/`);
      expect(await signed.page.locator('h1').textContent()).toBe('Train fix-1234');
    } finally {
      await anonymous.context.close();
      await signed.context.close();
      await closed.close();
    }
  });
});
