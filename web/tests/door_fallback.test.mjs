// Browser test of the door scanner without BarcodeDetector (Chromium on
// Linux has none, like Firefox and iOS Safari): the page falls back to the
// vendored jsQR, loaded from our origin under the page's
// Content-Security-Policy. A fake camera (a canvas stream showing a
// ticket's QR image, handed out by getUserMedia) is read and checked in
// VALID; a photo of another ticket's QR code is read too; a photo without
// a code says so. Also checks that web/vendor/jsQR.js is the npm package's
// file unchanged.
//
//   cd web/tests && npm ci && node --test door_fallback.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as harness from './harness.mjs';

const { ADMIN_TOKEN, launchBrowser, repoRoot } = harness;
const DOOR = { email: 'door-fallback@localhost', password: 'door-fallback-password' };
const STEP = 25_000;

let server;
let browser;

before(async () => {
  browser = await launchBrowser();
  server = await harness.startServer({
    WAITROOM_TICK_MS: '200',
    WAITROOM_DEMO_EVENT: 'false',
    WAITROOM_RATE_LIMITS__ENABLED: 'false',
  }, 'door-fallback');
});

after(async () => {
  await browser?.close();
  await harness.stopServer(server);
});

const admin = (method, p, body) => harness.request(server.base, method, p, body, { authorization: `Bearer ${ADMIN_TOKEN}` });

const verdict = (page, want, detail) => page.waitForFunction(
  ([w, d]) => document.querySelector('#verdict')?.textContent.trim() === w
    && (!d || document.querySelector('#detail')?.textContent.includes(d)),
  [want, detail], { timeout: STEP },
);

test('web/vendor/jsQR.js is the npm package\'s jsQR, unchanged under its licence header', async () => {
  const vendored = await readFile(path.join(repoRoot, 'web/vendor/jsQR.js'), 'utf8');
  const upstream = await readFile(path.join(repoRoot, 'web/tests/node_modules/jsqr/dist/jsQR.js'), 'utf8');
  const end = vendored.indexOf('*/\n');
  assert.match(vendored.slice(0, end), /jsQR 1\.4\.0[\s\S]*Apache License, Version 2\.0/);
  assert.equal(vendored.slice(end + 3), upstream);
  const pkg = JSON.parse(await readFile(path.join(repoRoot, 'web/tests/node_modules/jsqr/package.json'), 'utf8'));
  assert.equal(pkg.version, '1.4.0');
  assert.ok((await readFile(path.join(repoRoot, 'web/vendor/jsQR.LICENSE'), 'utf8')).includes('Apache License'));
});

test('without BarcodeDetector the scanner reads a camera and a photo with jsQR', { timeout: 120_000 }, async (t) => {
  const event = `fallback-${Date.now().toString(36)}`;
  let r = await admin('POST', '/api/v1/admin/events', {
    id: event, name: 'Fallback night', venue: 'Hall', city: 'Lyon', starts_at: '2027-07-01T20:00:00Z',
    currency: 'EUR', status: 'published', seat_map_csv: 'section,row,seats,tier,price\nFloor,,50,GA,4500\n',
  });
  assert.equal(r.status, 201, r.text);
  r = await admin('PUT', `/api/v1/admin/events/${event}/queue`, { admit_per_minute: 600, max_active: 100, captcha: 'off' });
  assert.equal(r.status, 201, r.text);
  r = await admin('POST', '/api/v1/admin/operators', { ...DOOR, role: 'door' });
  assert.equal(r.status, 201, r.text);
  const { order, queue } = await harness.fanBuys(server.base, event, 'fan@example.com');
  r = await harness.request(server.base, 'GET', `/api/v1/orders/${order}`, undefined, queue);
  assert.equal(r.status, 200, r.text);
  const [first, second] = r.json.tickets;
  assert.ok(first && second, r.text);

  const { context, page } = await harness.phonePage(browser, t, { locale: 'en-US', timezoneId: 'UTC' });
  // No native detector; the "camera" films the first ticket's QR image.
  await context.addInitScript((src) => {
    delete window.BarcodeDetector;
    navigator.mediaDevices.getUserMedia = async () => {
      const img = new Image();
      img.src = src;
      await img.decode();
      const canvas = document.createElement('canvas');
      canvas.width = 640;
      canvas.height = 480;
      const ctx = canvas.getContext('2d');
      const draw = () => {
        ctx.fillStyle = '#fff';
        ctx.fillRect(0, 0, 640, 480);
        ctx.drawImage(img, 170, 90, 300, 300);
      };
      draw();
      setInterval(draw, 100);
      return canvas.captureStream(10);
    };
  }, `/api/v1/tickets/${first.id}/qr.png`);
  const vendorLoads = [];
  page.on('response', (res) => { if (res.url().endsWith('/vendor/jsQR.js')) vendorLoads.push(res.status()); });

  await page.goto(`${server.base}/door.html`);
  await page.locator('#login-view').waitFor({ timeout: STEP });
  assert.equal(await page.evaluate(() => 'BarcodeDetector' in window), false);
  assert.deepEqual(vendorLoads, [], 'jsQR is fetched only when a code is to be read');
  await page.fill('#email', DOOR.email);
  await page.fill('#password', DOOR.password);
  await page.click('#login button[type=submit]');
  await page.locator('#setup-view').waitFor({ timeout: STEP });
  await page.fill('#event', event);
  await page.fill('#gate', 'West');
  await page.click('#setup button[type=submit]');
  await page.locator('#scan-view').waitFor({ timeout: STEP });

  // The camera button shows without a native detector, and its frames decode.
  await page.click('#camera-toggle');
  await verdict(page, 'VALID', first.reference);
  await page.click('#camera-toggle');
  assert.deepEqual(vendorLoads, [200], 'jsQR came from our origin, once');
  assert.equal(await page.evaluate(() => typeof window.jsQR), 'function');

  // A photo of the second ticket's code.
  const png = Buffer.from(await (await fetch(`${server.base}/api/v1/tickets/${second.id}/qr.png`)).arrayBuffer());
  await page.setInputFiles('#photo', { name: 'ticket.png', mimeType: 'image/png', buffer: png });
  await verdict(page, 'VALID', second.reference);
  await page.setInputFiles('#photo', { name: 'again.png', mimeType: 'image/png', buffer: png });
  await verdict(page, 'ALREADY USED', 'West');

  // A photo without a code: said so, nothing checked in.
  const blank = await page.evaluate(async () => {
    const c = new OffscreenCanvas(200, 200);
    const ctx = c.getContext('2d');
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, 200, 200);
    const blob = await c.convertToBlob({ type: 'image/png' });
    return [...new Uint8Array(await blob.arrayBuffer())];
  });
  await page.setInputFiles('#photo', { name: 'blank.png', mimeType: 'image/png', buffer: Buffer.from(blank) });
  await verdict(page, 'INVALID', 'No QR code found');
  assert.deepEqual(vendorLoads, [200]);
});
