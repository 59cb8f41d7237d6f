// CloudWatch dashboards: those of the caller's project (GET /v1/dashboards), each a link to
// its rendered page.
import {h, errorBox, link, table} from '../dom.js';
import {time} from '../format.js';

export function mount(el, params, ctx) {
  el.replaceChildren(h('h1', {}, 'Dashboards'), h('p', {class: 'muted'}, 'Loading…'));
  ctx.api.get('/v1/dashboards').then((entries) => {
    el.replaceChildren(h('h1', {}, 'Dashboards'), h('p', {class: 'muted'},
      'CloudWatch dashboards of this project (written with PutDashboard).'),
    table([
      {label: 'Name', value: (d) => link('dashboard', {name: d.name}, d.name)},
      {label: 'Last modified', value: (d) => time(d.last_modified)},
      {label: 'Size', value: (d) => d.size + ' B', class: 'num'},
    ], entries, {empty: 'No dashboard yet: PutDashboard makes one.'}));
  }).catch((e) => el.replaceChildren(h('h1', {}, 'Dashboards'), errorBox(e)));
  return null;
}
