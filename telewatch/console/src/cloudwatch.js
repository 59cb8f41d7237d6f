// CloudWatch dashboards as the console draws them (pure: no DOM, no fetch): a PutDashboard
// body into widget descriptions, the "." and "..." repetition of MetricWidget metrics, and
// the Gnocchi reads of a CloudWatch metric (a cloudwatch_metric resource of the project whose
// namespace and canonical dimensions text name it, with one metric per MetricName).

export const RESOURCE_TYPE = 'cloudwatch_metric';
// CloudWatch's statistics and the archive's aggregation methods that keep them.
const METHODS = {Average: 'mean', Sum: 'sum', Minimum: 'min', Maximum: 'max', SampleCount: 'count'};
const PERCENTILES = ['p1', 'p5', 'p10', 'p25', 'p50', 'p75', 'p90', 'p95', 'p99', 'p99.9'];
// The granularities of CloudWatch's retention tiers (seconds), coarsest first.
const GRANULARITIES = [3600, 300, 60, 1];
const DEFAULT_PERIOD = 300;
const DEFAULT_RANGE = '-PT3H';

export class DashboardError extends Error {}

// The archive's aggregation method of a CloudWatch statistic; DashboardError otherwise.
export function aggregationOf(stat) {
  if (METHODS[stat]) return METHODS[stat];
  if (PERCENTILES.includes(stat)) return stat;
  throw new DashboardError(`statistic ${stat} is not kept by the archive (kept: ` +
    `${Object.keys(METHODS).concat(PERCENTILES).join(', ')})`);
}

// {granularity, resample} of a period: the coarsest tier that divides it, resampled to the
// period when it is not a tier itself.
export function granularityOf(period) {
  if (!Number.isInteger(period) || period <= 0) {
    throw new DashboardError(`period ${period} is not a positive whole number of seconds`);
  }
  const granularity = GRANULARITIES.find((g) => period % g === 0);
  return period === granularity ? {granularity} : {granularity, resample: period};
}

// The text the archive keeps as a metric's `dimensions` attribute: a JSON object, keys
// sorted, no spaces (Python's json.dumps(sort_keys=True, separators=(',', ':'),
// ensure_ascii=False): the cases under tests/cases/console are checked against both).
export function dimensionsText(dimensions) {
  const names = dimensions.map(([name]) => name);
  if (new Set(names).size !== names.length) {
    throw new DashboardError(`repeated dimension names: ${names.join(', ')}`);
  }
  const sorted = [...dimensions].sort(([a], [b]) => byCodePoint(a, b));
  return '{' + sorted.map(([n, v]) => JSON.stringify(n) + ':' + JSON.stringify(v)).join(',') + '}';
}

// Python's order of texts (by code point; JavaScript's < compares UTF-16 units).
function byCodePoint(a, b) {
  const x = Array.from(a, (c) => c.codePointAt(0));
  const y = Array.from(b, (c) => c.codePointAt(0));
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

// The metric rows of a MetricWidget with "." (the previous row's item at that position) and
// "..." (the previous row's items up to where the rest of this row takes over) written out:
// [{namespace, name, dimensions: [[name, value]], options}] or {expression, options}.
export function expandMetrics(rows) {
  const out = [];
  let previous = [];
  rows.forEach((row, index) => {
    if (!Array.isArray(row)) {
      throw new DashboardError(`metrics[${index}] is not an array`);
    }
    const last = row[row.length - 1];
    const options = last && typeof last === 'object' ? last : {};
    let items = last && typeof last === 'object' ? row.slice(0, -1) : row.slice();
    if (!items.length && options.expression !== undefined) {
      out.push({expression: String(options.expression), options});
      return;
    }
    const at = items.indexOf('...');
    if (at >= 0) {
      const after = items.slice(at + 1);
      items = items.slice(0, at).concat(previous.slice(at, previous.length - after.length), after);
    }
    items = items.map((item, i) => {
      if (item !== '.') return item;
      if (i >= previous.length) throw new DashboardError(`metrics[${index}][${i}]: "." with nothing above`);
      return previous[i];
    });
    if (items.length < 2 || items.length % 2 !== 0) {
      throw new DashboardError(`metrics[${index}]: expected namespace, metric name and ` +
        `dimension name/value pairs, got ${JSON.stringify(items)}`);
    }
    const dimensions = [];
    for (let i = 2; i < items.length; i += 2) dimensions.push([String(items[i]), String(items[i + 1])]);
    out.push({namespace: String(items[0]), name: String(items[1]), dimensions, options});
    previous = items;
  });
  return out;
}

// Seconds of an ISO 8601 duration (weeks, days, hours, minutes, seconds); null otherwise.
export function durationSeconds(text) {
  const m = /^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(text);
  if (!m || text === 'P' || text.endsWith('T')) return null;
  const [w, d, h, min, s] = m.slice(1).map((v) => Number(v || 0));
  return w * 604800 + d * 86400 + h * 3600 + min * 60 + s;
}

// Epoch seconds of a dashboard's start or end: '-PT3H' (before now), an ISO time.
export function moment(text, now) {
  if (text === undefined || text === null) return now;
  if (/^-P/.test(text)) {
    const seconds = durationSeconds(text.slice(1));
    if (seconds === null) throw new DashboardError(`not a duration: ${text}`);
    return now - seconds;
  }
  const parsed = Date.parse(text);
  if (Number.isNaN(parsed)) throw new DashboardError(`not a time: ${text}`);
  return parsed / 1000;
}

function metricWidget(properties, defaults) {
  const period = Number(properties.period || DEFAULT_PERIOD);
  const stat = properties.stat || 'Average';
  const series = expandMetrics(properties.metrics || []).map((m, i) => {
    const s = Object.assign({}, m, {
      id: m.options.id || 'm' + (i + 1), visible: m.options.visible !== false,
      stat: m.options.stat || stat, period: Number(m.options.period || period)});
    s.label = m.options.label || (m.expression !== undefined ? m.expression : labelOf(m));
    return s;
  });
  const horizontal = (properties.annotations && properties.annotations.horizontal) || [];
  return {
    kind: 'metric', title: properties.title || '', view: properties.view || 'timeSeries',
    start: properties.start || defaults.start, end: properties.end || defaults.end,
    series, thresholds: horizontal.filter((a) => typeof a.value === 'number')
      .map((a) => ({value: a.value, label: a.label || String(a.value)})),
  };
}

function labelOf(metric) {
  const values = metric.dimensions.map(([, v]) => v);
  return values.length ? `${metric.name} ${values.join(' ')}` : metric.name;
}

// The widgets of a dashboard body (an object), in reading order (by row, then column):
// {kind: 'metric'|'text'|'alarm'|'unsupported', x, y, width, height, ...}.
export function widgetsOf(body) {
  if (!body || !Array.isArray(body.widgets)) throw new DashboardError('the body has no widgets');
  const defaults = {start: body.start || DEFAULT_RANGE, end: body.end};
  return body.widgets.map((widget, index) => {
    const place = {index, x: widget.x ?? 0, y: widget.y ?? 0, width: widget.width ?? 6,
      height: widget.height ?? 6};
    const properties = widget.properties || {};
    try {
      if (widget.type === 'metric') return Object.assign(place, metricWidget(properties, defaults));
      if (widget.type === 'text') return Object.assign(place, {kind: 'text', markdown: String(properties.markdown || '')});
      if (widget.type === 'alarm') {
        return Object.assign(place, {kind: 'alarm', title: properties.title || '',
          alarms: (properties.alarms || []).map(String)});
      }
      return Object.assign(place, {kind: 'unsupported', type: widget.type});
    } catch (e) {
      if (!(e instanceof DashboardError)) throw e;
      return Object.assign(place, {kind: 'invalid', error: e.message});
    }
  }).sort((a, b) => a.y - b.y || a.x - b.x || a.index - b.index);
}

// The Gnocchi search finding the resources of a widget's metrics (one query for them all).
export function resourceSearch(series) {
  const keys = new Map();
  for (const s of series) {
    if (s.expression !== undefined) continue;
    const text = dimensionsText(s.dimensions);
    keys.set(s.namespace + '\u0000' + text, {and: [
      {'=': {namespace: s.namespace}}, {'=': {dimensions: text}}]});
  }
  return keys.size ? {or: [...keys.values()]} : null;
}

// The measures read of one series, given the resources the search found: {path, params}
// of GET /v1/resource/cloudwatch_metric/<id>/metric/<name>/measures, or {missing: why}.
export function measuresRead(series, resources, {start, end}) {
  if (series.expression !== undefined) return {missing: 'metric math is not drawn by the console'};
  const text = dimensionsText(series.dimensions);
  const resource = resources.find((r) => r.namespace === series.namespace && r.dimensions === text);
  if (!resource || !resource.metrics || !resource.metrics[series.name]) {
    return {missing: `no data for ${series.namespace} ${series.name} ${text}`};
  }
  const params = Object.assign({aggregation: aggregationOf(series.stat),
    start: isoSeconds(start), stop: isoSeconds(end)}, granularityOf(series.period));
  return {path: `/v1/metric/${resource.metrics[series.name]}/measures`, params};
}

function isoSeconds(epoch) {
  return new Date(epoch * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
}

// [[epochSeconds, value]] of Gnocchi's [[timestamp, granularity, value]].
export function pointsOf(measures) {
  return measures.map(([t, , v]) => [Date.parse(t) / 1000, v]);
}
