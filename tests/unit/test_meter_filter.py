import pytest

from telewatch import meter_filter


@pytest.mark.parametrize('patterns, accepted, rejected', [
    (['*'], ['cpu', 'disk.read.bytes'], []),
    (['cpu', 'disk.*'], ['cpu', 'disk.read.bytes'], ['cpu_util', 'memory']),
    (['!disk.*', '!cpu'], ['memory', 'cpu_util'], ['cpu', 'disk.read.bytes']),
    (['*', '!network.*'], ['cpu'], ['network.incoming.bytes']),
    (['*.rate'], ['disk.read.bytes.rate'], ['disk.read.bytes']),
])
def test_matching(patterns, accepted, rejected):
    assert meter_filter.check(patterns) == []
    selected = meter_filter.MeterFilter(patterns)
    assert [name for name in accepted + rejected if selected(name)] == accepted


@pytest.mark.parametrize('patterns, problem', [
    ([], 'no meters specified'),
    ('cpu', 'expected a list of meter names or patterns'),
    (['cpu', '!disk'], 'cannot mix included and excluded meters (include cpu; exclude !disk)'),
    (['*', 'cpu'], "'*' already selects every meter; remove the other included meters (cpu)"),
    (['!'], "entry 0: expected a meter name or pattern, got '!'"),
    ([3], 'entry 0: expected a meter name or pattern, got 3'),
])
def test_invalid_lists(patterns, problem):
    assert meter_filter.check(patterns) == [problem]


def test_explicit_names_exclude_patterns():
    assert meter_filter.MeterFilter(['cpu', 'disk.*', 'mem?']).explicit_names == ['cpu']
