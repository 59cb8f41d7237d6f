// Hash routes: '#/chart?metric=a&metric=b&start=...' is route 'chart' with params
// {metric: ['a', 'b'], start: '...'}; a repeated key is an array, a single one a string.
// The page's state lives in the URL, so a link to it shows the same page.

export function parse(hash) {
  const text = (hash || '').replace(/^#\/?/, '');
  const at = text.indexOf('?');
  const route = decodeURIComponent(at < 0 ? text : text.slice(0, at));
  const params = {};
  for (const [k, v] of new URLSearchParams(at < 0 ? '' : text.slice(at + 1))) {
    if (k in params) {
      params[k] = [].concat(params[k], v);
    } else {
      params[k] = v;
    }
  }
  return {route, params};
}

export function format(route, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v === undefined || v === null || v === '') continue;
    for (const one of Array.isArray(v) ? v : [v]) q.append(k, String(one));
  }
  const s = q.toString();
  return '#/' + route + (s ? '?' + s : '');
}

// One value of a param that may be repeated; all of them as an array.
export function one(params, key, fallback) {
  const v = params[key];
  return v === undefined ? fallback : (Array.isArray(v) ? v[0] : v);
}

export function all(params, key) {
  const v = params[key];
  return v === undefined ? [] : [].concat(v);
}

export function start(onRoute) {
  const go = () => onRoute(parse(location.hash));
  window.addEventListener('hashchange', go);
  go();
}

// A new page (in the history) unless replace.
export function navigate(route, params, {replace = false} = {}) {
  const hash = format(route, params);
  if (hash === location.hash) return;
  if (replace) {
    history.replaceState(null, '', hash);
    window.dispatchEvent(new HashChangeEvent('hashchange'));
  } else {
    location.hash = hash;
  }
}

// The URL says the page's new state, without mounting the page again (a chart zoomed, a
// filter typed): shared links show it, the back button does not replay every keystroke.
export function record(route, params) {
  history.replaceState(null, '', format(route, params));
}
