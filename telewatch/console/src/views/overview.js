// Overview: the pipeline's health at a glance, refreshed live.
import {h, errorBox, table} from '../dom.js';
import {number} from '../format.js';

const REFRESH_MS = 5000;

async function load(ctx) {
  const status = await ctx.api.get('/v1/status', {details: 'false'});
  return {status};
}

function render(el, data) {
  const summary = data.status.storage.summary;
  el.replaceChildren(h('h1', {}, 'Overview'), h('div', {class: 'grid'},
    h('div', {class: 'card figure'}, h('div', {class: 'value'}, number(summary.measures)),
      h('div', {class: 'label'}, 'measures waiting to be aggregated')),
    h('div', {class: 'card figure'}, h('div', {class: 'value'}, number(summary.metrics)),
      h('div', {class: 'label'}, 'metrics with measures waiting'))),
  table([{label: 'processor', value: (r) => r[0]}, {label: 'state', value: (r) => r[1].state || 'ok'}],
    Object.entries(data.status.telewatch.storage.processors || {}), {empty: 'No processor reported.'}));
}

export function mount(el, params, ctx) {
  let timer = null;
  let alive = true;
  const tick = async () => {
    try {
      const data = await load(ctx);
      if (alive) render(el, data);
    } catch (e) {
      if (alive) el.replaceChildren(h('h1', {}, 'Overview'), errorBox(e));
    }
    if (alive) timer = setTimeout(tick, REFRESH_MS);
  };
  tick();
  return () => {
    alive = false;
    clearTimeout(timer);
  };
}
