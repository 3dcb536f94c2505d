// Account page (/account.html): sign up, confirm the email through the
// emailed link (/account.html#verify=<token>, kept in the fragment so it
// never reaches a server log or a Referer), sign in, and list my orders.
// Orders of an email show only after its owner confirmed it.
'use strict';
(() => {
  const { $ } = window.wrDom;
  const KEY = 'wr_customer_session';
  const { money } = wr;
  const { t } = wrI18n;
  const STATUSES = ['pending', 'confirmed', 'failed', 'cancelled', 'refund_pending', 'refunded']; // a.status.<status>

  const call = (method, path, body, token) => wrApi.call(method, '/api/v1/' + path, body, { token });

  function say(text) { $('message').textContent = text; }
  const { errorText } = wrApi;
  function show(...ids) {
    for (const id of ['verify-form', 'login-form', 'register-form', 'orders']) $(id).hidden = !ids.includes(id);
  }

  async function showOrders() {
    let session = null;
    try { session = JSON.parse(sessionStorage.getItem(KEY)); } catch (e) { session = null; }
    if (!session || !session.token) { show('login-form', 'register-form'); return; }
    const token = session.token;
    $('signed-in').textContent = t('a.signed_in', { email: session.email });
    const r = await call('GET', 'me/orders', null, token);
    if (r.status === 401) { sessionStorage.removeItem(KEY); say(t('a.again')); show('login-form', 'register-form'); return; }
    if (r.status !== 200) { say(errorText(r)); return; }
    const list = $('order-list');
    list.textContent = '';
    for (const o of r.json.orders) {
      const li = document.createElement('li');
      const status = STATUSES.includes(o.status) ? t('a.status.' + o.status) : o.status;
      li.textContent = [o.reference, o.event_name, status, money(o.total, o.currency)].join(' · ');
      list.append(li);
    }
    if (!r.json.orders.length) list.textContent = t('a.none');
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
    if (linkToken()) { show('verify-form'); say(t('a.one_more')); } else showOrders();
  }
  window.addEventListener('hashchange', route);
  wrI18n.ready.then(route);

  $('verify-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const r = await call('POST', 'auth/verify', { token: linkToken() || '', password: $('verify-password').value });
    if (r.status !== 200) { say(errorText(r)); return; }
    history.replaceState(null, '', location.pathname);
    say(t('a.confirmed'));
    await signedIn(r.json);
  });

  $('login-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const r = await call('POST', 'auth/login', { email: $('login-email').value, password: $('login-password').value, lang: wrI18n.lang });
    if (r.status === 200) { say(''); await signedIn(r.json); } else say(errorText(r));
  });
  $('register-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const r = await call('POST', 'auth/register', { email: $('register-email').value, password: $('register-password').value, lang: wrI18n.lang });
    say(r.status === 202 ? r.json.message : errorText(r));
  });
  $('sign-out').addEventListener('click', () => {
    sessionStorage.removeItem(KEY);
    say(t('a.signed_out'));
    show('login-form', 'register-form');
  });
})();
