// The check before joining: wrCaptcha(api, challenge or null, onProgress)
// resolves to a solution (proof of work solved in a Web Worker, or a widget
// token), or to null when the event needs none.
'use strict';
window.wrCaptcha = async (api, ch, progress) => {
  if (!ch) {
    const r = await fetch(api + '/challenge', { cache: 'no-store' });
    if (!r.ok) throw Object.assign(new Error('challenge'), { res: r });
    ch = await r.json();
    if (!ch.required) return null;
  }
  progress(0); // a check is needed: the page shows it from here
  return new Promise((resolve, reject) => {
    const name = ch.provider;
    if (name === 'pow') {
      const w = new Worker('/pow-worker.js');
      w.onmessage = ({ data: d }) => {
        // The chance of having found it by now; 100 only once found.
        progress(d.nonce ? 100 : Math.min(99, Math.round(100 - 100 * Math.exp(-d.tries / 2 ** ch.difficulty))));
        if (d.nonce) {
          w.terminate();
          resolve({ challenge: ch.challenge, signature: ch.signature, nonce: d.nonce });
        }
      };
      w.onerror = reject;
      return w.postMessage(ch);
    }
    // hCaptcha and Turnstile: load the script, then render(el, {sitekey, callback}),
    // in the page's language (hCaptcha takes it on the script URL).
    const lang = window.wrI18n ? wrI18n.lang : 'en';
    const opts = { sitekey: ch.site_key, callback: (token) => resolve({ token }) };
    if (name === 'turnstile') opts.language = lang;
    const go = () => window[name].render(document.getElementById('widget'), opts);
    if (window[name]) return go();
    window.wrWidget = go;
    const s = document.createElement('script');
    s.src = (name === 'hcaptcha' ? 'https://js.hcaptcha.com/1/api.js?hl=' + encodeURIComponent(lang) + '&' : 'https://challenges.cloudflare.com/turnstile/v0/api.js?')
      + 'render=explicit&onload=wrWidget';
    s.onerror = reject;
    document.head.append(s);
  });
};
