"""The pure cores of the CloudWatch API against their golden cases (tests/cases/cloudwatch)."""

import datetime
import math
import re

import numpy
import pytest
import yaml

from telewatch.cloudwatch import errors
from telewatch.cloudwatch import metric_math
from telewatch.cloudwatch import periods
from telewatch.cloudwatch import statistics
from tests.unit.conftest import CASES

NS = 1_000_000_000


def load(name):
    with open(CASES / 'cloudwatch' / name) as stream:
        return yaml.safe_load(stream)


def when(text):
    return datetime.datetime.fromisoformat(text.replace('Z', '+00:00'))


def series(points, label=''):
    return metric_math.Series.of([int(t) * NS for t, _ in points], [v for _, v in points],
                                 label)


def pairs(result):
    return [[int(t) // NS, float(v)] for t, v in zip(result.timestamps, result.values)]


MATH = load('metric_math.yaml')['cases']


@pytest.mark.parametrize('case', MATH, ids=[c['name'] for c in MATH])
def test_metric_math(case):
    inputs = {k: series(v['points'], v['label']) for k, v in case['inputs'].items()}
    grid = case['grid']
    context = metric_math.Inputs(dict(inputs), list(inputs.values()), numpy.arange(
        grid['start'] * NS, grid['end'] * NS, grid['period'] * NS, dtype=numpy.int64))
    if 'error' in case:
        with pytest.raises(metric_math.MathError, match=re.escape(case['error'])):
            metric_math.evaluate(metric_math.parse(case['expression']), context)
        return
    result = metric_math.evaluate(metric_math.parse(case['expression']), context)
    got = [pairs(s) for s in result] if isinstance(result, list) else [pairs(result)]
    expected = case['expected'] if isinstance(result, list) else [case['expected']]
    assert [[t for t, _ in s] for s in got] == [[t for t, _ in s] for s in expected]
    assert [v for s in got for _, v in s] == pytest.approx([v for s in expected for _, v in s])


PERIODS = load('periods.yaml')


@pytest.mark.parametrize('case', PERIODS['cases'], ids=[c['name'] for c in PERIODS['cases']])
def test_periods(case):
    now = when(PERIODS['now'])
    end = when(case['end']) if 'end' in case else now
    if 'error' in case:
        with pytest.raises(errors.CloudWatchError) as caught:
            periods.plan(when(case['start']), end, now, case['period'])
        assert caught.value.code == case['error']
        return
    rounded, finest = periods.plan(when(case['start']), end, now, case['period'])
    assert (rounded, finest) == (when(case['rounded']), case['finest'])


STATS = load('statistics.yaml')['cases']


def loaded(parts):
    return {method: (numpy.array([t * NS for t, _ in points], numpy.int64),
                     numpy.array([v for _, v in points], float))
            for method, points in parts.items()}


@pytest.mark.parametrize('case', STATS, ids=[c['name'] for c in STATS])
def test_statistics(case):
    parts = {None: loaded(case['values'])}
    parts.update({name: {'x': loaded({'x': points})['x']}
                  for name, points in case.get('sets', {}).items()})
    table = statistics.combine(parts, case['start'] * NS, case['end'] * NS,
                               case['period'] * NS, case['granularity'] * NS)
    got = {int(t) // NS: {k: float(v[i]) for k, v in table.columns.items()}
           for i, t in enumerate(table.timestamps)}
    assert set(got) == set(case['expected'])
    for start, expected in case['expected'].items():
        for stat, value in expected.items():
            if math.isnan(value):
                assert math.isnan(got[start][stat])
            else:
                assert got[start][stat] == pytest.approx(value), (start, stat)
