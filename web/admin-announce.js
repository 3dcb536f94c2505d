// The dashboard's announcement control: an operator's short message shown
// at once on every waiting page of the event (PUT/DELETE
// /api/v1/admin/events/{event}/announcement). Plain text end to end: the
// preview and the fans' pages set textContent, never markup.
'use strict';
window.wrAnnounce = (() => {
  const { $ } = window.wrDom;
  let event = '';
  const url = () => `/api/v1/admin/events/${encodeURIComponent(event)}/announcement`;
  const call = (method, body) => fetch(url(), {
    method,
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });

  function show(data, note) {
    const a = data && data.announcement;
    $('announce-now').textContent = a
      ? `Fans see: “${a.message}” (since ${new Date(a.at).toLocaleTimeString()})`
      : 'No announcement is shown to fans.';
    $('announce-clear').disabled = !a;
    $('announce-msg').textContent = note || '';
  }

  async function load() {
    if (!event) return;
    const r = await call('GET');
    const data = await r.json().catch(() => ({}));
    if (r.ok) show(data);
    else show(null, r.status === 404 ? 'This event has no queue: announcements go to its waiting page.' : (data.error || {}).message || `error ${r.status}`);
  }

  async function send(method, body, done) {
    const r = await call(method, body);
    const data = await r.json().catch(() => ({}));
    if (r.ok) { show(data, done); return true; }
    $('announce-msg').textContent = (data.error || {}).message || `error ${r.status}`;
    return false;
  }

  function wire() {
    const text = $('announce-text');
    const left = () => { $('announce-left').textContent = `${280 - [...text.value].length} characters left`; };
    text.addEventListener('input', left);
    left();
    $('announce-form').onsubmit = async (e) => {
      e.preventDefault();
      if (!text.value.trim()) { $('announce-msg').textContent = 'Write a message first.'; text.focus(); return; }
      if (await send('PUT', { message: text.value }, 'Sent to every fan of the event.')) { text.value = ''; left(); }
    };
    $('announce-clear').onclick = () => send('DELETE', null, 'Taken down.');
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', wire);
  else wire();

  /** The dashboard picked `ev`. */
  function select(ev) {
    event = ev;
    load();
  }
  return { select };
})();
