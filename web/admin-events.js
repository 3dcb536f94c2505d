// Creating an event with its seat map (CSV or JSON, from a file or pasted)
// as a draft, then publishing it. The server validates the map and names
// each bad line; those are listed as text under the map. Everything an
// operator typed is shown with textContent only.
'use strict';
(function () {
  const { $ } = window.wrDom;
  const { say } = wrAdmin;
  const form = $('create');
  const field = (name) => form.elements.namedItem(name);
  const MAX_UPLOAD = 1024 * 1024;
  let created = null;

  function clearErrors() {
    wrAdmin.clearErrors(form);
    $('seatmap-errors').hidden = true;
    $('seatmap-lines').replaceChildren();
  }

  function fieldError(name, message) {
    const el = field(name === 'seat_map_csv' ? 'seat_map' : name);
    if (!el) { say(message, true); return; }
    if (el.name === 'seat_map') {
      // "line 3: …; line 7: …": one list item per problem.
      for (const part of message.replace(/^invalid seat_map: /, '').split('; ')) {
        const li = document.createElement('li');
        li.textContent = part;
        $('seatmap-lines').append(li);
      }
      $('seatmap-errors').hidden = false;
      el.setAttribute('aria-invalid', 'true');
      el.setAttribute('aria-describedby', 'seatmap-errors');
      el.focus();
    } else {
      wrAdmin.fieldError(el, message);
    }
  }

  const post = (path, body) => wrAdmin.call('POST', path, body);

  $('seat-file').addEventListener('change', async () => {
    const file = $('seat-file').files[0];
    if (!file) return;
    if (file.size > MAX_UPLOAD) {
      $('seat-file').value = '';
      say(`${file.name} is ${Math.ceil(file.size / 1024)} KB; a seat map may be at most 1 MB.`, true);
      return;
    }
    field('seat_map').value = await file.text();
    say(`Loaded ${file.name}.`);
  });

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors();
    const starts = new Date(field('starts_at').value);
    if (!Number.isFinite(starts.getTime())) { fieldError('starts_at', 'enter a date and time'); return; }
    const map = field('seat_map').value.trim();
    if (!map) { fieldError('seat_map', 'paste a seat map or choose a file'); return; }
    if (new Blob([map]).size > MAX_UPLOAD) { fieldError('seat_map', 'a seat map may be at most 1 MB'); return; }
    const body = {
      id: field('id').value.trim(), name: field('name').value, description: field('description').value,
      venue: field('venue').value, city: field('city').value, category: field('category').value, starts_at: starts.toISOString(),
      currency: field('currency').value.trim(), status: 'draft',
    };
    if (map.startsWith('{')) {
      try { body.seat_map = JSON.parse(map); } catch (err) { fieldError('seat_map', `not valid JSON: ${err.message}`); return; }
    } else {
      body.seat_map_csv = `${map}\n`;
    }
    say('Creating…');
    const r = await post('/api/v1/admin/events', body);
    if (r.status === 201) {
      created = r.json;
      say('');
      $('created-name').textContent = body.name;
      $('created-places').textContent = new Intl.NumberFormat().format(r.json.places);
      $('created-sections').textContent = String(r.json.sections);
      $('preview').href = `/events/${encodeURIComponent(created.id)}/book`;
      $('settings-link').href = `/admin-settings.html?event=${encodeURIComponent(created.id)}`;
      $('publish').disabled = false;
      $('created').hidden = false;
      $('created-heading').focus();
      return;
    }
    const err = r.error || {};
    if (err.field) fieldError(err.field, err.message);
    say(err.message || `HTTP ${r.status}`, true);
  });

  $('publish').addEventListener('click', async () => {
    if (!created) return;
    const r = await post(`/api/v1/admin/events/${encodeURIComponent(created.id)}/publish`, {});
    if (r.status === 200) {
      $('publish').disabled = true;
      $('created-heading').textContent = 'On sale';
      say(`Published: status ${r.json.status}.`);
    } else {
      wrAdmin.failed(r);
    }
  });

  wrAdmin.showZone();
}());
