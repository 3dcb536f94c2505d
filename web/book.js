// Seat-map page (/events/{event}/book): draws the seat map (polled for
// availability), lets the fan pick seats or standing places, holds them with
// the admission token the waiting room left in sessionStorage, and counts the
// hold down until checkout. No framework, no build step.
'use strict';
(() => {
  const { $ } = window.wrDom;
  const q = new URLSearchParams(location.search);
  let event = q.get('event') || '';
  try { if (!event) event = decodeURIComponent(location.pathname.split('/')[2] || ''); } catch (e) { /* bad escape */ }
  const E = encodeURIComponent(event);
  const QUEUE = '/queue/' + E;
  const HOLD_KEY = 'wr_hold_' + event;
  const POLL_MS = 4000; // seat availability refresh (the server caches ~1 s)
  const store = {
    get: (k) => { try { return sessionStorage.getItem(k); } catch (e) { return null; } },
    set: (k, v) => { try { sessionStorage.setItem(k, v); } catch (e) { /* storage off */ } },
    del: (k) => { try { sessionStorage.removeItem(k); } catch (e) { /* storage off */ } },
  };
  const token = store.get('wr_admission_' + event);

  const s = {
    view: '', name: '', cur: 'usd', seats: new Map(), sel: new Set(), pool: null, qty: 0, maxQty: 0,
    hold: null, skew: 0, tick: 0, poll: 0, busy: false, warned: {},
  };

  // ---- helpers -------------------------------------------------------------
  const money = (minor, cur) => wr.money(minor, cur || s.cur);
  const { t } = wrI18n;
  const { clock } = wr;
  const el = (tag, props, kids) => { // props: DOM properties; role and aria* become attributes
    const n = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (k === 'role' || k.startsWith('aria')) n.setAttribute(k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase()), v);
      else n[k] = v;
    }
    for (const k of kids || []) n.append(k);
    return n;
  };

  /** An API call under /api/v1 (api.js); counts down on the server's clock. */
  async function call(method, path, body, headers) {
    const r = await wrApi.call(method, '/api/v1' + path, body, { headers });
    const skew = wrApi.skew(r);
    if (skew !== null) s.skew = skew;
    return r;
  }

  function announce(text) { $('announce').textContent = ''; setTimeout(() => { $('announce').textContent = text; }, 50); }

  function alertMsg(text, link) {
    const a = $('alert');
    a.hidden = !text;
    a.textContent = text || '';
    if (link) a.append(' ', el('a', { href: link[0], textContent: link[1] }));
  }

  function show(view, title) {
    s.view = view;
    $('app').dataset.view = view;
    for (const id of ['pick', 'held', 'done']) $(id).hidden = id !== view;
    if (title) {
      $('title').textContent = title;
      document.title = title;
      $('title').focus();
    }
  }

  function finish(title, text, link) {
    clearInterval(s.tick);
    clearTimeout(s.poll);
    alertMsg('');
    show('done', title);
    $('done-text').textContent = text;
    $('done-link').hidden = !link;
    if (link) { $('done-link').href = link[0]; $('done-link').textContent = link[1]; }
  }

  // When the fan's turn ends (admission token exp), for the "hold within" hint.
  const tokenExp = (() => {
    try { return JSON.parse(atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/'))).exp * 1000; } catch (e) { return 0; }
  })();

  // ---- seat map ------------------------------------------------------------
  function renderMap(map, tiers) {
    s.max = map.max_seats_per_hold || Infinity;
    const tierIdx = new Map(tiers.map((t, i) => [t.id, i % 4]));
    $('legend').replaceChildren(
      ...tiers.map((t) => el('li', {}, [el('span', { className: 'sw t' + tierIdx.get(t.id), ariaHidden: 'true' }), t.name + ' ' + money(t.price)])),
      el('li', {}, [el('span', { className: 'sw sel', ariaHidden: 'true' }), t('b.your_selection')]),
      el('li', {}, [el('span', { className: 'sw off', ariaHidden: 'true' }), t('b.taken')]));
    const tierName = new Map(tiers.map((t) => [t.id, t.name]));
    const out = [];
    for (const sec of map.sections) {
      const hid = 'sec-' + sec.id;
      const box = el('section', { className: 'sec' }, [el('h2', { id: hid, textContent: sec.name })]);
      if (sec.rows && sec.rows.length) {
        const grid = el('div', { className: 'grid', role: 'grid' });
        grid.setAttribute('aria-labelledby', hid);
        for (const row of sec.rows) {
          const r = el('div', { className: 'row', role: 'row' }, [el('span', { role: 'rowheader', className: 'rl', textContent: row.label, title: t('b.row', { row: row.label }) })]);
          for (const seat of row.seats) {
            const label = wr.seatLabel(sec.name, row.label, seat.number);
            const b = el('button', { type: 'button', className: 'seat t' + tierIdx.get(seat.tier), textContent: seat.number, tabIndex: -1 });
            b.dataset.seat = seat.id;
            b.setAttribute('aria-pressed', 'false');
            const info = { id: seat.id, label, price: seat.price, tier: tierName.get(seat.tier) || '', status: '', btn: b };
            s.seats.set(seat.id, info);
            setStatus(info, seat.status);
            r.append(el('span', { role: 'gridcell' }, [b]));
          }
          grid.append(r);
        }
        const first = grid.querySelector('.seat');
        if (first) first.tabIndex = 0;
        grid.addEventListener('keydown', gridKeys);
        box.append(el('div', { className: 'scroll' }, [grid]));
      }
      if (sec.pool && !s.pool) {
        s.pool = sec.pool;
        const id = 'qty';
        const minus = el('button', { type: 'button', className: 'step', textContent: '−', ariaLabel: t('b.fewer') });
        const plus = el('button', { type: 'button', className: 'step', textContent: '+', ariaLabel: t('b.more') });
        const input = el('input', { id, type: 'number', inputMode: 'numeric', min: 0, value: 0, className: 'qty' });
        minus.onclick = () => setQty(s.qty - 1);
        plus.onclick = () => setQty(s.qty + 1);
        input.onchange = () => setQty(Number(input.value) || 0);
        box.append(
          el('label', { htmlFor: id, className: 'ga-label' }, [
            t('b.standing_label', { tier: tierName.get(sec.pool.tier) || t('b.general_admission'), price: money(sec.pool.price) })]),
          el('div', { className: 'ga' }, [minus, input, plus, el('span', { id: 'ga-left', className: 'hint' })]));
      }
      out.push(box);
    }
    $('map').replaceChildren(...out);
    updatePool(s.pool);
  }

  function setStatus(info, status) {
    if (info.status === status) return;
    const was = info.status;
    info.status = status;
    const free = status === 'available';
    info.btn.classList.toggle('off', !free);
    info.btn.setAttribute('aria-disabled', free ? 'false' : 'true');
    info.btn.setAttribute('aria-label', free ? t('b.seat_free', { seat: info.label, tier: info.tier, price: money(info.price) })
      : t('b.seat_taken', { seat: info.label }));
    if (!free && s.sel.has(info.id)) {
      toggle(info, false);
      if (was) alertMsg(t('b.just_taken', { seat: info.label }));
    }
  }

  function updatePool(pool) {
    if (!pool || !s.pool) return;
    s.pool = pool;
    s.maxQty = Math.max(0, Math.min(pool.available, 10));
    $('qty').max = s.maxQty;
    $('ga-left').textContent = pool.available > 0 ? t('b.places_left', { n: pool.available }) : t('b.sold_out');
    if (s.qty > s.maxQty) setQty(s.maxQty);
  }

  function setQty(n) {
    s.qty = Math.max(0, Math.min(s.maxQty, Math.floor(n)));
    $('qty').value = s.qty;
    if (s.qty > 0 && s.sel.size) { // a hold is seats or standing places, not both
      for (const id of [...s.sel]) toggle(s.seats.get(id), false);
      announce(t('b.selection_cleared'));
    }
    summary();
  }

  function toggle(info, on) {
    if (on && info.status !== 'available') return;
    if (on && s.sel.size >= s.max) { announce(t('b.at_most', { n: s.max })); return; }
    if (on) s.sel.add(info.id); else s.sel.delete(info.id);
    info.btn.setAttribute('aria-pressed', on ? 'true' : 'false');
    if (on && s.qty) { s.qty = 0; $('qty').value = 0; }
    summary();
  }

  function summary() {
    let text = t('b.none_selected');
    let total = 0;
    if (s.sel.size) {
      for (const id of s.sel) total += s.seats.get(id).price;
      text = t('b.seats_selected', { n: s.sel.size, total: money(total) });
    } else if (s.qty) {
      text = t('b.standing_selected', { n: s.qty, total: money(s.qty * s.pool.price) });
    }
    $('sel-text').textContent = text;
    $('hold').disabled = s.busy || !(s.sel.size || s.qty);
    $('hold').textContent = t(s.busy ? 'b.holding' : s.qty ? 'b.hold_places' : 'b.hold_seats');
  }

  function gridKeys(e) {
    const b = e.target.closest('.seat');
    if (!b) return;
    const rows = [...e.currentTarget.querySelectorAll('[role=row]')].map((r) => [...r.querySelectorAll('.seat')]);
    let y = rows.findIndex((r) => r.includes(b));
    let x = rows[y].indexOf(b);
    switch (e.key) {
      case 'ArrowRight': x += 1; break;
      case 'ArrowLeft': x -= 1; break;
      case 'ArrowDown': y += 1; break;
      case 'ArrowUp': y -= 1; break;
      case 'Home': x = 0; break;
      case 'End': x = Infinity; break;
      default: return;
    }
    e.preventDefault();
    y = Math.max(0, Math.min(rows.length - 1, y));
    const next = rows[y][Math.max(0, Math.min(rows[y].length - 1, x))];
    b.tabIndex = -1;
    next.tabIndex = 0;
    next.focus();
  }

  async function refresh() {
    clearTimeout(s.poll);
    if (s.view !== 'pick') return;
    if (!document.hidden) {
      const r = await call('GET', '/events/' + E + '/seats');
      if (r.status === 200) {
        for (const sec of r.json.sections) {
          for (const row of sec.rows || []) for (const seat of row.seats) { const i = s.seats.get(seat.id); if (i) setStatus(i, seat.status); }
          if (sec.pool && s.pool && sec.pool.id === s.pool.id) updatePool(sec.pool);
        }
      }
    }
    if (s.view === 'pick') s.poll = setTimeout(refresh, POLL_MS);
  }
  document.addEventListener('visibilitychange', () => { if (!document.hidden) refresh(); });

  // ---- holding -------------------------------------------------------------
  function tokenProblem(code) {
    const known = ['admission_required', 'token_expired', 'token_wrong_session', 'token_used', 'offer_expired'];
    const why = known.includes(code) ? t('b.token.' + code) : t('b.token.other', { code });
    alertMsg(why, [QUEUE, t('common.back_to_queue')]);
    $('alert').focus();
  }

  async function hold() {
    if (s.busy) return;
    const body = s.sel.size ? { seats: [...s.sel] } : s.qty ? { quantity: s.qty, pool: s.pool.id } : null;
    if (!body) return;
    alertMsg('');
    if (!token) { tokenProblem('admission_required'); return; }
    s.busy = true;
    summary();
    const r = await call('POST', '/events/' + E + '/holds', body, { Authorization: 'Bearer ' + token });
    s.busy = false;
    summary();
    if (r.status === 201) {
      store.set(HOLD_KEY, r.json.hold_id);
      showHold(r.json);
      return;
    }
    const code = r.error.code;
    if (code === 'seats_unavailable') {
      const lost = (r.error.seats || []).map((id) => s.seats.get(id)).filter(Boolean);
      for (const i of lost) setStatus(i, 'held');
      alertMsg(lost.length
        ? t('b.lost', { n: lost.length, seats: lost.map((i) => i.label).join('; ') })
        : t('b.not_enough'));
      refresh();
    } else if (code === 'token_used') {
      const id = store.get(HOLD_KEY);
      if (!(id && await resume(id))) tokenProblem(code);
    } else if (r.status === 401 || r.status === 403 || code === 'offer_expired') {
      tokenProblem(code);
    } else if (r.status === 429) {
      alertMsg(t('b.too_many', { n: Number(r.res.headers.get('Retry-After')) || 5 }));
    } else {
      alertMsg(r.error.message);
    }
    if (!$('alert').hidden) $('alert').focus();
  }

  function showHold(h) {
    clearTimeout(s.poll);
    s.hold = h;
    alertMsg('');
    const items = h.seats.map((x) => {
      const i = s.seats.get(x.id);
      return el('li', {}, [el('span', { textContent: i ? i.label : t('common.seat_id', { id: String(x.id) }) }), el('span', { textContent: money(x.price, h.currency) })]);
    });
    if (h.quantity) {
      items.push(el('li', {}, [el('span', { textContent: t('common.standing', { n: h.quantity }) }),
        el('span', { textContent: money(h.total, h.currency) })]));
    }
    $('held-list').replaceChildren(...items);
    $('held-total').textContent = money(h.total, h.currency);
    $('checkout').href = '/checkout.html?hold=' + encodeURIComponent(h.hold_id) + '&event=' + E;
    $('release-ask').hidden = true;
    $('eyebrow').textContent = s.name || t('b.your_seats');
    show('held', t('b.held_title'));
    s.warned = {};
    ticker();
  }

  async function resume(id) {
    const r = await call('GET', '/holds/' + encodeURIComponent(id));
    if (r.status === 200 && r.json.status === 'active') { showHold(r.json); return true; }
    if (r.status === 200 && r.json.status === 'completed') {
      finish(t('b.already.head'), t('b.already.text'), ['/', t('common.home')]);
      return true;
    }
    store.del(HOLD_KEY);
    return false;
  }

  function ticker() {
    clearInterval(s.tick);
    const step = () => {
      const now = Date.now() + s.skew;
      if (s.view === 'held') {
        const left = Date.parse(s.hold.expires_at) - now;
        $('countdown').textContent = clock(left);
        for (const m of [5, 1]) {
          if (left <= m * 60000 && left > (m * 60000 - 5000) && !s.warned[m]) {
            s.warned[m] = true;
            announce(t('b.minutes_left', { n: m }));
          }
        }
        if (left <= 0) {
          store.del(HOLD_KEY);
          finish(t('b.expired.head'), t('b.expired.text'), [QUEUE, t('common.back_to_queue')]);
        }
      } else if (s.view === 'pick' && tokenExp) {
        const left = tokenExp - now;
        $('turn-left').hidden = false;
        $('turn-left').textContent = left > 0 ? t('b.turn_left', { time: clock(left) }) : t('b.turn_ended');
      }
    };
    step();
    s.tick = setInterval(step, 1000);
  }

  async function release() {
    const r = await call('DELETE', '/holds/' + encodeURIComponent(s.hold.hold_id));
    if (r.status === 204 || (r.error && r.error.code === 'hold_not_active')) {
      store.del(HOLD_KEY);
      finish(t('b.released.head'), t('b.released.text'), [QUEUE, t('common.back_to_queue')]);
    } else {
      alertMsg(r.error.message);
      $('alert').focus();
    }
  }

  // ---- start ---------------------------------------------------------------
  $('alert').tabIndex = -1;
  $('hold').onclick = hold;
  $('map').addEventListener('click', (e) => {
    const b = e.target.closest('.seat');
    if (!b) return;
    const info = s.seats.get(Number(b.dataset.seat));
    if (info.status !== 'available') { announce(t('b.is_taken', { seat: info.label })); return; }
    toggle(info, !s.sel.has(info.id));
  });
  $('release').onclick = () => { $('release-ask').hidden = false; $('release-yes').focus(); };
  $('release-no').onclick = () => { $('release-ask').hidden = true; $('release').focus(); };
  $('release-yes').onclick = release;

  wrI18n.ready.then(async () => {
    if (!event) { finish(t('b.no_event.head'), t('b.no_event.text'), ['/', t('common.home')]); return; }
    window.wrLook.load(event); // the operator's name, colour, message and logo
    const [ev, map] = await Promise.all([call('GET', '/events/' + E), call('GET', '/events/' + E + '/seats')]);
    if (ev.status === 404) { finish(t('b.no_such.head'), t('b.no_such.text'), ['/', t('common.home')]); return; }
    if (!ev.json || !map.json || ev.error || map.error) {
      finish(t('b.load_failed'), (ev.error || map.error).message, [location.href, t('q.try_again')]);
      return;
    }
    const e = ev.json;
    s.cur = map.json.currency || e.currency;
    const when = new Date(e.starts_at);
    $('meta').textContent = [e.venue_name, e.venue_city].filter(Boolean).join(', ') + ' · '
      + wrI18n.date(when, { dateStyle: 'full', timeStyle: 'short' });
    renderMap(map.json, map.json.tiers || []);
    show('pick');
    $('title').textContent = s.name = e.name;
    document.title = t('b.doc_title_with', { name: e.name });
    const id = store.get(HOLD_KEY);
    if (id && await resume(id)) return;
    if (!token) {
      $('banner').hidden = false;
      $('banner').append(...t('b.look_around').split(/\{link\}/).flatMap((part, n) => (n
        ? [el('a', { href: QUEUE, textContent: t('b.waiting_room') }), part] : [part])));
    }
    summary();
    ticker();
    refresh();
  });
})();
