"""The use_history groupby (telewatch.archive.aggregates.history) against golden cases
(tests/cases/aggregates/history.json: resources' series, their revisions, and runs with
the windows and groups expected, computed by hand from Gnocchi 4.7.1's rule)."""

import fnmatch
import json
import pathlib

import numpy
import pytest

from telewatch.archive import aggregates
from telewatch.archive.aggregates import history

CASE = json.loads((pathlib.Path(__file__).resolve().parents[2] / 'cases' / 'aggregates'
                   / 'history.json').read_text())
S = 10**9


def _ns(text):
    return None if text is None else int(numpy.datetime64(text, 'ns').astype(numpy.int64))


def _revisions(run):
    wanted = run.get('search')
    return [history.Revision(r['resource'], numpy.datetime64(r['start'], 'ns'),
                             None if r['end'] is None else numpy.datetime64(r['end'], 'ns'),
                             tuple(r['key'].items()), r['resource'])
            for r in CASE['revisions'] if wanted is None or r['resource'] in wanted]


def _series(tree):
    """{(reference, aggregation): [Match]} of every resource, as the REST layer loads."""
    result = {}
    for ref, method in aggregates.references(tree):
        result[(ref, method)] = [
            aggregates.Match(resource, name, {
                int(g) * S: (numpy.array([p[0] for p in points], dtype='datetime64[ns]'),
                             numpy.array([p[1] for p in points], dtype=float))
                for g, points in granularities.items()})
            for resource, metrics in sorted(CASE['series'].items())
            for name, granularities in sorted(metrics.items()) if fnmatch.fnmatch(name, ref)]
    return result


def _grouped(run):
    tree = aggregates.parse_operations(run['operations'])
    params = {'granularity': run['granularity'] * S} if 'granularity' in run else {}
    return history.grouped(tree, _revisions(run), _series(tree), _ns(run.get('start')),
                           _ns(run.get('stop')), **params)


@pytest.mark.parametrize('run', CASE['runs'], ids=lambda run: run['description'][:50])
def test_grouped(run):
    if 'error' in run:
        with pytest.raises(getattr(history, run['error'])) as caught:
            _grouped(run)
        assert caught.value.to_dict()['detail'] == ['operations']
        return
    found = [{'group': dict(g.key), 'last': g.last, 'rows': g.rows} for g in _grouped(run)]
    assert [(g['group'], g['last']) for g in found] == [
        (g['group'], g['last']) for g in run['expected']]
    for got, expected in zip(found, run['expected']):
        assert [r[:2] for r in got['rows']] == [r[:2] for r in expected['rows']]
        assert [r[2] for r in got['rows']] == pytest.approx([r[2] for r in expected['rows']])


@pytest.mark.parametrize('run', [r for r in CASE['runs'] if 'windows' in r],
                         ids=lambda run: run['description'][:50])
def test_windows(run):
    spans = history.windows(_revisions(run), _ns(run.get('start')), _ns(run.get('stop')))
    assert [(w.revision.resource_id, w.start, w.stop) for w in spans] == [
        (resource, _ns(start), _ns(stop)) for resource, start, stop in run['windows']]


def test_revision_filter():
    """Gnocchi's filter of the revisions overlapping the span; none without both bounds."""
    assert history.revision_filter('2015-01-01', None) is None
    assert history.revision_filter(None, '2015-01-01') is None
    assert history.revision_filter('a', 'b') == {'and': [
        {'<': {'revision_start': 'b'}},
        {'or': [{'>=': {'revision_end': 'a'}}, {'=': {'revision_end': None}}]}]}


def test_revisions_of_one_resource_starting_together_are_joined():
    """A revision cut to an empty span at the query's start is joined with the next one
    (Gnocchi's join); two resources' spans starting together are not."""
    revisions = [history.Revision('r1', 0, 10, (('k', 'a'),)),
                 history.Revision('r1', 10, None, (('k', 'a'),)),
                 history.Revision('r2', 0, None, (('k', 'a'),))]
    ((key, members),) = history.groups(history.windows(revisions, start=10, stop=50))
    assert key == (('k', 'a'),)
    assert [(w.revision.resource_id, w.start, w.stop) for w in members] == [
        ('r1', 10, 50), ('r2', 10, 50)]


def test_combine_calendar_period_rows_are_not_weighted():
    window = history.Window(history.Revision('r', 0, None, ()), _ns('2024-01-15'), None)
    rows = [['2024-01-01T00:00:00+00:00', 'M', 4.0]]
    assert history.combine([(rows, window), (rows, window)]) == [
        ['2024-01-01T00:00:00+00:00', 'M', 8.0]]
