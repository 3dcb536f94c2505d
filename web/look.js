// An event's look on the fan pages (GET /api/v1/events/{event}/look): the
// operator's display name, accent colour, short message and logo. Every
// field is set as text (textContent), never markup; the accent goes into
// CSS custom properties, with a text colour chosen for contrast; the logo
// is only ever loaded from this origin (the CSP allows nothing else).
'use strict';
window.wrLook = (() => {
  const HEX = /^#[0-9a-f]{6}$/i;

  // WCAG relative luminance of `#rrggbb`.
  function luminance(hex) {
    const n = parseInt(hex.slice(1), 16);
    const [r, g, b] = [(n >> 16) & 255, (n >> 8) & 255, n & 255].map((v) => {
      const c = v / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  }

  /** Black or white, whichever reads better on `hex`. */
  function textOn(hex) {
    const l = luminance(hex);
    return (1.05 / (l + 0.05)) >= ((l + 0.05) / 0.05) ? '#ffffff' : '#000000';
  }

  /** Applies `look` to the elements of `root` (a page or a preview). */
  function apply(look, root = document) {
    const box = root === document ? document.documentElement : root;
    const q = (id) => (root === document ? document.getElementById(id) : root.querySelector('[data-look="' + id + '"]'));
    const accent = look && typeof look.accent === 'string' && HEX.test(look.accent) ? look.accent : '';
    if (accent) {
      box.style.setProperty('--event-accent', accent);
      box.style.setProperty('--event-accent-text', textOn(accent));
    } else {
      box.style.removeProperty('--event-accent');
      box.style.removeProperty('--event-accent-text');
    }
    box.classList.toggle('looked', !!accent);
    const name = q('look-name');
    if (name) {
      name.textContent = (look && look.display_name) || '';
      name.hidden = !name.textContent;
    }
    const msg = q('look-message');
    if (msg) {
      msg.textContent = (look && look.message) || '';
      msg.hidden = !msg.textContent;
    }
    const logo = q('look-logo');
    if (logo) {
      const src = look && typeof look.logo_url === 'string' ? look.logo_url : '';
      // Our own origin only (an uploaded file's preview may be a data: URL).
      const ok = /^\/api\/v1\/events\/[A-Za-z0-9_-]+\/logo(\?v=[0-9a-f]+)?$/.test(src) || /^data:image\/(png|jpeg|webp);base64,/.test(src);
      if (ok) logo.src = src; else logo.removeAttribute('src');
      logo.hidden = !ok;
    }
  }

  /** Fetches and applies the look of `event`; resolves to it, or null. */
  async function load(event) {
    if (!event) return null;
    try {
      const res = await fetch('/api/v1/events/' + encodeURIComponent(event) + '/look', {
        credentials: 'same-origin', headers: { Accept: 'application/json' },
      });
      if (!res.ok) return null;
      const look = await res.json();
      apply(look);
      return look;
    } catch (e) {
      return null; // the page keeps its default look
    }
  }

  return { apply, load, textOn };
})();
