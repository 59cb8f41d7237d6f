"""Archive policies: definition items (any two of granularity, points, timespan, or a
granularity alone), the back window, and aggregation methods with Gnocchi's ``+``/``-``/``*``
rules."""

import datetime

import numpy
import pytest

from telewatch.archive import errors
from telewatch.archive import policy as policy_mod

S = 10**9
DEFAULT = {'mean', 'min', 'max', 'sum', 'std', 'count'}


def policy(definition, methods=None, back_window=0, name='p'):
    return policy_mod.ArchivePolicy(name, back_window, methods, definition)


def invalid(*args, **kwargs):
    with pytest.raises(errors.InvalidArchivePolicy) as caught:
        policy(*args, **kwargs)
    return caught.value


@pytest.mark.parametrize('spec, granularity, points', [
    ({'granularity': 60, 'points': 1440}, 60, 1440),
    ({'granularity': 300, 'timespan': 30 * 86400}, 300, 8640),
    ({'points': 24, 'timespan': 86400}, 3600, 24),
    ({'granularity': 60, 'points': 60, 'timespan': 3600}, 60, 60),
    ({'granularity': 0.5, 'points': 10}, 0.5, 10),
    ({'points': 1000, 'timespan': 86400}, 86.4, 1000),
    ({'granularity': datetime.timedelta(minutes=5), 'timespan': numpy.timedelta64(1, 'h')},
     300, 12),
    ({'granularity': 60, 'points': 5, 'timespan': None}, 60, 5),
])
def test_any_two_determine_the_third(spec, granularity, points):
    item = policy([spec]).definition[0]
    assert item.granularity == granularity and item.points == points
    assert item.timespan_ns == item.granularity_ns * points
    assert item.to_dict() == {'granularity': granularity, 'points': points,
                              'timespan': granularity * points}


@pytest.mark.parametrize('spec', [
    {'granularity': 60}, {'granularity': 60, 'points': None, 'timespan': None},
    {'granularity': numpy.timedelta64(1, 'm'), 'timespan': None},
])
def test_a_granularity_alone_keeps_every_point(spec):
    item = policy([spec]).definition[0]
    assert (item.granularity_ns, item.points, item.timespan_ns) == (60 * S, None, None)
    assert item.to_dict() == {'granularity': 60.0, 'points': None, 'timespan': None}


def test_a_policy_mixes_bounded_and_unbounded_items():
    p = policy([{'granularity': 1, 'points': 20}, {'granularity': 2}])
    assert p.granularities == (S, 2 * S)
    assert (p.points_of(S), p.points_of(2 * S)) == (20, None)
    assert p.to_dict()['definition'] == [
        {'granularity': 1.0, 'points': 20, 'timespan': 20.0},
        {'granularity': 2.0, 'points': None, 'timespan': None}]
    # What the index stores reads back as the same policy.
    assert policy(p.to_dict()['definition']) == p
    assert invalid([{'granularity': 2}, {'granularity': 2, 'points': 3}]).field == \
        'definition[1].granularity'


@pytest.mark.parametrize('spec, field, reason', [
    ({'granularity': 0, 'points': 10}, 'granularity', 'must be > 0'),
    ({'granularity': -60, 'points': 10}, 'granularity', 'must be > 0'),
    ({'granularity': 60, 'points': 0}, 'points', 'must be > 0'),
    ({'granularity': 60, 'points': 1.5}, 'points', 'not a whole number: 1.5'),
    ({'granularity': 60, 'points': True}, 'points', 'not a whole number: True'),
    ({'granularity': 60, 'timespan': 0}, 'timespan', 'must be > 0'),
    ({'granularity': 60, 'timespan': 30}, 'timespan',
     'timespan must be at least the granularity'),
    ({'granularity': 60, 'points': 10, 'timespan': 3600}, 'timespan',
     'timespan ≠ granularity × points'),
    ({'points': 7, 'timespan': 1e-8}, 'timespan',
     'timespan / points is not a whole number of nanoseconds'),
    ({'points': 60}, 'granularity',
     'At least two of granularity/points/timespan must be provided'),
    ({'timespan': 60}, 'granularity',
     'At least two of granularity/points/timespan must be provided'),
    ({'points': None, 'timespan': None}, 'granularity',
     'At least two of granularity/points/timespan must be provided'),
    ({'granularity': '5 minutes', 'points': 3}, 'granularity',
     "not a duration: '5 minutes'"),
    ({'granularity': 60, 'points': 3, 'retention': 1}, 'retention', 'unknown key'),
])
def test_definition_errors_name_the_field(spec, field, reason):
    error = invalid([spec])
    assert (error.field, error.reason) == ('definition[0].' + field, reason)
    assert error.to_dict() == {'cause': 'Invalid archive policy',
                               'detail': [{'field': error.field, 'reason': reason}]}


def test_every_error_is_reported_at_once():
    error = invalid([{'granularity': 60, 'points': 1}, {'granularity': 60, 'points': 2},
                     {'granularity': -1, 'points': 0}, 'x'],
                    methods=['mean', 'avg', '+p100'], back_window=-1, name='')
    assert [f for f, _ in error.errors] == [
        'name', 'back_window', 'aggregation_methods[1]', 'aggregation_methods[2]',
        'definition[1].granularity', 'definition[2].granularity', 'definition[2].points',
        'definition[3]']
    assert "More than one archive policy uses granularity `60.0'" in str(error)


def test_a_timespan_keeps_the_whole_points_that_fit_it():
    item, = policy_mod.ArchivePolicy('p', 0, None, [
        {'granularity': 7, 'timespan': 3600}]).definition
    assert (item.points, item.timespan) == (514, 3598)  # Gnocchi's


@pytest.mark.parametrize('definition', [[], None, 'granularity: 60', {'granularity': 60}])
def test_definition_must_be_a_non_empty_list(definition):
    assert invalid(definition).field == 'definition'


@pytest.mark.parametrize('back_window', [-1, 1.5, True, '1'])
def test_back_window_is_a_whole_number(back_window):
    assert invalid([{'granularity': 1, 'points': 1}], back_window=back_window).field == \
        'back_window'


@pytest.mark.parametrize('entries, expected', [
    (None, DEFAULT),
    ([], DEFAULT),  # Gnocchi: all() of nothing is true, so the default set
    (['+median'], DEFAULT | {'median'}),
    (['-std', '+p95', '-count'], {'mean', 'min', 'max', 'sum', '95pct'}),
    (['mean', '+max', '-min'], {'mean', 'max'}),
    (['mean', 'max', '-mean'], {'max'}),
    (['p99.9', '99.9pct', 'p5', '05pct', 'rate:p50'], {'99.9pct', '5pct', 'rate:50pct'}),
    (['rate:mean', '+rate:last'], {'rate:mean', 'rate:last'}),
    (['last'], {'last'}),
])
def test_aggregation_methods_are_normalised(entries, expected):
    assert policy([{'granularity': 1, 'points': 1}], entries).aggregation_methods == expected


def test_star_is_every_gnocchi_method():
    everything = policy([{'granularity': 1, 'points': 1}], ['*']).aggregation_methods
    assert len(everything) == 2 * (9 + 99)
    assert {'median', '1pct', '99pct', 'rate:first', 'rate:42pct'} <= everything
    edited = policy([{'granularity': 1, 'points': 1}], ['*', '-rate:std', 'p99.9'])
    assert edited.aggregation_methods == everything - {'rate:std'} | {'99.9pct'}


@pytest.mark.parametrize('bad', ['avg', 'p0', 'p100', '100pct', '0pct', 'p99.99999',
                                 'rate:rate:mean', 'rate:', '+', '+*', '', 'Mean', 3])
def test_unknown_methods_are_refused(bad):
    error = invalid([{'granularity': 1, 'points': 1}], ['mean', bad])
    assert error.field == 'aggregation_methods[1]'


def test_methods_must_be_a_list_and_not_all_removed():
    assert invalid([{'granularity': 1, 'points': 1}], 'mean').field == 'aggregation_methods'
    error = invalid([{'granularity': 1, 'points': 1}], ['-' + m for m in sorted(DEFAULT)])
    assert error.reason == 'no aggregation method left'


def test_parse_method():
    assert policy_mod.parse_method('rate:p99.9') == policy_mod.Method(
        'rate:99.9pct', 'pct', True, 99.9)
    assert policy_mod.parse_method('std').min_count == 2
    with pytest.raises(errors.UnknownAggregationMethod) as caught:
        policy_mod.parse_method('var')
    assert caught.value.to_dict() == {'cause': 'Unknown aggregation method', 'detail': 'var'}


def test_derived_attributes():
    p = policy([{'granularity': 3600, 'points': 24}, {'granularity': 60, 'points': 60}],
               ['rate:mean', 'max'], back_window=2)
    assert p.granularities == (60 * S, 3600 * S)
    assert p.max_granularity_ns == 3600 * S
    assert p.methods == ('max', 'rate:mean')
    assert p.has_rate and p.effective_back_window == 3
    assert p.points_of(60 * S) == 60 and p.item(3600).points == 24
    assert p.to_dict() == {
        'name': 'p', 'back_window': 2, 'aggregation_methods': ['max', 'rate:mean'],
        'definition': [{'granularity': 3600.0, 'points': 24, 'timespan': 86400.0},
                       {'granularity': 60.0, 'points': 60, 'timespan': 3600.0}]}
    assert p == policy([{'granularity': 3600, 'timespan': 86400},
                        {'granularity': 60, 'points': 60}], ['max', 'rate:mean'], 2)


def test_all_in_one_policies_add_a_day_of_minutes_to_the_five_minute_ones():
    builtin = policy_mod.builtin_policies()
    minutes = policy_mod.all_in_one_policies()
    assert set(minutes) == set(builtin)
    for name in ('low', 'ceilometer-low', 'ceilometer-low-rate'):
        assert [i.to_dict() for i in minutes[name].definition] == [
            {'granularity': 60.0, 'points': 1440, 'timespan': 86400.0},
            {'granularity': 300.0, 'points': 8640, 'timespan': 30 * 86400.0}], name
        assert minutes[name].aggregation_methods == builtin[name].aggregation_methods
        assert minutes[name].back_window == builtin[name].back_window
    for name in set(builtin) - {'low', 'ceilometer-low', 'ceilometer-low-rate'}:
        assert minutes[name] == builtin[name], name
    assert [i.granularity for i in builtin['ceilometer-low'].definition] == [300.0]


def test_builtin_policies_are_gnocchis_and_ceilometers():
    builtin = policy_mod.builtin_policies()
    assert builtin['low'].definition[0].points == 8640
    assert builtin['low'].aggregation_methods == DEFAULT
    assert [i.points for i in builtin['high'].definition] == [3600, 10080, 8760]
    assert (builtin['bool'].back_window, builtin['bool'].methods) == (3600, ('last',))
    assert builtin['ceilometer-low-rate'].methods == ('mean', 'rate:mean')
    assert [i.points for i in builtin['ceilometer-high'].definition] == [3600, 1440, 8760]
