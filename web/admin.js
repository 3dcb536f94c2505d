// The operators' dashboard: sign in (HttpOnly session cookie), pick an
// event, follow it live over a WebSocket (one sample a second, the last hour
// on connect), and change the live settings. No build step, no libraries:
// the charts are plain SVG. The sales side (event details, tiles, report)
// is admin-sales.js, loaded first: it defines `sales`.
'use strict';

const { $ } = window.wrDom;
const { call } = wrApi;

/** Samples of the current event, oldest first (at most an hour). */
let samples = [];
let socket = null;
let current = null; // the latest sample
let retry = 500;
/** Edge rejection counters as received: [{at (ms), rate_limited, captcha_failed}]. */
let rejections = [];
/** GET /api/v1/admin/events: [{event, catalog, queue}]. */
let listed = [];

/** Per-minute rate of `field` over the last `secs` seconds of samples. */
function perMinute(field, secs = 10, upto = samples.length) {
  const from = Math.max(0, upto - secs);
  const window = samples.slice(from, upto);
  if (window.length === 0) return 0;
  const sum = window.reduce((a, s) => a + s[field], 0);
  return Math.round((sum * 60) / window.length);
}

function fmtDuration(secs) {
  if (!Number.isFinite(secs)) return 'unknown';
  if (secs < 90) return `${Math.round(secs)} s`;
  if (secs < 5400) return `${Math.round(secs / 60)} min`;
  return `${(secs / 3600).toFixed(1)} h`;
}

/** Draws `series` (and the dashed `setting` line) into an SVG. */
function chart(svg, series, setting) {
  const w = 600; const h = 160; const pad = 20;
  const max = Math.max(1, ...series, ...(setting || []));
  const x = (i) => pad + (i * (w - 2 * pad)) / Math.max(1, series.length - 1);
  const y = (v) => h - pad - (v * (h - 2 * pad)) / max;
  const path = (vals) => vals.map((v, i) => `${i ? 'L' : 'M'}${x(i).toFixed(1)},${y(v).toFixed(1)}`).join('');
  svg.innerHTML = `<text x="${pad}" y="14">max ${max}</text>`
    + (setting ? `<path class="setting" d="${path(setting)}"/>` : '')
    + `<path class="value" d="${path(series)}"/>`;
  svg.dataset.last = String(series.length ? series[series.length - 1] : 0);
}

function render() {
  if (!current) return;
  const s = current;
  // The queue store lost this event's data and it was restored from the
  // database (README, operator's guide: "When the queue store loses data").
  $('state').textContent = s.recovering ? s.state + ' · recovering' : s.state;
  $('version').textContent = s.version;
  $('waiting').textContent = s.waiting;
  $('active').textContent = s.active;
  $('cap').textContent = s.max_active;
  $('rate-setting').textContent = s.admit_per_minute;
  const admitted = perMinute('admitted');
  $('admitted-rate').textContent = admitted;
  $('joins-rate').textContent = perMinute('joins');
  $('departures-rate').textContent = perMinute('departed');
  $('eta').textContent = s.waiting === 0 ? '–' : fmtDuration(admitted > 0 ? (s.waiting * 60) / admitted : Infinity);
  if (rejections.length > 1) {
    const last = rejections[rejections.length - 1];
    const first = rejections.find((r) => last.at - r.at <= 60_000) || rejections[0];
    const mins = Math.max(1 / 60, (last.at - first.at) / 60_000);
    $('rate-limited').textContent = Math.round((last.rate_limited - first.rate_limited) / mins);
    $('captcha-failed').textContent = Math.round((last.captcha_failed - first.captcha_failed) / mins);
  }
  if (document.activeElement !== $('rate')) $('rate').value = s.admit_per_minute;
  if (document.activeElement !== $('max-active')) $('max-active').value = s.max_active;
  const rates = samples.map((_, i) => perMinute('admitted', 10, i + 1));
  chart($('chart-admitted'), rates, samples.map((x) => x.admit_per_minute));
  chart($('chart-waiting'), samples.map((x) => x.waiting));
}

// The dashboard feed's protocol (admin/src/live.rs LIVE_PROTOCOL).
const LIVE_PROTOCOL = 1;

function connect(event) {
  if (socket) { socket.onclose = null; socket.close(); }
  samples = []; current = null; rejections = [];
  const proto = location.protocol === 'https:' ? 'wss' : 'ws';
  socket = new WebSocket(`${proto}://${location.host}/api/v1/admin/events/${encodeURIComponent(event)}/live`);
  socket.onopen = () => { $('conn').textContent = 'live'; retry = 500; };
  socket.onmessage = (m) => {
    const msg = JSON.parse(m.data);
    if (msg.type === 'history') {
      // A feed newer than this page: reload rather than misread it.
      if (msg.v !== LIVE_PROTOCOL) { location.reload(); return; }
      samples = msg.samples;
    }
    else if (msg.type === 'sample') {
      if (samples.length && samples[samples.length - 1].t === msg.sample.t) samples[samples.length - 1] = msg.sample;
      else samples.push(msg.sample);
      if (samples.length > 3600) samples.shift();
      if (msg.rejections) {
        rejections.push({ at: Date.now(), ...msg.rejections });
        if (rejections.length > 120) rejections.shift();
      }
    }
    if ('sales' in msg) sales.feed(msg.sales);
    current = samples[samples.length - 1] || current;
    render();
  };
  socket.onclose = () => {
    $('conn').textContent = 'reconnecting…';
    setTimeout(() => connect(event), retry);
    retry = Math.min(retry * 2, 10_000);
  };
}

/** Shows `event`: its sales side always, its live queue feed if it has a queue. */
function pick(event) {
  sales.select(event);
  window.wrAnnounce.select(event);
  const entry = listed.find((e) => e.event === event);
  if (entry && entry.queue) { connect(event); return; }
  if (socket) { socket.onclose = null; socket.close(); socket = null; }
  samples = []; current = null; rejections = [];
  $('conn').textContent = 'no queue for this event yet (create one with PUT …/queue)';
}

/** Asks before risky changes; resolves true to go ahead. */
function confirmed(text) {
  return new Promise((resolve) => {
    const dlg = $('confirm');
    $('confirm-text').textContent = text;
    dlg.onclose = () => resolve(dlg.returnValue === 'yes');
    dlg.returnValue = '';
    dlg.showModal();
  });
}

async function change(path, body, what) {
  const event = $('event').value;
  const headers = current ? { 'if-match': `"${current.version}"` } : {};
  const r = await call(body ? 'PATCH' : 'POST', `/api/v1/admin/events/${encodeURIComponent(event)}/queue${path}`, body, { headers });
  const data = r.json;
  if (r.ok) {
    $('control-msg').textContent = `${what}: done (version ${data.version}).`;
    if (current) { current.version = data.version; current.state = data.state; current.admit_per_minute = data.admit_per_minute; current.max_active = data.max_active; render(); }
  } else {
    $('control-msg').textContent = `${what}: ${wrApi.errorText(r)}`;
  }
}

/** A raise to ten times the current value (or from zero) is risky. */
const risky = (from, to) => to >= 10 * Math.max(1, from) || (from === 0 && to > 0 && to >= 10);

function wireControls() {
  $('apply-rate').onclick = async () => {
    const to = Number($('rate').value); const from = current ? current.admit_per_minute : 0;
    if (risky(from, to) && !(await confirmed(`Raise the admission rate from ${from} to ${to} a minute?`))) return;
    change('', { admit_per_minute: to }, 'rate');
  };
  $('apply-cap').onclick = async () => {
    const to = Number($('max-active').value); const from = current ? current.max_active : 0;
    if (risky(from, to) && !(await confirmed(`Raise the active-session cap from ${from} to ${to}?`))) return;
    change('', { max_active: to }, 'cap');
  };
  $('pause').onclick = () => change('/pause', null, 'pause');
  $('resume').onclick = () => change('/resume', null, 'resume');
  $('drain').onclick = async () => {
    if (await confirmed('Drain: stop new joins and keep admitting those waiting?')) change('/drain', null, 'drain');
  };
  $('close').onclick = async () => {
    if (await confirmed('Close the queue? Nobody else is admitted.')) change('/close', null, 'close');
  };
  $('event').onchange = () => pick($('event').value);
  $('logout').onclick = async () => { await call('POST', '/api/v1/admin/logout'); location.reload(); };
}

async function showDashboard(me) {
  $('login-view').hidden = true;
  $('dash-view').hidden = false;
  $('who').textContent = `${me.label} (${me.role})`;
  sales.setRole(me.role);
  // The server refuses a viewer's writes anyway; do not offer them.
  $('live-controls').hidden = me.role === 'viewer';
  const r = await call('GET', '/api/v1/admin/events');
  listed = r.ok && Array.isArray(r.json) ? r.json : [];
  const select = $('event');
  select.innerHTML = '';
  for (const e of listed) {
    const o = document.createElement('option');
    o.value = e.event;
    o.textContent = e.catalog ? `${e.event} · ${e.catalog.name} (${e.catalog.status})` : e.event;
    select.append(o);
  }
  const wanted = new URLSearchParams(location.search).get('event');
  if (wanted && listed.some((e) => e.event === wanted)) select.value = wanted;
  if (select.value) pick(select.value);
}

async function start() {
  wireControls();
  $('login').onsubmit = async (e) => {
    e.preventDefault();
    const r = await call('POST', '/api/v1/admin/login', { email: $('email').value, password: $('password').value });
    if (!r.ok) { $('login-error').textContent = r.json && r.json.error ? r.json.error.message : 'sign-in failed'; return; }
    const me = await call('GET', '/api/v1/admin/me');
    if (me.ok) showDashboard(me.json);
  };
  const r = await call('GET', '/api/v1/admin/me');
  if (r.ok) showDashboard(r.json);
  else $('login-view').hidden = false;
}

start();
