// Waiting-room page: joins the queue, follows the position over a WebSocket
// (falling back to polling `status`), and hands the admission token to the
// booking page through sessionStorage. No framework, no build step.
'use strict';
(() => {
  const { $ } = window.wrDom;
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
    hiddenAt: 0, welcomeTimer: 0, noticeAt: 0,
  };
  // A socket that lived through a longer background spell (a locked phone)
  // may be dead without having closed: it is replaced on return.
  const STALE_AFTER_HIDDEN_MS = 5000;
  const WELCOME_MS = 15000;
  try { s.first = Number(sessionStorage.getItem(FIRST_KEY)) || null; } catch (e) { /* storage off */ }

  // ---- small helpers -------------------------------------------------------
  const { t } = wrI18n;
  const num = (n) => (n == null ? '–' : wrI18n.num(Number(n)));
  const seconds = (n) => t('q.seconds', { n });
  const jitter = (ms) => ms * (0.75 + Math.random() * 0.5);
  const backoff = (fails) => Math.min(30000, jitter(1000 * 2 ** Math.max(0, fails - 1))); // 1 s → 30 s

  function fmtEta(sec) {
    if (sec == null || !isFinite(sec)) return t('q.estimating');
    if (sec < 45) return t('q.eta.under_minute');
    const m = Math.round(sec / 60);
    if (m < 90) return t('q.eta.minutes', { n: Math.max(1, m) });
    return t('q.eta.hours', { n: Math.round(sec / 1800) / 2 });
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
    document.title = t('q.doc_title_with', { title });
    if (!quiet) {
      announce(title + '. ' + text, true);
      $('title').focus();
    }
  }

  function fatal(title, text) {
    stopAll();
    problem(title, text, null);
    setConn(t('q.conn.not_connected'), 'bad');
  }

  // Show a message with a live countdown, then run `fn`.
  function later(sec, title, text, fn) {
    clearTimeout(s.joinTimer);
    let left = Math.max(1, Math.ceil(sec));
    let first = true;
    const tick = () => {
      if (s.stopped) return;
      if (left <= 0) { fn(); return; }
      problem(title, text.replace('{s}', seconds(left)), null, !first); // no button: honour the wait
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
  const BANNERS = ['paused', 'closed', 'draining', 'prequeue', 'scheduled', 'waitlisted']; // q.banner.<state>.head and .text

  function render() {
    if (s.admitted || s.stopped) return;
    let key = s.state === 'closed' || s.state === 'waitlisted' ? s.state : s.queueState;
    if (!BANNERS.includes(key)) key = BANNERS.includes(s.state) ? s.state : '';
    const b = $('banner');
    if (b.dataset.kind !== key) {
      b.dataset.kind = key;
      b.textContent = '';
      if (key) {
        const w = document.createElement('strong');
        w.textContent = t('q.banner.' + key + '.head');
        b.append(w, ' ' + t('q.banner.' + key + '.text'));
      }
    }
    b.hidden = !key;
    show('waiting');
    const listed = s.state === 'waitlisted';
    $('title').textContent = listed ? t('q.waitlist.title') : t('q.in_line');
    // Sold out: the fan's place on the waitlist, said plainly.
    const wl = $('waitlist');
    wl.hidden = !listed;
    if (listed) wl.textContent = t('q.waitlist.where', { n: s.ahead == null ? 0 : s.ahead });
    const pos = s.position > 0 ? s.position : null;
    $('position').textContent = num(pos);
    $('ahead').textContent = num(s.ahead);
    $('eta').textContent = listed ? t('q.eta.waitlisted')
      : s.state === 'paused' || s.queueState === 'paused' ? t('q.eta.paused') : fmtEta(s.eta);
    $('count').textContent = num(s.waiting);
    if (pos && (!s.first || pos > s.first)) {
      s.first = pos;
      try { sessionStorage.setItem(FIRST_KEY, String(pos)); } catch (e) { /* storage off */ }
    }
    const pct = pos && s.first ? Math.round((1 - pos / s.first) * 100) : 0;
    setProgress(pct, pct > 0 ? t('q.pct_way', { pct }) : t('q.just_joined'));
    document.title = t('q.doc_title_with', { title: pos ? t('q.doc_position', { pos }) : t('q.doc_in_line') });
    const ids = [];
    if (s.ticket != null) ids.push(t('q.ticket', { ticket: String(s.ticket) }));
    if (s.visitor) ids.push(t('q.visitor', { visitor: String(s.visitor).slice(0, 8) }));
    $('ids').textContent = ids.join(' · ');
    if (pos && pos !== s.lastSaid) {
      s.lastSaid = pos;
      announce(listed ? wl.textContent : t('q.say_position', { pos, eta: fmtEta(s.eta) }));
    }
  }

  function setProgress(pct, text) {
    const p = $('progress');
    pct = Math.max(0, Math.min(100, pct));
    p.setAttribute('aria-valuenow', String(pct));
    p.setAttribute('aria-valuetext', t('q.pct_short', { pct }));
    $('bar').style.width = pct + '%';
    $('pct').textContent = text;
  }

  // The server kept our place while we were away (absent past the grace).
  function welcomeBack() {
    const w = $('welcome');
    w.hidden = false;
    clearTimeout(s.welcomeTimer);
    s.welcomeTimer = setTimeout(() => { w.hidden = true; }, WELCOME_MS);
    announce(t('q.welcome_back'), true);
  }

  // The operator's announcement (socket message or status field), shown as
  // text only; `at` identifies it, so a repeat changes nothing.
  function notice(a) {
    const msg = a && typeof a.message === 'string' ? a.message : '';
    const at = msg ? Number(a.at) || 0 : 0;
    if (at === s.noticeAt && !!msg === !$('notice').hidden) return;
    s.noticeAt = at;
    $('notice-text').textContent = msg;
    $('notice').hidden = !msg;
  }

  // "Email me when it's my turn": kept with the place; the email links
  // back to this page, which holds the place in this browser.
  function setupMail() {
    $('mail-form').onsubmit = async (e) => {
      e.preventDefault();
      const email = $('mail').value.trim();
      const state = $('mail-state');
      if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) {
        state.textContent = t('q.email_invalid');
        $('mail').setAttribute('aria-invalid', 'true');
        $('mail').focus();
        return;
      }
      $('mail').removeAttribute('aria-invalid');
      try {
        const res = await fetch(API + '/notify', {
          method: 'POST',
          credentials: 'same-origin',
          headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
          body: JSON.stringify({ email, lang: wrI18n.lang }),
        });
        const body = await readJson(res);
        state.textContent = res.ok ? t('q.email_saved', { email: body.email || email })
          : ((body.error || {}).field === 'email' ? t('q.email_invalid') : t('q.email_failed'));
      } catch (err) {
        state.textContent = t('q.email_failed');
      }
    };
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
    if (d.admission_token) { admit(d.admission_token, d.admission_expires_at, d.next, d.offer_expires_at); return; }
    if (s.state === 'admitted') { fetchToken(); return; }
    if (s.state === 'departed') {
      joined(false);
      stopAll();
      problem(t('q.expired.head'), t('q.expired.text'), () => { s.stopped = false; s.first = null; join(); });
      setConn(t('q.conn.not_connected'), 'bad');
      return;
    }
    render();
  }

  // ---- admission -----------------------------------------------------------
  function safeNext(next) {
    return typeof next === 'string' && /^\/(?![/\\])/.test(next) && !/[\\\s]/.test(next)
      ? next : '/events/' + encodeURIComponent(event) + '/book';
  }

  // `offerUntil` (ms): the admission is a waitlist offer, passed on unless
  // a seat is held by then.
  function admit(token, expiresAt, next, offerUntil) {
    if (s.admitted) return;
    s.admitted = true;
    stopAll();
    try { sessionStorage.setItem('wr_admission_' + event, token); } catch (e) { /* storage off */ }
    const dest = safeNext(next);
    $('go').href = dest;
    $('banner').hidden = true;
    setProgress(100, t('q.at_front'));
    show('turn');
    const offer = Number(offerUntil) > 0;
    const head = offer ? t('q.offer.title') : t('q.your_turn');
    $('title').textContent = head;
    document.title = t('q.doc_title_with', { title: head });
    const notes = [];
    const exp = Number(expiresAt);
    const at = (ms) => wrI18n.date(ms, { hour: '2-digit', minute: '2-digit' });
    if (offer) notes.push(t('q.offer.until', { time: at(Number(offerUntil)) }));
    else if (exp > 0) notes.push(t('q.held_until', { time: at(exp) }));
    if (!STAY) notes.push(t('q.taking_you'));
    $('go-note').textContent = notes.join(' ');
    setConn(t('q.conn.done'), 'ok');
    announce(t('q.say_turn'), true);
    $('title').focus();
    // A fan in another tab is called back first and moved on once they look.
    window.wrAway.admitted(() => { if (!STAY) setTimeout(() => location.assign(dest), 3000); });
  }

  // The server says we are admitted but did not include the token: ask `status`.
  async function fetchToken() {
    if (s.fetchingToken || s.admitted) return;
    s.fetchingToken = true;
    try {
      const { res, body } = await getStatus();
      if (res.ok && body.admission_token) admit(body.admission_token, body.admission_expires_at, body.next, body.offer_expires_at);
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
        $('title').textContent = document.title = t('q.check_label');
        setConn(t('q.conn.checking'), 'wait');
        announce(t('q.say_check'), true);
      }
      bar.setAttribute('aria-valuenow', pct);
      bar.setAttribute('aria-valuetext', t('q.pct_done', { pct }));
      bar.firstElementChild.style.width = pct + '%';
    };
    try {
      join(await window.wrCaptcha(API, challenge, progress));
    } catch (e) {
      if (e.res) httpError(e.res, await readJson(e.res), join, true);
      else later(backoff(++s.joinFails) / 1000, t('q.check_failed'), t('q.trying_again'), join);
    }
  }

  // captcha: undefined = check first unless joined before; null = none needed.
  async function join(captcha) {
    clearTimeout(s.joinTimer);
    if (!event) { fatal(t('q.no_room.head'), t('q.no_room.address')); return; }
    s.stopped = false;
    if (captcha === undefined && !joined()) { check(null); return; }
    setConn(t('q.conn.joining'), 'wait');
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
      later(backoff(s.joinFails) / 1000, t('q.unreachable.head'), t('q.unreachable.text'), join);
      setConn(t('q.conn.offline'), 'bad');
      return;
    }
    if (res.ok) {
      s.joinFails = 0;
      s.checks = 0;
      joined(true);
      if (body.visitor_id) s.visitor = body.visitor_id; // queue_token is deliberately not kept
      notice(body.announcement);
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
    if (code === 'unknown_event' || (res.status === 404 && joining)) {
      fatal(t('q.no_room.head'), t('q.no_room.event'));
      return 0;
    }
    if (code === 'queue_closed') {
      stopAll();
      problem(t('q.closed.head'), t('q.closed.text'), again);
      setConn(t('q.conn.not_connected'), 'bad');
      return 0;
    }
    if (code === 'sold_out') {
      fatal(t('q.sold_out.head'), t('q.sold_out.text'));
      return 0;
    }
    if (code === 'too_many_places') {
      fatal(t('q.too_many.head'), t('q.too_many.text'));
      return 0;
    }
    if (code === 'captcha_required' || (joining && (res.status === 403 || res.status === 409))) {
      stopAll();
      problem(t('q.one_more.head'), t('q.one_more.text'), again);
      setConn(t('q.conn.waiting_for_you'), 'wait');
      return 0;
    }
    if (res.status === 429) {
      const sec = retryAfter(res, 10);
      if (joining) {
        later(sec, t('q.crowd.head'), t('q.crowd.text'), again);
        setConn(t('q.conn.busy'), 'wait');
      }
      return sec;
    }
    s.joinFails += 1;
    const sec = retryAfter(res, backoff(s.joinFails) / 1000);
    if (joining) {
      later(sec, t('q.busy.head'), t('q.trying_again'), again);
      setConn(t('q.conn.busy'), 'wait');
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
      onClose(true);
      return;
    }
    s.ws = ws;
    s.wsHello = false;
    s.wsAgainIn = 0;
    if (!s.polling) setConn(t('q.conn.connecting'), 'wait');
    const openTimer = setTimeout(() => { if (s.ws === ws && !s.wsHello) ws.close(); }, 10000);
    let opened = false;
    ws.onopen = () => { opened = true; };
    ws.onmessage = (m) => {
      let d;
      try { d = JSON.parse(m.data); } catch (e) { return; }
      if (s.ws === ws) onMessage(ws, d);
    };
    ws.onclose = () => {
      clearTimeout(openTimer);
      if (s.ws !== ws) return;
      s.ws = null;
      onClose(!opened);
    };
  }

  function onMessage(ws, d) {
    switch (d.type) {
      case 'hello':
        s.wsHello = true;
        s.wsFails = 0;
        stopPolling();
        setConn(t('q.conn.live'), 'ok');
        apply(d);
        break;
      case 'position':
        apply(d);
        break;
      case 'waitlisted': // the event sold out while we were in line
        apply({ ...d, state: 'waitlisted' });
        break;
      case 'state':
        if (d.queue_state === 'reconnecting') { // the server lost its store for a moment
          setConn(t('q.conn.store_reconnecting'), 'wait');
          break;
        }
        if (d.queue_state) s.queueState = d.queue_state;
        if (s.wsHello) setConn(t('q.conn.live'), 'ok');
        render();
        break;
      case 'announcement':
        notice(d);
        break;
      case 'departed':
        apply({ state: 'departed' });
        break;
      case 'admitted':
        if (d.admission_token) admit(d.admission_token, d.admission_expires_at, d.next, d.offer_expires_at);
        else fetchToken();
        break;
      case 'reconnect': {
        const ms = Math.max(0, Number(d.retry_ms) || 0);
        s.wsAgainIn = ms + Math.random() * Math.max(1000, ms);
        setConn(t('q.conn.reconnecting'), 'wait');
        ws.close(1000);
        break;
      }
      case 'error':
        if (d.code === 'unknown_event') {
          fatal(t('q.no_room.head'), t('q.no_room.event'));
        } else if (d.code === 'not_joined') {
          joined(false);
          s.rejoin = true; // the socket closes next; join again instead of reconnecting
        } else if (d.message) {
          setConn(t('q.conn.problem'), 'bad');
        }
        break;
      default:
    }
  }

  // `refused`: the socket closed before it opened. The server refuses an
  // upgrade when its process holds all the sockets it may (503
  // `socket_capacity`, which a page cannot read), or it was unreachable:
  // either way poll at once, and try the socket again later, when the load
  // balancer may pick another process.
  function onClose(refused) {
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
    if (refused || s.wsFails >= WS_FAILS_BEFORE_POLL) startPolling(); // and keep retrying the socket below
    else setConn(t('q.conn.lost'), 'wait');
    s.wsTimer = setTimeout(connect, backoff(s.wsFails + (refused ? 1 : 0))); // refused: 2 s, 4 s, … 30 s
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
    setConn(t('q.conn.polling'), 'wait');
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
      // The socket may have taken over meanwhile; if this poll was the
      // request that gave the place back, it is the one that can say so.
      if (!s.polling) { if (res.ok && body.kept_place) welcomeBack(); return; }
      if (res.ok) {
        s.joinFails = 0;
        setConn(t('q.conn.polling'), 'wait');
        notice(body.announcement);
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
        setConn(t('q.conn.busy_again', { s: seconds(Math.ceil(next / 1000)) }), 'wait');
      }
    } catch (e) {
      setConn(t('q.conn.offline_retry'), 'bad');
    }
    if (s.polling && !s.admitted) s.pollTimer = setTimeout(poll, next);
  }

  // ---- start ---------------------------------------------------------------
  window.addEventListener('online', () => {
    if (s.admitted || s.stopped) return;
    if (!s.ws) connect();
    if (s.polling) poll();
  });
  window.addEventListener('offline', () => { if (!s.admitted && !s.stopped) setConn(t('q.conn.offline_wait'), 'bad'); });
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
      setConn(t('q.conn.reconnecting'), 'wait');
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

  wrI18n.ready.then(() => {
    if (event) $('eyebrow').textContent = t('q.eyebrow', { event });
    window.wrLook.load(event); // the operator's name, colour, message and logo
    window.wrAway.setup();
    setupMail();
    join();
  });
})();
