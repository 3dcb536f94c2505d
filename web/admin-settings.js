// Every queue setting of an event, edited in one form: PATCH with the
// version the form was loaded at (If-Match). The server's validation
// errors are shown beside the field they name; a version conflict (another
// operator saved meanwhile) shows both values of each setting both changed
// and lets the operator choose. Times are entered in the operator's time
// zone, with the UTC value shown under each.
'use strict';
(function () {
  const { $ } = window.wrDom;
  const { say, localInput } = wrAdmin;
  const form = $('settings');
  const NUMBERS = ['admit_per_minute', 'max_active', 'session_ttl_seconds', 'departure_grace_seconds',
    'max_places_per_ip', 'max_seats_per_visitor', 'offer_ttl_seconds'];
  const CHOICES = ['state', 'captcha', 'captcha_failure', 'waitlist_joins'];
  const BOOLS = ['waitlist_joins']; // a select of `true` / `false`
  const TIMES = ['prequeue_at', 'opens_at', 'closes_at'];
  const FIELDS = [...CHOICES.slice(0, 1), ...NUMBERS.slice(0, 4), ...CHOICES.slice(1), ...NUMBERS.slice(4), ...TIMES];
  let event = null;
  let loaded = null; // the settings the form was filled from

  const input = (name) => form.elements.namedItem(name);

  const utc = (ms) => (ms === null ? 'none' : wrAdmin.utc(ms));

  /** A field's value as the API takes it; `undefined` when it cannot be read. */
  function read(name) {
    const v = input(name).value.trim();
    if (TIMES.includes(name)) {
      if (!v) return null;
      const t = new Date(v).getTime();
      return Number.isFinite(t) ? t : undefined;
    }
    if (NUMBERS.includes(name)) return v === '' || !/^-?\d+$/.test(v) ? undefined : Number(v);
    if (BOOLS.includes(name)) return v === 'true';
    return v;
  }

  /** How a value reads to an operator. */
  function shown(name, v) {
    if (TIMES.includes(name)) {
      return v === null ? 'none' : `${new Date(v).toLocaleString()} (${utc(v)})`;
    }
    return String(v);
  }

  function fill(settings) {
    loaded = settings;
    for (const name of FIELDS) {
      const v = settings[name];
      input(name).value = TIMES.includes(name) ? (v === null ? '' : localInput(v)) : String(v);
    }
    $('version').textContent = settings.version;
    clearErrors();
    showUtc();
  }

  function showUtc() {
    for (const name of TIMES) {
      const v = read(name);
      let note = input(name).parentElement.querySelector('.utc');
      if (!note) {
        note = document.createElement('small');
        note.className = 'utc muted';
        input(name).after(note);
      }
      note.textContent = v === undefined ? 'not a date and time' : utc(v);
    }
  }

  const clearErrors = () => wrAdmin.clearErrors(form);

  /** Shows `message` beside field `name` and moves the focus there. */
  function fieldError(name, message) {
    const field = input(name);
    if (field) wrAdmin.fieldError(field, message); else say(message, true);
  }

  /** The fields the operator changed since the form was filled: `{name: value}`. */
  function changes() {
    const out = {};
    for (const name of FIELDS) {
      const v = read(name);
      if (v === undefined) {
        fieldError(name, TIMES.includes(name) ? 'enter a date and time, or leave it empty' : 'enter a whole number');
        return null;
      }
      if (v !== loaded[name]) out[name] = v;
    }
    return out;
  }

  /** The selected event's queue settings (admin-common.js, api.js); `version` goes in If-Match. */
  function call(method, body, version) {
    const headers = version === undefined ? {} : { 'if-match': `"${version}"` };
    return wrAdmin.call(method, `/api/v1/admin/events/${encodeURIComponent(event)}/queue`, body, { headers });
  }

  async function load() {
    const r = await call('GET');
    if (r.status !== 200) { wrAdmin.failed(r); return; }
    fill(r.json);
  }

  /** PATCHes `patch` at `version`; on a conflict, offers the choice. */
  async function save(patch, version) {
    clearErrors();
    if (Object.keys(patch).length === 0) { say('Nothing changed.'); return; }
    const r = await call('PATCH', patch, version);
    if (r.status === 200) {
      $('conflict').hidden = true;
      fill(r.json);
      say(`Saved: version ${r.json.version}.`);
      return;
    }
    const err = r.error || {};
    if (r.status === 409 && err.code === 'version_conflict') {
      await conflict(patch);
      return;
    }
    if (err.field) fieldError(err.field, err.message);
    say(err.message || `HTTP ${r.status}`, true);
  }

  /** Lists the settings both operators changed, with both values. */
  async function conflict(mine) {
    const r = await call('GET');
    if (r.status !== 200) { say('Could not read the current settings.', true); return; }
    const theirs = r.json;
    const rows = $('conflict-rows');
    rows.replaceChildren();
    const contested = Object.keys(mine).filter((k) => theirs[k] !== loaded[k] && theirs[k] !== mine[k]);
    for (const name of contested) {
      const tr = document.createElement('tr');
      const th = document.createElement('th');
      th.scope = 'row';
      th.textContent = name;
      tr.append(th);
      for (const [side, value] of [['mine', mine[name]], ['theirs', theirs[name]]]) {
        const td = document.createElement('td');
        const label = document.createElement('label');
        const radio = document.createElement('input');
        radio.type = 'radio';
        radio.name = `pick-${name}`;
        radio.value = side;
        radio.checked = side === 'mine';
        label.append(radio, ` ${shown(name, value)}`);
        td.append(label);
        tr.append(td);
      }
      rows.append(tr);
    }
    $('conflict-version').textContent = theirs.version;
    $('conflict').hidden = false;
    $('conflict-heading').focus();
    say('Not saved: the settings changed meanwhile.', true);
    $('conflict-apply').onclick = () => {
      const patch = {};
      for (const [name, value] of Object.entries(mine)) {
        const pick = document.querySelector(`input[name="pick-${name}"]:checked`);
        if (!pick || pick.value === 'mine') patch[name] = value;
      }
      loaded = theirs;
      save(patch, theirs.version);
    };
    $('conflict-drop').onclick = () => {
      $('conflict').hidden = true;
      fill(theirs);
      say(`Showing version ${theirs.version}.`);
    };
  }

  async function start() {
    wrAdmin.showZone();
    const r = await wrAdmin.call('GET', '/api/v1/admin/events');
    if (r.status === 401) return;
    const events = (Array.isArray(r.json) ? r.json : []).filter((e) => e.queue);
    const select = $('event');
    wrAdmin.pickEvent(select, events);
    event = select.value || null;
    if (!event) { say('No event has a queue yet.'); return; }
    select.addEventListener('change', () => { event = select.value; $('conflict').hidden = true; load(); });
    form.addEventListener('input', showUtc);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      clearErrors();
      const patch = changes();
      if (patch) save(patch, loaded.version);
    });
    $('reset').addEventListener('click', () => fill(loaded));
    await load();
  }

  start();
}());
