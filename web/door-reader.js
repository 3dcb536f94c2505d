// QR reading for the door scanner: the browser's BarcodeDetector where it
// exists (Android, ChromeOS, macOS), else jsQR (web/vendor/jsQR.js, loaded
// from our own origin on first use so browsers that have a detector never
// download it) reading a frame drawn on a canvas. Either way a reader
// takes a video, an image or an ImageBitmap and resolves to the text of
// the QR code it sees, or undefined.
'use strict';
window.door = window.door || {};
(() => {
  // Frames are scaled down to this many pixels on their long side: jsQR's
  // time grows with the pixel count, and a ticket's code held up to a
  // phone fills a good part of the frame.
  const MAX_SIDE = 960;
  let loading = null;

  function loadJsQR() {
    if (window.jsQR) return Promise.resolve(window.jsQR);
    if (!loading) {
      loading = new Promise((resolve, reject) => {
        const s = document.createElement('script');
        s.src = '/vendor/jsQR.js';
        s.onload = () => (window.jsQR ? resolve(window.jsQR) : reject(new Error('jsQR did not load')));
        s.onerror = () => { loading = null; reject(new Error('jsQR could not be fetched')); };
        document.head.append(s);
      });
    }
    return loading;
  }

  const size = (src) => [src.videoWidth || src.naturalWidth || src.width || 0,
    src.videoHeight || src.naturalHeight || src.height || 0];

  async function jsqrReader() {
    const jsQR = await loadJsQR();
    const canvas = document.createElement('canvas');
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    return async (src) => {
      const [w, h] = size(src);
      if (!w || !h) return undefined;
      const scale = Math.min(1, MAX_SIDE / Math.max(w, h));
      canvas.width = Math.max(1, Math.round(w * scale));
      canvas.height = Math.max(1, Math.round(h * scale));
      ctx.drawImage(src, 0, 0, canvas.width, canvas.height);
      const img = ctx.getImageData(0, 0, canvas.width, canvas.height);
      return jsQR(img.data, img.width, img.height, { inversionAttempts: 'attemptBoth' })?.data || undefined;
    };
  }

  /** A reader function; which decoder it uses is in `reader.kind`. */
  window.door.reader = async () => {
    if ('BarcodeDetector' in window) {
      const detector = new window.BarcodeDetector({ formats: ['qr_code'] });
      const read = async (src) => (await detector.detect(src).catch(() => []))[0]?.rawValue;
      read.kind = 'native';
      return read;
    }
    const read = await jsqrReader();
    read.kind = 'jsqr';
    return read;
  };
})();
