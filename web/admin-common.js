// Shared by the operators' pages beside the live dashboard (report,
// settings, new event, team): the status line, times in the operator's
// zone, field errors and the event picker. Text only, never markup.
'use strict';
(function (root) {
  const { $ } = window.wrDom;

  /** Says `text` in the page's #msg status line (red when `bad`). */
  function say(text, bad = false) {
    $('msg').textContent = text;
    $('msg').classList.toggle('bad', bad);
  }

  /** An API call (api.js); a 401 shows the page's "signed out" notice. */
  async function call(method, path, body, opts) {
    const r = await wrApi.call(method, path, body, opts);
    if (r.status === 401 && $('signed-out')) $('signed-out').hidden = false;
    return r;
  }

  /** Says why the call behind `r` failed. */
  const failed = (r) => say(wrApi.errorText(r), true);

  /** `ms` as a datetime-local value in the browser's time zone. */
  function localInput(ms) {
    const d = new Date(ms);
    const p = (n) => String(n).padStart(2, '0');
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
  }

  /** `ms` as `2027-03-01 15:00 UTC`. */
  const utc = (ms) => `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;

  /** Names the operator's time zone in every `.tz` of the page. */
  function showZone() {
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'your time zone';
    document.querySelectorAll('.tz').forEach((n) => { n.textContent = zone; });
  }

  /** Shows `message` under form control `el`, marks it invalid and focuses it. */
  function fieldError(el, message) {
    const err = document.createElement('p');
    err.className = 'err bad';
    err.id = `err-${el.name}`;
    err.textContent = message;
    el.parentElement.append(err);
    el.setAttribute('aria-invalid', 'true');
    el.setAttribute('aria-describedby', err.id);
    el.focus();
  }

  /** Removes what `fieldError` added inside `form`. */
  function clearErrors(form) {
    for (const el of form.querySelectorAll('.err')) el.remove();
    for (const el of form.querySelectorAll('[aria-invalid]')) {
      el.removeAttribute('aria-invalid');
      el.removeAttribute('aria-describedby');
    }
  }

  /**
   * Fills `select` with `events` (GET /api/v1/admin/events rows) by name,
   * selecting the page's `?event=` when listed.
   */
  function pickEvent(select, events) {
    for (const e of events) {
      const name = e.catalog && e.catalog.name ? `${e.catalog.name} (${e.event})` : e.event;
      select.append(new Option(name, e.event));
    }
    const wanted = new URLSearchParams(location.search).get('event');
    if (wanted && events.some((e) => e.event === wanted)) select.value = wanted;
  }

  root.wrAdmin = { say, call, failed, localInput, utc, showZone, fieldError, clearErrors, pickEvent };
}(window));
