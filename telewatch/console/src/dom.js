// A few DOM helpers for the views: elements built from data are always text (never HTML),
// so whatever a resource's attributes hold is shown, not run.

// h('a', {href: '#/x', class: 'c', onclick: fn}, 'text', child, [children]) -> element.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (key === 'class') {
      el.className = value;
    } else if (key === 'dataset') {
      Object.assign(el.dataset, value);
    } else if (key in el && typeof value !== 'string') {
      el[key] = value;
    } else {
      el.setAttribute(key, value === true ? '' : value);
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  el.replaceChildren();
  return el;
}

// A table: columns [{label, value(row) -> node|text, class}], rows.
export function table(columns, rows, {caption, empty = 'Nothing here.'} = {}) {
  if (!rows.length) return h('p', {class: 'muted'}, empty);
  return h('div', {class: 'table-wrap'}, h('table', {},
    caption ? h('caption', {}, caption) : null,
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', {scope: 'col', class: c.class}, c.label)))),
    h('tbody', {}, rows.map((row) => h('tr', {}, columns.map(
      (c) => h('td', {class: c.class}, c.value(row))))))));
}

// A message box for an error (an ApiError or any Error).
export function errorBox(error) {
  const status = error && error.status ? ' (HTTP ' + error.status + ')' : '';
  return h('p', {class: 'error', role: 'alert'}, String(error && error.message || error) + status);
}

export function link(route, params, text) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v === undefined || v === null || v === '') continue;
    for (const one of Array.isArray(v) ? v : [v]) q.append(k, one);
  }
  const s = q.toString();
  return h('a', {href: '#/' + route + (s ? '?' + s : '')}, text);
}
