// Door scanner (/door.html): door staff sign in, name the event and gate,
// and check tickets in by camera or a photo (door-reader.js: the browser's
// BarcodeDetector, or the jsQR fallback) or by typing the reference. Offline, it decides from the list it
// downloaded (door-offline.js) and syncs the queued scans when back.
// Every string staff read is in TEXT, ready for a translation table.
'use strict';
(() => {
  const TEXT = {
    signIn: 'Door sign-in', email: 'Email', password: 'Password', signInButton: 'Sign in',
    badLogin: 'Wrong email or password.', setup: 'Which door?', event: 'Event id', gate: 'Gate',
    start: 'Start scanning', sync: 'Sync', download: 'Save for offline', change: 'Change',
    camera: 'Scan with camera', cameraOff: 'Stop camera', photo: 'Or read a photo of the code',
    noCode: 'No QR code found in that photo: try again closer, or type the reference.', manual: 'Ticket reference or code', check: 'Check',
    online: 'online', offline: 'offline', queued: (n) => n + ' to sync', saved: (n) => 'Saved ' + n + ' tickets for offline use.',
    synced: (n, c) => 'Synced ' + n + ' scans' + (c ? '; ' + c + ' conflict(s): ' : '.'),
    noEvent: 'No such event, or you may not scan it.',
    verdict: { valid: 'VALID', already_used: 'ALREADY USED', invalid: 'INVALID', wrong_event: 'WRONG EVENT' },
    firstScan: (at, gate) => 'First scanned ' + new Date(at).toLocaleTimeString() + ' at ' + gate,
    offlineNote: '(decided offline)',
  };
  const { $ } = window.wrDom;
  const off = window.door.offline;
  const views = ['login-view', 'setup-view', 'scan-view'];
  const show = (v) => views.forEach((id) => { $(id).hidden = id !== v; });
  let cfg = (() => { try { return JSON.parse(localStorage.getItem('wr_door_cfg')); } catch (e) { return null; } })();

  document.querySelectorAll('[data-t]').forEach((e) => { e.textContent = TEXT[e.dataset.t]; });

  // api.js: status 0 when the request never reached the server.
  const api = wrApi.call;

  function netStatus() {
    const n = cfg ? off.queued(cfg).length : 0;
    $('net').textContent = (navigator.onLine ? TEXT.online : TEXT.offline) + (n ? ' · ' + TEXT.queued(n) : '');
  }

  function showResult(r) {
    $('result').className = 'result result-' + r.result;
    $('verdict').textContent = TEXT.verdict[r.result] || r.result;
    const parts = [r.seat, r.reference, r.reason];
    if (r.result === 'already_used' && r.first_scan) parts.push(TEXT.firstScan(r.first_scan.at, r.first_scan.gate));
    if (r.offline) parts.push(TEXT.offlineNote);
    $('detail').textContent = parts.filter(Boolean).join(' · ');
  }

  /** Online first; a network failure or a server error decides offline. */
  async function check(text) {
    const r = await api('POST', '/api/v1/checkin', { ticket: text, gate: cfg.gate, event: cfg.event });
    if (r.status === 401) { show('login-view'); return; }
    if (r.status === 200) {
      if (r.json.result === 'valid') off.markUsed(cfg, r.json.ticket, r.json.first_scan.at, cfg.gate);
      showResult(r.json);
      if (off.queued(cfg).length) sync();
    } else if (r.status < 500 && r.status !== 0) {
      showResult({ result: 'invalid', reason: r.error.message });
    } else {
      showResult(await off.decide(cfg, text));
    }
    netStatus();
  }

  async function sync() {
    const scans = off.queued(cfg);
    if (!scans.length) return;
    const r = await api('POST', '/api/v1/checkin/sync', { gate: cfg.gate, event: cfg.event, scans });
    if (r.status !== 200) return;
    off.clearQueue(cfg, scans.length);
    const clashes = r.json.results.filter((x) => x.conflict)
      .map((x) => (x.reference || x.reason) + (x.first_scan ? ' (' + TEXT.firstScan(x.first_scan.at, x.first_scan.gate) + ')' : ''));
    $('sync-report').textContent = TEXT.synced(scans.length, r.json.conflicts) + clashes.join('; ');
    netStatus();
  }

  async function download() {
    const r = await api('GET', '/api/v1/checkin/offline/' + encodeURIComponent(cfg.event));
    if (r.status === 0) return; // offline: keep the saved list
    if (r.status === 401) { show('login-view'); return false; }
    if (r.status !== 200) return false;
    off.save(cfg, r.json);
    $('sync-report').textContent = TEXT.saved(r.json.tickets.length);
    return true;
  }

  async function start() {
    $('where').textContent = cfg.event + ' · ' + cfg.gate;
    show('scan-view');
    netStatus();
    $('ticket').focus();
    await sync();
  }

  // Camera scanning with whichever QR reader the browser can run.
  let stream = null;
  let reader = null;
  const qr = async () => { reader = reader || await window.door.reader(); return reader; };
  async function camera() {
    const video = $('camera');
    if (stream) {
      stream.getTracks().forEach((t) => t.stop());
      stream = null;
      video.hidden = true;
      $('camera-toggle').textContent = TEXT.camera;
      return;
    }
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
    video.srcObject = stream;
    video.hidden = false;
    await video.play();
    $('camera-toggle').textContent = TEXT.cameraOff;
    const read = await qr();
    let last = '';
    let lastAt = 0;
    const tick = async () => {
      if (!stream) return;
      const text = await read(video).catch(() => undefined);
      // The same code held in front of the camera is one scan.
      if (text && (text !== last || Date.now() - lastAt > 3000)) {
        last = text;
        lastAt = Date.now();
        await check(text);
      }
      setTimeout(tick, 150);
    };
    tick();
  }

  $('login').addEventListener('submit', async (e) => {
    e.preventDefault();
    const r = await api('POST', '/api/v1/admin/login', { email: $('email').value, password: $('password').value });
    if (r.status !== 200) { $('login-error').textContent = TEXT.badLogin; return; }
    $('login-error').textContent = '';
    if (cfg) start(); else show('setup-view');
  });
  $('setup').addEventListener('submit', async (e) => {
    e.preventDefault();
    cfg = { event: $('event').value.trim(), gate: $('gate').value.trim() };
    if (!(await download())) { $('setup-error').textContent = TEXT.noEvent; return; }
    $('setup-error').textContent = '';
    try { localStorage.setItem('wr_door_cfg', JSON.stringify(cfg)); } catch (err) { /* storage off */ }
    start();
  });
  $('manual').addEventListener('submit', async (e) => {
    e.preventDefault();
    const text = $('ticket').value.trim();
    if (!text) return;
    await check(text);
    $('ticket').select();
  });
  $('sync').addEventListener('click', sync);
  $('download').addEventListener('click', download);
  $('change').addEventListener('click', () => {
    if (cfg) { $('event').value = cfg.event; $('gate').value = cfg.gate; }
    show('setup-view');
  });
  $('camera-toggle').addEventListener('click', () => camera().catch(() => { stream = null; }));
  $('camera-block').hidden = !navigator.mediaDevices;
  $('photo').addEventListener('change', async () => {
    const file = $('photo').files[0];
    if (!file) return;
    let text;
    try {
      const bitmap = await createImageBitmap(file);
      text = await (await qr())(bitmap);
      bitmap.close();
    } catch (e) { text = undefined; }
    $('photo').value = '';
    if (text) await check(text);
    else showResult({ result: 'invalid', reason: TEXT.noCode });
  });
  window.addEventListener('online', () => { netStatus(); sync(); });
  window.addEventListener('offline', netStatus);

  // Signed in already (the session cookie)? The offline list says.
  (async () => {
    if (!cfg) {
      const me = await api('POST', '/api/v1/checkin/sync', { gate: 'probe', scans: [] });
      show(me.status === 200 ? 'setup-view' : 'login-view');
      return;
    }
    const ok = await download().catch(() => null);
    if (ok === false && navigator.onLine) { show('login-view'); return; }
    start();
  })();
})();
