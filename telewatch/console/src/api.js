// The console's only way to the server: telewatch's public HTTP APIs (Gnocchi's /v1, Aodh's
// /v2), as JSON, with the signed-in tab's Keystone token or the noauth headers.

const KEY = 'telewatch.session';

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.body = body;
  }
}

// Who this tab is signed in as: {mode: 'keystone'|'noauth', token, user, user_id, project,
// project_id, roles, expires_at}; kept in sessionStorage, so for this tab only.
export const session = {
  get() {
    try {
      return JSON.parse(sessionStorage.getItem(KEY)) || null;
    } catch (e) {
      return null;
    }
  },
  set(value) {
    sessionStorage.setItem(KEY, JSON.stringify(value));
    window.dispatchEvent(new CustomEvent('telewatch:session'));
  },
  clear() {
    sessionStorage.removeItem(KEY);
    window.dispatchEvent(new CustomEvent('telewatch:session'));
  },
  signedIn() {
    const s = this.get();
    if (!s) return false;
    return !(s.expires_at && Date.parse(s.expires_at) <= Date.now());
  },
  get who() {
    const s = this.get();
    return s ? (s.user || s.user_id || 'anonymous') : null;
  },
  get project() {
    const s = this.get();
    return s ? (s.project || s.project_id || null) : null;
  },
  get isAdmin() {
    const s = this.get();
    return !!s && (s.mode === 'noauth' && !s.user_id ? true : (s.roles || []).includes('admin'));
  },
};

export function headers(extra) {
  const h = Object.assign({Accept: 'application/json'}, extra);
  const s = session.get();
  if (s && s.token) {
    h['X-Auth-Token'] = s.token;
  } else if (s && s.mode === 'noauth' && (s.user_id || s.project_id)) {
    // Gnocchi's and Aodh's noauth headers; none at all is the all-in-one's admin.
    if (s.user_id) h['X-User-Id'] = s.user_id;
    if (s.project_id) h['X-Project-Id'] = s.project_id;
    if (s.roles && s.roles.length) h['X-Roles'] = s.roles.join(',');
  }
  return h;
}

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v === undefined || v === null || v === '') continue;
    for (const one of Array.isArray(v) ? v : [v]) q.append(k, String(one));
  }
  const text = q.toString();
  return text ? '?' + text : '';
}

function describe(status, body, text) {
  if (body && typeof body === 'object') {
    const d = body.description ?? body.error_message ?? body.error ?? body.message;
    if (typeof d === 'string') return d;
    if (d && typeof d === 'object') {
      return d.faultstring || d.message || d.reason || d.cause || JSON.stringify(d);
    }
  }
  return text ? text.slice(0, 300) : 'HTTP ' + status;
}

async function request(method, path, {params, body, contentType} = {}) {
  const init = {method, headers: headers()};
  if (body !== undefined) {
    init.headers['Content-Type'] = contentType || 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path + query(params), init);
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch (e) {
      data = null;
    }
  }
  if (!response.ok) {
    if (response.status === 401) window.dispatchEvent(new CustomEvent('telewatch:unauthorized'));
    throw new ApiError(response.status, describe(response.status, data, text), data);
  }
  return data !== null ? data : (text || null);
}

export const api = {
  get: (path, params) => request('GET', path, {params}),
  post: (path, body, params) => request('POST', path, {body, params}),
  put: (path, body) => request('PUT', path, {body}),
  // Gnocchi's resource types take a JSON patch: patch(path, ops, 'application/json-patch+json').
  patch: (path, body, contentType) => request('PATCH', path, {body, contentType}),
  del: (path) => request('DELETE', path),
};

// The console's own settings (how the API authenticates), beside its files.
export async function consoleSettings() {
  const response = await fetch('config.json', {headers: {Accept: 'application/json'}});
  return response.json();
}

// Exchanges a Keystone user's password for a token (POST /console/signin).
export async function signIn({user, password, project, domain}) {
  const response = await fetch('signin', {
    method: 'POST', headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({user, password, project, domain}),
  });
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, describe(response.status, data), data);
  session.set(Object.assign({mode: 'keystone'}, data));
  return data;
}
