// One resource: its attributes, its history (revisions) and its metrics, with links to
// chart one or several of them.
import {append, clear, h, errorBox, link, table} from '../dom.js';
import {time} from '../format.js';
import {one} from '../router.js';

const GENERIC_FIELDS = ['id', 'original_resource_id', 'type', 'project_id', 'user_id',
  'creator', 'started_at', 'ended_at', 'revision_start', 'revision_end'];

function show(value) {
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function attributes(resource) {
  const rows = Object.entries(resource).filter(([k]) => k !== 'metrics' && k !== 'created_by_user_id'
    && k !== 'created_by_project_id');
  rows.sort(([a], [b]) => {
    const ia = GENERIC_FIELDS.indexOf(a);
    const ib = GENERIC_FIELDS.indexOf(b);
    return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || a.localeCompare(b);
  });
  return table([
    {label: 'attribute', value: ([k]) => k},
    {label: 'value', class: 'id', value: ([k, v]) => (/_at$|^revision_/.test(k) && v ? time(v) : show(v))},
  ], rows);
}

// Each revision, with what changed from the one before.
function history(revisions) {
  const rows = revisions.map((rev, i) => {
    const before = revisions[i - 1];
    const changed = before ? Object.keys(rev).filter((k) => !/^revision/.test(k) && k !== 'metrics'
      && JSON.stringify(rev[k]) !== JSON.stringify(before[k])) : ['created'];
    return {rev, changed};
  });
  return table([
    {label: 'from', value: (r) => time(r.rev.revision_start)},
    {label: 'to', value: (r) => (r.rev.revision_end ? time(r.rev.revision_end) : 'now')},
    {label: 'changed', value: (r) => r.changed.map((k) => (k === 'created' ? k :
      `${k}: ${show(r.rev[k])}`)).join('; ')},
  ], rows, {empty: 'No revision.'});
}

function metrics(list) {
  const boxes = [];
  const rows = list.sort((a, b) => a.name.localeCompare(b.name));
  const chartSelected = h('button', {type: 'button', id: 'chart-selected', onclick: () => {
    const ids = boxes.filter((b) => b.checked).map((b) => b.value);
    if (ids.length) location.hash = '#/chart?' + ids.map((id) => 'metric=' + id).join('&');
  }}, 'Chart the selected metrics');
  return [table([
    {label: '', value: (m) => {
      const box = h('input', {type: 'checkbox', value: m.id, 'aria-label': 'select ' + m.name});
      boxes.push(box);
      return box;
    }},
    {label: 'metric', value: (m) => link('chart', {metric: m.id}, m.name)},
    {label: 'unit', value: (m) => m.unit || ''},
    {label: 'archive policy', value: (m) => (m.archive_policy && m.archive_policy.name) ||
      m.archive_policy_name || ''},
    {label: 'id', class: 'id', value: (m) => m.id},
  ], rows, {empty: 'This resource has no metric.'}), rows.length ? chartSelected : null];
}

export function mount(el, params, ctx) {
  let alive = true;
  const id = one(params, 'id');
  el.append(h('h1', {}, 'Resource'));
  (async () => {
    try {
      const generic = await ctx.api.get('/v1/resource/generic/' + encodeURIComponent(id));
      const base = '/v1/resource/' + encodeURIComponent(generic.type) + '/' +
        encodeURIComponent(generic.id);
      const [resource, revisions, list] = await Promise.all([
        ctx.api.get(base), ctx.api.get(base + '/history'), ctx.api.get(base + '/metric')]);
      if (!alive) return;
      append(clear(el), [
        h('h1', {}, resource.original_resource_id || resource.id,
          h('span', {class: 'badge'}, resource.type),
          resource.ended_at ? h('span', {class: 'badge stale'}, 'ended') : null),
        h('p', {}, link('resources', {type: resource.type}, 'All resources of type ' + resource.type)),
        h('h2', {}, 'Metrics'), ...metrics(list),
        h('h2', {}, 'Attributes'), attributes(resource),
        h('h2', {}, 'History'), history(revisions)]);
    } catch (e) {
      if (alive) el.append(errorBox(e));
    }
  })();
  return () => {
    alive = false;
  };
}
