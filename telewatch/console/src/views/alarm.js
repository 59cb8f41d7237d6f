// One alarm: its state, the chart of what it watches with the threshold drawn and the state
// timeline under it, its history, and the form that edits it (or creates a new one:
// #/alarm?new=1). Refreshed live, so a state change shows without a reload.
import {h, errorBox, table} from '../dom.js';
import {time} from '../format.js';
import {drawChart} from '../chart.js';
import {KINDS, OPERATORS, SEVERITIES, METHODS, DEFAULTS, alarmBody, formOf, readsOf} from '../alarm_form.js';
import {pointsOf} from '../cloudwatch.js';
import {segments, bandsOf, STATE_COLORS} from '../timeline.js';
import {stateBadge} from './alarms.js';

const REFRESH_MS = 5000;
const RANGES = {'1h': 3600, '6h': 21600, '1d': 86400, '1w': 604800};
const KIND_FIELDS = {
  gnocchi_resources_threshold: ['resource_type', 'resource_id', 'metric'],
  gnocchi_aggregation_by_resources_threshold: ['resource_type', 'metric', 'query'],
  gnocchi_aggregation_by_metrics_threshold: ['metrics'],
};
const LABELS = {
  name: 'Name', description: 'Description', severity: 'Severity', type: 'Kind',
  resource_type: 'Resource type', resource_id: 'Resource id', metric: 'Metric name',
  metrics: 'Metric ids (one a line)', query: 'Resource query (JSON)',
  aggregation_method: 'Aggregation', granularity: 'Granularity (s)',
  comparison_operator: 'Comparison', threshold: 'Threshold',
  evaluation_periods: 'Evaluation periods', alarm_actions: 'Alarm actions (URLs, one a line)',
  ok_actions: 'OK actions', insufficient_data_actions: 'Insufficient data actions',
  enabled: 'Enabled', repeat_actions: 'Repeat actions',
};
const CHOICES = {
  type: Object.entries(KINDS), severity: SEVERITIES.map((s) => [s, s]),
  comparison_operator: Object.entries(OPERATORS).map(([k, v]) => [k, `${v} (${k})`]),
  aggregation_method: METHODS.map((m) => [m, m]),
};
const AREAS = ['metrics', 'query', 'alarm_actions', 'ok_actions', 'insufficient_data_actions'];

function input(name, value) {
  const id = 'alarm-' + name;
  if (typeof DEFAULTS[name] === 'boolean') {
    return h('input', {type: 'checkbox', id, name, checked: !!value});
  }
  if (CHOICES[name]) {
    return h('select', {id, name}, CHOICES[name].map(([v, text]) => h('option', {value: v, selected: v === value}, text)));
  }
  if (AREAS.includes(name)) {
    const area = h('textarea', {id, name, rows: 2});
    area.value = value ?? '';
    return area;
  }
  return h('input', {id, name, value, type: 'text', inputmode: ['threshold', 'granularity', 'evaluation_periods'].includes(name) ? 'decimal' : null});
}

function field(name, value) {
  return h('label', {class: 'field', for: 'alarm-' + name, dataset: {field: name}}, LABELS[name],
    input(name, value), h('span', {class: 'field-error', role: 'alert'}));
}

function formValues(form) {
  const values = {};
  for (const el of form.elements) {
    if (!el.name) continue;
    values[el.name] = el.type === 'checkbox' ? el.checked : el.value;
  }
  return values;
}

// Only the fields of the chosen kind are shown.
function showKind(form) {
  const kind = form.elements.type.value;
  const wanted = new Set(KIND_FIELDS[kind] || []);
  for (const label of form.querySelectorAll('[data-kind-field]')) {
    label.hidden = !wanted.has(label.dataset.field);
  }
}

function alarmForm(values, {onSave, saveLabel}) {
  const kindFields = [...new Set(Object.values(KIND_FIELDS).flat())];
  const form = h('form', {class: 'alarm-form', novalidate: true},
    h('div', {class: 'form-grid'},
      ['name', 'severity', 'type'].map((n) => field(n, values[n])),
      kindFields.map((n) => {
        const f = field(n, values[n]);
        f.dataset.kindField = '1';
        return f;
      }),
      ['aggregation_method', 'granularity', 'comparison_operator', 'threshold',
        'evaluation_periods', 'description', 'alarm_actions', 'ok_actions',
        'insufficient_data_actions', 'enabled', 'repeat_actions'].map((n) => field(n, values[n]))),
    h('p', {class: 'form-status', role: 'status'}),
    h('button', {type: 'submit', id: 'alarm-save'}, saveLabel));
  form.elements.type.addEventListener('change', () => showKind(form));
  showKind(form);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const {body, errors} = alarmBody(formValues(form));
    for (const label of form.querySelectorAll('[data-field]')) {
      label.querySelector('.field-error').textContent = errors[label.dataset.field] || '';
    }
    const status = form.querySelector('.form-status');
    if (Object.keys(errors).length) {
      status.textContent = 'Please correct the fields marked.';
      return;
    }
    status.textContent = 'Saving…';
    try {
      await onSave(body);
    } catch (e) {
      status.replaceChildren(errorBox(e));
    }
  });
  return form;
}

function historyRow(entry) {
  let detail = {};
  try {
    detail = JSON.parse(entry.detail || '{}');
  } catch (e) {
    detail = {};
  }
  if (entry.type === 'state transition') return [stateBadge(detail.state), ' ', detail.transition_reason || ''];
  if (entry.type === 'creation') return ['created in state ', stateBadge(detail.state)];
  return Object.keys(detail).sort().join(', ');
}

function timelineStrip(parts, start, end) {
  const span = end - start;
  return h('div', {class: 'timeline', role: 'img',
    'aria-label': 'States: ' + parts.map((p) => `${p.state} from ${time(p.from)}`).join('; ')},
  parts.map((p) => h('span', {class: 'timeline-part state-bg-' + p.state.replace(/ /g, '_'),
    title: `${p.state}: ${time(p.from)} – ${time(p.to)}`,
    style: `left:${(100 * (p.from - start) / span).toFixed(3)}%;` +
      `width:${(100 * (p.to - p.from) / span).toFixed(3)}%;background:${STATE_COLORS[p.state] || '#ccc'}`})));
}

async function readSeries(ctx, alarm, start, end) {
  return Promise.all(readsOf(alarm, start, end).map(async (read) => {
    const answer = read.method === 'GET' ? await ctx.api.get(read.path, read.params)
      : await ctx.api.post(read.path, read.body, read.params);
    const measures = Array.isArray(answer) ? answer : ((answer.measures || {}).aggregated || []);
    return {label: read.label, points: pointsOf(measures)};
  }));
}

async function load(ctx, id, range) {
  const end = Date.now() / 1000;
  const start = end - range;
  const alarm = await ctx.api.get(`/v2/alarms/${encodeURIComponent(id)}`);
  const [history, series] = await Promise.all([
    ctx.api.get(`/v2/alarms/${encodeURIComponent(id)}/history`),
    readSeries(ctx, alarm, start, end).catch((e) => e)]);
  return {alarm, history, series, start, end};
}

function thresholdOf(alarm) {
  const rule = alarm[alarm.type + '_rule'] || {};
  return rule.threshold === undefined ? [] : [{value: rule.threshold,
    label: `${OPERATORS[rule.comparison_operator] || rule.comparison_operator} ${rule.threshold}`}];
}

function mountNew(el, ctx) {
  el.replaceChildren(h('h1', {}, 'New alarm'), alarmForm(DEFAULTS, {saveLabel: 'Create alarm',
    onSave: async (body) => {
      const created = await ctx.api.post('/v2/alarms', body);
      ctx.navigate('alarm', {id: created.alarm_id});
    }}));
}

function skeleton(el, params, ctx) {
  const parts = {
    title: h('h1', {}, 'Alarm'), state: h('p', {class: 'alarm-state'}),
    chart: h('div', {class: 'chart', id: 'alarm-chart'}), timeline: h('div', {class: 'timeline-wrap'}),
    history: h('div', {id: 'alarm-history'}), form: h('div', {}), error: h('div', {}),
  };
  const range = params.range in RANGES ? params.range : '1h';
  const ranges = h('div', {class: 'controls'}, Object.keys(RANGES).map((r) => h('button', {
    type: 'button', class: r === range ? '' : 'secondary', 'aria-pressed': String(r === range),
    onclick: () => ctx.navigate('alarm', Object.assign({}, params, {range: r}))}, 'last ' + r)),
  h('a', {href: '#/alarms'}, 'All alarms'));
  el.replaceChildren(parts.title, parts.state, parts.error, ranges, parts.chart, parts.timeline,
    h('h2', {}, 'History'), parts.history, h('details', {class: 'edit'}, h('summary', {}, 'Edit'), parts.form));
  return {parts, range: RANGES[range]};
}

// The strip sits under the plot's own area (uPlot's bbox is in device pixels).
function placeStrip(strip, plot) {
  const ratio = window.devicePixelRatio || 1;
  // 5 px: the .chart box's left padding and border.
  strip.style.marginLeft = (plot.bbox.left / ratio + 5) + 'px';
  strip.style.width = (plot.bbox.width / ratio) + 'px';
}

function renderChart(state, data) {
  const {alarm, series, start, end} = data;
  if (series instanceof Error) {
    state.parts.error.replaceChildren(errorBox(series));
    return;
  }
  state.parts.error.replaceChildren();
  // A range dragged on the chart stays until the page changes range.
  const [from, to] = state.zoom || [start, end];
  const parts = segments(data.history, from, to);
  const spec = {series, thresholds: thresholdOf(alarm), bands: bandsOf(parts),
    step: (alarm[alarm.type + '_rule'] || {}).granularity,
    onZoom: (low, high) => {
      state.zoom = [low, high];
      // After uPlot's own hook has returned: the redraw may make a new plot.
      setTimeout(() => renderChart(state, state.lastData), 0);
    }};
  state.lastData = data;
  if (state.chart) state.chart.update(series, {thresholds: spec.thresholds, bands: spec.bands});
  else state.chart = drawChart(state.parts.chart, spec);
  // The whole range, as the timeline: the state since creation shows even before new data.
  state.chart.plot.setScale('x', {min: from, max: to});
  const strip = h('div', {class: 'timeline-inner'}, timelineStrip(parts, from, to),
    h('div', {class: 'timeline-axis muted'}, h('span', {}, time(from)), h('span', {}, time(to))));
  state.parts.timeline.replaceChildren(strip);
  placeStrip(strip, state.chart.plot);
}

function render(state, data, ctx) {
  const {alarm, history} = data;
  state.parts.title.textContent = alarm.name;
  state.parts.state.replaceChildren(stateBadge(alarm.state), ' ', alarm.severity, ' · ',
    alarm.type, ' · since ', time(alarm.state_timestamp), alarm.state_reason ? ' · ' + alarm.state_reason : '');
  renderChart(state, data);
  state.parts.history.replaceChildren(table([
    {label: 'When', value: (e) => time(e.timestamp)}, {label: 'What', value: (e) => e.type},
    {label: 'Detail', value: historyRow}], history, {empty: 'No history.'}));
  if (!state.formShown) {
    state.formShown = true;
    state.parts.form.replaceChildren(alarmForm(formOf(alarm), {saveLabel: 'Save changes',
      onSave: async (body) => {
        await ctx.api.put(`/v2/alarms/${encodeURIComponent(alarm.alarm_id)}`, body);
        ctx.navigate('alarm', {id: alarm.alarm_id, saved: String(Date.now())}, {replace: true});
      }}));
  }
}

export function mount(el, params, ctx) {
  if (!params.id) {
    mountNew(el, ctx);
    return null;
  }
  const state = Object.assign(skeleton(el, params, ctx), {chart: null, alive: true, timer: null});
  const tick = async () => {
    try {
      const data = await load(ctx, params.id, state.range);
      if (state.alive) render(state, data, ctx);
    } catch (e) {
      if (state.alive) state.parts.error.replaceChildren(errorBox(e));
    }
    if (state.alive) state.timer = setTimeout(tick, REFRESH_MS);
  };
  tick();
  return () => {
    state.alive = false;
    clearTimeout(state.timer);
    if (state.chart) state.chart.destroy();
  };
}
