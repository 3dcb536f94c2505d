// Browser tests of the fan pages' languages and of "your turn while away":
// the waiting room in each shipped language from Chromium's locale (which
// sets Accept-Language and navigator.languages), `?lang=` overriding it and
// being remembered, the check and a yen sale's seat map in other languages
// (dates and money by locale), the home page's event list, and an
// admission while the tab is hidden (title, chime, and a system notification with the
// permission granted in the browser context; the move to booking waits
// until the fan looks).
//
//   cd web/tests && npm ci && node --test fan_pages.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as harness from './harness.mjs';

const { ADMIN_TOKEN, launchBrowser, repoRoot, stopServer } = harness;
const STEP = 20_000;
const RUN = Date.now().toString(36);
const LOCALES = { en: 'en-US', fr: 'fr-FR', de: 'de-DE', es: 'es-ES', ja: 'ja-JP' };
const CROWDED = `lang-${RUN}`; // every language joins behind the same 1,234 people

let server;
let browser;
const catalogs = {};

const api = (method, urlPath, body) => harness.request(server.base, method, urlPath, body, { Authorization: `Bearer ${ADMIN_TOKEN}` });

/** An open queue without a check whose admission is stopped, with `n` people already in line. */
async function waitingQueue(event, n = 0) {
  const put = await api('PUT', `/api/v1/admin/events/${event}/queue`, {
    state: 'open', admit_per_minute: 0, max_active: 100, captcha: 'off', session_ttl_seconds: 600,
  });
  assert.ok(put.status >= 200 && put.status < 300, `PUT queue settings: ${put.status} ${put.text}`);
  for (let i = 0; i < n; i += 1) {
    const j = await harness.request(server.base, 'POST', `/api/v1/queue/${event}/join`, {});
    assert.equal(j.status, 201, j.text);
  }
}

const newPage = (t, options) => harness.phonePage(browser, t, options);

/**
 * Headless Chromium keeps every page visible (another tab in front or a
 * minimised window change nothing), so tests hide a page the way it sees
 * it: document.hidden and a visibilitychange event, through `hideTab(yes)`.
 */
const hideable = (page) => page.addInitScript(() => {
  let hidden = false;
  Object.defineProperty(Document.prototype, 'hidden', { configurable: true, get: () => hidden });
  Object.defineProperty(Document.prototype, 'visibilityState', { configurable: true, get: () => (hidden ? 'hidden' : 'visible') });
  window.hideTab = (yes) => { hidden = yes; document.dispatchEvent(new Event('visibilitychange')); };
});

const waitText = (page, sel, want) =>
  page.waitForFunction(([s, w]) => document.querySelector(s)?.textContent.trim() === w, [sel, want], { timeout: STEP });

before(async () => {
  const en = await readFile(path.join(repoRoot, 'web/lang-en.js'), 'utf8');
  catalogs.en = JSON.parse(en.slice(en.indexOf('= {') + 2, en.lastIndexOf(';')));
  for (const lang of ['fr', 'de', 'es', 'ja']) {
    catalogs[lang] = JSON.parse(await readFile(path.join(repoRoot, `web/lang-${lang}.json`), 'utf8'));
  }
  // One address joins a crowd here: no rate limits.
  server = await harness.startServer({ WAITROOM_RATE_LIMITS__ENABLED: 'false' }, 'languages');
  browser = await launchBrowser();
  await waitingQueue(CROWDED, 1234);
});

after(async () => {
  try { if (browser) await browser.close(); } finally { await stopServer(server); }
});

for (const [lang, locale] of Object.entries(LOCALES)) {
  test(`the waiting room speaks ${lang} to a ${locale} browser`, { timeout: 60_000 }, async (t) => {
    const event = CROWDED;
    const { page } = await newPage(t, { locale });
    const sent = [];
    page.on('request', (r) => { if (r.url().includes(`/queue/${event}`)) sent.push(r.headers()['accept-language']); });
    await page.goto(`${server.base}/queue/${event}?stay=1`);
    const m = catalogs[lang];
    await waitText(page, '#title', m['q.in_line']);
    assert.match(sent[0] || '', new RegExp(`^${locale}`), 'Chromium sent the locale as Accept-Language');
    assert.equal(await page.getAttribute('html', 'lang'), lang);
    assert.equal((await page.textContent('#pos-label')).trim(), m['q.your_place']);
    assert.equal((await page.textContent('#eyebrow')).trim(), m['q.eyebrow'].replace('{event}', event));
    // The position grouped as the locale does: 1,235 / 1 235 / 1.235.
    await page.waitForFunction(() => /\d/.test(document.getElementById('position').textContent), null, { timeout: STEP });
    const shown = (await page.textContent('#position')).trim();
    const pos = Number(shown.replace(/\D/g, ''));
    assert.ok(pos > 1234, shown);
    assert.equal(shown, new Intl.NumberFormat(locale).format(pos));
    assert.match(await page.title(), new RegExp(m['q.doc_title']));
    assert.equal(await page.getAttribute('#progress', 'aria-label'), m['q.progress_label']);
  });
}

test('?lang= and the picker override the browser and are remembered; an unknown one falls back cleanly', { timeout: 60_000 }, async (t) => {
  const event = `lang-pick-${RUN}`;
  await waitingQueue(event);
  const { page } = await newPage(t, { locale: 'en-US' });
  await page.goto(`${server.base}/queue/${event}?stay=1&lang=de`);
  await waitText(page, '#title', catalogs.de['q.in_line']);
  await page.goto(`${server.base}/queue/${event}?stay=1`);
  await waitText(page, '#title', catalogs.de['q.in_line']);
  await page.goto(`${server.base}/queue/${event}?stay=1&lang=zz`);
  await waitText(page, '#title', catalogs.de['q.in_line']);
  await page.goto(`${server.base}/queue/${event}?stay=1&lang=en`);
  await waitText(page, '#title', catalogs.en['q.in_line']);
  assert.equal(await page.inputValue('#lang'), 'en');
  await page.selectOption('#lang', 'ja');
  await waitText(page, '#title', catalogs.ja['q.in_line']);
  await page.goto(`${server.base}/`);
  await waitText(page, 'h2', catalogs.ja['h.events']);
  assert.equal(await page.inputValue('#lang'), 'ja');
});

test('the home page lists events on sale with their queue state, in the fan\'s language', { timeout: 60_000 }, async (t) => {
  const { page } = await newPage(t, { locale: 'fr-FR' });
  await page.goto(`${server.base}/`);
  const demo = page.locator('li[data-event=demo]');
  await demo.waitFor({ timeout: STEP });
  assert.equal(await demo.getAttribute('data-state'), 'open');
  assert.equal(await demo.locator('a').getAttribute('href'), '/queue/demo');
  assert.equal((await demo.locator('a').textContent()).trim(), 'Demo Night');
  assert.match(await demo.locator('.state').textContent(), /^En vente · File ouverte · \d+ personnes? en attente$/);
  assert.equal((await page.textContent('h2')).trim(), catalogs.fr['h.events']);
});

test('admitted while the tab is hidden: the title changes, the chime plays and a notification shows', { timeout: 90_000 }, async (t) => {
  const event = `away-${RUN}`;
  await waitingQueue(event);
  const { context, page } = await newPage(t, { locale: 'en-US' });
  await context.grantPermissions(['notifications'], { origin: server.base });
  await hideable(page);
  await page.addInitScript(() => {
    window.tones = 0;
    const make = AudioContext.prototype.createOscillator;
    AudioContext.prototype.createOscillator = function tone() { window.tones += 1; return make.call(this); };
  });
  // Records notifications the page makes (Chromium headless shows none).
  await page.addInitScript(() => {
    const Real = window.Notification;
    window.shownNotifications = [];
    window.Notification = new Proxy(Real, {
      construct(target, args) {
        window.shownNotifications.push({ title: args[0], body: (args[1] || {}).body });
        return Reflect.construct(target, args);
      },
      get: (target, prop) => target[prop],
    });
  });
  await page.goto(`${server.base}/queue/${event}?stay=1`);
  await waitText(page, '#position', '1');
  assert.equal(await page.isVisible('#notify'), false, 'no permission prompt offered once granted');
  assert.equal((await page.textContent('#notify-state')).trim(), catalogs.en['q.notify_on']);
  await page.check('#sound'); // the fan's click, which lets the page play sound later

  await page.evaluate(() => window.hideTab(true));
  const patch = await api('PATCH', `/api/v1/admin/events/${event}/queue`, { admit_per_minute: 120 });
  assert.equal(patch.status, 200, patch.text);
  await page.waitForSelector('#turn', { state: 'attached', timeout: STEP });
  await page.waitForFunction(() => document.title.startsWith('🔔'), null, { timeout: STEP });
  assert.equal(await page.title(), `🔔 ${catalogs.en['q.your_turn']} – ${catalogs.en['q.doc_title']}`);
  const shown = await page.evaluate(() => window.shownNotifications);
  assert.deepEqual(shown, [{ title: catalogs.en['q.your_turn'], body: catalogs.en['q.notify_body'] }]);
  assert.equal(await page.evaluate(() => window.tones), 2, 'two tones of the chime');

  await page.evaluate(() => window.hideTab(false));
  await page.waitForFunction(() => !document.title.startsWith('🔔'), null, { timeout: STEP });
  assert.equal(await page.title(), `${catalogs.en['q.your_turn']} – ${catalogs.en['q.doc_title']}`);
});

test('notification permission is asked only when the fan presses the button', { timeout: 60_000 }, async (t) => {
  const event = `ask-${RUN}`;
  await waitingQueue(event);
  const { page } = await newPage(t, { locale: 'en-US' });
  await page.addInitScript(() => {
    window.permissionAsks = 0;
    const real = Notification.requestPermission.bind(Notification);
    Notification.requestPermission = () => { window.permissionAsks += 1; return real(); };
  });
  await page.goto(`${server.base}/queue/${event}?stay=1`);
  await waitText(page, '#position', '1');
  assert.equal(await page.evaluate(() => window.permissionAsks), 0, 'never asked on load');
  await page.click('#notify');
  await page.waitForFunction(() => window.permissionAsks === 1, null, { timeout: STEP });
});

test('a fan admitted in a background tab is moved on to booking only once they look', { timeout: 60_000 }, async (t) => {
  const event = `back-${RUN}`;
  await waitingQueue(event);
  const { page } = await newPage(t, { locale: 'en-US' });
  await hideable(page);
  await page.goto(`${server.base}/queue/${event}`);
  await waitText(page, '#position', '1');
  await page.evaluate(() => window.hideTab(true));
  const patch = await api('PATCH', `/api/v1/admin/events/${event}/queue`, { admit_per_minute: 120 });
  assert.equal(patch.status, 200, patch.text);
  await page.waitForFunction(() => document.title.startsWith('🔔'), null, { timeout: STEP });
  // An absence has no event to await: wait past the 3 s a page in front
  // takes before moving on, then check it stayed.
  await page.waitForTimeout(4_000);
  assert.equal(new URL(page.url()).pathname, `/queue/${event}`, 'no move while nobody looks');
  const toBooking = page.waitForURL((u) => u.pathname === `/events/${event}/book`, { timeout: STEP, waitUntil: 'load' });
  await page.evaluate(() => window.hideTab(false));
  await toBooking;
  await page.goto('about:blank');
});

test('a yen sale\'s seat map in Japanese and in English: dates by locale, no decimals in the prices', { timeout: 60_000 }, async (t) => {
  const event = `yen-${RUN}`;
  const created = await api('POST', '/api/v1/admin/events', {
    id: event, name: 'Tokyo Night', venue: 'Budokan', city: 'Tokyo', starts_at: '2027-06-01T10:00:00Z',
    currency: 'jpy', status: 'published', seat_map_csv: 'section,row,seats,tier,price\nFloor,A,4,S,8800\n',
  });
  assert.equal(created.status, 201, created.text);
  for (const [lang, locale, price, day] of [['ja', 'ja-JP', '￥8,800', '2027年6月1日'], ['en', 'en-US', '¥8,800', 'June 1, 2027']]) {
    const { page } = await newPage(t, { locale, timezoneId: 'Asia/Tokyo' });
    await page.goto(`${server.base}/events/${event}/book`);
    await waitText(page, '#title', 'Tokyo Night');
    const m = catalogs[lang];
    assert.equal((await page.textContent('#eyebrow')).trim(), m['b.eyebrow']);
    assert.equal((await page.textContent('#legend li')).trim(), `S ${price}`);
    assert.ok((await page.textContent('#meta')).includes(day), await page.textContent('#meta'));
    assert.equal((await page.textContent('#banner a')).trim(), m['b.waiting_room']);
    await page.click('.seat >> nth=0');
    const one = m['b.seats_selected'].one ?? m['b.seats_selected'].other; // Japanese has no singular
    await waitText(page, '#sel-text', one.replace('{n}', '1').replace('{total}', price));
  }
});

test('the check before joining speaks the fan\'s language', { timeout: 60_000 }, async (t) => {
  const event = `check-${RUN}`;
  const put = await api('PUT', `/api/v1/admin/events/${event}/queue`, { state: 'open', admit_per_minute: 0, max_active: 10 });
  assert.ok(put.status >= 200 && put.status < 300, put.text);
  const { page } = await newPage(t, { locale: 'es-ES' });
  // Hold the worker back so the check stays on screen.
  let release;
  const held = new Promise((r) => { release = r; });
  await page.route('**/pow-worker.js', async (route) => { await held; await route.continue(); });
  await page.goto(`${server.base}/queue/${event}?stay=1`);
  const m = catalogs.es;
  await waitText(page, '#title', m['q.check_label']);
  assert.equal((await page.textContent('#check .hint')).trim(), m['q.check_hint']);
  assert.equal((await page.textContent('#conn')).trim(), m['q.conn.checking']);
  release();
  await waitText(page, '#title', m['q.in_line']);
});
