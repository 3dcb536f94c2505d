// The one DOM lookup helper every page script shares (loaded first, so the
// scripts after it find `window.wrDom`).
'use strict';
window.wrDom = Object.freeze({
  /** The element with this id, or null. */
  $: (id) => document.getElementById(id),
});
