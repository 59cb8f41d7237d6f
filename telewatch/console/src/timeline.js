// An alarm's states over time from its history (/v2/alarms/<id>/history), pure: the
// segments [{from, to, state}] of a range (epoch seconds) and the chart's bands of them.

export const STATE_COLORS = {
  ok: 'rgba(43, 138, 62, 0.10)', alarm: 'rgba(201, 42, 42, 0.16)',
  'insufficient data': 'rgba(134, 142, 150, 0.16)',
};

function detailOf(entry) {
  if (entry.detail && typeof entry.detail === 'object') return entry.detail;
  try {
    return JSON.parse(entry.detail || '{}') || {};
  } catch (e) {
    return {};
  }
}

// [{at, state}] oldest first: the state an entry set (creation, state transition, a rule
// change that set it) or null from a deletion on.
export function changesOf(history) {
  const changes = [];
  for (const entry of history) {
    const at = Date.parse(entry.timestamp.endsWith('Z') || /[+-]\d\d:\d\d$/.test(entry.timestamp)
      ? entry.timestamp : entry.timestamp + 'Z') / 1000;
    if (Number.isNaN(at)) continue;
    if (entry.type === 'deletion') {
      changes.push({at, state: null});
      continue;
    }
    const state = detailOf(entry).state;
    if (typeof state === 'string' && ['creation', 'state transition', 'rule change'].includes(entry.type)) {
      changes.push({at, state});
    }
  }
  // Stable: entries of one instant keep the API's order (newest first) reversed.
  return changes.map((c, i) => [c, i]).sort((a, b) => a[0].at - b[0].at || b[1] - a[1])
    .map(([c]) => c);
}

// [{from, to, state}] covering [start, end] where the state is known, merged where equal.
export function segments(history, start, end) {
  const changes = changesOf(history);
  const out = [];
  let state = null;
  let since = start;
  for (const change of changes) {
    if (change.at <= start) {
      state = change.state;
      continue;
    }
    if (change.at >= end) break;
    if (state !== null && change.state !== state) out.push({from: since, to: change.at, state});
    if (change.state !== state) since = change.at;
    state = change.state;
  }
  if (state !== null) out.push({from: since, to: end, state});
  return out;
}

// The chart's bands (drawChart's {from, to, label, color}) of the states worth seeing.
export function bandsOf(segmentList) {
  return segmentList.filter((s) => s.state !== 'ok').map((s) => ({
    from: s.from, to: s.to, label: s.state, color: STATE_COLORS[s.state] || STATE_COLORS['insufficient data']}));
}
