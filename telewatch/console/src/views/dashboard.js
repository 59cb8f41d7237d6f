// A CloudWatch dashboard (its PutDashboard body) rendered: metric widgets as charts read
// through the Gnocchi API from the project's cloudwatch_metric resources, text widgets as
// text (never HTML), alarm widgets as the alarms' states; laid out on CloudWatch's 24-column
// grid (one column at phone width).
import {h, errorBox} from '../dom.js';
import {drawChart} from '../chart.js';
import {RESOURCE_TYPE, widgetsOf, resourceSearch, measuresRead, pointsOf, moment} from '../cloudwatch.js';
import {stateBadge} from './alarms.js';

const ROW_PX = 38;

// Markdown's headings, list items and paragraphs, as text: enough to read a note.
function textWidget(widget) {
  return widget.markdown.split(/\n{2,}|\n(?=#|[-*] )/).map((block) => {
    const heading = /^(#{1,6})\s+(.*)$/s.exec(block.trim());
    if (heading) return h('h' + Math.min(6, heading[1].length + 2), {}, heading[2]);
    const item = /^[-*]\s+(.*)$/s.exec(block.trim());
    if (item) return h('li', {}, item[1]);
    return block.trim() ? h('p', {}, block.trim()) : null;
  });
}

async function seriesOf(ctx, widget, resources, now) {
  const range = {start: moment(widget.start, now), end: moment(widget.end, now)};
  const notes = [];
  const series = [];
  for (const s of widget.series.filter((one) => one.visible)) {
    let read;
    try {
      read = measuresRead(s, resources, range);
    } catch (e) {
      read = {missing: e.message};
    }
    if (read.missing) {
      notes.push(`${s.label}: ${read.missing}`);
      series.push({label: s.label, points: []});
      continue;
    }
    const measures = await ctx.api.get(read.path, read.params);
    series.push({label: s.label, points: pointsOf(measures)});
  }
  return {series, notes};
}

async function metricWidget(ctx, widget, body, resources, now, charts) {
  const {series, notes} = await seriesOf(ctx, widget, resources, now);
  const el = h('div', {class: 'chart'});
  body.append(el);
  charts.push(drawChart(el, {series, thresholds: widget.thresholds,
    height: Math.max(140, widget.height * ROW_PX - 90)}));
  if (notes.length) body.append(h('p', {class: 'muted small'}, notes.join('; ')));
}

function alarmWidget(widget, body, alarms) {
  const byName = new Map(alarms.map((a) => [a.name, a]));
  body.append(h('ul', {class: 'alarm-list'}, widget.alarms.map((arn) => {
    const name = arn.slice(arn.lastIndexOf(':') + 1);
    const alarm = byName.get(name);
    return h('li', {}, alarm ? stateBadge(alarm.state) : h('span', {class: 'badge'}, 'unknown'), ' ',
      alarm ? h('a', {href: '#/alarm?id=' + encodeURIComponent(alarm.alarm_id)}, name) : name);
  })));
}

async function fill(ctx, widget, body, shared, charts) {
  try {
    if (widget.kind === 'metric') await metricWidget(ctx, widget, body, await shared.resources, shared.now, charts);
    else if (widget.kind === 'text') body.append(...textWidget(widget).filter(Boolean));
    else if (widget.kind === 'alarm') alarmWidget(widget, body, await shared.alarms());
    else if (widget.kind === 'invalid') body.append(errorBox(widget.error));
    else body.append(h('p', {class: 'muted'}, `A ${widget.type} widget is not shown by the console.`));
  } catch (e) {
    body.append(errorBox(e));
  }
}

function cell(widget) {
  const body = h('div', {class: 'widget-body'});
  const el = h('section', {class: 'widget card widget-' + widget.kind,
    style: `--col: ${widget.x + 1} / span ${widget.width}; --row: ${widget.y + 1} / span ${widget.height}`},
  widget.title ? h('h2', {}, widget.title) : null, body);
  return {el, body};
}

async function render(el, ctx, name, charts) {
  const dashboard = await ctx.api.get(`/v1/dashboards/${encodeURIComponent(name)}`);
  const widgets = widgetsOf(dashboard.body);
  const search = resourceSearch(widgets.filter((w) => w.kind === 'metric').flatMap((w) => w.series));
  let alarms = null;
  const shared = {
    now: Date.now() / 1000,
    resources: search ? ctx.api.post(`/v1/search/resource/${RESOURCE_TYPE}`, search) : Promise.resolve([]),
    alarms: () => (alarms = alarms || ctx.api.get('/v2/alarms')),
  };
  const cells = widgets.map((w) => [w, cell(w)]);
  el.replaceChildren(h('h1', {}, dashboard.name),
    h('div', {class: 'dashboard-grid'}, cells.map(([, c]) => c.el)));
  await Promise.all(cells.map(([w, c]) => fill(ctx, w, c.body, shared, charts)));
  el.dataset.loaded = 'true';
}

export function mount(el, params, ctx) {
  const charts = [];
  el.replaceChildren(h('h1', {}, params.name || 'Dashboard'), h('p', {class: 'muted'}, 'Loading…'));
  render(el, ctx, params.name || '', charts).catch((e) => el.append(errorBox(e)));
  return () => charts.forEach((c) => c.destroy());
}
