// The one fetch wrapper every page shares. Every endpoint answers JSON and
// refuses with the stable shape {"error": {"code", "message"}}; this turns
// each answer, and a request that never reached the server, into one
// result, so no page parses errors its own way. Loaded before the page's
// own script (after i18n.js where the page has one, for the messages).
'use strict';
(function (root) {
  /** Messages in the page's language when it has a catalog, else English. */
  const say = (key, fallback, vars) => (root.wrI18n ? root.wrI18n.t(key, vars) : fallback);

  /** The error of a request that never reached the server. */
  const offline = () => ({ code: 'network', message: say('common.offline', 'The connection failed; try again.') });

  /** The error of a failed answer that carried no error body. */
  const httpError = (status) => ({
    code: 'http_' + status,
    message: say('common.http_error', 'HTTP ' + status, { status: String(status) }),
  });

  /**
   * `method` `path` (from the site root, e.g. `/api/v1/holds`), with `body`
   * sent as JSON when given (not null). `opts.headers` adds headers; `opts.token` sends
   * `Authorization: Bearer`. Never rejects; resolves to
   * `{ok, status, json, error, res}`: `status` 0 and `error.code` `network`
   * when the request failed, `json` null without a JSON body, `error` the
   * answer's `error` object (or one made from the status) unless `ok`.
   */
  async function call(method, path, body, opts = {}) {
    const headers = { Accept: 'application/json', ...(opts.headers || {}) };
    const hasBody = body !== undefined && body !== null;
    // Writes always declare JSON, body or not: the operator API refuses
    // cookie-authenticated writes of any other type (a form cannot send it).
    if (hasBody || !['GET', 'HEAD'].includes(method)) headers['Content-Type'] = 'application/json';
    if (opts.token) headers.Authorization = 'Bearer ' + opts.token;
    let res;
    try {
      res = await fetch(path, {
        method,
        credentials: 'same-origin',
        headers,
        body: hasBody ? JSON.stringify(body) : undefined,
      });
    } catch (e) {
      return { ok: false, status: 0, json: null, error: offline(), res: null };
    }
    let json = null;
    if (res.status !== 204) {
      try { json = await res.json(); } catch (e) { json = null; }
    }
    const error = res.ok ? null : (json && json.error) || httpError(res.status);
    return { ok: res.ok, status: res.status, json, error, res };
  }

  /** The text to show for a failed result. */
  const errorText = (r) => (r.error && r.error.message) || httpError(r.status).message;

  /** How far the server's clock (its `Date` header) is ahead of ours, in ms; null when unknown. */
  function skew(r) {
    const date = r.res ? Date.parse(r.res.headers.get('Date') || '') : NaN;
    return isNaN(date) ? null : date - Date.now();
  }

  root.wrApi = Object.freeze({
    call,
    get: (path, opts) => call('GET', path, undefined, opts),
    errorText,
    offline,
    httpError,
    skew,
  });
}(typeof window === 'undefined' ? globalThis : window));
