"""GetMetricData: up to 500 queries (MetricStat or metric math Expression) read in one go,
their results by timestamp (ScanBy), MaxDatapoints a page with NextToken.

Every MetricStat is read in one batch through ``mapping.read``; expressions are evaluated
afterwards in the order their references need (``metric_math``). The token is the offset
of the next datapoint in the request's (query, timestamp) order.
"""

import datetime
import re

import numpy

from telewatch.cloudwatch import errors
from telewatch.cloudwatch import mapping
from telewatch.cloudwatch import metric_list
from telewatch.cloudwatch import metric_math
from telewatch.cloudwatch import periods
from telewatch.cloudwatch import statistics as stats_mod

MAX_QUERIES = 500
MAX_DATAPOINTS = 100_800
_ID = re.compile(r'[a-z][a-zA-Z0-9_]*\Z')
_NS = 1_000_000_000


def _check_queries(queries):
    if len(queries) > MAX_QUERIES:
        raise errors.InvalidParameterValue(
            'The collection MetricDataQueries must not have a size greater than %d.'
            % MAX_QUERIES)
    ids = [q['Id'] for q in queries]
    if len(set(ids)) != len(ids):
        raise errors.InvalidParameterValue(
            'The values for parameter id in MetricDataQueries are not unique.')
    for query in queries:
        if not _ID.match(query['Id']):
            raise errors.InvalidParameterValue(
                'Invalid metric id %s: an id starts with a lowercase letter and holds only '
                'letters, digits and underscores.' % query['Id'])
        if ('MetricStat' in query) == ('Expression' in query):
            raise errors.InvalidParameterCombination(
                'Exactly one of MetricStat and Expression must be given in the query %s.'
                % query['Id'])
        stat = query.get('MetricStat', {}).get('Stat')
        if stat is not None and stat not in stats_mod.BASIC:
            _check_stat(stat, query['Id'])
        if 'MetricStat' in query:
            periods.check_period(query['MetricStat']['Period'])


def _check_stat(stat, query_id):
    from telewatch.cloudwatch import metrics
    try:
        metrics.check_percentile(stat, 'Stat')
    except errors.InvalidParameterValue as exc:
        raise errors.InvalidParameterValue('Query %s: %s' % (query_id, exc.message)) from None


def _order(queries, parsed):
    """The queries in an order where each expression follows what it reads."""
    by_id = {q['Id']: q for q in queries}
    stats = [q['Id'] for q in queries if 'MetricStat' in q]
    done, order, visiting = set(stats), list(stats), set()

    def visit(qid):
        if qid in done:
            return
        if qid in visiting:
            raise errors.InvalidParameterValue('Circular dependency in expression %s.' % qid)
        visiting.add(qid)
        wanted = metric_math.references(parsed[qid])
        if metric_math.uses_metrics(parsed[qid]):
            wanted |= set(stats)
        for ref in sorted(wanted):
            if ref not in by_id:
                raise errors.InvalidParameterValue(
                    'Error in expression %s: Unrecognized metric id %s.' % (qid, ref))
            visit(ref)
        done.add(qid)
        order.append(qid)
    for query in queries:
        visit(query['Id'])
    return order


def _parsed(queries):
    out = {}
    for query in queries:
        if 'Expression' in query:
            try:
                out[query['Id']] = metric_math.parse(query['Expression'])
            except metric_math.MathError as exc:
                raise errors.InvalidParameterValue(
                    'Error in expression %s: %s' % (query['Id'], exc)) from None
    return out


def _read_stats(ctx, queries, start, end, finest):
    """{id: Series} of the MetricStat queries."""
    stat_queries = [q for q in queries if 'MetricStat' in q]
    keys = {}
    for query in stat_queries:
        metric = query['MetricStat']['Metric']
        keys[query['Id']] = mapping.metric_key(metric['Namespace'], metric['MetricName'],
                                               metric.get('Dimensions', ()))
    found = mapping.find_many(ctx, set(keys.values()))
    wanted = {}
    for query in stat_queries:
        stat = query['MetricStat']
        hit = found[keys[query['Id']]]
        if hit is not None and stat.get('Unit', hit.unit) == hit.unit:
            wanted[query['Id']] = (hit, stat['Period'], [stat['Stat']], finest)
    tables = mapping.read(ctx, wanted, start, end) if wanted else {}
    out = {}
    for query in stat_queries:
        table = tables.get(query['Id'])
        stamps, values = ((numpy.empty(0, numpy.int64), numpy.empty(0)) if table is None
                          else stats_mod.column(table, query['MetricStat']['Stat']))
        out[query['Id']] = metric_math.Series(stamps, values, _label(query))
    return out


def _label(query):
    if 'Label' in query:
        return query['Label']
    if 'MetricStat' in query:
        return query['MetricStat']['Metric']['MetricName']
    return query['Id']


def _evaluate(queries, parsed, series, start_ns, end_ns):
    by_id = {q['Id']: q for q in queries}
    stats = [series[q['Id']] for q in queries if 'MetricStat' in q]
    smallest = min([q['MetricStat']['Period'] for q in queries if 'MetricStat' in q] or [60])
    for qid in _order(queries, parsed):
        if qid in series:
            continue
        period = by_id[qid].get('Period', smallest)
        grid = numpy.arange(start_ns, end_ns, period * _NS, dtype=numpy.int64)
        try:
            value = metric_math.evaluate(parsed[qid], metric_math.Inputs(series, stats, grid))
        except metric_math.MathError as exc:
            raise errors.InvalidParameterValue(
                'Error in expression %s: %s' % (qid, exc)) from None
        if isinstance(value, list):
            if len(value) != 1:
                raise errors.InvalidParameterValue(
                    'Error in expression %s: it returns %d time series; one is supported '
                    'per query.' % (qid, len(value)))
            value = value[0]
        series[qid] = metric_math.Series(value.timestamps, value.values, _label(by_id[qid]))
    return series


def _moments(stamps, known):
    """Aware datetimes of int64 ns, each made once per request (queries share periods:
    the list of the previous query is reused when its timestamps are the same)."""
    last = known.get('last')
    if last is not None and numpy.array_equal(last[0], stamps):
        return list(last[1])
    seconds = (stamps // _NS).tolist()
    for second in seconds:
        if second not in known:
            known[second] = datetime.datetime.fromtimestamp(second, datetime.timezone.utc)
    out = [known[second] for second in seconds]
    known['last'] = (stamps, out)
    return out


def get_metric_data(ctx, params):
    """GetMetricData (see the module's docstring)."""
    queries = params['MetricDataQueries']
    _check_queries(queries)
    parsed = _parsed(queries)
    smallest = min([q['MetricStat']['Period'] for q in queries if 'MetricStat' in q]
                   + [q['Period'] for q in queries if 'Period' in q] or [60])
    periods.check_range(params['StartTime'], params['EndTime'])
    start = periods.round_start(params['StartTime'], ctx.now, smallest)
    end = params['EndTime']
    finest = periods.finest_granularity(params['StartTime'], ctx.now)
    series = _read_stats(ctx, queries, start, end, finest)
    series = _evaluate(queries, parsed, series, mapping._ns(start), mapping._ns(end))
    return _page(params, queries, series)


def _page(params, queries, series):
    descending = params.get('ScanBy', 'TimestampDescending') == 'TimestampDescending'
    limit = params.get('MaxDatapoints', MAX_DATAPOINTS)
    offset = 0
    if 'NextToken' in params:
        offset = metric_list.decode_token(params['NextToken'])
        if not isinstance(offset, int) or offset < 0:
            raise errors.InvalidNextToken('The service cannot decode the NextToken.')
    results, position, moments = [], 0, {}
    for query in queries:
        if not query.get('ReturnData', True):
            continue
        found = series[query['Id']]
        stamps, values = found.timestamps, found.values
        if descending:
            stamps, values = stamps[::-1], values[::-1]
        first = min(max(offset - position, 0), len(stamps))
        last = min(max(offset + limit - position, 0), len(stamps))
        position += len(stamps)
        results.append({'Id': query['Id'], 'Label': found.label,
                        'Timestamps': _moments(stamps[first:last], moments),
                        'Values': values[first:last].tolist(),
                        'StatusCode': 'PartialData' if last < len(stamps) else 'Complete',
                        'Messages': []})
    out = {'MetricDataResults': results, 'Messages': []}
    if position > offset + limit:
        out['NextToken'] = metric_list.encode_token(offset + limit)
    return out
