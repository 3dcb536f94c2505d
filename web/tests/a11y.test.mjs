// Accessibility: an axe-core scan of every page a fan or an operator sees
// (no serious or critical violation), and a keyboard-only fan going from
// the waiting room through the seat map to the checkout form.
//
//   cd web/tests && node --test a11y.test.mjs
//   env: WAITROOM_BIN (default ../../target/debug/waitroom), CHROMIUM.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import * as harness from './harness.mjs';

const require = createRequire(import.meta.url);
const AXE = require.resolve('axe-core/axe.min.js');
const OWNER = { email: 'admin@localhost', password: 'a11y-test-password' };
const STEP = 25_000;

let server;
let browser;

before(async () => {
  browser = await harness.launchBrowser();
  server = await harness.startServer({
    WAITROOM_ADMIN_PASSWORD: OWNER.password,
    WAITROOM_TICK_MS: '200',
    WAITROOM_RATE_LIMITS__ENABLED: 'false',
  }, 'a11y');
  const patch = await harness.request(server.base, 'PATCH', '/api/v1/admin/events/demo/queue',
    { admit_per_minute: 600, captcha: 'off' }, { Authorization: `Bearer ${harness.ADMIN_TOKEN}` });
  assert.equal(patch.status, 200, patch.text);
});

after(async () => {
  await harness.stopServer(server);
  await browser?.close();
});

/**
 * Runs axe-core on `page` as it stands and fails on serious or critical
 * violations, naming each rule and the elements it found. axe is injected
 * as a script, which the pages' CSP forbids: the scanning context bypasses
 * CSP (the other tests hold the pages to it).
 */
async function scan(page, what) {
  await page.addScriptTag({ path: AXE });
  const violations = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')) }));
  });
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad, [], `${what}: serious or critical accessibility violations`);
}

async function context(t, options = {}) {
  const ctx = await browser.newContext({ bypassCSP: true, locale: 'en-US', timezoneId: 'UTC', ...options });
  t.after(() => harness.closeWithin(ctx));
  return ctx;
}

test('every fan page passes an axe scan, and a keyboard alone books seats', { timeout: 180_000 }, async (t) => {
  const ctx = await context(t, { viewport: { width: 390, height: 844 } });
  const page = await ctx.newPage();

  await page.goto(`${server.base}/`);
  await page.waitForSelector('#events li, #events-empty:not([hidden]), #events [data-event]', { timeout: STEP }).catch(() => {});
  await scan(page, 'home page');

  await page.goto(`${server.base}/no-such-page`);
  await scan(page, '404 page');

  await page.goto(`${server.base}/account.html`);
  await scan(page, 'account page');

  // The waiting room, then on by itself to the seat map.
  await page.goto(`${server.base}/queue/demo`);
  await page.waitForSelector('#waiting:not([hidden]), #turn:not([hidden])', { timeout: STEP });
  await scan(page, 'waiting room');
  await page.waitForURL('**/events/demo/book', { timeout: STEP });
  await page.waitForSelector('#pick:not([hidden]) .seat', { timeout: STEP });
  await scan(page, 'seat map');

  // Keyboard only from here: Tab to the seat map, Space picks a seat, Tab
  // to the hold button, Enter holds, Enter goes on to checkout.
  const tabUntil = async (predicate, max = 80) => {
    for (let i = 0; i < max; i++) {
      await page.keyboard.press('Tab');
      if (await page.evaluate(predicate)) return;
    }
    throw new Error(`Tab never reached ${predicate}`);
  };
  await page.evaluate(() => document.activeElement?.blur());
  await tabUntil(() => document.activeElement?.classList.contains('seat') && document.activeElement.getAttribute('aria-disabled') === 'false');
  await page.keyboard.press('Space');
  assert.equal(await page.locator('#map .seat[aria-pressed="true"]').count(), 1, 'Space picked the focused seat');
  await tabUntil(() => document.activeElement?.id === 'hold');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#held:not([hidden])', { timeout: STEP });
  await scan(page, 'held seats');
  await tabUntil(() => document.activeElement?.id === 'checkout');
  await page.keyboard.press('Enter');
  await page.waitForURL('**/checkout.html?*', { timeout: STEP });
  await page.waitForSelector('#contact:not([hidden])', { timeout: STEP });
  await scan(page, 'checkout: contact');
  await tabUntil(() => document.activeElement?.id === 'email');
  await page.keyboard.type('keys@example.com');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#pay-dev:not([hidden])', { timeout: STEP });
  await scan(page, 'checkout: payment');
  await tabUntil(() => document.activeElement?.id === 'card');
  await page.keyboard.type('4242 4242 4242 4242');
  await page.keyboard.press('Enter');
  await page.waitForURL('**/confirmation.html?*', { timeout: STEP });
  await page.waitForSelector('#order:not([hidden])', { timeout: STEP });
  await scan(page, 'confirmation');
});

test('the dashboard and every operator page pass an axe scan', { timeout: 120_000 }, async (t) => {
  const ctx = await context(t, { viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  await page.goto(`${server.base}/admin.html?event=demo`);
  await scan(page, 'dashboard sign-in');
  await page.fill('#email', OWNER.email);
  await page.fill('#password', OWNER.password);
  await page.click('#login button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#conn').textContent.trim() === 'live', null, { timeout: STEP });
  await scan(page, 'dashboard');
  for (const [url, ready, what] of [
    ['/admin-settings.html?event=demo', 'form', 'queue settings'],
    ['/admin-events.html', 'form', 'new event'],
    ['/admin-team.html', 'main', 'operators and keys'],
    ['/admin-look.html?event=demo', '#look', 'event look'],
    ['/admin-analytics.html?event=demo', 'main', 'sale analytics'],
  ]) {
    await page.goto(`${server.base}${url}`);
    await page.waitForSelector(ready, { timeout: STEP });
    await page.waitForLoadState('networkidle');
    await scan(page, what);
  }
});
