// Waiting-room page: joins the queue, follows the position over a WebSocket
// (falling back to polling `status`), and hands the admission token to the
// booking page through sessionStorage. No framework, no build step.
'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  let event = '';
  try { event = decodeURIComponent(location.pathname.split('/')[2] || ''); } catch (e) { /* bad escape */ }
  const STAY = new URLSearchParams(location.search).get('stay') === '1';
  const API = '/api/v1/queue/' + encodeURIComponent(event);
  const ANNOUNCE_MS = 10000; // screen readers hear position changes at most this often
  const WS_FAILS_BEFORE_POLL = 3;
  const FIRST_KEY = 'wr_first_' + event; // position at first sight, for the progress bar
  const IN_KEY = 'wr_in_' + event; // joined before: the cookie may hold a place, no check needed

  const s = {
    state: null, queueState: null, position: null, ahead: null, eta: null, waiting: null,
    ticket: null, visitor: null, first: null, admitted: false, stopped: false,
    ws: null, wsHello: false, rejoin: false, wsFails: 0, wsAgainIn: 0, wsTimer: 0,
    polling: false, pollTimer: 0, joinFails: 0, joinTimer: 0, fetchingToken: false, checks: 0,
    lastAnnounce: 0, announceTimer: 0, pending: '', lastSaid: null, lastRejoin: 0,
    hiddenAt: 0, welcomeTimer: 0,
  };
  // A socket that lived through a longer background spell (a locked phone)
  // may be dead without having closed: it is replaced on return.
  const STALE_AFTER_HIDDEN_MS = 5000;
  const WELCOME_MS = 15000;
  try { s.first = Number(sessionStorage.getItem(FIRST_KEY)) || null; } catch (e) { /* storage off */ }

  // ---- small helpers -------------------------------------------------------
  const num = (n) => (n == null ? '–' : Number(n).toLocaleString());
  const plural = (n, one, many) => n + ' ' + (n === 1 ? one : many);
  const jitter = (ms) => ms * (0.75 + Math.random() * 0.5);
  const backoff = (fails) => Math.min(30000, jitter(1000 * 2 ** Math.max(0, fails - 1))); // 1 s → 30 s

  function fmtEta(sec) {
    if (sec == null || !isFinite(sec)) return 'estimating…';
    if (sec < 45) return 'under a minute';
    const m = Math.round(sec / 60);
    if (m < 90) return 'about ' + plural(Math.max(1, m), 'minute', 'minutes');
    const h = Math.round(sec / 1800) / 2;
    return 'about ' + h + ' hours';
  }

  function retryAfter(res, dflt) {
    const h = res.headers.get('Retry-After');
    if (h) {
      const n = Number(h);
      if (isFinite(n) && n >= 0) return n;
      const t = Date.parse(h);
      if (!isNaN(t)) return Math.max(0, (t - Date.now()) / 1000);
    }
    return dflt;
  }

  function setConn(text, kind) {
    $('conn').textContent = text;
    $('conn-dot').className = 'dot ' + (kind || '');
  }

  function show(view) {
    $('app').dataset.view = view;
    $('waiting').hidden = view !== 'waiting';
    $('turn').hidden = view !== 'turn';
    $('problem').hidden = view !== 'problem';
    $('check').hidden = view !== 'check';
  }

  const joined = (yes) => {
    try {
      if (yes === undefined) return !!localStorage.getItem(IN_KEY);
      localStorage[yes ? 'setItem' : 'removeItem'](IN_KEY, 1);
    } catch (e) { /* storage off: always check first */ }
    return false;
  };

  // Polite live region, throttled so screen readers are not flooded.
  function announce(text, urgent) {
    s.pending = text;
    const wait = urgent ? 0 : s.lastAnnounce + ANNOUNCE_MS - Date.now();
    if (wait <= 0) flushAnnounce();
    else if (!s.announceTimer) s.announceTimer = setTimeout(flushAnnounce, wait);
  }
  function flushAnnounce() {
    clearTimeout(s.announceTimer);
    s.announceTimer = 0;
    if (!s.pending) return;
    $('announce').textContent = s.pending;
    s.pending = '';
    s.lastAnnounce = Date.now();
  }

  function problem(title, text, retry, quiet) {
    show('problem');
    $('title').textContent = title;
    $('problem-text').textContent = text;
    const b = $('retry');
    b.hidden = !retry;
    b.onclick = retry ? () => { clearTimeout(s.joinTimer); retry(); } : null;
    document.title = title + ' – Waiting room';
    if (!quiet) {
      announce(title + '. ' + text, true);
      $('title').focus();
    }
  }

  function fatal(title, text) {
    stopAll();
    problem(title, text, null);
    setConn('Not connected', 'bad');
  }

  // Show a message with a live countdown, then run `fn`.
  function later(sec, title, text, fn) {
    clearTimeout(s.joinTimer);
    let left = Math.max(1, Math.ceil(sec));
    let first = true;
    const tick = () => {
      if (s.stopped) return;
      if (left <= 0) { fn(); return; }
      problem(title, text.replace('{s}', plural(left, 'second', 'seconds')), null, !first); // no button: honour the wait
      first = false;
      left -= 1;
      s.joinTimer = setTimeout(tick, 1000);
    };
    tick();
  }

  function stopAll() {
    s.stopped = true;
    stopPolling();
    clearTimeout(s.wsTimer);
    clearTimeout(s.joinTimer);
    if (s.ws) { const w = s.ws; s.ws = null; try { w.close(1000); } catch (e) { /* already closed */ } }
  }

  // ---- rendering -----------------------------------------------------------
  const BANNERS = {
    paused: ['Paused.', 'The queue is on hold for a moment. You keep your place; it moves again when the sale resumes.'],
    closed: ['Closed.', 'This queue is closed and no more people are being let in.'],
    draining: ['Closing.', 'Nobody new can join, but everyone already in line keeps their place.'],
    prequeue: ['Not open yet.', 'When the sale opens, everyone who is here by then gets a random place in line. Arriving earlier does not help.'],
    scheduled: ['Not open yet.', 'The sale has not started.'],
  };

  function render() {
    if (s.admitted || s.stopped) return;
    let key = s.state === 'closed' ? 'closed' : s.queueState;
    if (!BANNERS[key]) key = BANNERS[s.state] ? s.state : '';
    const b = $('banner');
    if (b.dataset.kind !== key) {
      b.dataset.kind = key;
      b.textContent = '';
      if (key) {
        const w = document.createElement('strong');
        w.textContent = BANNERS[key][0];
        b.append(w, ' ' + BANNERS[key][1]);
      }
    }
    b.hidden = !key;
    show('waiting');
    $('title').textContent = "You're in line";
    const pos = s.position > 0 ? s.position : null;
    $('position').textContent = num(pos);
    $('ahead').textContent = num(s.ahead);
    $('eta').textContent = s.state === 'paused' || s.queueState === 'paused' ? 'paused' : fmtEta(s.eta);
    $('count').textContent = num(s.waiting);
    if (pos && (!s.first || pos > s.first)) {
      s.first = pos;
      try { sessionStorage.setItem(FIRST_KEY, String(pos)); } catch (e) { /* storage off */ }
    }
    const pct = pos && s.first ? Math.round((1 - pos / s.first) * 100) : 0;
    setProgress(pct, pct > 0 ? 'You are ' + pct + '% of the way to the front.' : 'You just joined the line.');
    document.title = (pos ? '#' + num(pos) + ' in line' : 'In line') + ' – Waiting room';
    const ids = [];
    if (s.ticket != null) ids.push('Ticket #' + s.ticket);
    if (s.visitor) ids.push('Visitor ' + String(s.visitor).slice(0, 8));
    $('ids').textContent = ids.join(' · ');
    if (pos && pos !== s.lastSaid) {
      s.lastSaid = pos;
      announce('You are number ' + num(pos) + ' in line. Estimated wait: ' + fmtEta(s.eta) + '.');
    }
  }

  function setProgress(pct, text) {
    const p = $('progress');
    pct = Math.max(0, Math.min(100, pct));
    p.setAttribute('aria-valuenow', String(pct));
    p.setAttribute('aria-valuetext', pct + '% of the way to the front');
    $('bar').style.width = pct + '%';
    $('pct').textContent = text;
  }

  // The server kept our place while we were away (absent past the grace).
  function welcomeBack() {
    const w = $('welcome');
    w.hidden = false;
    clearTimeout(s.welcomeTimer);
    s.welcomeTimer = setTimeout(() => { w.hidden = true; }, WELCOME_MS);
    announce('Welcome back, you kept your place.', true);
  }

  // Merge a snapshot from join, hello, position or status.
  function apply(d) {
    if (!d || s.admitted) return;
    if (d.kept_place) welcomeBack();
    if (d.queue_state) s.queueState = d.queue_state;
    if (d.ticket != null) s.ticket = d.ticket;
    if ('eta_seconds' in d) s.eta = d.eta_seconds;
    if (d.waiting != null) s.waiting = d.waiting;
    if (d.ahead != null) s.ahead = d.ahead;
    if (d.position != null) s.position = d.position;
    if (d.state) s.state = d.state;
    if (d.admission_token) { admit(d.admission_token, d.admission_expires_at, d.next); return; }
    if (s.state === 'admitted') { fetchToken(); return; }
    if (s.state === 'departed') {
      joined(false);
      stopAll();
      problem('Your place has expired',
        'This page was away from the queue for too long, so your place was given up. You can join again at the back of the line.',
        () => { s.stopped = false; s.first = null; join(); });
      setConn('Not connected', 'bad');
      return;
    }
    render();
  }

  // ---- admission -----------------------------------------------------------
  function safeNext(next) {
    return typeof next === 'string' && /^\/(?![/\\])/.test(next) && !/[\\\s]/.test(next)
      ? next : '/events/' + encodeURIComponent(event) + '/book';
  }

  function admit(token, expiresAt, next) {
    if (s.admitted) return;
    s.admitted = true;
    stopAll();
    try { sessionStorage.setItem('wr_admission_' + event, token); } catch (e) { /* storage off */ }
    const dest = safeNext(next);
    $('go').href = dest;
    $('banner').hidden = true;
    setProgress(100, 'You reached the front of the line.');
    show('turn');
    $('title').textContent = "It's your turn";
    document.title = "It's your turn – Waiting room";
    let note = '';
    const exp = Number(expiresAt);
    if (exp > 0) {
      note = 'Your turn is held until ' + new Date(exp).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) + '. ';
    }
    if (!STAY) note += 'Taking you there in a few seconds…';
    $('go-note').textContent = note;
    setConn('Done', 'ok');
    announce("It's your turn. You can book your tickets now.", true);
    $('title').focus();
    if (!STAY) setTimeout(() => location.assign(dest), 3000);
  }

  // The server says we are admitted but did not include the token: ask `status`.
  async function fetchToken() {
    if (s.fetchingToken || s.admitted) return;
    s.fetchingToken = true;
    try {
      const { res, body } = await getStatus();
      if (res.ok && body.admission_token) admit(body.admission_token, body.admission_expires_at, body.next);
      else setTimeout(fetchToken, 2000);
    } catch (e) {
      setTimeout(fetchToken, 2000);
    } finally {
      s.fetchingToken = false;
    }
  }

  // ---- joining -------------------------------------------------------------
  // Joining again after losing the place is allowed once per 10 s, so a
  // server that keeps forgetting us is not hammered.
  function mayRejoin() {
    if (Date.now() - s.lastRejoin < 10000) return false;
    s.lastRejoin = Date.now();
    return true;
  }

  async function readJson(res) {
    try { return (await res.json()) || {}; } catch (e) { return {}; }
  }

  // The check (proof of work or a widget), then join with its solution.
  async function check(challenge) {
    s.checks += 1;
    const bar = $('check-bar');
    const progress = (pct) => {
      if (!pct) {
        show('check');
        $('title').textContent = document.title = 'Quick check';
        setConn('Checking your browser', 'wait');
        announce('A quick check before you join. It takes a few seconds.', true);
      }
      bar.setAttribute('aria-valuenow', pct);
      bar.setAttribute('aria-valuetext', pct + '% done');
      bar.firstElementChild.style.width = pct + '%';
    };
    try {
      join(await window.wrCaptcha(API, challenge, progress));
    } catch (e) {
      if (e.res) httpError(e.res, await readJson(e.res), join, true);
      else later(backoff(++s.joinFails) / 1000, "The check didn't work", 'Trying again in {s}.', join);
    }
  }

  // captcha: undefined = check first unless joined before; null = none needed.
  async function join(captcha) {
    clearTimeout(s.joinTimer);
    if (!event) { fatal('No waiting room here', 'There is no waiting room for this address. Check the link you followed.'); return; }
    s.stopped = false;
    if (captcha === undefined && !joined()) { check(null); return; }
    setConn('Joining…', 'wait');
    let res;
    let body;
    try {
      res = await fetch(API + '/join', {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify(captcha ? { captcha } : {}),
      });
      body = await readJson(res);
    } catch (e) {
      s.joinFails += 1;
      later(backoff(s.joinFails) / 1000, "Can't reach the waiting room",
        'Check your internet connection. Trying again in {s}.', join);
      setConn('Offline', 'bad');
      return;
    }
    if (res.ok) {
      s.joinFails = 0;
      s.checks = 0;
      joined(true);
      if (body.visitor_id) s.visitor = body.visitor_id; // queue_token is deliberately not kept
      apply(body);
      if (!s.admitted && !s.stopped) connect();
      return;
    }
    if ((body.error || {}).code === 'captcha_required' && body.challenge && s.checks < 3) {
      check(body.challenge); // a fresh challenge came with the refusal
      return;
    }
    httpError(res, body, () => { s.checks = 0; join(captcha); }, true); // an unspent solution stays good
  }

  // Handle an HTTP error from join or status. Returns seconds to wait, if any.
  function httpError(res, body, again, joining) {
    const err = (body && body.error) || {};
    const code = err.code || '';
    const msg = err.message || '';
    if (code === 'unknown_event' || (res.status === 404 && joining)) {
      fatal('No waiting room here', 'There is no waiting room for this event. Check the link you followed.');
      return 0;
    }
    if (code === 'queue_closed') {
      stopAll();
      problem('The queue is closed', msg || 'This queue is not taking new people right now.', again);
      setConn('Not connected', 'bad');
      return 0;
    }
    if (code === 'too_many_places') {
      fatal('You already have places in this line', msg);
      return 0;
    }
    if (code === 'captcha_required' || (joining && (res.status === 403 || res.status === 409))) {
      stopAll();
      problem('One more step', msg || 'Please complete the check to join the queue.', again);
      setConn('Waiting for you', 'wait');
      return 0;
    }
    if (res.status === 429) {
      const sec = retryAfter(res, 10);
      if (joining) {
        later(sec, 'Lots of people are joining',
          'So many people are arriving that we need a moment. We will try again in {s}; no need to reload.', again);
        setConn('Busy', 'wait');
      }
      return sec;
    }
    s.joinFails += 1;
    const sec = retryAfter(res, backoff(s.joinFails) / 1000);
    if (joining) {
      later(sec, 'The waiting room is busy',
        (res.status >= 500 ? '' : (msg ? msg + ' ' : '')) + 'Trying again in {s}.', again);
      setConn('Busy', 'wait');
    }
    return sec;
  }

  // ---- WebSocket -----------------------------------------------------------
  function connect() {
    clearTimeout(s.wsTimer);
    s.wsTimer = 0;
    if (s.admitted || s.stopped || s.ws) return;
    if (typeof window.WebSocket !== 'function') { startPolling(); return; }
    let ws;
    try {
      ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + API + '/ws');
    } catch (e) {
      onClose();
      return;
    }
    s.ws = ws;
    s.wsHello = false;
    s.wsAgainIn = 0;
    if (!s.polling) setConn('Connecting…', 'wait');
    const openTimer = setTimeout(() => { if (s.ws === ws && !s.wsHello) ws.close(); }, 10000);
    ws.onmessage = (m) => {
      let d;
      try { d = JSON.parse(m.data); } catch (e) { return; }
      if (s.ws === ws) onMessage(ws, d);
    };
    ws.onclose = () => {
      clearTimeout(openTimer);
      if (s.ws !== ws) return;
      s.ws = null;
      onClose();
    };
  }

  function onMessage(ws, d) {
    switch (d.type) {
      case 'hello':
        s.wsHello = true;
        s.wsFails = 0;
        stopPolling();
        setConn('Live updates', 'ok');
        apply(d);
        break;
      case 'position':
        apply(d);
        break;
      case 'state':
        if (d.queue_state === 'reconnecting') { // the server lost its store for a moment
          setConn('The queue is reconnecting. Your place is kept.', 'wait');
          break;
        }
        if (d.queue_state) s.queueState = d.queue_state;
        if (s.wsHello) setConn('Live updates', 'ok');
        render();
        break;
      case 'departed':
        apply({ state: 'departed' });
        break;
      case 'admitted':
        if (d.admission_token) admit(d.admission_token, d.admission_expires_at, d.next);
        else fetchToken();
        break;
      case 'reconnect': {
        const ms = Math.max(0, Number(d.retry_ms) || 0);
        s.wsAgainIn = ms + Math.random() * Math.max(1000, ms);
        setConn('Reconnecting…', 'wait');
        ws.close(1000);
        break;
      }
      case 'error':
        if (d.code === 'unknown_event') {
          fatal('No waiting room here', 'There is no waiting room for this event. Check the link you followed.');
        } else if (d.code === 'not_joined') {
          joined(false);
          s.rejoin = true; // the socket closes next; join again instead of reconnecting
        } else if (d.message) {
          setConn('Problem: ' + d.message, 'bad');
        }
        break;
      default:
    }
  }

  function onClose() {
    if (s.admitted || s.stopped) return;
    if (s.rejoin && mayRejoin()) {
      s.rejoin = false;
      join();
      return;
    }
    s.rejoin = false;
    if (s.wsAgainIn) { // the server asked us to come back later: not a failure
      s.wsTimer = setTimeout(connect, s.wsAgainIn);
      return;
    }
    s.wsFails += 1;
    if (s.wsFails >= WS_FAILS_BEFORE_POLL) startPolling(); // and keep retrying the socket below
    else setConn('Connection lost. Reconnecting…', 'wait');
    s.wsTimer = setTimeout(connect, backoff(s.wsFails));
  }

  // ---- polling fallback ----------------------------------------------------
  async function getStatus() {
    const res = await fetch(API + '/status', {
      credentials: 'same-origin', cache: 'no-store', headers: { Accept: 'application/json' },
    });
    return { res, body: await readJson(res) };
  }

  function startPolling() {
    if (s.polling || s.admitted || s.stopped) return;
    s.polling = true;
    setConn('Checking for updates every few seconds', 'wait');
    poll();
  }

  function stopPolling() {
    s.polling = false;
    clearTimeout(s.pollTimer);
  }

  async function poll() {
    clearTimeout(s.pollTimer);
    if (!s.polling || s.admitted) return;
    let next = 3000 + Math.random() * 2000;
    try {
      const { res, body } = await getStatus();
      if (!s.polling) return;
      if (res.ok) {
        s.joinFails = 0;
        setConn('Checking for updates every few seconds', 'wait');
        apply(body);
      } else if ((res.status === 401 || res.status === 404 || (res.status === 403 && (body.error || {}).code !== 'captcha_required'))
        && mayRejoin()) {
        joined(false);
        stopPolling(); // our place or credential is gone: join again (join reports an unknown event)
        join();
        return;
      } else {
        const sec = httpError(res, body, join, false);
        if (sec) next = Math.max(next, sec * 1000);
        setConn('Busy. Checking again in ' + plural(Math.ceil(next / 1000), 'second', 'seconds'), 'wait');
      }
    } catch (e) {
      setConn('Offline. Trying again…', 'bad');
    }
    if (s.polling && !s.admitted) s.pollTimer = setTimeout(poll, next);
  }

  // ---- start ---------------------------------------------------------------
  window.addEventListener('online', () => {
    if (s.admitted || s.stopped) return;
    if (!s.ws) connect();
    if (s.polling) poll();
  });
  window.addEventListener('offline', () => { if (!s.admitted && !s.stopped) setConn('Offline. Waiting for the network…', 'bad'); });
  // Page Visibility / lifecycle: a backgrounded tab or a locked phone may
  // have lost its socket silently and, past the grace, its presence. On
  // return, a fresh socket (or an immediate poll) is presence again; the
  // server gives back the kept place and the hello says so.
  function resume() {
    if (s.admitted || s.stopped || !s.state) return;
    const away = s.hiddenAt ? Date.now() - s.hiddenAt : 0;
    s.hiddenAt = 0;
    if (s.ws && away >= STALE_AFTER_HIDDEN_MS) {
      const w = s.ws;
      s.ws = null;
      try { w.close(1000); } catch (e) { /* already closed */ }
    }
    if (!s.ws) {
      s.wsFails = 0;
      setConn('Reconnecting…', 'wait');
      connect();
    }
    if (s.polling) poll();
  }
  document.addEventListener('visibilitychange', () => {
    if (document.hidden) { if (!s.hiddenAt) s.hiddenAt = Date.now(); } else resume();
  });
  document.addEventListener('freeze', () => { if (!s.hiddenAt) s.hiddenAt = Date.now(); });
  document.addEventListener('resume', resume);
  window.addEventListener('pageshow', (e) => { if (e.persisted) { s.hiddenAt = s.hiddenAt || 1; resume(); } });

  if (event) $('eyebrow').textContent = 'Waiting room · ' + event;
  join();
})();
