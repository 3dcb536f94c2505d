// An event's look, edited with a live preview: the preview is built the
// way the fan pages build theirs (look.js, text only), from the form as
// typed and, for a chosen logo file, from the file itself before upload.
'use strict';
(function () {
  const { $ } = window.wrDom;
  const { say, fieldError, clearErrors } = wrAdmin;
  const form = $('look');
  const input = (name) => form.elements.namedItem(name);
  let event = null;
  let saved = null; // the look as the server last answered
  let pending = null; // a chosen logo file, base64, not yet uploaded
  let loads = 0; // only the latest load may fill the form

  const url = (what) => `/api/v1/admin/events/${encodeURIComponent(event)}/${what}`;
  const call = (method, what, body) => fetch(url(what), {
    method,
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });

  function typed() {
    return {
      display_name: input('display_name').value,
      accent: input('use_accent').checked ? input('accent').value : null,
      message: input('message').value,
    };
  }

  function preview() {
    const look = { ...typed(), logo_url: pending ? pending.dataUrl : saved && saved.logo_url };
    wrLook.apply(look, $('preview'));
  }

  function fill(look) {
    saved = look;
    input('display_name').value = look.display_name || '';
    input('use_accent').checked = !!look.accent;
    if (look.accent) input('accent').value = look.accent;
    input('message').value = look.message || '';
    $('logo-remove').disabled = !look.logo_url;
    preview();
  }

  async function answer(r, done) {
    const data = await r.json().catch(() => ({}));
    if (r.ok) { fill(data); say(done); return true; }
    const err = data.error || {};
    const field = err.field && input(err.field);
    if (field) fieldError(field, err.message);
    else if (err.code && err.code.startsWith('logo_')) fieldError(input('logo'), err.message);
    say(`Not saved: ${err.message || r.status}`, true);
    return false;
  }

  async function load() {
    clearErrors(form);
    pending = null;
    const mine = ++loads;
    const shown = event;
    const r = await call('GET', 'look');
    const look = r.ok ? await r.json() : null;
    // An answer for an event no longer chosen, or overtaken by a later
    // load, must not overwrite what the operator typed since.
    if (mine !== loads) return;
    if (look) fill(look);
    else say(`Cannot load the look (${r.status}).`, true);
    form.dataset.loaded = shown;
  }

  function readFile(file) {
    return new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve(String(reader.result));
      reader.onerror = () => reject(reader.error);
      reader.readAsDataURL(file);
    });
  }

  async function start() {
    const r = await fetch('/api/v1/admin/events', { credentials: 'same-origin' });
    if (r.status === 401) { $('signed-out').hidden = false; return; }
    const events = (await r.json().catch(() => [])).filter((e) => e.catalog);
    const select = $('event');
    wrAdmin.pickEvent(select, events);
    event = select.value || null;
    if (!event) { say('No event in the catalog yet.'); return; }
    select.addEventListener('change', () => {
      if (select.value === event) return;
      event = select.value;
      load();
    });
    form.addEventListener('input', preview);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      clearErrors(form);
      await answer(await call('PUT', 'look', typed()), 'Look saved: fans see it now.');
    });
    $('logo-file').addEventListener('change', async () => {
      clearErrors(form);
      const file = $('logo-file').files[0];
      pending = null;
      $('logo-upload').disabled = true;
      if (file) {
        const dataUrl = await readFile(file);
        // The server judges the bytes; the preview only shows a real image type.
        pending = { dataUrl, image: dataUrl.slice(dataUrl.indexOf(',') + 1) };
        $('logo-upload').disabled = false;
        if (file.size > 256 * 1024) say('This file is over 256 KiB: the server will refuse it.', true);
      }
      preview();
    });
    $('logo-upload').addEventListener('click', async () => {
      if (!pending) return;
      clearErrors(form);
      if (await answer(await call('PUT', 'logo', { image: pending.image }), 'Logo uploaded.')) {
        pending = null;
        $('logo-file').value = '';
        $('logo-upload').disabled = true;
        preview();
      }
    });
    $('logo-remove').addEventListener('click', async () => {
      await answer(await call('DELETE', 'logo'), 'Logo removed.');
    });
    await load();
  }

  start();
}());
