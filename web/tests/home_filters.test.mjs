// Browser test of the home page's event search: a fan narrows the list by
// category, city, text and price, sorts it by price, finds the choice kept
// in the address after a reload, clears it, and is told in their language
// when nothing matches or a price range is upside down. Every control is
// reached by its label, as a screen reader user would.
//
//   cd web/tests && npm ci && node --test home_filters.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as harness from './harness.mjs';

const { ADMIN_TOKEN, launchBrowser, repoRoot, stopServer } = harness;
const STEP = 20_000;

let server;
let browser;
const catalogs = {};

const api = (method, urlPath, body) => harness.request(server.base, method, urlPath, body, { Authorization: `Bearer ${ADMIN_TOKEN}` });

/** A published event `days` ahead with one tier at `price` cents. */
async function publish(id, name, category, city, days, price) {
  const starts = new Date(Date.now() + days * 86_400_000).toISOString();
  const r = await api('POST', '/api/v1/admin/events', {
    id, name, venue: `${name} Hall`, city, category, starts_at: starts, currency: 'usd', status: 'published',
    seat_map_csv: `section,row,seats,tier,price\nFloor,,100,Only,${price}\n`,
  });
  assert.equal(r.status, 201, r.text);
}

const shown = (page) => page.$$eval('#events li', (lis) => lis.map((li) => li.dataset.event));

/** Waits until the list shows exactly `ids`, in order. */
async function waitList(page, ids) {
  await page.waitForFunction(
    (want) => JSON.stringify([...document.querySelectorAll('#events li')].map((li) => li.dataset.event)) === want
      && !document.getElementById('events').hasAttribute('aria-busy'),
    JSON.stringify(ids), { timeout: STEP },
  ).catch(async (e) => { throw new Error(`list is ${JSON.stringify(await shown(page))}, want ${JSON.stringify(ids)}: ${e.message}`); });
}

before(async () => {
  for (const lang of ['fr']) {
    catalogs[lang] = JSON.parse(await readFile(path.join(repoRoot, `web/lang-${lang}.json`), 'utf8'));
  }
  server = await harness.startServer({}, 'home-filters');
  browser = await launchBrowser();
  // With the demo event (music, Springfield, in 30 days, from $49.00):
  await publish('jokes', 'Laugh Riot', 'comedy', 'Shelbyville', 10, 1500);
  await publish('derby', 'Derby Day', 'sports', 'Springfield', 60, 20000);
  await publish('choir', 'Choir Gala', 'music', 'Ogdenville', 90, 3000);
});

after(async () => {
  try { if (browser) await browser.close(); } finally { await stopServer(server); }
});

test('a fan filters the home page by category, city, text and price, sorts by price, and the search survives a reload', { timeout: 90_000 }, async (t) => {
  const { page } = await harness.phonePage(browser, t, { locale: 'en-US' });
  await page.goto(`${server.base}/`);
  await waitList(page, ['jokes', 'demo', 'derby', 'choir']);
  assert.match(await page.textContent('li[data-event=demo]'), /Music · From \$49\.00/);

  await page.getByLabel('Category', { exact: true }).selectOption('music');
  await page.getByRole('button', { name: 'Show events' }).click();
  await waitList(page, ['demo', 'choir']);

  await page.getByLabel('City', { exact: true }).fill('springfield');
  await page.getByRole('button', { name: 'Show events' }).click();
  await waitList(page, ['demo']);

  await page.getByLabel('Category', { exact: true }).selectOption('');
  await page.getByLabel('City', { exact: true }).fill('');
  await page.getByLabel('Name, venue or city', { exact: true }).fill('HALL');
  await page.getByLabel('Sort by', { exact: true }).selectOption('price');
  await page.getByLabel('Highest price', { exact: true }).fill('50');
  await page.getByRole('button', { name: 'Show events' }).click();
  // Demo's venue is an arena; the others' halls, cheapest first, under $50.
  await waitList(page, ['jokes', 'choir']);
  const url = new URL(page.url());
  assert.equal(url.searchParams.get('sort'), 'price');
  assert.equal(url.searchParams.get('max'), '50');

  await page.reload();
  await waitList(page, ['jokes', 'choir']);
  assert.equal(await page.getByLabel('Highest price', { exact: true }).inputValue(), '50');
  assert.equal(await page.getByLabel('Sort by', { exact: true }).inputValue(), 'price');

  await page.getByRole('button', { name: 'Clear filters' }).click();
  await waitList(page, ['jokes', 'demo', 'derby', 'choir']);
  assert.equal(new URL(page.url()).search, '');

  await page.getByLabel('Sort by', { exact: true }).selectOption('price');
  await page.getByRole('button', { name: 'Show events' }).click();
  await waitList(page, ['jokes', 'choir', 'demo', 'derby']);
});

test('in French: no match and an upside-down price range are explained, not sent', { timeout: 60_000 }, async (t) => {
  const { page } = await harness.phonePage(browser, t, { locale: 'fr-FR' });
  const asked = [];
  page.on('request', (r) => { if (r.url().includes('/api/v1/events?')) asked.push(new URL(r.url()).searchParams); });
  await page.goto(`${server.base}/`);
  await waitList(page, ['jokes', 'demo', 'derby', 'choir']);
  const fr = catalogs.fr;
  await page.getByLabel(fr['h.f.category'], { exact: true }).selectOption('family');
  await page.getByRole('button', { name: fr['h.f.apply'] }).click();
  await waitList(page, []);
  await page.waitForFunction((want) => document.getElementById('events-status').textContent === want, fr['h.none_match'], { timeout: STEP });
  assert.equal(asked.at(-1).get('category'), 'family');

  const before = asked.length;
  await page.getByLabel(fr['h.f.category'], { exact: true }).selectOption('');
  await page.getByLabel(fr['h.f.min'], { exact: true }).fill('100');
  await page.getByLabel(fr['h.f.max'], { exact: true }).fill('10');
  await page.getByRole('button', { name: fr['h.f.apply'] }).click();
  const alert = page.getByRole('alert');
  await alert.waitFor({ timeout: STEP });
  assert.equal((await alert.textContent()).trim(), fr['h.f.bad_prices']);
  assert.equal(asked.length, before, 'nothing was asked of the server');

  await page.getByLabel(fr['h.f.min'], { exact: true }).fill('40');
  await page.getByLabel(fr['h.f.max'], { exact: true }).fill('');
  await page.getByRole('button', { name: fr['h.f.apply'] }).click();
  // Cents on the wire: 40 (dollars, the events' currency) is 4000, which demo's 49.00 tier and derby pass.
  await waitList(page, ['demo', 'derby']);
  assert.equal(asked.at(-1).get('min_price'), '4000');
  assert.equal(await alert.isVisible(), false);
});
