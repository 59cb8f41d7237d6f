// Alarms: every alarm the caller may see, counted by state and listed by state and
// severity (worst first), filtered by both in the URL.
import {h, errorBox, link, table} from '../dom.js';
import {time} from '../format.js';

const STATES = ['alarm', 'insufficient data', 'ok'];
const SEVERITIES = ['critical', 'moderate', 'low'];
const REFRESH_MS = 5000;

export function stateBadge(state) {
  return h('span', {class: 'badge state-' + String(state).replace(/ /g, '_')}, state);
}

function rank(list, value) {
  const at = list.indexOf(value);
  return at < 0 ? list.length : at;
}

function select(label, name, values, current, onchange) {
  return h('label', {class: 'field'}, label, h('select', {name, onchange},
    h('option', {value: ''}, 'any'),
    values.map((v) => h('option', {value: v, selected: v === current}, v))));
}

function render(el, alarms, params, ctx) {
  const counts = STATES.map((state) => [state, alarms.filter((a) => a.state === state).length]);
  const shown = alarms.filter((a) => (!params.state || a.state === params.state) &&
    (!params.severity || a.severity === params.severity))
    .sort((a, b) => rank(STATES, a.state) - rank(STATES, b.state) ||
      rank(SEVERITIES, a.severity) - rank(SEVERITIES, b.severity) || a.name.localeCompare(b.name));
  const filter = (key) => (e) => ctx.navigate('alarms', Object.assign({}, params, {[key]: e.target.value}));
  el.replaceChildren(
    h('h1', {}, 'Alarms'),
    h('div', {class: 'grid'}, counts.map(([state, n]) => h('a', {
      class: 'card figure', href: '#/alarms?state=' + encodeURIComponent(state)},
    h('div', {class: 'value state-' + state.replace(/ /g, '_')}, String(n)),
    h('div', {class: 'label'}, state)))),
    h('div', {class: 'controls'},
      select('State', 'state', STATES, params.state, filter('state')),
      select('Severity', 'severity', SEVERITIES, params.severity, filter('severity')),
      h('a', {href: '#/alarm?new=1', class: 'button', id: 'new-alarm'}, 'New alarm')),
    table([
      {label: 'Name', value: (a) => link('alarm', {id: a.alarm_id}, a.name)},
      {label: 'State', value: (a) => stateBadge(a.state)},
      {label: 'Severity', value: (a) => a.severity},
      {label: 'Kind', value: (a) => a.type},
      {label: 'Since', value: (a) => time(a.state_timestamp)},
      {label: 'Enabled', value: (a) => (a.enabled ? 'yes' : 'no')},
    ], shown, {empty: 'No alarm here.', caption: `${shown.length} of ${alarms.length} alarms`}));
}

export function mount(el, params, ctx) {
  let alive = true;
  let timer = null;
  const tick = async () => {
    try {
      const alarms = await ctx.api.get('/v2/alarms');
      if (alive) render(el, alarms, params, ctx);
    } catch (e) {
      if (alive) el.replaceChildren(h('h1', {}, 'Alarms'), errorBox(e));
    }
    if (alive) timer = setTimeout(tick, REFRESH_MS);
  };
  tick();
  return () => {
    alive = false;
    clearTimeout(timer);
  };
}
