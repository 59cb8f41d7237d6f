// The console's shell: the nav bar, sign-in guard and the mounting of the view a hash route
// names (views/index.js). A view's mount(el, params, ctx) renders into el and may return an
// unmount function; ctx = {navigate(route, params, opts), record(params), route, api,
// session}.
import {api, session} from './api.js';
import {h, clear, errorBox} from './dom.js';
import * as router from './router.js';
import views from './views/index.js';

const byRoute = new Map(views.map((v) => [v.route, v]));
const DEFAULT_ROUTE = 'overview';
let current = null;

function renderNav(active) {
  const nav = document.getElementById('nav');
  const signedIn = session.signedIn();
  clear(nav).append(...views.filter((v) => v.nav !== false && signedIn).map((v) => h('a', {
    href: '#/' + v.route, 'aria-current': v.route === active ? 'page' : null}, v.title)));
  const who = clear(document.getElementById('who'));
  if (signedIn) {
    const project = session.project;
    who.append(h('span', {}, session.who + (project ? ' · ' + project : '')), ' ',
      h('button', {type: 'button', class: 'link', onclick: signOut}, 'Sign out'));
  }
}

function signOut() {
  session.clear();
  router.navigate('signin', {});
}

function show({route, params}) {
  const name = route || DEFAULT_ROUTE;
  if (!session.signedIn() && name !== 'signin') {
    router.navigate('signin', {next: router.format(name, params).slice(2)}, {replace: true});
    return;
  }
  const view = byRoute.get(name);
  if (current && current.unmount) {
    try {
      current.unmount();
    } catch (e) {
      console.error(e);
    }
  }
  current = null;
  renderNav(name);
  const el = clear(document.getElementById('view'));
  if (!view) {
    el.append(h('h1', {}, 'No such page'), h('p', {}, h('a', {href: '#/' + DEFAULT_ROUTE},
      'Go to the overview')));
    return;
  }
  document.title = view.title + ' · telewatch';
  const ctx = {
    route: name, api, session,
    navigate: (r, p, opts) => router.navigate(r, p, opts),
    record: (p) => router.record(name, p),
  };
  try {
    const unmount = view.mount(el, params, ctx);
    current = {unmount: typeof unmount === 'function' ? unmount : null};
  } catch (e) {
    console.error(e);
    el.append(errorBox(e));
  }
}

window.addEventListener('telewatch:unauthorized', () => {
  const s = session.get();
  if (s && s.mode === 'keystone') {
    session.clear();
    router.navigate('signin', {expired: '1', next: location.hash.slice(2)});
  }
});

router.start(show);
