// Overview: resources by type, the ingest rate, what waits, what was rejected or dropped,
// every processor, agent and evaluator with its last report, and alarms by state; read
// from /v1/status (admin) and /v2/alarms, refreshed every few seconds.
import {h, errorBox, link, table} from '../dom.js';
import {ago, count, number, time} from '../format.js';

const REFRESH_MS = 5000;
const STALE_S = 120;

async function load(ctx) {
  const [status, alarms] = await Promise.allSettled([
    ctx.api.get('/v1/status', {details: 'false'}),
    ctx.api.get('/v2/alarms'),
  ]);
  return {
    status: status.status === 'fulfilled' ? status.value : null,
    statusError: status.status === 'rejected' ? status.reason : null,
    alarms: alarms.status === 'fulfilled' ? alarms.value : null,
    alarmsError: alarms.status === 'rejected' ? alarms.reason : null,
    at: Date.now() / 1000,
  };
}

// Totals the rates are computed from: what every agent received, polled, derived and
// archived, what every processor aggregated.
export function totals(status) {
  const t = {polled: 0, received: 0, derived: 0, archived: 0, aggregated: 0};
  const components = status.telewatch.components || {};
  for (const report of Object.values(components.agent || {})) {
    t.polled += report.polled || 0;
    t.received += report.received || 0;
    t.derived += report.derived || 0;
    for (const [name, p] of Object.entries(report.publishers || {})) {
      if (name.startsWith('archive:')) t.archived += p.published || 0;
    }
  }
  const processors = (status.telewatch.storage || {}).processors || {};
  for (const report of Object.values(processors)) t.aggregated += report.measures_processed || 0;
  return t;
}

function rates(previous, current) {
  if (!previous || !previous.status || !current.status) return null;
  const dt = current.at - previous.at;
  if (dt <= 0) return null;
  const a = totals(previous.status);
  const b = totals(current.status);
  const out = {};
  for (const key of Object.keys(b)) out[key] = Math.max(0, (b[key] - a[key]) / dt);
  return out;
}

function figure(value, label, id) {
  return h('div', {class: 'card figure', dataset: {figure: id}},
    h('div', {class: 'value'}, value), h('div', {class: 'label'}, label));
}

function rejectedLate(status) {
  const own = status.telewatch.measures_rejected_late;
  if (own !== undefined) return own;
  const processors = (status.telewatch.storage || {}).processors || {};
  return Object.values(processors).reduce((n, p) => n + (p.measures_rejected_late || 0), 0);
}

function healthSection(data, rate) {
  const status = data.status;
  const perSecond = (key) => (rate ? number(rate[key]) + '/s' : '…');
  return [
    h('h2', {}, 'Pipeline'),
    h('div', {class: 'grid'},
      figure(perSecond('polled'), 'samples polled', 'polled'),
      figure(perSecond('received'), 'samples received by agents', 'received'),
      figure(perSecond('derived'), 'samples derived by transformers', 'derived'),
      figure(perSecond('archived'), 'samples archived', 'archived'),
      figure(perSecond('aggregated'), 'measures aggregated', 'aggregated'),
      figure(count(status.storage.summary.measures), 'measures waiting to be aggregated',
        'waiting'),
      figure(count(rejectedLate(status)), 'measures rejected as too late', 'rejected'),
      figure(status.telewatch.storage.state || 'ok', 'storage', 'storage')),
  ];
}

function resourcesSection(status) {
  const counts = Object.entries(status.telewatch.resources || {})
    .sort((a, b) => (b[1].active + b[1].ended) - (a[1].active + a[1].ended));
  return [h('h2', {}, 'Resources by type'), table([
    {label: 'type', value: ([type]) => link('resources', {type}, type)},
    {label: 'active', class: 'num', value: ([, c]) => count(c.active)},
    {label: 'ended', class: 'num', value: ([type, c]) => (c.ended ?
      link('resources', {type, state: 'ended'}, count(c.ended)) : '0')},
  ], counts, {empty: 'No resource yet.'})];
}

function publishersSection(status) {
  const rows = [];
  const agents = (status.telewatch.components || {}).agent || {};
  for (const [agent, report] of Object.entries(agents)) {
    for (const [publisher, p] of Object.entries(report.publishers || {})) {
      rows.push({agent, publisher, ...p});
    }
  }
  return [h('h2', {}, 'Publishers'), table([
    {label: 'agent', value: (r) => r.agent},
    {label: 'publisher', value: (r) => r.publisher},
    {label: 'published', class: 'num', value: (r) => number(r.published || 0)},
    {label: 'dropped', class: 'num', value: (r) => number(r.dropped || 0)},
    {label: 'queued', class: 'num', value: (r) => number(r.queued || 0)},
    {label: 'waiting now', class: 'num', value: (r) => number(r.queue_length || 0)},
    {label: 'policy', value: (r) => r.policy || ''},
  ], rows, {empty: 'No agent reported its publishers.'})];
}

function componentRows(status, now) {
  const rows = [];
  for (const [name, p] of Object.entries((status.telewatch.storage || {}).processors || {})) {
    rows.push({kind: 'processor', name, report: p,
      summary: `${number(p.measures_processed || 0)} measures aggregated` +
        (p.failing_sacks && p.failing_sacks.length ? `, sacks failing: ${p.failing_sacks}` : '')});
  }
  const components = status.telewatch.components || {};
  for (const [kind, reports] of Object.entries(components)) {
    for (const [name, p] of Object.entries(reports)) {
      const summary = kind === 'agent' ?
        `${number(p.received || 0)} received, ${number(p.polled || 0)} polled, ` +
          `${number(p.derived || 0)} derived` :
        `${number(p.evaluations || 0)} evaluations, ${number(p.transitions || 0)} ` +
          `transitions, ${number(p.notifications || 0)} notifications`;
      rows.push({kind, name, report: p, summary});
    }
  }
  for (const row of rows) row.age = now - (row.report.updated || 0);
  return rows.sort((a, b) => a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name));
}

function componentsSection(status, now) {
  return [h('h2', {}, 'Processors, agents and evaluators'), table([
    {label: 'kind', value: (r) => r.kind},
    {label: 'name', value: (r) => r.name},
    {label: 'last report', value: (r) => h('span', {class: r.age > STALE_S ? 'stale' : null,
      title: time(r.report.updated)}, ago(r.age) + (r.age > STALE_S ? ' (silent)' : ''))},
    {label: 'state', value: (r) => r.report.state || (r.report.loop_errors ?
      `${r.report.loop_errors} loop errors` : 'ok')},
    {label: 'figures', value: (r) => r.summary},
  ], componentRows(status, now), {empty: 'Nothing reported yet.'})];
}

function alarmsSection(data) {
  if (data.alarmsError) return [h('h2', {}, 'Alarms'), errorBox(data.alarmsError)];
  const states = ['alarm', 'insufficient data', 'ok'];
  const counts = {alarm: 0, 'insufficient data': 0, ok: 0};
  const severities = {};
  for (const alarm of data.alarms) {
    counts[alarm.state] = (counts[alarm.state] || 0) + 1;
    if (alarm.state === 'alarm') {
      severities[alarm.severity || 'low'] = (severities[alarm.severity || 'low'] || 0) + 1;
    }
  }
  const detail = Object.entries(severities).map(([s, n]) => `${n} ${s}`).join(', ');
  return [h('h2', {}, 'Alarms'), h('div', {class: 'grid'}, states.map((state) => figure(
    count(counts[state] || 0), state + (state === 'alarm' && detail ? ` (${detail})` : ''),
    'alarms-' + state.replace(' ', '_'))))];
}

function render(el, data, rate) {
  const parts = [h('h1', {}, 'Overview'),
    h('p', {class: 'muted'}, 'Updated ' + time(data.at) + ', every ' + REFRESH_MS / 1000 + ' s.')];
  if (data.status) {
    parts.push(...healthSection(data, rate), ...resourcesSection(data.status),
      ...componentsSection(data.status, data.at), ...publishersSection(data.status));
  } else if (data.statusError && data.statusError.status === 403) {
    parts.push(h('p', {class: 'muted'}, 'The pipeline\'s health is for admins only (/v1/status).'),
      h('p', {}, link('resources', {}, 'Browse your resources')));
  } else {
    parts.push(errorBox(data.statusError));
  }
  parts.splice(2, 0, ...alarmsSection(data));
  el.replaceChildren(...parts);
}

export function mount(el, params, ctx) {
  let timer = null;
  let alive = true;
  let previous = null;
  const tick = async () => {
    try {
      const data = await load(ctx);
      if (!alive) return;
      render(el, data, rates(previous, data));
      previous = data;
    } catch (e) {
      if (alive) el.replaceChildren(h('h1', {}, 'Overview'), errorBox(e));
    }
    if (alive) timer = setTimeout(tick, Number(params.refresh || 0) * 1000 || REFRESH_MS);
  };
  tick();
  return () => {
    alive = false;
    clearTimeout(timer);
  };
}
