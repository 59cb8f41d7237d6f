"""Runs the golden cases of tests/cases/aggregates through a real Gnocchi's own aggregates
code and prints, run by run, whether Gnocchi gives the expected output or error.

Use the virtualenv of tools/services/gnocchi (it has Gnocchi and its dependencies):

    ~/.cache/telewatch/gnocchi/venv-4.7.1/bin/python tools/aggregates_oracle.py \
        tests/cases/aggregates

Only "evaluate" runs and the several-metric "legacy" runs are checked (Gnocchi's
processor needs no storage for them). A DIFF is either a mistake in a case or one of
telewatch's documented departures (errors Gnocchi raises as 500s, error texts).
"""

import collections
import json
import math
import pathlib
import sys
import warnings

import numpy
from gnocchi import carbonara
from gnocchi import json as gnocchi_json
from gnocchi.rest.aggregates import api as gnocchi_api
from gnocchi.rest.aggregates import exceptions
from gnocchi.rest.aggregates import processor

FILLS = ('null', 'dropna', 'ffill', 'bfill', 'full_ffill', 'full_bfill')


class Reference:
    """What Gnocchi's processor reads of a processor.MetricReference."""

    def __init__(self, lookup, method, resource_id=None, metric_name=None):
        self.name = metric_name if resource_id else lookup
        self.aggregation = method
        self.resource = type('Resource', (), {'id': resource_id})() if resource_id else None
        self.metric = type('Metric', (), {'name': metric_name})()
        self.lookup_key = [lookup, method]


def timeseries(granularity, method, rows):
    return carbonara.AggregatedTimeSerie.from_data(
        carbonara.Aggregation(method, numpy.timedelta64(int(float(granularity) * 1e9), 'ns'),
                              None),
        numpy.array([r[0] for r in rows], dtype='datetime64[ns]'),
        numpy.array([r[1] for r in rows], dtype=float))


def selected(refs_ts, granularity):
    """processor.get_measures' choice of granularities (its errors as Gnocchi's bodies)."""
    by_ref = collections.defaultdict(set)
    for ref, ts in refs_ts:
        by_ref[ref].add(ts.aggregation.granularity)
    if granularity is not None:
        wanted = numpy.timedelta64(int(granularity * 1e9), 'ns')
        missing = [(r.name, r.aggregation, granularity) for r, g in by_ref.items()
                   if wanted not in g]
        if missing:
            raise exceptions.UnAggregableTimeseries(missing, 'Granularities are missing')
        common = {wanted}
    else:
        common = set.intersection(*by_ref.values()) if by_ref else set()
        if not common:
            raise exceptions.UnAggregableTimeseries(
                [(r.name, r.aggregation) for r in by_ref], 'No granularity match')
    return [(r, ts) for r, ts in refs_ts if ts.aggregation.granularity in common]


def gnocchi(operations, refs_ts, params, default_fill='dropna'):
    fill, needed = params.get('fill'), params.get('needed_overlap')
    if fill is None and needed is None:
        fill = params.get('default_fill', default_fill)
    if fill is not None and fill not in FILLS:
        fill = float(fill)
    start = numpy.datetime64(params['start']) if 'start' in params else None
    stop = numpy.datetime64(params['stop']) if 'stop' in params else None
    try:
        result = processor.aggregated(selected(refs_ts, params.get('granularity')),
                                      operations, start, stop,
                                      100.0 if needed is None else needed, fill)
    except exceptions.UnAggregableTimeseries as exc:
        return {'error': gnocchi_json.to_primitive(exc.jsonify())}
    return json.loads(json.dumps(gnocchi_json.to_primitive(result),
                                 default=lambda o: o.item() if hasattr(o, 'item') else str(o)))


def same(got, want):
    if isinstance(want, dict):
        return (isinstance(got, dict) and set(got) == set(want)
                and all(same(got[k], want[k]) for k in want))
    if isinstance(want, list):
        return (isinstance(got, list) and len(got) == len(want)
                and all(same(g, w) for g, w in zip(got, want)))
    if isinstance(want, float) and math.isnan(want):
        return isinstance(got, float) and math.isnan(got)
    if isinstance(want, (int, float)) and isinstance(got, (int, float)):
        return got == want or math.isclose(got, want, rel_tol=1e-12)
    return got == want


def report(number, got, want):
    if same(got, want):
        print('  run %d OK' % number)
    else:
        print('  run %d DIFF\n    gnocchi:   %s\n    telewatch: %s'
              % (number, json.dumps(got)[:800], json.dumps(want)[:800]))


def evaluate_runs(case):
    for number, run in enumerate(case['runs']):
        try:
            operations = gnocchi_api.OperationsSchema(run['operations'])
        except Exception as exc:  # Gnocchi's schema answers through pecan
            report(number, {'refused': str(getattr(exc, 'detail', exc))}, run)
            continue
        wanted = [list(r) for r in gnocchi_api.extract_references(operations)]
        refs_ts = []
        for entry in case['series']:
            if [entry['reference'], entry['aggregation']] not in wanted:
                continue
            for match in entry.get('matches') or [None]:
                ref = (Reference(entry['reference'], entry['aggregation']) if match is None
                       else Reference(entry['reference'], entry['aggregation'],
                                      match['resource_id'], match['metric_name']))
                granularities = (match or entry)['granularities']
                refs_ts.extend((ref, timeseries(g, entry['aggregation'], rows))
                               for g, rows in granularities.items())
        try:
            got = gnocchi(operations, refs_ts, run.get('parameters', {}))
        except Exception as exc:
            got = {'exception': '%s: %s' % (type(exc).__name__, exc)}
        report(number, got, run.get('expected', {'error': run.get('error', {}).get('to_dict')}))


def legacy_runs(case):
    metrics = {m['metric']: m['granularities'] for m in case['series']}
    for number, run in enumerate(case['runs']):
        params = dict(run.get('parameters', {}))
        if len(run['metrics']) < 2 or 'error' in run:
            continue  # one metric is a storage read; errors come from the REST layer
        method = params.pop('aggregation', 'mean')
        inner = ['metric'] + [[m, method] for m in run['metrics']]
        if 'resample' in params:
            inner = ['resample', method,
                     numpy.timedelta64(int(params.pop('resample') * 1e9), 'ns'), inner]
        refs_ts = []
        for metric in run['metrics']:
            ref = Reference(metric, method)
            refs_ts.extend((ref, timeseries(g, method, rows))
                           for g, rows in metrics[metric].items())
        got = gnocchi(['aggregate', params.pop('reaggregation', method), inner], refs_ts,
                      params, default_fill=None)
        report(number, got.get('aggregated', got), run['expected'])


def main(directory):
    warnings.simplefilter('ignore')
    for path in sorted(pathlib.Path(directory).glob('*.json')):
        case = json.loads(path.read_text())
        runner = {'evaluate': evaluate_runs, 'legacy': legacy_runs}.get(case['kind'])
        if runner:
            print(path.name)
            runner(case)


if __name__ == '__main__':
    main(sys.argv[1] if len(sys.argv) > 1 else 'tests/cases/aggregates')
