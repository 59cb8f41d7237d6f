"""CloudWatch metric alarms on the shared evaluator: evaluations per CPU-second, side by side
with Aodh's ``gnocchi_resources_threshold`` alarms on the very same archive metrics.

Prints one JSON document. N metrics (``--alarms``, 2,000) put with PutMetricData (an hour of
one value a minute each; the embedded default: SQLite index and alarm stores, file series
storage), then in two alarm stores of their own: N CloudWatch alarms (PutMetricAlarm:
``Average`` > 90 over 3 periods of 60 s, 2 of 3) and N Aodh alarms on the same archive
metrics (``mean`` gt 90, 3 periods of 60 s). For each, in this process on one thread, timed
with ``time.process_time``: the evaluator's tick over every alarm, and its pushed pass after a
value was put to every metric and processed. No state changes there.

    PYTHONPATH=. python benchmarks/cloudwatch_alarms.py [--quick] [--alarms N] [--passes N]
"""

import argparse
import datetime
import json
import logging
import os
import platform
import statistics
import sys
import tempfile
import time

from telewatch import service
from telewatch.alarms.evaluator import evaluator as evaluator_mod
from telewatch.alarms.evaluator import partition as partition_mod
from telewatch.alarms.storage import store as alarm_store_mod
from telewatch.archive import store as store_mod
from telewatch.cloudwatch import Context
from telewatch.cloudwatch import alarms as cw_alarms
from telewatch.cloudwatch import mapping
from telewatch.cloudwatch import metrics

PROJECT = 'bench'
HISTORY = 60  # minutes of one value each before the run


def make_conf(data_dir):
    conf = service.prepare_service([])
    conf.set_override('data_dir', data_dir)
    conf.set_override('evaluation_interval', 3600, group='alarms')
    return conf


def context(conf, archive, alarms):
    return Context(PROJECT, 'u', 'AKIA', 'req', datetime.datetime.now(datetime.timezone.utc),
                   conf, archive, alarms)


def dimensions(n):
    return [{'Name': 'Host', 'Value': 'host-%05d' % n}]


def put_values(ctx, count, minutes_ago):
    """One value (50, inside the threshold) per metric per minute of ``minutes_ago``."""
    now = time.time()
    data = [{'MetricName': 'Load', 'Dimensions': dimensions(n), 'Value': 50.0,
             'Timestamp': datetime.datetime.fromtimestamp(
                 (now // 60 - minutes) * 60, datetime.timezone.utc)}
            for minutes in minutes_ago for n in range(count)]
    for start in range(0, len(data), 1000):
        metrics.OPERATIONS['PutMetricData'](ctx, {'Namespace': 'Bench',
                                                  'MetricData': data[start:start + 1000]})
    while ctx.store.process().measures:
        pass


def populate(conf, archive, count):
    """The metrics, and an alarm store of each kind: {kind: AlarmStore}."""
    stores = {}
    for kind in ('cloudwatch', 'aodh'):
        stores[kind] = alarm_store_mod.AlarmStore(
            'sqlite:///%s' % os.path.join(conf.data_dir, kind + '.db'))
        stores[kind].upgrade()
    ctx = context(conf, archive, stores['cloudwatch'])
    put_values(ctx, count, range(HISTORY, 0, -1))
    found = mapping.find_many(ctx, [mapping.metric_key('Bench', 'Load', dimensions(n))
                                    for n in range(count)])
    for n, (key, metric) in enumerate(found.items()):
        cw_alarms.put_metric_alarm(ctx, {
            'AlarmName': 'bench-%05d' % n, 'Namespace': 'Bench', 'MetricName': 'Load',
            'Dimensions': dimensions(n), 'Statistic': 'Average', 'Period': 60,
            'EvaluationPeriods': 3, 'DatapointsToAlarm': 2, 'Threshold': 90.0,
            'ComparisonOperator': 'GreaterThanThreshold'})
        stores['aodh'].create({
            'name': 'bench-%05d' % n, 'type': 'gnocchi_resources_threshold',
            'project_id': PROJECT, 'user_id': 'u', 'state': 'ok', 'rule': {
                'threshold': 90.0, 'comparison_operator': 'gt', 'evaluation_periods': 3,
                'granularity': 60, 'aggregation_method': 'mean', 'metric': 'Load',
                'resource_id': mapping.resource_id(PROJECT, key),
                'resource_type': mapping.RESOURCE_TYPE}})
    return stores


class NoNotifiers:
    """The timed passes change no state: nothing to notify."""

    def start(self):
        pass

    def stop(self):
        pass

    def threads(self):
        return []

    def notify(self, *args):
        pass


def evaluation(conf, archive, alarms, count, passes):
    evaluator = evaluator_mod.AlarmEvaluator(conf, alarms, archive, NoNotifiers(),
                                             partition_mod.Everything())
    ctx = context(conf, archive, alarms)
    try:
        # Values in the last whole periods: setting up thousands of alarms on a busy machine
        # may have taken longer than the alarms look back.
        put_values(ctx, count, [3, 2, 1])
        evaluator.tick()  # plans every alarm (the index reads), a first read, transitions
        evaluator.tick()
        evaluator.counters.clear()
        ticks, pushes = [], []
        for _ in range(passes):
            begin = time.process_time()
            evaluator.tick()
            ticks.append(time.process_time() - begin)
        for _ in range(passes):
            put_values(ctx, count, [0])
            begin = time.process_time()
            while evaluator.feed():
                pass
            pushes.append(time.process_time() - begin)
        assert evaluator.counters['transitions'] == 0, evaluator.counters
        assert not evaluator.counters['unreadable'], evaluator.counters
    finally:
        evaluator.stop()
    return {'alarms': count, 'passes': passes,
            'tick_cpu_s': round(statistics.median(ticks), 3),
            'tick_evaluations_per_cpu_s': round(count / statistics.median(ticks)),
            'push_cpu_s': round(statistics.median(pushes), 3),
            'push_evaluations_per_cpu_s': round(count / statistics.median(pushes)),
            'pushed': evaluator.counters['pushed']}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--alarms', type=int, default=2000)
    parser.add_argument('--passes', type=int, default=3)
    parser.add_argument('--quick', action='store_true', help='200 alarms, one pass')
    args = parser.parse_args(argv)
    if args.quick:
        args.alarms, args.passes = 200, 1
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    report = {'benchmark': 'cloudwatch_alarms', 'python': platform.python_version(),
              'cpus': os.cpu_count(), 'loadavg_before': _loadavg()}
    with tempfile.TemporaryDirectory() as data_dir:
        conf = make_conf(data_dir)
        archive = store_mod.ArchiveStore.from_conf(conf)
        archive.upgrade()
        began = time.time()
        stores = populate(conf, archive, args.alarms)
        report['setup_s'] = round(time.time() - began, 1)
        for kind, alarms in stores.items():
            report[kind] = evaluation(conf, archive, alarms, args.alarms, args.passes)
            alarms.close()
        archive.close()
    report['loadavg_after'] = _loadavg()
    report['side_by_side'] = {
        key: {'cloudwatch': report['cloudwatch'][key], 'aodh': report['aodh'][key]}
        for key in ('tick_evaluations_per_cpu_s', 'push_evaluations_per_cpu_s')}
    print(json.dumps(report, indent=2))
    return 0


def _loadavg():
    with open('/proc/loadavg') as f:
        return f.read().split()[:3]


if __name__ == '__main__':
    sys.exit(main())
