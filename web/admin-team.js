// Owners manage operator accounts (add, change role, remove) and API keys
// (create, shown once; revoke). Emails and key names are shown with
// textContent only.
'use strict';
(function () {
  const { $ } = window.wrDom;
  const date = (ms) => new Date(ms).toLocaleString();
  const ROLES = ['viewer', 'operator', 'owner'];
  const { say, call, failed } = wrAdmin;

  function cell(tr, content) {
    const td = document.createElement('td');
    if (typeof content === 'string') td.textContent = content; else td.append(content);
    tr.append(td);
    return td;
  }

  function button(text, onClick, cls) {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = text;
    if (cls) b.className = cls;
    b.addEventListener('click', onClick);
    return b;
  }

  async function loadOperators(me) {
    const r = await call('GET', '/api/v1/admin/operators');
    if (!r.ok) { failed(r); return; }
    const body = $('operators');
    body.replaceChildren();
    for (const op of r.json) {
      const tr = document.createElement('tr');
      const th = document.createElement('th');
      th.scope = 'row';
      th.textContent = op.email;
      tr.append(th);
      const role = document.createElement('select');
      role.setAttribute('aria-label', `role of ${op.email}`);
      for (const name of ROLES) role.append(new Option(name, name, false, name === op.role));
      role.addEventListener('change', async () => {
        const c = await call('PATCH', `/api/v1/admin/operators/${encodeURIComponent(op.id)}`, { role: role.value });
        if (c.ok) say(`${op.email} is now ${role.value}.`); else { failed(c); role.value = op.role; }
      });
      cell(tr, role);
      cell(tr, date(op.created_at));
      const self = op.id === me.operator_id;
      cell(tr, self ? 'you' : button('Remove', async () => {
        if (!window.confirm(`Remove ${op.email}? Their sessions end at once.`)) return;
        const d = await call('DELETE', `/api/v1/admin/operators/${encodeURIComponent(op.id)}`);
        if (d.ok) { say(`Removed ${op.email}.`); loadOperators(me); } else failed(d);
      }, 'danger'));
      body.append(tr);
    }
  }

  async function loadKeys() {
    const r = await call('GET', '/api/v1/admin/api-keys');
    if (!r.ok) { failed(r); return; }
    const body = $('keys');
    body.replaceChildren();
    for (const key of r.json) {
      const tr = document.createElement('tr');
      const th = document.createElement('th');
      th.scope = 'row';
      th.textContent = key.name;
      tr.append(th);
      cell(tr, key.role);
      cell(tr, date(key.created_at));
      cell(tr, key.revoked_at ? `revoked ${date(key.revoked_at)}` : button(`Revoke`, async () => {
        if (!window.confirm(`Revoke the key "${key.name}"? Scripts using it stop working at once.`)) return;
        const d = await call('DELETE', `/api/v1/admin/api-keys/${encodeURIComponent(key.id)}`);
        // The list first, then the message: once it shows, the table agrees.
        if (d.ok) { await loadKeys(); say(`Revoked "${key.name}".`); } else failed(d);
      }, 'danger'));
      body.append(tr);
    }
  }

  async function start() {
    const me = await call('GET', '/api/v1/admin/me');
    if (!me.ok) return;
    if (me.json.role !== 'owner') { $('not-owner').hidden = false; return; }
    $('team').hidden = false;
    $('add-operator').addEventListener('submit', async (e) => {
      e.preventDefault();
      const f = e.target.elements;
      const r = await call('POST', '/api/v1/admin/operators',
        { email: f.email.value, password: f.password.value, role: f.role.value });
      if (!r.ok) { failed(r); return; }
      say(`Added ${r.json.email} as ${r.json.role}.`);
      e.target.reset();
      loadOperators(me.json);
    });
    $('add-key').addEventListener('submit', async (e) => {
      e.preventDefault();
      const f = e.target.elements;
      const r = await call('POST', '/api/v1/admin/api-keys', { name: f.name.value, role: f.role.value });
      if (!r.ok) { failed(r); return; }
      $('new-key-value').textContent = r.json.key;
      $('new-key').hidden = false;
      $('new-key-heading').focus();
      e.target.reset();
      loadKeys();
    });
    $('new-key-done').addEventListener('click', () => {
      // The key leaves the page: nothing can show it again.
      $('new-key-value').textContent = '';
      $('new-key').hidden = true;
    });
    await Promise.all([loadOperators(me.json), loadKeys()]);
  }

  start();
}());
