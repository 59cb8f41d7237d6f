// Charts: one or several metrics (metric=<id>, repeated) or an aggregates expression
// (expr=..., with search=<filter> over resources of type=...), over the last hour, day or
// week or a custom range, at a granularity and aggregation method; drag to zoom (the range
// becomes custom), live mode. Everything the page shows is in its URL.
import {drawChart} from '../chart.js';
import {h, errorBox} from '../dom.js';
import {duration} from '../format.js';
import {all, one} from '../router.js';
import * as data from '../chartdata.js';

const RANGES = {'1h': 3600, '1d': 86400, '1w': 604800};
const METHODS = ['mean', 'min', 'max', 'sum', 'count', 'last', 'first', 'std', 'median'];

// The URL's state, with defaults.
export function stateOf(params) {
  return {
    metrics: all(params, 'metric'), expr: one(params, 'expr', ''),
    search: one(params, 'search', ''), type: one(params, 'type', ''),
    unit: one(params, 'unit', ''),
    range: one(params, 'range') || (one(params, 'start') ? 'custom' : '1h'),
    start: one(params, 'start', ''), stop: one(params, 'stop', ''),
    granularity: Number(one(params, 'granularity', 0)) || null,
    aggregation: one(params, 'aggregation', 'mean'), live: one(params, 'live') === '1',
  };
}

export function paramsOf(s) {
  return {metric: s.metrics, expr: s.expr || undefined, search: s.search || undefined,
    type: s.type || undefined, unit: s.unit || undefined, range: s.range,
    start: s.range === 'custom' ? s.start : undefined,
    stop: s.range === 'custom' ? s.stop : undefined,
    granularity: s.granularity || undefined,
    aggregation: s.aggregation !== 'mean' ? s.aggregation : undefined,
    live: s.live ? '1' : undefined};
}

// [start, stop] in epoch seconds.
export function timeWindow(s, now = Date.now() / 1000) {
  if (s.range === 'custom' && s.start) {
    const start = Date.parse(s.start) / 1000;
    const stop = s.stop ? Date.parse(s.stop) / 1000 : now;
    if (Number.isFinite(start) && Number.isFinite(stop) && stop > start) return [start, stop];
  }
  return [now - (RANGES[s.range] || 3600), now];
}

function isoMinute(epoch) {
  return new Date(epoch * 1000).toISOString().slice(0, 16);
}

function select(id, label, options, value, onchange) {
  const el = h('select', {id, onchange: () => onchange(el.value)},
    options.map(([v, text]) => h('option', {value: v, selected: String(v) === String(value)}, text)));
  return h('label', {class: 'field', for: id}, label, el);
}

function controls(s, granularities, methods, update) {
  const rangeButtons = h('div', {class: 'field', role: 'group', 'aria-label': 'Range'},
    h('span', {}, 'Range'), h('div', {}, [...Object.keys(RANGES), 'custom'].map((r) => h('button', {
      type: 'button', class: r === s.range ? null : 'secondary', dataset: {range: r},
      'aria-pressed': String(r === s.range),
      onclick: () => update(r === 'custom' ? {range: 'custom', start: s.start ||
        isoMinute(timeWindow(s)[0]) + 'Z', stop: s.stop || ''} : {range: r}, true)}, r))));
  const custom = s.range === 'custom' ? [
    h('label', {class: 'field'}, 'From (UTC)', h('input', {type: 'datetime-local', id: 'chart-start',
      value: s.start ? isoMinute(Date.parse(s.start) / 1000) : '',
      onchange: (e) => update({start: e.target.value + 'Z'}, true)})),
    h('label', {class: 'field'}, 'To (UTC)', h('input', {type: 'datetime-local', id: 'chart-stop',
      value: s.stop ? isoMinute(Date.parse(s.stop) / 1000) : '',
      onchange: (e) => update({stop: e.target.value ? e.target.value + 'Z' : ''}, true)}))] : [];
  return h('div', {class: 'controls'}, rangeButtons, custom,
    select('chart-granularity', 'Granularity', [['', 'auto'],
      ...granularities.map((g) => [g, duration(g)])], s.granularity || '',
    (v) => update({granularity: Number(v) || null}, true)),
    select('chart-aggregation', 'Aggregation', methods.map((m) => [m, m]), s.aggregation,
      (v) => update({aggregation: v}, true)),
    h('label', {class: 'field'}, 'Live', h('input', {type: 'checkbox', id: 'chart-live',
      checked: s.live, onchange: (e) => update({live: e.target.checked, range: e.target.checked &&
        s.range === 'custom' ? '1h' : s.range}, true)})));
}

export function mount(el, params, ctx) {
  const s = stateOf(params);
  let alive = true;
  let handle = null;
  let timer = null;
  let metrics = [];
  const status = h('p', {class: 'muted', 'aria-live': 'polite'});
  const box = h('div', {class: 'chart', id: 'chart'});
  const top = h('div', {});
  el.append(h('h1', {}, 'Chart'), top, box, status);
  if (!s.metrics.length && !s.expr) {
    top.append(h('p', {}, 'Pick metrics on a resource\'s page, or give an aggregates ' +
      'expression:'), expressionForm(ctx, s));
    return () => {};
  }
  const update = (changes, reload) => {
    Object.assign(s, changes);
    ctx.record(paramsOf(s));
    if (reload) {
      clearTimeout(timer);
      renderControls();
      refresh();
    }
  };
  const renderControls = () => {
    const granularities = metrics.length ? data.commonGranularities(metrics) : [];
    const methods = metrics.length ? [...new Set(metrics.flatMap((m) =>
      m.archive_policy.aggregation_methods))].filter((m) => !/^rate:/.test(m)).sort() : METHODS;
    top.replaceChildren(controls(s, granularities, methods, update),
      ...(s.expr ? [h('p', {class: 'muted'}, 'Expression: ', h('code', {}, s.expr))] : []));
  };
  const read = async () => {
    const [start, stop] = timeWindow(s);
    if (s.expr) return {series: await data.expressionSeries(ctx.api, Object.assign({start, stop}, s)),
      granularity: s.granularity};
    const options = {start, stop, granularity: s.granularity, aggregation: s.aggregation};
    if (!metrics.length) {
      const first = await data.firstRead(ctx.api, s.metrics, options);
      metrics = first.metrics;
      renderControls();
      return first;
    }
    options.granularity = s.granularity || data.pickGranularity(metrics, stop - start);
    return {granularity: options.granularity,
      series: await data.metricSeries(ctx.api, metrics, options)};
  };
  const refresh = async () => {
    try {
      const {series, granularity} = await read();
      if (!alive) return;
      const spec = {series, step: granularity, height: el.clientWidth < 600 ? 240 : 340,
        onZoom: (from, to) => update({range: 'custom', live: false,
          start: new Date(from * 1000).toISOString(), stop: new Date(to * 1000).toISOString()}, true)};
      if (handle) {
        handle.update(series, {step: granularity});
      } else {
        handle = drawChart(box, spec);
      }
      const points = series.reduce((n, x) => n + x.points.length, 0);
      status.textContent = `${series.length} series, ${points} points` +
        (granularity ? `, every ${duration(granularity)}` : '') + (s.live ? ', live' : '');
    } catch (e) {
      if (alive) status.replaceChildren(errorBox(e));
    }
    if (alive && s.live) {
      timer = setTimeout(refresh, Math.min(Math.max((s.granularity || 60) * 1000, 5000), 60000));
    }
  };
  renderControls();
  refresh();
  return () => {
    alive = false;
    clearTimeout(timer);
    if (handle) handle.destroy();
  };
}

function expressionForm(ctx, s) {
  const expr = h('input', {id: 'chart-expr', size: 50, value: s.expr,
    placeholder: '(aggregate mean (metric cpu_util mean))'});
  const search = h('input', {id: 'chart-search', size: 30, value: s.search,
    placeholder: "resources, e.g. host = 'node-1'"});
  const form = h('form', {class: 'inline'},
    h('label', {class: 'field', for: 'chart-expr'}, 'Aggregates operations', expr),
    h('label', {class: 'field', for: 'chart-search'}, 'Over the resources matching', search),
    h('button', {type: 'submit'}, 'Chart'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    ctx.navigate('chart', {expr: expr.value, search: search.value || undefined});
  });
  return form;
}
