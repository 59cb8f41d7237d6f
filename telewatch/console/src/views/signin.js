// Sign in: a Keystone user, password and project exchanged for a token kept for this tab
// (POST /console/signin), or, under noauth, straight in (the all-in-one's admin) or as the
// user and project the noauth headers will name.
import {consoleSettings, session, signIn} from '../api.js';
import {h, errorBox} from '../dom.js';

function field(label, attrs) {
  return h('label', {class: 'field'}, h('span', {}, label), h('input', attrs));
}

function keystoneForm(el, done, params) {
  const error = h('div', {'aria-live': 'polite'});
  const form = h('form', {class: 'card signin', novalidate: true},
    h('h1', {}, 'Sign in'),
    params.expired ? h('p', {class: 'muted'}, 'Your session ended: sign in again.') : null,
    field('User', {name: 'user', autocomplete: 'username', required: true, autofocus: true}),
    field('Password', {name: 'password', type: 'password', autocomplete: 'current-password',
      required: true}),
    field('Project', {name: 'project', required: true}),
    field('Domain', {name: 'domain', value: 'Default'}),
    error, h('button', {type: 'submit'}, 'Sign in'));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const data = Object.fromEntries(new FormData(form));
    error.replaceChildren();
    form.querySelector('button').disabled = true;
    try {
      await signIn(data);
      done();
    } catch (e) {
      error.append(errorBox(e));
    } finally {
      form.querySelector('button').disabled = false;
    }
  });
  el.append(form);
}

function noauthForm(el, done) {
  const form = h('form', {class: 'card signin'},
    h('h1', {}, 'Sign in (noauth)'),
    h('p', {class: 'muted'}, 'This API trusts the user and project a request names.'),
    field('User id', {name: 'user_id', required: true, autofocus: true}),
    field('Project id', {name: 'project_id', required: true}),
    field('Roles (comma-separated)', {name: 'roles', value: ''}),
    h('button', {type: 'submit'}, 'Sign in'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = Object.fromEntries(new FormData(form));
    session.set({mode: 'noauth', user_id: data.user_id, project_id: data.project_id,
      roles: data.roles.split(',').map((r) => r.trim()).filter(Boolean)});
    done();
  });
  el.append(form);
}

export function mount(el, params, ctx) {
  let alive = true;
  const done = () => {
    const next = params.next && !params.next.startsWith('signin') ? params.next : 'overview';
    location.hash = '#/' + next;
  };
  (async () => {
    let settings;
    try {
      settings = await consoleSettings();
    } catch (e) {
      if (alive) el.append(errorBox(e));
      return;
    }
    if (!alive) return;
    if (settings.auth_strategy === 'keystone') {
      keystoneForm(el, done, params);
    } else if (settings.anonymous) {
      session.set({mode: 'noauth', user: 'admin', roles: ['admin']});
      done();
    } else {
      noauthForm(el, done);
    }
  })();
  return () => {
    alive = false;
  };
}
