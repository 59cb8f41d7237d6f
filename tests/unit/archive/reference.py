"""A slow, obviously-right reference for the archive tests: one bucket at a time, numpy's
own statistics; and an exact comparison of two metric states."""

import numpy

from telewatch.archive import policy as policy_mod


def reference_value(method, values):
    values = numpy.asarray(values, dtype=float)
    if len(values) < method.min_count:
        return None
    simple = {'mean': numpy.mean, 'min': numpy.min, 'max': numpy.max, 'sum': numpy.sum,
              'count': len, 'median': numpy.median, 'first': lambda v: v[0],
              'last': lambda v: v[-1], 'std': lambda v: numpy.std(v, ddof=1)}
    if method.base == 'pct':
        return float(numpy.percentile(values, method.q, method='linear'))
    return float(simple[method.base](values))


def reference_table(timestamps, values, granularity_ns, method_names, points=None):
    """{method: [(bucket ns, value)]} for a sorted unique series."""
    rates = [(t, v - p) for t, v, p in zip(timestamps[1:], values[1:], values[:-1])]
    result = {}
    for name in method_names:
        method = policy_mod.parse_method(name)
        pairs = rates if method.rate else list(zip(timestamps, values))
        buckets = {}
        for t, v in pairs:
            buckets.setdefault(t - t % granularity_ns, []).append(v)
        rows = [(k, reference_value(method, v)) for k, v in sorted(buckets.items())]
        result[name] = [(k, v) for k, v in rows if v is not None]
    if points is not None and len(timestamps):
        newest = max(t - t % granularity_ns for t in timestamps)
        oldest = newest - (points - 1) * granularity_ns
        result = {m: [(k, v) for k, v in rows if k >= oldest] for m, rows in result.items()}
    return result


def assert_table_matches(table, expected):
    for method, rows in expected.items():
        got_ts, got_values = table.series(method)
        assert got_ts.tolist() == [k for k, _ in rows], method
        numpy.testing.assert_allclose(got_values, [v for _, v in rows], rtol=1e-9,
                                      atol=1e-9, err_msg=method)


RICH_METHODS = ['mean', 'min', 'max', 'sum', 'std', 'count', 'median', 'first', 'last',
                '1pct', '10pct', '50pct', '99.9pct', 'rate:mean', 'rate:std', 'rate:first',
                'rate:last', 'rate:count', 'rate:median', 'rate:75pct', 'rate:sum']


def assert_states_equal(a, b):
    numpy.testing.assert_array_equal(a.raw_timestamps, b.raw_timestamps)
    numpy.testing.assert_array_equal(a.raw_values, b.raw_values)
    assert len(a.tables) == len(b.tables)
    for x, y in zip(a.tables, b.tables):
        assert (x.granularity_ns, x.methods) == (y.granularity_ns, y.methods)
        numpy.testing.assert_array_equal(x.timestamps, y.timestamps)
        numpy.testing.assert_array_equal(x.counts, y.counts)
        numpy.testing.assert_array_equal(x.rate_counts, y.rate_counts)
        numpy.testing.assert_array_equal(x.values, y.values)  # NaN equal to NaN
