// The alarm form's values and the Aodh v2 bodies of the three common Gnocchi threshold kinds
// (pure): form -> body (with what is wrong, field by field), alarm -> form values, and the
// Gnocchi reads that chart what an alarm watches.

export const KINDS = {
  gnocchi_resources_threshold: 'A metric of one resource',
  gnocchi_aggregation_by_resources_threshold: 'A metric aggregated over the resources a query finds',
  gnocchi_aggregation_by_metrics_threshold: 'Metrics aggregated together (by id)',
};
export const OPERATORS = {lt: '<', le: '≤', eq: '=', ne: '≠', ge: '≥', gt: '>'};
export const SEVERITIES = ['low', 'moderate', 'critical'];
export const METHODS = ['mean', 'min', 'max', 'sum', 'count', 'last', 'first', 'median', 'std',
  'rate:mean', 'rate:last', 'rate:max'];
const KIND_FIELDS = {
  gnocchi_resources_threshold: ['resource_type', 'resource_id', 'metric'],
  gnocchi_aggregation_by_resources_threshold: ['resource_type', 'metric', 'query'],
  gnocchi_aggregation_by_metrics_threshold: ['metrics'],
};
const ACTIONS = ['alarm_actions', 'ok_actions', 'insufficient_data_actions'];

export const DEFAULTS = {
  name: '', description: '', severity: 'low', type: 'gnocchi_resources_threshold',
  enabled: true, repeat_actions: false, resource_type: 'generic', resource_id: '', metric: '',
  metrics: '', query: '', aggregation_method: 'mean', granularity: '60',
  comparison_operator: 'gt', threshold: '', evaluation_periods: '1',
  alarm_actions: '', ok_actions: '', insufficient_data_actions: '',
};

function words(text) {
  return String(text || '').split(/[\s,]+/).filter(Boolean);
}

function lines(text) {
  return String(text || '').split('\n').map((l) => l.trim()).filter(Boolean);
}

function positiveInteger(text, field, errors) {
  const value = Number(String(text).trim());
  if (!Number.isInteger(value) || value <= 0) errors[field] = 'a whole number above 0';
  return value;
}

function kindRule(form, errors) {
  const rule = {};
  for (const field of KIND_FIELDS[form.type]) {
    const value = String(form[field] ?? '').trim();
    if (!value) errors[field] = 'required';
    rule[field] = value;
  }
  if (form.type === 'gnocchi_aggregation_by_metrics_threshold') {
    rule.metrics = words(form.metrics);
    if (!rule.metrics.length) errors.metrics = 'at least one metric id';
  }
  if (form.type === 'gnocchi_aggregation_by_resources_threshold' && rule.query) {
    try {
      const parsed = JSON.parse(rule.query);
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error();
    } catch (e) {
      errors.query = 'a JSON object of the search language, e.g. {"=": {"server_group": "web"}}';
    }
  }
  return rule;
}

// {body, errors}: the Aodh body of the form's values, and {field: what is wrong} (empty
// when the body may be sent; the API checks it again).
export function alarmBody(form) {
  const f = Object.assign({}, DEFAULTS, form);
  const errors = {};
  if (!KINDS[f.type]) errors.type = 'one of ' + Object.keys(KINDS).join(', ');
  const name = String(f.name).trim();
  if (!name) errors.name = 'required';
  if (!SEVERITIES.includes(f.severity)) errors.severity = 'one of ' + SEVERITIES.join(', ');
  if (!OPERATORS[f.comparison_operator]) errors.comparison_operator = 'one of ' + Object.keys(OPERATORS).join(', ');
  const threshold = Number(String(f.threshold).trim());
  if (String(f.threshold).trim() === '' || !Number.isFinite(threshold)) errors.threshold = 'a number';
  const rule = Object.assign(errors.type ? {} : kindRule(f, errors), {
    threshold, comparison_operator: f.comparison_operator,
    aggregation_method: String(f.aggregation_method).trim(),
    granularity: positiveInteger(f.granularity, 'granularity', errors),
    evaluation_periods: positiveInteger(f.evaluation_periods, 'evaluation_periods', errors),
  });
  if (!rule.aggregation_method) errors.aggregation_method = 'required';
  const body = {name, description: String(f.description || ''), type: f.type,
    severity: f.severity, enabled: !!f.enabled, repeat_actions: !!f.repeat_actions};
  for (const key of ACTIONS) body[key] = lines(f[key]);
  body[f.type + '_rule'] = rule;
  return {body, errors};
}

// The form's values of an alarm as the API shows it (for editing).
export function formOf(alarm) {
  const rule = alarm[alarm.type + '_rule'] || {};
  const form = Object.assign({}, DEFAULTS, {
    name: alarm.name, description: alarm.description || '', severity: alarm.severity || 'low',
    type: alarm.type, enabled: alarm.enabled !== false, repeat_actions: !!alarm.repeat_actions,
  });
  for (const key of ['resource_type', 'resource_id', 'metric', 'query', 'aggregation_method',
    'comparison_operator']) {
    if (rule[key] !== undefined) form[key] = String(rule[key]);
  }
  for (const key of ['granularity', 'threshold', 'evaluation_periods']) {
    if (rule[key] !== undefined) form[key] = String(rule[key]);
  }
  if (Array.isArray(rule.metrics)) form.metrics = rule.metrics.join('\n');
  for (const key of ACTIONS) form[key] = (alarm[key] || []).join('\n');
  return form;
}

function iso(epoch) {
  return new Date(epoch * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
}

// What to chart for an alarm between start and end (epoch seconds): [{label, method, path,
// params, body}] of Gnocchi reads; each answers measures ([[time, granularity, value]]),
// the aggregates one under measures.aggregated.
export function readsOf(alarm, start, end) {
  const rule = alarm[alarm.type + '_rule'];
  if (!rule || !KIND_FIELDS[alarm.type]) return [];
  const params = {aggregation: rule.aggregation_method, granularity: rule.granularity,
    start: iso(start), stop: iso(end)};
  if (alarm.type === 'gnocchi_resources_threshold') {
    return [{label: `${rule.metric} of ${rule.resource_id}`, method: 'GET', params,
      path: `/v1/resource/${encodeURIComponent(rule.resource_type)}/` +
        `${encodeURIComponent(rule.resource_id)}/metric/${encodeURIComponent(rule.metric)}/measures`}];
  }
  if (alarm.type === 'gnocchi_aggregation_by_metrics_threshold') {
    return rule.metrics.map((id) => ({label: id, method: 'GET', params,
      path: `/v1/metric/${encodeURIComponent(id)}/measures`}));
  }
  const method = rule.aggregation_method;
  return [{label: `${method} of ${rule.metric} over ${rule.resource_type}`, method: 'POST',
    path: '/v1/aggregates',
    params: {granularity: rule.granularity, start: params.start, stop: params.stop},
    body: {resource_type: rule.resource_type, search: JSON.parse(rule.query),
      operations: ['aggregate', method, ['metric', rule.metric, method]]}}];
}
