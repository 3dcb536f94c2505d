// Regenerates README's screenshots (docs/screenshots/) from the real pages:
// a fan waiting behind 300 others on a phone, and the operators' dashboard
// following that sale live. Each shot is taken only once the page shows the
// figures it is meant to show, so a broken page fails here rather than
// landing in README.
//
//   cd web/tests && node --test screenshots.test.mjs
//   env: WAITROOM_BIN (default ../../target/debug/waitroom), CHROMIUM.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import * as harness from './harness.mjs';

const OWNER = { email: 'admin@localhost', password: 'screenshot-test-pw' };
const SHOTS = path.join(harness.repoRoot, 'docs', 'screenshots');
const STEP = 25_000;

let server;
let browser;

before(async () => {
  browser = await harness.launchBrowser();
  server = await harness.startServer({
    WAITROOM_ADMIN_PASSWORD: OWNER.password,
    WAITROOM_TICK_MS: '250',
    WAITROOM_RATE_LIMITS__ENABLED: 'false',
  }, 'shots');
  await mkdir(SHOTS, { recursive: true });
});

after(async () => {
  await harness.stopServer(server);
  await browser?.close();
});

const admin = (method, p, body) => harness.request(server.base, method, p, body,
  { Authorization: `Bearer ${harness.ADMIN_TOKEN}` });

/** Writes `page` to docs/screenshots/`name`.png and checks it is a real image. */
async function shoot(page, name) {
  const file = path.join(SHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  assert.ok((await stat(file)).size > 10_000, `${file} is a real screenshot`);
}

test('README screenshots: the waiting room and the dashboard', { timeout: 120_000 }, async (t) => {
  // The demo sale, slowed so a crowd waits, without the proof of work for
  // the 300 fans joined over HTTP.
  const patch = await admin('PATCH', '/api/v1/admin/events/demo/queue',
    { admit_per_minute: 6, captcha: 'off' });
  assert.equal(patch.status, 200, patch.text);
  for (let i = 0; i < 6; i++) {
    const joins = await Promise.all(Array.from({ length: 50 },
      () => fetch(`${server.base}/api/v1/queue/demo/join`, { method: 'POST' })));
    for (const j of joins) assert.equal(j.status, 201);
  }

  const { page } = await harness.phonePage(browser, t);
  await page.goto(`${server.base}/queue/demo`);
  await page.waitForFunction(() => {
    const ahead = Number(document.querySelector('#ahead')?.textContent.replace(/\D/g, ''));
    return !document.querySelector('#waiting').hidden && ahead > 250;
  }, null, { timeout: STEP });
  await shoot(page, 'waiting-room');

  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  t.after(() => harness.closeWithin(context));
  const dash = await context.newPage();
  await dash.goto(`${server.base}/admin.html?event=demo`);
  await dash.fill('#email', OWNER.email);
  await dash.fill('#password', OWNER.password);
  await dash.click('#login button[type=submit]');
  await dash.waitForFunction(() => document.querySelector('#conn').textContent.trim() === 'live', null, { timeout: STEP });
  // The crowd on the tiles, and admissions on the chart.
  await dash.waitForFunction(() => Number(document.querySelector('#waiting').textContent.replace(/\D/g, '')) > 250
    && Number(document.querySelector('#chart-admitted').dataset.last) > 0, null, { timeout: STEP });
  await shoot(dash, 'dashboard');
});
