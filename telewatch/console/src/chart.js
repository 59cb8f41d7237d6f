// Time-series charts drawn by uPlot: series of [epochSeconds, value] points aligned on one
// time axis (a missing point is a gap, never a line across it), one y axis per unit,
// thresholds and bands drawn over, drag to zoom, values in the legend on hover. Every chart
// drawn is in window.telewatchCharts ({id, plot, series, update}) so tests read back what
// was drawn, and each draw is a performance measure 'telewatch:chart-draw'.
import uPlot from 'uplot';
import {number, time, withUnit} from './format.js';

export const charts = (window.telewatchCharts = window.telewatchCharts || []);
export const PALETTE = ['#1f6feb', '#d9480f', '#2b8a3e', '#ae3ec9', '#e8590c', '#0c8599',
  '#c2255c', '#5c940d', '#7048e8', '#868e96'];
let nextId = 1;

// [xs, ys1, ys2, ...] for uPlot: every timestamp of every series, null where a series has
// no point, and a null row after any step longer than `step` seconds (default: the
// smallest step seen) so that uPlot draws the gap as a gap.
export function align(series, step) {
  const first = series.length ? series[0].points : [];
  // Most often every series has the same timestamps (metrics of one policy, one range).
  const shared = series.every((s) => s.points.length === first.length &&
    s.points.every((p, i) => p[0] === first[i][0]));
  let xs;
  if (shared) {
    xs = first.map((p) => p[0]);
  } else {
    const stamps = new Set();
    for (const s of series) for (const p of s.points) stamps.add(p[0]);
    xs = Array.from(stamps).sort((a, b) => a - b);
  }
  let gap = step;
  if (!gap) {
    gap = Infinity;
    for (let i = 1; i < xs.length; i++) gap = Math.min(gap, xs[i] - xs[i - 1]);
  }
  const times = [];
  for (let i = 0; i < xs.length; i++) {
    times.push(xs[i]);
    if (i + 1 < xs.length && xs[i + 1] - xs[i] > gap * 1.5) times.push(xs[i] + gap);
  }
  if (shared && times.length === xs.length) {
    return [times, ...series.map((s) => s.points.map((p) => (p[1] === undefined ? null : p[1])))];
  }
  const index = new Map();
  times.forEach((t, i) => index.set(t, i));
  const columns = series.map((s) => {
    const column = new Array(times.length).fill(null);
    for (const [t, v] of s.points) column[index.get(t)] = v === undefined ? null : v;
    return column;
  });
  return [times, ...columns];
}

function units(series) {
  return [...new Set(series.map((s) => s.unit || ''))];
}

function scaleOf(unit) {
  return 'u:' + unit;
}

const pad = (n) => String(n).padStart(2, '0');

// Ticks in UTC, 24-hour: '14:05' within two days (the date at midnight), '12-07' beyond.
export function timeTicks(u, splits) {
  const span = splits.length > 1 ? splits[splits.length - 1] - splits[0] : 0;
  return splits.map((t) => {
    const d = new Date(t * 1000);
    const day = pad(d.getUTCMonth() + 1) + '-' + pad(d.getUTCDate());
    const hm = pad(d.getUTCHours()) + ':' + pad(d.getUTCMinutes());
    if (span > 2 * 86400) return day;
    return hm === '00:00' ? day : hm;
  });
}

function axes(unitList) {
  const x = {stroke: '#555', grid: {stroke: '#eee'}, ticks: {stroke: '#ddd'}, values: timeTicks};
  const ys = unitList.slice(0, 2).map((unit, i) => ({
    scale: scaleOf(unit), label: unit || undefined, side: i === 0 ? 3 : 1, stroke: '#555',
    grid: {show: i === 0, stroke: '#eee'}, ticks: {stroke: '#ddd'}, size: 60,
    values: (u, splits) => splits.map(number),
  }));
  return [x, ...ys];
}

function options(el, spec, entry) {
  const unitList = units(spec.series);
  const scales = {x: {time: true}};
  for (const unit of unitList) scales[scaleOf(unit)] = {auto: true};
  return {
    width: Math.max(el.clientWidth || 0, 280), height: spec.height || 300,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
    scales, axes: axes(unitList),
    cursor: {drag: {x: true, y: false, setScale: true}},
    legend: {live: true},
    series: [
      {label: 'time (UTC)', value: (u, v) => (v === null ? '–' : time(v))},
      ...spec.series.map((s, i) => ({
        label: s.label, scale: scaleOf(s.unit || ''), spanGaps: false, width: 1.5,
        stroke: s.color || PALETTE[i % PALETTE.length], points: {show: false},
        value: (u, v) => withUnit(v, s.unit),
      })),
    ],
    hooks: {
      drawClear: [(u) => drawBands(u, spec.bands || [])],
      draw: [(u) => drawThresholds(u, spec.thresholds || [], unitList[0]), () => drawn(entry)],
      setSelect: [(u) => selected(u, spec.onZoom)],
    },
  };
}

function drawBands(u, bands) {
  const ctx = u.ctx;
  const {top, height} = u.bbox;
  ctx.save();
  for (const band of bands) {
    const from = u.valToPos(band.from, 'x', true);
    const to = u.valToPos(band.to, 'x', true);
    ctx.fillStyle = band.color || 'rgba(217, 72, 15, 0.12)';
    ctx.fillRect(Math.min(from, to), top, Math.abs(to - from), height);
  }
  ctx.restore();
}

function drawThresholds(u, thresholds, unit) {
  const ctx = u.ctx;
  const {left, width} = u.bbox;
  ctx.save();
  ctx.setLineDash([6, 4]);
  ctx.lineWidth = 1.5 * uPlot.pxRatio;
  ctx.font = `${12 * uPlot.pxRatio}px sans-serif`;
  for (const threshold of thresholds) {
    const y = u.valToPos(threshold.value, scaleOf(threshold.unit ?? unit ?? ''), true);
    if (!Number.isFinite(y)) continue;
    ctx.strokeStyle = ctx.fillStyle = threshold.color || '#c92a2a';
    ctx.beginPath();
    ctx.moveTo(left, y);
    ctx.lineTo(left + width, y);
    ctx.stroke();
    ctx.fillText(threshold.label || String(threshold.value), left + 4, y - 4);
  }
  ctx.restore();
}

function selected(u, onZoom) {
  if (!onZoom || u.select.width <= 0) return;
  const from = u.posToVal(u.select.left, 'x');
  const to = u.posToVal(u.select.left + u.select.width, 'x');
  onZoom(from, to);
}

// The first draw after a start: a measure, and the page's first chart marked once.
function drawn(entry) {
  if (!entry.pending) return;
  entry.pending = false;
  const points = entry.series.reduce((n, s) => n + s.points.length, 0);
  performance.measure('telewatch:chart-draw', {
    start: entry.startMark, detail: {id: entry.id, series: entry.series.length, points}});
  performance.clearMarks(entry.startMark);
  if (!performance.getEntriesByName('telewatch:first-chart', 'mark').length) {
    performance.mark('telewatch:first-chart', {detail: {id: entry.id}});
  }
}

function start(entry) {
  entry.startMark = 'telewatch:chart-start:' + entry.id + ':' + (entry.draws = (entry.draws || 0) + 1);
  entry.pending = true;
  performance.mark(entry.startMark);
}

function emptyNote(el, series) {
  const empty = !series.some((s) => s.points.some((p) => p[1] !== null && p[1] !== undefined));
  let note = el.querySelector(':scope > .chart-empty');
  if (empty && !note) {
    note = document.createElement('p');
    note.className = 'chart-empty';
    note.textContent = 'No data in this range.';
    el.append(note);
  } else if (!empty && note) {
    note.remove();
  }
}

// drawChart(el, {series: [{label, unit, points}], thresholds: [{value, label}],
// bands: [{from, to, label}], onZoom(from, to), step, height}) -> {id, plot, update, destroy}.
export function drawChart(el, spec) {
  const entry = {id: 'chart-' + nextId++, plot: null, series: spec.series};
  let current = spec;
  start(entry);
  entry.plot = new uPlot(options(el, current, entry), align(current.series, current.step), el);
  charts.push(entry);
  emptyNote(el, current.series);
  const resize = new ResizeObserver(() => {
    const width = Math.max(el.clientWidth, 280);
    if (entry.plot && width !== entry.plot.width) {
      entry.plot.setSize({width, height: entry.plot.height});
    }
  });
  resize.observe(el);
  // The registry's entry redraws too (tests time a draw several times).
  entry.update = (series, changes) => handle.update(series, changes);
  const handle = {
    id: entry.id,
    get plot() {
      return entry.plot;
    },
    // New points for the same chart (live mode, another range): redrawn in place when the
    // series and units are the same ones, drawn anew otherwise.
    update(series, changes = {}) {
      const same = series.length === current.series.length &&
        series.every((s, i) => s.label === current.series[i].label &&
          (s.unit || '') === (current.series[i].unit || ''));
      current = Object.assign({}, current, changes, {series});
      entry.series = series;
      start(entry);
      if (same && !changes.thresholds && !changes.bands) {
        entry.plot.setData(align(series, current.step));
      } else {
        entry.plot.destroy();
        entry.plot = new uPlot(options(el, current, entry), align(series, current.step), el);
      }
      emptyNote(el, series);
    },
    destroy() {
      resize.disconnect();
      entry.plot.destroy();
      const at = charts.indexOf(entry);
      if (at >= 0) charts.splice(at, 1);
    },
  };
  return handle;
}
