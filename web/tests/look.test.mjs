// Browser tests of what operators put in front of fans, against the real
// server (embedded backends) in Chromium: a live announcement reaching an
// open waiting page at once over the socket (and a polling page through
// `status`), the event's look (name, accent, message, logo) rendered as
// text within the Content-Security-Policy, its live preview in the
// dashboard, and the "email me when it's my turn" form ending in one email
// in the mail folder once the fan is admitted.
//
//   cd web/tests && npm ci && node --test look.test.mjs
//   env: WAITROOM_BIN (default ../../target/debug/waitroom), CHROMIUM
//   (default /usr/bin/chromium), TEST_LOG=1 to echo the server's output.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import * as harness from './harness.mjs';

const { ADMIN_TOKEN, launchBrowser, request } = harness;
const OWNER = { email: 'admin@localhost', password: 'look-test-password' };
const EVENT = 'demo';
const STEP = 20_000;
// A 4×4 orange PNG.
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAQAAAAECAIAAAAmkwkpAAAAEElEQVR4nGM4Y8wARwzEcQCrYw/xOER/ngAAAABJRU5ErkJggg==';
// Markup an operator might paste: it must show as typed, never run.
const MARKUP = '<img src=x onerror="window.pwned=1">';

let server;
let browser;
const api = (method, p, body, headers) => request(server.base, method, p, body, headers);
const admin = (method, p, body) => api(method, `/api/v1/admin/events/${EVENT}${p}`, body, { Authorization: `Bearer ${ADMIN_TOKEN}` });

before(async () => {
  browser = await launchBrowser();
  server = await harness.startServer({ WAITROOM_ADMIN_PASSWORD: OWNER.password }, 'look');
  // Nobody is admitted until a test says so; no check before joining.
  const r = await admin('PATCH', '/queue', { admit_per_minute: 0, captcha: 'off' });
  assert.equal(r.status, 200, r.text);
});

after(async () => {
  try { await browser?.close(); } finally { await harness.stopServer(server); }
});

/** A fan's waiting page, in line (`ws: false` takes WebSocket away). */
async function waitingPage(t, { ws = true } = {}) {
  const { context, page } = await harness.phonePage(browser, t, { locale: 'en-US' });
  if (!ws) await context.addInitScript(() => { delete window.WebSocket; });
  await page.goto(`${server.base}/queue/${EVENT}`);
  await page.locator('#waiting').waitFor({ timeout: STEP });
  const conn = ws ? 'Live updates' : 'Checking for updates every few seconds';
  await page.waitForFunction((c) => document.querySelector('#conn').textContent.startsWith(c), conn, { timeout: STEP });
  return page;
}

const noticeIs = (page, text) => page.waitForFunction(
  (want) => !document.querySelector('#notice').hidden && document.querySelector('#notice-text').textContent === want,
  text, { timeout: STEP });

test('an announcement reaches an open waiting page at once, as text, and is taken down', { timeout: 90_000 }, async (t) => {
  const live = await waitingPage(t);
  const polling = await waitingPage(t, { ws: false });
  assert.equal(await live.locator('#notice').isHidden(), true, 'nothing to show yet');

  const message = `Doors open at 19:00 ${MARKUP}`;
  const put = await admin('PUT', '/announcement', { message });
  assert.equal(put.status, 200, put.text);
  assert.equal(put.json.announcement.message, message);
  // The socket delivers it while the page stays open (no reload, no poll).
  await noticeIs(live, message);
  assert.equal(await live.locator('#notice img').count(), 0, 'markup stays text');
  assert.equal(await live.evaluate(() => window.pwned), undefined);
  // A page without WebSocket sees it in its next status answer.
  await noticeIs(polling, message);

  // A page opened later hears it right after its hello.
  const late = await waitingPage(t);
  await noticeIs(late, message);

  const gone = await admin('DELETE', '/announcement');
  assert.equal(gone.status, 200, gone.text);
  assert.equal(gone.json.announcement, null);
  await live.locator('#notice').waitFor({ state: 'hidden', timeout: STEP });

  // Too long, or a control character: refused with the field named.
  const long = await admin('PUT', '/announcement', { message: 'x'.repeat(281) });
  assert.equal(long.status, 422, long.text);
  assert.equal(long.json.error.field, 'message');
  const audit = await api('GET', `/api/v1/admin/audit?target=event:${EVENT}`, undefined, { Authorization: `Bearer ${ADMIN_TOKEN}` });
  assert.ok(audit.json.some((e) => e.action === 'queue.announce'), `audited: ${audit.text}`);
});

test('the look shows on the waiting page as text, with its accent and our own logo', { timeout: 90_000 }, async (t) => {
  const look = await admin('PUT', '/look', { display_name: `Gala ${MARKUP}`, accent: '#CC3300', message: 'Bring your ID\nNo bags' });
  assert.equal(look.status, 200, look.text);
  assert.equal(look.json.accent, '#cc3300');
  const logo = await admin('PUT', '/logo', { image: PNG });
  assert.equal(logo.status, 200, logo.text);
  assert.match(logo.json.logo_url, /^\/api\/v1\/events\/demo\/logo\?v=[0-9a-f]{16}$/);

  // Refused: an SVG (it can carry script), a file over 256 KiB, bad colours.
  const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>1</script></svg>').toString('base64');
  let r = await admin('PUT', '/logo', { image: svg });
  assert.equal(r.status, 422, r.text);
  assert.equal(r.json.error.code, 'logo_unsupported');
  const big = Buffer.concat([Buffer.from(PNG, 'base64'), Buffer.alloc(256 * 1024)]).toString('base64');
  r = await admin('PUT', '/logo', { image: big });
  assert.equal(r.status, 413, r.text);
  assert.equal(r.json.error.code, 'logo_too_large');
  r = await admin('PUT', '/look', { accent: 'red' });
  assert.equal(r.status, 422, r.text);
  assert.equal(r.json.error.field, 'accent');

  const page = await waitingPage(t);
  await page.waitForFunction(() => !document.querySelector('#look-name').hidden, null, { timeout: STEP });
  assert.equal(await page.locator('#look-name').textContent(), `Gala ${MARKUP}`);
  assert.equal(await page.locator('#look-name *').count(), 0, 'the name stays text');
  assert.equal(await page.locator('#look-message').textContent(), 'Bring your ID\nNo bags');
  const accent = await page.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--event-accent').trim());
  assert.equal(accent, '#cc3300');
  const img = page.locator('#look-logo');
  await page.waitForFunction(() => document.querySelector('#look-logo').naturalWidth === 4, null, { timeout: STEP });
  assert.match(await img.getAttribute('src'), /^\/api\/v1\/events\/demo\/logo\?v=/);
  assert.equal(await page.evaluate(() => window.pwned), undefined);
});

test('the dashboard previews the look live before saving', { timeout: 90_000 }, async (t) => {
  const page = await harness.operatorPage(browser, t, server.base, OWNER);
  await page.click('a[href="/admin-look.html"]');
  await page.selectOption('#event', EVENT);
  await page.waitForFunction((ev) => document.querySelector('#look').dataset.loaded === ev, EVENT, { timeout: STEP });
  await page.fill('#look [name=display_name]', `Preview ${MARKUP}`);
  await page.fill('#look [name=message]', 'Typed, not saved');
  const preview = page.locator('#preview');
  assert.equal(await preview.locator('[data-look=look-name]').textContent(), `Preview ${MARKUP}`);
  assert.equal(await preview.locator('[data-look=look-message]').textContent(), 'Typed, not saved');
  assert.equal(await preview.locator('img:not([data-look])').count(), 0, 'the preview builds no markup from text');
  // Not saved yet: the fans still see the saved look.
  let r = await api('GET', `/api/v1/events/${EVENT}/look`);
  assert.match(r.json.display_name, /^Gala /);
  await page.click('#look button[type=submit]');
  await page.waitForFunction(() => /Look saved/.test(document.querySelector('#msg').textContent), null, { timeout: STEP });
  r = await api('GET', `/api/v1/events/${EVENT}/look`);
  assert.equal(r.json.display_name, `Preview ${MARKUP}`);
  // A refused value is shown beside its field.
  await page.fill('#look [name=display_name]', 'x'.repeat(100));
  await page.evaluate(() => { document.querySelector('#look [name=display_name]').removeAttribute('maxlength'); });
  await page.fill('#look [name=display_name]', 'x'.repeat(101));
  await page.click('#look button[type=submit]');
  await page.locator('#err-display_name').waitFor({ timeout: STEP });
});

test('a fan who leaves an email gets one "your turn" email once admitted', { timeout: 90_000 }, async (t) => {
  const page = await waitingPage(t);
  await page.fill('#mail', 'not-an-address');
  await page.click('#mail-save');
  await page.waitForFunction(() => /email address like/.test(document.querySelector('#mail-state').textContent), null, { timeout: STEP });
  await page.fill('#mail', 'turn@example.com');
  await page.click('#mail-save');
  await page.waitForFunction(() => /turn@example\.com/.test(document.querySelector('#mail-state').textContent), null, { timeout: STEP });

  const r = await admin('PATCH', '/queue', { admit_per_minute: 600 });
  assert.equal(r.status, 200, r.text);
  await page.locator('#turn').waitFor({ timeout: STEP });
  const mailDir = path.join(server.dataDir, 'mail');
  let mails = [];
  const end = Date.now() + STEP;
  while (Date.now() < end) {
    mails = [];
    for (const n of await readdir(mailDir).catch(() => [])) {
      const body = (await readFile(path.join(mailDir, n), 'utf8').catch(() => '')).replace(/=\r?\n/g, '').replace(/=3D/g, '=');
      if (/^To: turn@example\.com/m.test(body)) mails.push(body);
    }
    if (mails.length) break;
    await new Promise((res) => setTimeout(res, 100));
  }
  assert.equal(mails.length, 1, 'one "your turn" email');
  assert.match(mails[0], /\/queue\/demo/, 'it links back to the waiting page');
});
