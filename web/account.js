// Account page (/account.html): sign up, confirm the email through the
// emailed link (/account.html#verify=<token>, kept in the fragment so it
// never reaches a server log or a Referer), sign in, and list my orders.
// Orders of an email show only after its owner confirmed it.
'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  const KEY = 'wr_customer_session';
  const { money } = wr;

  async function call(method, path, body, token) {
    const headers = { Accept: 'application/json' };
    if (body) headers['Content-Type'] = 'application/json';
    if (token) headers.Authorization = 'Bearer ' + token;
    try {
      const res = await fetch('/api/v1/' + path, { method, headers, body: body ? JSON.stringify(body) : undefined });
      return { status: res.status, json: await res.json().catch(() => null) };
    } catch (e) { return { status: 0, json: null }; }
  }

  function say(text) { $('message').textContent = text; }
  function errorText(r) {
    if (r.status === 0) return 'We could not reach the server. Check your connection and try again.';
    return (r.json && r.json.error && r.json.error.message) || 'Something went wrong (' + r.status + ').';
  }
  function show(...ids) {
    for (const id of ['verify-form', 'login-form', 'register-form', 'orders']) $(id).hidden = !ids.includes(id);
  }

  async function showOrders() {
    let session = null;
    try { session = JSON.parse(sessionStorage.getItem(KEY)); } catch (e) { session = null; }
    if (!session || !session.token) { show('login-form', 'register-form'); return; }
    const token = session.token;
    $('signed-in').textContent = 'Signed in as ' + session.email;
    const r = await call('GET', 'me/orders', null, token);
    if (r.status === 401) { sessionStorage.removeItem(KEY); say('Please sign in again.'); show('login-form', 'register-form'); return; }
    if (r.status !== 200) { say(errorText(r)); return; }
    const list = $('order-list');
    list.textContent = '';
    for (const o of r.json.orders) {
      const li = document.createElement('li');
      li.textContent = o.reference + ' · ' + o.event_name + ' · ' + o.status + ' · ' + money(o.total, o.currency);
      list.append(li);
    }
    if (!r.json.orders.length) list.textContent = 'No orders yet.';
    show('orders');
  }

  function signedIn(session) {
    sessionStorage.setItem(KEY, JSON.stringify({ token: session.token, email: session.email }));
    return showOrders();
  }

  const linkToken = () => new URLSearchParams(location.hash.slice(1)).get('verify');

  // Also on `hashchange`: opening the link in a tab already on this page
  // does not reload it.
  function route() {
    if (linkToken()) { show('verify-form'); say('One more step.'); } else showOrders();
  }
  window.addEventListener('hashchange', route);
  route();

  $('verify-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const r = await call('POST', 'auth/verify', { token: linkToken() || '', password: $('verify-password').value });
    if (r.status !== 200) { say(errorText(r)); return; }
    history.replaceState(null, '', location.pathname);
    say('Your email is confirmed.');
    await signedIn(r.json);
  });

  $('login-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const r = await call('POST', 'auth/login', { email: $('login-email').value, password: $('login-password').value });
    if (r.status === 200) { say(''); await signedIn(r.json); } else say(errorText(r));
  });
  $('register-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const r = await call('POST', 'auth/register', { email: $('register-email').value, password: $('register-password').value });
    say(r.status === 202 ? r.json.message : errorText(r));
  });
  $('sign-out').addEventListener('click', () => {
    sessionStorage.removeItem(KEY);
    say('Signed out.');
    show('login-form', 'register-form');
  });
})();
