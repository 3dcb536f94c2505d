// Line charts with axes, units and a legend for the sale report, in plain
// SVG built node by node (no markup from strings: series names are ours,
// but nothing here ever parses text as HTML). Times are shown in the
// operator's time zone.
'use strict';
(function (root) {
  const NS = 'http://www.w3.org/2000/svg';
  const W = 720; const H = 220;
  const PAD = { left: 64, right: 12, top: 28, bottom: 36 };

  function el(name, attrs, text) {
    const n = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
    if (text !== undefined) n.textContent = text;
    return n;
  }

  /** A "nice" step (1, 2 or 5 times a power of ten) for about `count` ticks up to `max`. */
  function niceStep(max, count = 4) {
    const raw = max / count;
    const pow = 10 ** Math.floor(Math.log10(raw));
    const f = raw / pow;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * pow;
  }

  /** Steps between time ticks, in minutes. */
  const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080];

  function timeLabel(ms, span) {
    const d = new Date(ms);
    const opts = span > 86_400_000
      ? { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' }
      : { hour: '2-digit', minute: '2-digit' };
    return new Intl.DateTimeFormat(undefined, opts).format(d);
  }

  /**
   * Draws `series` ([{ name, values }], one value per entry of `times`, ms,
   * one minute apart; `null` leaves a gap) into `svg`, the y axis in `unit`
   * (formatted by `fmt`). Counts get whole-number ticks unless `fractional`.
   */
  function draw(svg, times, series, unit, { fractional = false, fmt = (v) => new Intl.NumberFormat().format(v) } = {}) {
    svg.replaceChildren();
    svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
    const values = series.flatMap((s) => s.values).filter((v) => v !== null && Number.isFinite(v));
    const top = Math.max(1, ...values);
    const step = fractional ? niceStep(top) : Math.max(1, niceStep(top));
    const ymax = Math.ceil(top / step) * step;
    const t0 = times.length ? times[0] : 0;
    const t1 = times.length ? Math.max(times[times.length - 1], t0 + 60_000) : 60_000;
    const x = (t) => PAD.left + ((t - t0) * (W - PAD.left - PAD.right)) / (t1 - t0);
    const y = (v) => H - PAD.bottom - (v * (H - PAD.top - PAD.bottom)) / ymax;

    for (let v = 0; v <= ymax + step / 2; v += step) {
      svg.append(el('line', { class: 'grid', x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v) }));
      svg.append(el('text', { x: PAD.left - 6, y: y(v) + 4, 'text-anchor': 'end' }, fmt(v)));
    }
    svg.append(el('text', { x: -(H - PAD.bottom + PAD.top) / 2, y: 12, transform: 'rotate(-90)', 'text-anchor': 'middle' }, unit));
    const span = t1 - t0;
    const minutes = TIME_STEPS.find((m) => span / (m * 60_000) <= 6) || TIME_STEPS[TIME_STEPS.length - 1];
    const every = minutes * 60_000;
    // Ticks on round local times (the offset keeps whole hours local).
    const offset = new Date(t0).getTimezoneOffset() * 60_000;
    for (let t = Math.ceil((t0 - offset) / every) * every + offset; t <= t1; t += every) {
      svg.append(el('line', { class: 'axis', x1: x(t), x2: x(t), y1: H - PAD.bottom, y2: H - PAD.bottom + 4 }));
      svg.append(el('text', { x: x(t), y: H - PAD.bottom + 16, 'text-anchor': 'middle' }, timeLabel(t, span)));
    }
    svg.append(el('line', { class: 'axis', x1: PAD.left, x2: W - PAD.right, y1: H - PAD.bottom, y2: H - PAD.bottom }));
    svg.append(el('line', { class: 'axis', x1: PAD.left, x2: PAD.left, y1: PAD.top, y2: H - PAD.bottom }));

    series.forEach((s, i) => {
      let d = '';
      let pen = 'M';
      s.values.forEach((v, j) => {
        if (v === null || !Number.isFinite(v)) { pen = 'M'; return; }
        d += `${pen}${x(times[j]).toFixed(1)},${y(v).toFixed(1)}`;
        pen = 'L';
      });
      // A single minute still shows: a dot rather than an invisible path.
      if (s.values.length === 1 && s.values[0] !== null) {
        svg.append(el('circle', { class: `s${i}`, cx: x(times[0]), cy: y(s.values[0]), r: 3 }));
      }
      svg.append(el('path', { class: `s${i}`, d, 'data-series': s.name }));
      const lx = PAD.left + 8 + i * 170;
      svg.append(el('rect', { class: `s${i}`, x: lx, y: 8, width: 12, height: 4 }));
      svg.append(el('text', { x: lx + 16, y: 14 }, s.name));
    });
    svg.dataset.points = String(times.length);
  }

  root.wrCharts = { draw, niceStep };
}(window));
