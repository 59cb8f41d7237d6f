"""The alarm evaluator's source of CloudWatch alarms: a metric alarm reads its metric's
statistic per period through ``telewatch.cloudwatch.mapping`` (a ``Metrics`` alarm its metric
math through ``metric_math``), and a composite alarm weighs the states of the alarms its
AlarmRule names. The shared evaluator calls ``plan`` (through ``alarms.evaluator.sources``),
then ``read`` for the datapoints and, for a composite, ``decide``.
"""

import datetime

import numpy

from telewatch.alarms import evaluation
from telewatch.alarms import rules
from telewatch.alarms.evaluator import sources
from telewatch.archive import errors as archive_errors
from telewatch.cloudwatch import Context
from telewatch.cloudwatch import alarm_rule
from telewatch.cloudwatch import alarm_shapes as shapes
from telewatch.cloudwatch import ec2
from telewatch.cloudwatch import errors
from telewatch.cloudwatch import mapping
from telewatch.cloudwatch import metric_math
from telewatch.cloudwatch import statistics

_NS = 1_000_000_000
SAMPLES = '<samples>'  # the query id of a percentile's sample counts (not a Metrics id)


def plan(alarm, lookup):
    """The evaluator's Plan of a CloudWatch alarm: one leaf (the metric alarm's rule, and
    the archive metrics it watches, so that their aggregation pushes it), or none (a
    composite). InvalidRule when the rule cannot be evaluated."""
    if alarm['type'] == shapes.COMPOSITE:
        alarm_rule.parse(alarm['rule']['AlarmRule'])  # InvalidAlarmRule is a ValueError
        return sources.Plan(alarm, (), reader=read, decide=decide_composite)
    definition = alarm['rule']
    rule = rules.ThresholdRule.from_cloudwatch(
        dict(definition, Period=shapes.alarm_period(definition)))
    watched = _watched(alarm, lookup)
    decide = decide_low_samples if _ignores_low_samples(definition) else None
    return sources.Plan(alarm, (sources.Leaf(rule, alarm['type'], watched),), reader=read,
                        decide=decide)


def _ignores_low_samples(definition):
    return (definition.get('EvaluateLowSampleCountPercentile') == 'ignore'
            and 0 < shapes.percentile(definition.get('ExtendedStatistic', 'p0')) < 100)


def _stats(definition):
    """``[(query id, MetricKey, period, statistic)]`` of a metric alarm's metrics."""
    if 'Metrics' not in definition:
        statistic = definition.get('Statistic') or definition.get('ExtendedStatistic')
        key = mapping.metric_key(definition['Namespace'], definition['MetricName'],
                                 definition.get('Dimensions', []))
        found = [(None, key, definition['Period'], statistic)]
        if _ignores_low_samples(definition):
            found.append((SAMPLES, key, definition['Period'], 'SampleCount'))
        return found
    out = []
    for query in definition['Metrics']:
        if 'MetricStat' in query:
            stat = query['MetricStat']
            metric = stat['Metric']
            out.append((query['Id'], mapping.metric_key(
                metric['Namespace'], metric['MetricName'], metric.get('Dimensions', [])),
                stat['Period'], stat['Stat']))
    return out


def _watched(alarm, lookup):
    """The archive metrics of the alarm's metrics that exist now (those the view of
    AWS/EC2 reads are found at each read, with the tick)."""
    wanted = {}
    for _, key, _, _ in _stats(alarm['rule']):
        for part in (None,) + tuple(mapping.SET_PARTS):
            wanted[mapping.resource_id(alarm['project_id'], key, part)] = key.metric_name
    found = lookup.resources(list(wanted))
    ids = [r.metrics[wanted[rid]] for rid, r in found.items() if wanted[rid] in r.metrics]
    return tuple(lookup.metrics(ids).values())


def read(plans, archive, now, lag=0, recent=None):
    """``{alarm id: [datapoints] or sources.Unreadable}`` of CloudWatch plans: the metrics of
    each project found and read in one batch per period. What a plan found is kept in it
    (``Plan.kept``), and the datapoints of a one-statistic alarm in ``recent`` (a
    reading.Recent) until its metrics are aggregated again."""
    out = {plan.alarm_id: [] for plan in plans if not plan.leaves}
    by_project = {}
    for plan in plans:
        if not plan.leaves:
            continue
        # (a plan that kept nothing is new, or metrics were created since: read it)
        kept = (recent.derived(plan.alarm_id) if recent is not None and plan.kept
                else None)
        if kept is not None:
            out[plan.alarm_id] = kept
        else:
            by_project.setdefault(plan.alarm['project_id'], []).append(plan)
    for project_id, group in by_project.items():
        ctx = Context(project_id, '', '', '', _aware(now), None, archive, None)
        try:
            found = _read_project(ctx, group, now, lag)
        except (archive_errors.ArchiveError, errors.CloudWatchError,
                metric_math.MathError) as exc:
            out.update({plan.alarm_id: sources.Unreadable(str(exc)) for plan in group})
            continue
        out.update(found)
        if recent is not None:
            _keep(group, found, recent)
    return out


def _keep(plans, found, recent):
    """The datapoints of the plans whose every metric was found and that take them as
    they are read (no metric math, whose grid moves with now; no sample count)."""
    for plan in plans:
        stats = plan.kept['stats']
        if (len(stats) == 1 and stats[0][0] is None and plan.metric_ids
                and all(plan.kept['found'].get(key) is not None for _, key, _, _ in stats)):
            recent.keep_derived(plan.alarm_id, plan.metric_ids, found[plan.alarm_id])


def _found(ctx, plans):
    """``{MetricKey: Found}`` of the plans' metrics: kept in each plan once found (a metric
    not found yet is looked for again at the next read)."""
    missing = {}
    for plan in plans:
        kept = plan.kept
        if 'stats' not in kept:
            kept['stats'], kept['found'] = _stats(plan.alarm['rule']), {}
        for _, key, _, _ in kept['stats']:
            if kept['found'].get(key) is None:
                missing.setdefault(key, []).append(kept['found'])
    found = mapping.find_many(ctx, list(missing)) if missing else {}
    for key, holders in missing.items():
        for holder in holders:
            # AWS/EC2's view is found at each read, with the instances the view shows.
            if key.namespace != ec2.NAMESPACE:
                holder[key] = found[key]
    out = {}
    for plan in plans:
        out.update(plan.kept['found'])
    out.update(found)
    return out


def _read_project(ctx, plans, now, lag):
    found = _found(ctx, plans)
    asked = {plan.alarm_id: plan.kept['stats'] for plan in plans}
    since = now - max(p.leaves[0].rule.query_window(lag) for p in plans)
    start = _aware(since)
    tables = {}
    rounds = {}
    for stats in asked.values():
        for _, key, period, stat in stats:
            if found.get(key) is not None:
                rounds.setdefault(period, {}).setdefault(key, set()).add(stat)
    for period, wanted in rounds.items():
        # Periods start on multiples of the period, as the engine places points.
        read = mapping.read(ctx, {key: (found[key], period, sorted(stats), 1)
                                  for key, stats in wanted.items()},
                            _aware(since // period * period), _aware(now), refresh=False)
        tables.update({(key, period): table for key, table in read.items()})
    out = {}
    for plan in plans:
        series = {}
        for query_id, key, period, stat in asked[plan.alarm_id]:
            table = tables.get((key, period))
            series[query_id] = (statistics.column(table, stat) if table is not None
                                else (numpy.empty(0, numpy.int64), numpy.empty(0)))
        rule = plan.leaves[0].rule
        stamps, values = (series[None] if None in series
                          else _math(plan.alarm['rule'], series, rule, start, now))
        out[plan.alarm_id] = [[(int(stamp) / _NS, rule.granularity, float(value))
                               for stamp, value in zip(stamps, values)]]
        if SAMPLES in series:
            out[plan.alarm_id].append(_low_samples(plan.alarm['rule'], stamps,
                                                   series[SAMPLES], rule, now))
    return out


def _low_samples(definition, stamps, samples, rule, now):
    """The sample count of the most recent whole period with data when it is below
    CloudWatch's significance for the percentile (10 / (1 - p)), else None."""
    current = int(now // rule.granularity * rule.granularity * _NS)
    whole = [stamp for stamp in stamps.tolist() if stamp < current]
    if not whole:
        return None
    counts = dict(zip(samples[0].tolist(), samples[1].tolist()))
    count = counts.get(whole[-1], 0.0)
    needed = 10 / (1 - shapes.percentile(definition['ExtendedStatistic']) / 100)
    return count if count < needed else None


def decide_low_samples(plan, datapoints, now, store):
    """EvaluateLowSampleCountPercentile ``ignore``: a percentile over too few samples to
    mean anything leaves the state as it is; otherwise the engine decides."""
    alarm = plan.alarm
    if len(datapoints) > 1 and datapoints[1] is not None:
        return evaluation.Evaluation(alarm['state'], alarm['state'], False,
                                     alarm['state_reason'], alarm.get('reason_data'))
    return evaluation.evaluate(plan.leaves[0].rule, alarm['state'], datapoints[0], now)


def _math(definition, series, rule, start, now):
    """The series of a ``Metrics`` alarm's expression that returns data."""
    span = int(rule.granularity * _NS)
    first = (int(start.timestamp() * _NS) // span) * span
    grid = numpy.arange(first, int(now * _NS), span, dtype=numpy.int64)
    given = {qid: metric_math.Series(stamps, values) for qid, (stamps, values) in series.items()}
    inputs = metric_math.Inputs(dict(given), list(given.values()), grid)
    expressions = {q['Id']: metric_math.parse(q['Expression'])
                   for q in definition['Metrics'] if 'Expression' in q}
    for _ in range(len(expressions)):  # each pass computes those whose inputs are known
        for qid, node in list(expressions.items()):
            if set(metric_math.references(node)) <= set(inputs.series):
                inputs.series[qid] = metric_math.evaluate(node, inputs)
                del expressions[qid]
    returned = next(q['Id'] for q in definition['Metrics'] if q.get('ReturnData', True))
    value = inputs.series.get(returned)
    if not isinstance(value, metric_math.Series):
        raise metric_math.MathError('the expression %s does not give one time series'
                                    % returned)
    return value.timestamps, value.values


def _aware(seconds):
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)


def decide_composite(plan, datapoints, now, store):
    """A composite alarm's Evaluation: ALARM when its AlarmRule holds over the states its
    children have in the store now, OK otherwise."""
    alarm = plan.alarm
    tree = alarm_rule.parse(alarm['rule']['AlarmRule'])
    children = alarm_rule.names(tree)
    found = store.search({'and': [{'=': {'project_id': alarm['project_id']}}, {'in': {
        'alarm_id': [shapes.alarm_id(alarm['project_id'], n) for n in children] or ['']}}]})
    states = {child['name']: shapes.CLOUDWATCH_STATES[child['state']] for child in found}
    state = rules.ALARM if alarm_rule.evaluate(tree, states) else rules.OK
    previous = alarm['state']
    if state == previous:
        return evaluation.Evaluation(state, previous, False, alarm['state_reason'],
                                     alarm.get('reason_data'))
    # The children whose state decides the outcome (flipped, it would change), the most
    # recently changed first: CloudWatch's reason names that one.
    triggering = sorted((child for child in found if alarm_rule.evaluate(
        tree, dict(states, **{child['name']: 'OK' if child['state'] == rules.ALARM
                              else 'ALARM'})) != (state == rules.ALARM)),
        key=lambda child: (child['state_timestamp'], child['name']), reverse=True)
    region = 'RegionOne'
    if triggering:
        reason = '%s transitioned to %s at %s' % (
            shapes.arn(region, alarm['project_id'], triggering[0]['name']),
            shapes.CLOUDWATCH_STATES[triggering[0]['state']],
            _when(triggering[0]['state_timestamp']))
    else:
        reason = 'The alarm rule evaluated to %s' % ('TRUE' if state == rules.ALARM
                                                     else 'FALSE')
    data = {'type': 'composite', 'triggeringAlarms': [
        {'arn': shapes.arn(region, alarm['project_id'], child['name']),
         'state': {'value': shapes.CLOUDWATCH_STATES[child['state']],
                   'timestamp': _when(child['state_timestamp'])}} for child in triggering]}
    return evaluation.Evaluation(state, previous, True, reason[:1023], data)


def _when(moment):
    moment = shapes.aware(moment)
    return moment.strftime('%A %d %B, %Y %H:%M:%S UTC')
