"""The aggregates language against golden cases (tests/cases/aggregates/*.json, each a set
of series and runs of operations with their expected output or error, computed by hand or
answered by Gnocchi 4.7.1, as its description says), and the contracts the REST layer
relies on: inputs, references, error bodies."""

import datetime
import json
import math
import pathlib
import warnings

import numpy
import pytest

from telewatch.archive import aggregates
from telewatch.archive import errors as archive_errors
from telewatch.archive.aggregates import series as series_mod

CASES = pathlib.Path(__file__).resolve().parents[2] / 'cases' / 'aggregates'
S = 10**9


def _load(kind):
    for path in sorted(CASES.glob('*.json')):
        case = json.loads(path.read_text())
        if case['kind'] == kind:
            for number, run in enumerate(case.get('runs', ())):
                yield pytest.param(case, run, id='%s-%d' % (path.stem, number))


def _series(rows):
    return (numpy.array([r[0] for r in rows], dtype='datetime64[ns]'),
            numpy.array([r[1] for r in rows], dtype=numpy.float64))


def _granularities(spec):
    return {int(float(g) * S): _series(rows) for g, rows in spec.items()}


def _case_series(case):
    result = {}
    for entry in case['series']:
        key = (entry['reference'], entry['aggregation'])
        if 'matches' in entry:
            result[key] = [aggregates.Match(m['resource_id'], m['metric_name'],
                                            _granularities(m['granularities']))
                           for m in entry['matches']]
        else:
            result[key] = _granularities(entry['granularities'])
    return result


def _parameters(spec):
    params = dict(spec)
    for name in ('granularity', 'resample'):
        if name in params and not isinstance(params[name], str):  # else a calendar period
            params[name] = int(params[name] * S)
    for name in ('start', 'stop'):
        if name in params:
            params[name] = numpy.datetime64(params[name], 'ns')
    return params


def _same(got, want, where='$'):
    if isinstance(want, dict):
        assert isinstance(got, dict) and set(got) == set(want), where
        for key in want:
            _same(got[key], want[key], '%s.%s' % (where, key))
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), (where, got, want)
        for index, (g, w) in enumerate(zip(got, want)):
            _same(g, w, '%s[%d]' % (where, index))
    elif isinstance(want, float) and math.isnan(want):
        assert isinstance(got, float) and math.isnan(got), (where, got)
    elif isinstance(want, (int, float)) and not isinstance(want, bool):
        assert type(got) is float, (where, got)
        assert got == want or math.isclose(got, want, rel_tol=1e-12), (where, got, want)
    else:
        assert got == want, (where, got, want)


def _check_error(call, spec):
    with pytest.raises(getattr(aggregates, spec['type'])) as caught:
        call()
    assert isinstance(caught.value, archive_errors.ArchiveError)
    assert caught.value.to_dict() == spec['to_dict']


@pytest.mark.parametrize('case, run', list(_load('evaluate')))
def test_evaluate_golden_case(case, run):
    def call():
        return aggregates.evaluate(run['operations'], _case_series(case),
                                   **_parameters(run.get('parameters', {})))
    if 'error' in run:
        _check_error(call, run['error'])
    else:
        _same(call(), run['expected'])


@pytest.mark.parametrize('case, run', list(_load('legacy')))
def test_legacy_golden_case(case, run):
    metrics = {m['metric']: _granularities(m['granularities']) for m in case['series']}

    def call():
        return aggregates.legacy_aggregation([(m, metrics[m]) for m in run['metrics']],
                                             **_parameters(run.get('parameters', {})))
    if 'error' in run:
        _check_error(call, run['error'])
    else:
        _same(call(), run['expected'])


def _parse_cases(group):
    case = json.loads((CASES / 'parse.json').read_text())
    return [pytest.param(item, id='%s-%d' % (group, i)) for i, item in enumerate(case[group])]


@pytest.mark.parametrize('item', _parse_cases('valid'))
def test_parse_golden_case(item):
    tree = aggregates.parse_operations(item['operations'])
    assert tree.to_list() == item['tree']
    assert aggregates.references(tree) == [tuple(r) for r in item['references']]
    assert aggregates.parse_operations(str(tree)) == tree  # renders back to the same tree


@pytest.mark.parametrize('item', _parse_cases('invalid'))
def test_parse_error_golden_case(item):
    _check_error(lambda: aggregates.parse_operations(item['operations']), item['error'])


# -- contracts the golden cases do not show -------------------------------------------

def _x(values, start=0, step=60):
    stamps = numpy.datetime64('2024-01-01T00:00:00', 'ns') + numpy.arange(
        start, start + step * len(values), step).astype('timedelta64[s]')
    return stamps, numpy.array(values, dtype=numpy.float64)


def test_references_are_unique_in_order_of_appearance():
    tree = aggregates.parse_operations(
        '(+ (metric (b mean) (a max)) (aggregate sum (metric (a max) (c mean) (b mean))))')
    assert aggregates.references(tree) == [('b', 'mean'), ('a', 'max'), ('c', 'mean')]


def test_resample_periods_as_text():
    def resample(period, **kwargs):
        return aggregates.parse_operations(['resample', 'mean', period, ['metric', 'a', 'mean']],
                                           **kwargs)
    for text, seconds in (('90s', 90), ('1.5min', 90), ('2 hours', 7200), ('1d', 86400),
                          ('1w', 604800), ('300', 300), (300, 300), (0.5, 0.5)):
        assert resample(text).granularity == seconds * S, text
    with pytest.raises(aggregates.InvalidOperationsInput):
        resample('1h30m')
    # The REST layer passes pytimeparse.parse for every form Gnocchi accepts.
    assert resample('1h30m', parse_duration={'1h30m': 5400}.get).granularity == 5400 * S
    for period in ('Y', 'H', 'Q', 'M', 'W'):
        assert resample(period).granularity == period


@pytest.mark.parametrize('operations, error', [
    ('(abs ' * 100 + '(metric a mean)' + ')' * 100, aggregates.InvalidOperations),
])
def test_deep_nesting_is_refused_not_a_crash(operations, error):
    with pytest.raises(error) as caught:
        aggregates.parse_operations(operations)
    assert 'nested deeper' in str(caught.value.to_dict())


def test_deep_json_nesting_is_refused_not_a_crash():
    operations = ['metric', 'a', 'mean']
    for _ in range(200):
        operations = ['abs', operations]
    with pytest.raises(aggregates.InvalidOperationsInput) as caught:
        aggregates.parse_operations(operations)
    assert 'nested deeper' in caught.value.reason


def test_input_forms_and_bounds():
    stamps, values = _x([1, 2, 4])
    by_int = {('x', 'mean'): {60 * S: (stamps.view(numpy.int64), values)}}
    by_seconds = {('x', 'mean'): {60 * S: (stamps.astype('datetime64[s]'), values.tolist())}}
    start = datetime.datetime(2024, 1, 1, 1, 1, 30, tzinfo=datetime.timezone(
        datetime.timedelta(hours=1)))  # 00:01:30 UTC, floored to 00:01
    expected = {'x': {'mean': [['2024-01-01T00:01:00+00:00', 60.0, 2.0],
                               ['2024-01-01T00:02:00+00:00', 60.0, 4.0]]}}
    for series in (by_int, by_seconds):
        assert aggregates.evaluate('(metric x mean)', series, start=start,
                                   granularity=numpy.timedelta64(60, 's')) == expected
    stop = int(stamps[2].view(numpy.int64))  # exclusive
    assert aggregates.evaluate('(metric x mean)', by_int, stop=stop)['x']['mean'][-1][2] == 2.0


def test_timestamps_keep_sub_second_precision():
    stamps = numpy.array(['2024-01-01T00:00:00', '2024-01-01T00:00:00.250'],
                         dtype='datetime64[ns]')
    assert aggregates.format_timestamps(stamps.view(numpy.int64)) == [
        '2024-01-01T00:00:00+00:00', '2024-01-01T00:00:00.250000+00:00']


def test_timestamps_are_written_as_numpy_writes_them_to_the_microsecond():
    rng = numpy.random.default_rng(6)
    stamps = numpy.concatenate([[0, 1, 999, 1000, 2 ** 63 - 1], rng.integers(0, 2 ** 63, 2000),
                                rng.integers(0, 2 ** 33, 2000) * 10 ** 9])
    texts = numpy.datetime_as_string(stamps.view('datetime64[ns]').astype('datetime64[us]'))
    assert aggregates.format_timestamps(stamps) == [
        t.removesuffix('.000000') + '+00:00' for t in texts.tolist()]
    assert aggregates.format_timestamps(stamps[:0]) == []


def test_search_columns_go_by_resource_then_reference():
    g = {60 * S: _x([1])}
    match = aggregates.Match
    series = {('mem', 'mean'): [match('r1', 'mem', g), match('r2', 'mem', g)],
              ('cpu*', 'mean'): [match('r2', 'cpu.a', g), match('r1', 'cpu.b', g)]}
    columns = series_mod.columns_of([('mem', 'mean'), ('cpu*', 'mean')], series)
    assert [c.path for c in columns] == [('r1', 'mem', 'mean'), ('r1', 'cpu.b', 'mean'),
                                         ('r2', 'mem', 'mean'), ('r2', 'cpu.a', 'mean')]
    assert [c.lookup for c in columns] == [('mem', 'mean'), ('cpu*', 'mean')] * 2
    assert [c.label for c in columns] == [('mem', 'mean'), ('cpu.b', 'mean'),
                                          ('mem', 'mean'), ('cpu.a', 'mean')]


@pytest.mark.parametrize('fill, expected', [
    ('null', [[1, math.nan], [2, 20], [math.nan, 30], [4, math.nan]]),
    (0, [[1, 0], [2, 20], [0, 30], [4, 0]]),
    # Edge points with nothing to copy stay NaN (then left out of the output).
    ('ffill', [[1, math.nan], [2, 20], [2, 30], [4, 30]]),
    ('bfill', [[1, 20], [2, 20], [4, 30], [4, math.nan]]),
    ('full_ffill', [[1, 20], [2, 20], [2, 30], [4, 30]]),
    ('full_bfill', [[1, 20], [2, 20], [4, 30], [4, 30]]),
])
def test_aligned_puts_the_columns_on_the_union_of_their_timestamps_then_fills(fill, expected):
    def column(name, seconds, values):
        stamps = numpy.array(seconds, dtype=numpy.int64) * S
        return series_mod.Column((name, 'mean'), (name, 'mean'), (name, 'mean'),
                                 {60 * S: (stamps, numpy.array(values, dtype=float))})
    frame = series_mod.aligned([column('a', [0, 60, 180], [1.0, 2.0, 4.0]),
                                column('b', [60, 120], [20.0, 30.0])], 60 * S, fill=fill)
    assert (frame.timestamps // S).tolist() == [0, 60, 120, 180]
    numpy.testing.assert_array_equal(frame.values, expected)


def test_two_wildcards_finding_one_metric_give_its_rows_once():
    g = {60 * S: _x([1, 2])}
    series = {('cpu*', 'mean'): [aggregates.Match('r1', 'cpu', g)],
              ('c*', 'mean'): [aggregates.Match('r1', 'cpu', g)]}
    result = aggregates.evaluate('(metric (cpu* mean) (c* mean))', series)
    assert len(result['r1']['cpu']['mean']) == 2


def test_caller_mistakes_are_not_api_errors():
    series = {('a', 'mean'): {60 * S: _x([1])}}
    with pytest.raises(KeyError):
        aggregates.evaluate('(metric (a mean) (b mean))', series)
    series[('b', 'mean')] = [aggregates.Match('r1', 'b', {60 * S: _x([1])})]
    with pytest.raises(ValueError):
        aggregates.evaluate('(metric (a mean) (b mean))', series)
    with pytest.raises(ValueError):
        aggregates.evaluate('(metric a mean)', {('a', 'mean'): {60 * S: (_x([1])[0], [1, 2])}})


def test_operands_must_pair_their_series():
    series = {('a', 'mean'): {60 * S: _x([1, 2])}, ('b', 'mean'): {60 * S: _x([1, 2])},
              ('c', 'mean'): {60 * S: _x([1, 2])}, ('d', 'mean'): {60 * S: _x([1, 2, 3])}}
    with pytest.raises(aggregates.OperandsMismatch) as caught:
        aggregates.evaluate(
            '(- (metric (a mean) (b mean)) (metric (c mean) (d mean) (a mean)))', series, fill=0)
    assert 'numbers of series' in caught.value.reason
    with pytest.raises(aggregates.OperandsMismatch):
        aggregates.evaluate('(clip (metric a mean) 0 (rateofchange (metric b mean)))', series)


def test_no_warnings_on_missing_or_infinite_values():
    series = {('a', 'mean'): {60 * S: _x([0, 1])}, ('b', 'mean'): {60 * S: _x([5], start=600)}}
    with numpy.errstate(all='raise'):
        with warnings.catch_warnings():
            warnings.simplefilter('error')
            for method in ('mean', 'median', 'std', 'var', 'min', 'max', 'sum', 'count'):
                aggregates.evaluate(
                    '(rolling %s 1 (aggregate %s (/ (metric (a mean) (b mean)) 0)))'
                    % (method, method), series, fill='null')
            for method in ('mean', 'median', 'std', 'min', 'max', 'sum', 'count', 'rate:max'):
                aggregates.evaluate('(resample %s 120 (metric (a mean) (b mean)))' % method,
                                    series, fill='null')


def test_error_bodies():
    error = aggregates.NoSuchAggregationGranularity('m1', 'mean', 42 * S)
    assert error.description == (
        "Aggregation method 'mean' at granularity '42.0' for metric m1 does not exist")
    for error in (aggregates.NoOverlap([['a', 'mean']]),
                  aggregates.InvalidOperations('Expected ...'),
                  aggregates.InvalidParameter('fill', 'Must be a float')):
        assert set(error.to_dict()) == {'cause', 'reason', 'detail'}
        json.dumps(error.to_dict())


def test_legacy_default_needs_full_overlap_and_accepts_a_fill():
    m1 = {60 * S: _x([1, 2, 3])}
    m2 = {60 * S: _x([10, 20], start=60)}
    assert aggregates.legacy_aggregation([('m1', m1), ('m2', m2)], fill='dropna') == [
        ['2024-01-01T00:00:00+00:00', 60.0, 1.0], ['2024-01-01T00:01:00+00:00', 60.0, 6.0],
        ['2024-01-01T00:02:00+00:00', 60.0, 11.5]]
    with pytest.raises(aggregates.NotEnoughOverlap):
        aggregates.legacy_aggregation([('m1', m1), ('m2', m2)], needed_overlap=100,
                                      start=numpy.datetime64('2024-01-01T00:00:00'))


def test_legacy_one_metric_resamples_any_stored_method():
    m1 = {60 * S: _x([1, 2, 3, 4])}
    assert aggregates.legacy_aggregation([('m1', m1)], aggregation='last', granularity=60 * S,
                                         resample=120 * S) == [
        ['2024-01-01T00:00:00+00:00', 120.0, 2.0], ['2024-01-01T00:02:00+00:00', 120.0, 4.0]]


def test_legacy_one_metric_resamples_before_cutting_at_start():
    # As Gnocchi's storage: the 00:02 bucket keeps the points before start (00:02:45).
    m1 = {15 * S: _x([1, 3, 5, 7], start=120, step=15)}
    rows = aggregates.legacy_aggregation([('m1', m1)], granularity=15 * S, resample=60 * S,
                                         start=numpy.datetime64('2024-01-01T00:02:45'))
    assert rows == [['2024-01-01T00:02:00+00:00', 60.0, 4.0]]


@pytest.mark.parametrize('method', ['mean', 'median', 'std', 'var', 'min', 'max'])
def test_a_reference_that_found_no_metric_reads_as_missing(method):
    series = {('a', 'mean'): [aggregates.Match('r1', 'a', {60 * S: _x([1])})],
              ('b*', 'mean'): []}
    result = aggregates.evaluate('(- (metric a mean) (aggregate %s (metric b* mean)))' % method,
                                 series, fill='null')
    assert math.isnan(result['aggregated'][0][2])
    assert aggregates.evaluate('(metric (a mean) (b* mean))', series) == {
        'r1': {'a': {'mean': [['2024-01-01T00:00:00+00:00', 60.0, 1.0]]}}}
