// Resources: search by type and attributes with Gnocchi's query language (the filter
// string of POST /v1/search/resource/<type>), active, ended or both, a page at a time.
import {h, errorBox, link, table} from '../dom.js';
import {time} from '../format.js';
import {one} from '../router.js';

const PAGE = 50;
const STATES = {all: 'active and ended', active: 'active only', ended: 'ended only'};
const STATE_FILTER = {active: 'ended_at = null', ended: 'ended_at != null'};

export function filterOf(text, state) {
  const parts = [];
  if (text && text.trim()) parts.push('(' + text.trim() + ')');
  if (STATE_FILTER[state]) parts.push(STATE_FILTER[state]);
  return parts.join(' and ');
}

async function search(ctx, type, filter, marker) {
  const params = {limit: PAGE, marker, sort: 'started_at:desc'};
  if (!filter) return ctx.api.get('/v1/resource/' + encodeURIComponent(type), params);
  return ctx.api.post('/v1/search/resource/' + encodeURIComponent(type), undefined,
    Object.assign(params, {filter}));
}

function attributeColumns(definition) {
  const names = Object.keys((definition && definition.attributes) || {});
  const preferred = ['display_name', 'host', 'flavor_name', 'name'];
  return names.sort((a, b) => (preferred.indexOf(b) - preferred.indexOf(a)) || a.localeCompare(b))
    .slice(0, 3).map((name) => ({label: name, value: (r) => r[name] ?? ''}));
}

function form(state, types, onSubmit) {
  const typeSelect = h('select', {name: 'type', id: 'resource-type'},
    types.map((t) => h('option', {value: t.name, selected: t.name === state.type}, t.name)));
  const query = h('input', {name: 'q', id: 'resource-filter', value: state.q || '', size: 40,
    placeholder: "e.g. host = 'node-1' and started_at > '2026-12-01'"});
  const which = h('select', {name: 'state', id: 'resource-state'}, Object.entries(STATES).map(
    ([value, label]) => h('option', {value, selected: value === state.state}, label)));
  const f = h('form', {class: 'inline', role: 'search'},
    h('label', {class: 'field', for: 'resource-type'}, 'Type', typeSelect),
    h('label', {class: 'field', for: 'resource-filter'}, 'Filter (Gnocchi query)', query),
    h('label', {class: 'field', for: 'resource-state'}, 'Showing', which),
    h('button', {type: 'submit'}, 'Search'));
  f.addEventListener('submit', (event) => {
    event.preventDefault();
    onSubmit({type: typeSelect.value, q: query.value, state: which.value});
  });
  return f;
}

export function mount(el, params, ctx) {
  let alive = true;
  const state = {type: one(params, 'type', 'generic'), q: one(params, 'q', ''),
    state: one(params, 'state', params.ended ? 'ended' : 'all'),
    marker: one(params, 'marker')};
  const results = h('div', {id: 'resource-results', 'aria-live': 'polite'},
    h('p', {class: 'muted'}, 'Searching…'));
  el.append(h('h1', {}, 'Resources'));
  (async () => {
    let types = [{name: 'generic'}];
    try {
      types = await ctx.api.get('/v1/resource_type');
    } catch (e) {
      if (alive) el.append(errorBox(e));
    }
    if (!alive) return;
    el.append(form(state, types, (next) => ctx.navigate('resources', next)), results);
    const definition = types.find((t) => t.name === state.type);
    let found;
    try {
      found = await search(ctx, state.type, filterOf(state.q, state.state), state.marker);
    } catch (e) {
      if (alive) results.replaceChildren(errorBox(e));
      return;
    }
    if (!alive) return;
    const columns = [
      {label: 'id', class: 'id', value: (r) => link('resource', {id: r.id}, r.original_resource_id || r.id)},
      {label: 'type', value: (r) => r.type},
      ...attributeColumns(definition),
      {label: 'project', class: 'id', value: (r) => r.project_id || ''},
      {label: 'started', value: (r) => time(r.started_at)},
      {label: 'ended', value: (r) => (r.ended_at ? time(r.ended_at) : '')},
      {label: 'metrics', class: 'num', value: (r) => Object.keys(r.metrics || {}).length},
    ];
    const pager = h('div', {class: 'pager'},
      state.marker ? link('resources', {type: state.type, q: state.q, state: state.state},
        'First page') : null,
      found.length === PAGE ? link('resources', {type: state.type, q: state.q, state: state.state,
        marker: found[found.length - 1].id}, 'Next page') : null);
    results.replaceChildren(
      h('p', {class: 'muted'}, `${found.length}${found.length === PAGE ? '+' : ''} resources`),
      table(columns, found, {empty: 'No resource matches.'}), pager);
  })();
  return () => {
    alive = false;
  };
}
