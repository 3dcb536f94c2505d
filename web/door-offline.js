// The door scanner's offline side: the downloaded ticket list and ticket
// keys, decisions made from them (signatures checked with WebCrypto's
// Ed25519 against the cached JWKS), and the queue of scans to sync.
'use strict';
window.door = window.door || {};
(() => {
  const key = (kind, cfg) => 'wr_door_' + kind + '_' + cfg.event + (kind === 'queue' ? '_' + cfg.gate : '');
  const read = (k, fallback) => {
    try { return JSON.parse(localStorage.getItem(k)) ?? fallback; } catch (e) { return fallback; }
  };
  const write = (k, v) => { try { localStorage.setItem(k, JSON.stringify(v)); } catch (e) { /* storage full or off */ } };

  const b64 = (s) => atob(s.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((s.length + 3) % 4));
  const bytes = (s) => Uint8Array.from(b64(s), (c) => c.charCodeAt(0));

  /** `{claims}` when `jws` is signed by one of `jwks`' ticket keys, else `{fault}`. */
  async function verify(jws, jwks) {
    const parts = jws.split('.');
    if (parts.length !== 3) return { fault: 'malformed' };
    let header;
    let claims;
    try {
      header = JSON.parse(b64(parts[0]));
      claims = JSON.parse(new TextDecoder().decode(bytes(parts[1])));
    } catch (e) { return { fault: 'malformed' }; }
    if (header.alg !== 'EdDSA') return { fault: 'unsupported_algorithm' };
    if (header.typ !== 'wr-ticket') return { fault: 'not_a_ticket' };
    const jwk = (jwks?.keys || []).find((k) => k.kid === header.kid);
    if (!jwk) return { fault: 'unknown_key' };
    try {
      const pub = await crypto.subtle.importKey('jwk', { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, { name: 'Ed25519' }, false, ['verify']);
      const ok = await crypto.subtle.verify({ name: 'Ed25519' }, pub, bytes(parts[2]), new TextEncoder().encode(parts[0] + '.' + parts[1]));
      return ok ? { claims } : { fault: 'bad_signature' };
    } catch (e) {
      // A browser without Ed25519 cannot check the signature: the list
      // still decides, and the scan is synced (and re-checked) later.
      return { claims, unverified: true };
    }
  }

  const normalRef = (s) => {
    const body = s.trim().toUpperCase().replace(/^T-/, '').replace(/[- ]/g, '');
    return body.length === 10 ? 'T-' + body.slice(0, 5) + '-' + body.slice(5) : null;
  };

  window.door.offline = {
    /** Stores the server's list (`GET /api/v1/checkin/offline/{event}`). */
    save(cfg, list) { write(key('list', cfg), list); },
    list(cfg) { return read(key('list', cfg), null); },
    queued(cfg) { return read(key('queue', cfg), []); },
    clearQueue(cfg, n) { write(key('queue', cfg), this.queued(cfg).slice(n)); },

    /** Marks a ticket used in the cached list (after an online VALID too). */
    markUsed(cfg, id, at, gate) {
      const list = this.list(cfg);
      const t = list?.tickets.find((x) => x.id === id);
      if (!t) return;
      t.status = 'used';
      t.first_scan = { at, gate };
      this.save(cfg, list);
    },

    /** Decides a scan from the cached list, as the server would. */
    async decide(cfg, text) {
      const list = this.list(cfg);
      if (!list) return { result: 'invalid', reason: 'no_offline_list' };
      let t;
      if (text.includes('.')) {
        const v = await verify(text.trim(), list.keys);
        if (v.fault) return { result: 'invalid', reason: v.fault };
        if (v.claims.evt !== cfg.event) return { result: 'wrong_event', reason: 'wrong_event', seat: v.claims.seat };
        t = list.tickets.find((x) => x.id === v.claims.jti);
      } else {
        const ref = normalRef(text);
        t = ref && list.tickets.find((x) => x.reference === ref);
      }
      if (!t) return { result: 'invalid', reason: 'unknown_ticket' };
      const about = { ticket: t.id, reference: t.reference, seat: t.seat, first_scan: t.first_scan || null };
      if (t.status === 'revoked') return { ...about, result: 'invalid', reason: 'revoked' };
      if (t.status === 'used') return { ...about, result: 'already_used' };
      const at = new Date().toISOString();
      this.markUsed(cfg, t.id, at, cfg.gate);
      write(key('queue', cfg), [...this.queued(cfg), { ticket: text.trim(), scanned_at: at }]);
      return { ...about, result: 'valid', first_scan: { at, gate: cfg.gate }, offline: true };
    },
  };
})();
