// "Your turn while away": a fan admitted while this tab is hidden gets a
// changed title, a chime if they ticked the box, and a system notification
// if they allowed one. Permission is asked only when the fan presses the
// button in the waiting view, never on load.
'use strict';
window.wrAway = (() => {
  const { $ } = window.wrDom;
  const SOUND_KEY = 'wr_sound';
  const canNotify = typeof window.Notification === 'function';
  const AudioCtx = window.AudioContext || window.webkitAudioContext;
  let audio = null; // made on the fan's click: browsers play sound only after a gesture

  const soundOn = () => { try { return localStorage.getItem(SOUND_KEY) === '1'; } catch (e) { return false; } };

  function showPermission() {
    const p = canNotify ? Notification.permission : 'unsupported';
    $('notify').hidden = p !== 'default';
    $('notify-state').textContent = p === 'granted' ? wrI18n.t('q.notify_on') : p === 'denied' ? wrI18n.t('q.notify_blocked') : '';
  }

  function primeAudio() {
    if (!AudioCtx) return;
    try {
      audio = audio || new AudioCtx();
      if (audio.state === 'suspended') audio.resume();
    } catch (e) { audio = null; }
  }

  /** Shows the notification and sound offers in the waiting view. */
  function setup() {
    if (!canNotify && !AudioCtx) return;
    $('away').hidden = false;
    $('notify').onclick = async () => {
      try { await Notification.requestPermission(); } catch (e) { /* dismissed */ }
      showPermission();
    };
    const box = $('sound');
    box.closest('label').hidden = !AudioCtx;
    box.checked = soundOn();
    box.onchange = () => {
      try { localStorage.setItem(SOUND_KEY, box.checked ? '1' : '0'); } catch (e) { /* storage off */ }
      if (box.checked) primeAudio();
    };
    showPermission();
  }

  // Two short tones.
  function chime() {
    if (!soundOn()) return;
    primeAudio();
    if (!audio) return;
    try {
      for (const [at, hz] of [[0, 660], [0.35, 880]]) {
        const osc = audio.createOscillator();
        const gain = audio.createGain();
        osc.frequency.value = hz;
        gain.gain.setValueAtTime(0.2, audio.currentTime + at);
        gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + at + 0.3);
        osc.connect(gain).connect(audio.destination);
        osc.start(audio.currentTime + at);
        osc.stop(audio.currentTime + at + 0.3);
      }
    } catch (e) { /* no sound then */ }
  }

  /** The fan was admitted: call them back if the tab is hidden, then `whenBack()` once they look. */
  function admitted(whenBack) {
    if (!document.hidden) { whenBack(); return; }
    const title = document.title;
    document.title = '🔔 ' + title;
    chime();
    if (canNotify && Notification.permission === 'granted') {
      try {
        const n = new Notification(wrI18n.t('q.your_turn'), { body: wrI18n.t('q.notify_body'), tag: 'wr-turn' });
        n.onclick = () => { window.focus(); n.close(); };
      } catch (e) { /* some mobile browsers notify only from a service worker */ }
    }
    const back = () => {
      if (document.hidden) return;
      document.removeEventListener('visibilitychange', back);
      document.title = title;
      whenBack();
    };
    document.addEventListener('visibilitychange', back);
  }

  return { setup, admitted };
})();
