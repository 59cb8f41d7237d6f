// Numbers and times as the console shows them (UTC, ISO 8601 like the API).

const PREFIXES = [[1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']];

export function number(value) {
  if (value === null || value === undefined || Number.isNaN(value)) return '–';
  const abs = Math.abs(value);
  for (const [size, prefix] of PREFIXES) {
    if (abs >= size) return (value / size).toPrecision(3).replace(/\.?0+$/, '') + prefix;
  }
  if (abs === 0 || abs >= 0.01) return String(Number(value.toPrecision(4)));
  return value.toExponential(2);
}

// A count, every digit shown: '1,000'.
export function count(value) {
  return value === null || value === undefined ? '–' : Number(value).toLocaleString('en-US');
}

export function withUnit(value, unit) {
  const text = number(value);
  return unit && text !== '–' ? text + ' ' + unit : text;
}

// '2026-12-07 23:50:12Z' from epoch seconds or an ISO text.
export function time(value) {
  if (value === null || value === undefined || value === '') return '–';
  const date = typeof value === 'number' ? new Date(value * 1000) : new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return date.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

export function ago(seconds) {
  if (seconds === null || seconds === undefined) return '–';
  if (seconds < 90) return Math.round(seconds) + ' s ago';
  if (seconds < 5400) return Math.round(seconds / 60) + ' min ago';
  if (seconds < 172800) return Math.round(seconds / 3600) + ' h ago';
  return Math.round(seconds / 86400) + ' days ago';
}

// Seconds for '1h', '300', '5min', '1d'; null when not a duration.
export function seconds(text) {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(s|sec|min|m|h|d|w)?\s*$/.exec(String(text));
  if (!m) return null;
  const factor = {s: 1, sec: 1, m: 60, min: 60, h: 3600, d: 86400, w: 604800}[m[2] || 's'];
  return Number(m[1]) * factor;
}

export function duration(total) {
  if (total % 86400 === 0) return total / 86400 + 'd';
  if (total % 3600 === 0) return total / 3600 + 'h';
  if (total % 60 === 0) return total / 60 + 'min';
  return total + 's';
}
