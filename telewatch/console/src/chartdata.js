// What a chart reads: metrics' definitions and measures (/v1/metric), or an aggregates
// expression (/v1/aggregates), as chart.js's series; and the choice of a granularity.

// Seconds of Gnocchi's durations: '0:01:00', '1 day, 0:00:00', '7 days, 0:00:00', 60.
export function durationSeconds(text) {
  if (text === null || text === undefined) return null;
  if (typeof text === 'number') return text;
  const m = /^(?:(\d+) days?, )?(\d+):(\d\d):(\d\d(?:\.\d+)?)$/.exec(text.trim());
  if (!m) return Number(text) || null;
  return Number(m[1] || 0) * 86400 + Number(m[2]) * 3600 + Number(m[3]) * 60 + Number(m[4]);
}

// [{granularity, timespan}] (seconds) a metric's archive policy keeps.
export function levels(metric) {
  return metric.archive_policy.definition.map((d) => ({
    granularity: durationSeconds(d.granularity), timespan: durationSeconds(d.timespan)}));
}

// The granularities every metric keeps, finest first.
export function commonGranularities(metrics) {
  let common = null;
  for (const metric of metrics) {
    const mine = new Set(levels(metric).map((l) => l.granularity));
    common = common === null ? mine : new Set([...common].filter((g) => mine.has(g)));
  }
  return [...(common || [])].sort((a, b) => a - b);
}

// The finest granularity whose points reach back over the whole range (else the coarsest).
export function pickGranularity(metrics, seconds) {
  const choices = commonGranularities(metrics);
  for (const g of choices) {
    const kept = Math.min(...metrics.map((m) => {
      const level = levels(m).find((l) => l.granularity === g);
      return level && level.timespan !== null ? level.timespan : Infinity;
    }));
    if (kept >= seconds) return g;
  }
  return choices[choices.length - 1];
}

export function toPoints(measures) {
  return measures.map(([ts, , value]) => [Date.parse(ts) / 1000, value]);
}

function iso(epoch) {
  return new Date(epoch * 1000).toISOString();
}

export async function metricsOf(api, ids) {
  return Promise.all(ids.map((id) => api.get('/v1/metric/' + encodeURIComponent(id))));
}

export function labelOf(metric, all) {
  const resource = metric.resource ? (metric.resource.original_resource_id || metric.resource.id) : null;
  const sameResource = all.every((m) => m.resource_id === metric.resource_id);
  if (!resource || (sameResource && all.length > 1)) return metric.name || metric.id;
  return resource + ' · ' + (metric.name || metric.id);
}

function measuresOf(api, ids, {start, stop, granularity, aggregation}) {
  return Promise.all(ids.map((id) => api.get(
    '/v1/metric/' + encodeURIComponent(id) + '/measures',
    {start: iso(start), stop: iso(stop), granularity: granularity || undefined, aggregation})));
}

function seriesOf(metrics, measures, granularity) {
  return metrics.map((m, i) => ({label: labelOf(m, metrics), unit: m.unit || '',
    points: toPoints(measures[i].filter((p) => Number(p[1]) === granularity))}));
}

export async function metricSeries(api, metrics, options) {
  const measures = await measuresOf(api, metrics.map((m) => m.id), options);
  return seriesOf(metrics, measures, options.granularity);
}

// The first read of a chart: the metrics' definitions and their measures at once (one
// round trip, not two: without a granularity chosen, every granularity's points come and
// those of the one picked from the definitions are kept).
export async function firstRead(api, ids, options) {
  const [metrics, measures] = await Promise.all([metricsOf(api, ids),
    measuresOf(api, ids, options)]);
  const granularity = options.granularity ||
    pickGranularity(metrics, options.stop - options.start);
  return {metrics, granularity, series: seriesOf(metrics, measures, granularity)};
}

// Series of an aggregates answer: every list of measures found, labelled by its path.
export function flatten(node, path = [], out = []) {
  if (Array.isArray(node)) {
    out.push({label: path.join(' · ') || 'aggregated', unit: '', points: toPoints(node)});
  } else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) flatten(value, path.concat(key), out);
  }
  return out;
}

export async function expressionSeries(api, {expr, search, type, start, stop, granularity, unit}) {
  const body = {operations: expr};
  if (search) body.search = search;
  const answer = await api.post('/v1/aggregates', body, {start: iso(start), stop: iso(stop), granularity,
    details: 'false', resource_type: search ? type || 'generic' : undefined});
  const list = Array.isArray(answer) ? answer : [answer];
  const series = [];
  for (const group of list) {
    const prefix = group.group ? Object.values(group.group).join(',') : null;
    for (const s of flatten(group.measures || {})) {
      s.label = prefix ? prefix + ' · ' + s.label : s.label;
      s.unit = unit || '';
      series.push(s);
    }
  }
  return series;
}
