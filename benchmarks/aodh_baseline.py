"""Aodh 23's evaluator and notifier on the real Gnocchi: the ``--baseline aodh`` half of
benchmarks/alarms.py (Aodh from ``tools/services/aodh``, Gnocchi from ``tools/services/gnocchi``).

What it does, in order (every step is timed and reported):

1. Gnocchi: an archive policy of the granularity (``mean``), the metrics (as resources of 100
   metrics each: Gnocchi has no bulk metric create), one measure of 50 per metric.
2. Aodh: ``gnocchi_aggregation_by_metrics_threshold`` alarms (alarm i watches metric
   i mod metrics; ``mean > 100`` over one period), the first ``api_alarms`` through Aodh's
   API (a POST each: Aodh checks each rule against Gnocchi), the rest in bulk: one ``COPY``
   into Aodh's ``alarm`` table, rows exactly as its API stores them. The first
   ``latency_sample`` alarms call a local webhook (alarm_actions) through aodh-notifier.
3. aodh-evaluator (restarted by this script with ``evaluation_interval`` and
   ``additional_ingestion_lag``; the lag keeps the one old measure in every alarm's query
   window, so no feed runs during the measurement): its first cycle (every alarm leaves
   ``insufficient data``), then a steady cycle. Aodh stamps ``evaluate_timestamp`` just before
   it evaluates an alarm (a transition dates its history row instead), so a cycle spans the
   first to the last stamp; evaluations per second
   = (alarms - 1) / that span, per CPU-second = the same over the user + system CPU of the
   evaluator's processes (cotyledon master and worker, psutil, sampled every 0.2 s and
   interpolated at the stamps). Gnocchi's API CPU in the same window is reported beside it
   (Aodh reads every alarm's data over HTTP; Gnocchi is shared, so other load counts there).
4. Latency: a breaching measure (10,000) written in one batch to the sampled alarms' metrics;
   the time to each alarm's webhook call (evaluator -> RabbitMQ -> aodh-notifier -> HTTP),
   and the time until Gnocchi served it aggregated (one metric polled every 0.2 s).
5. Teardown: the alarms (their history with them), the Gnocchi resources and policy; the Aodh
   daemons this run started are stopped, an evaluator that ran before is started again as it
   was (Aodh's defaults).

    python benchmarks/aodh_baseline.py --alarms 1000 [--metrics N] [--granularity S]
                                       [--evaluation-interval S] [--latency-sample N]
"""

import argparse
import contextlib
import datetime
import fcntl
import glob
import json
import os
import subprocess
import sys
import time
import uuid

import requests

try:
    from benchmarks import alarm_probes as probes
except ImportError:  # run as a script: benchmarks/ is sys.path[0]
    import alarm_probes as probes

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(os.path.dirname(HERE), 'tools', 'services', 'aodh')
RUN_DIR = os.environ.get('TELEWATCH_SERVICES_RUN', '/run/telewatch-services')
AODH = 'http://127.0.0.1:8042'
GNOCCHI = 'http://127.0.0.1:8051'
GNOCCHI_HEADERS = {'Authorization': 'basic YWRtaW46'}  # gnocchi-basic, user admin
PSQL = ['psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-tA', '-h', '127.0.0.1', '-p', '5433',
        '-U', 'telewatch', '-d', 'aodh']
BREACH = 10000.0
# The size is 10,000 alarms over 10,000 metrics; Aodh is run smaller by default.
TARGET_ALARMS = 10000
DEFAULT_ALARMS = 2000
SIZE_NOTE = (
    'Aodh 23 evaluated about 9-12 alarms/s here (2 cores, load average 9-12, Gnocchi shared): '
    'one cycle over 10,000 alarms takes 15-19 minutes, so a 10,000-alarm run (first cycle, '
    'steady cycle, then up to two more cycles for the webhook latency) takes about an hour. '
    'The default is %d alarms: evaluations per CPU-second are per evaluation and compare as '
    'they are; evaluations/s is the cycle rate; write-to-webhook latency grows with the cycle '
    'length, i.e. about 5x longer cycles at 10,000 (run with alarms=10000 to measure it).'
    % DEFAULT_ALARMS)
TYPE = 'gnocchi_aggregation_by_metrics_threshold'


def _request(method, url, headers, **kwargs):
    response = requests.request(method, url, headers=headers, timeout=300, **kwargs)
    if response.status_code >= 400:
        raise RuntimeError('%s %s: %d %s' % (method, url, response.status_code,
                                             response.text[:300]))
    return response


def _gnocchi(method, path, **kwargs):
    return _request(method, GNOCCHI + path, GNOCCHI_HEADERS, **kwargs)


def _aodh(method, path, project, **kwargs):
    headers = {'X-User-Id': project, 'X-Project-Id': project, 'X-Roles': 'admin'}
    return _request(method, AODH + path, headers, **kwargs)


def _psql(sql, stdin=None):
    return subprocess.run(PSQL + ['-c', sql], input=stdin, text=True, check=True,
                          capture_output=True).stdout.strip()


def _service(action, names, env=None):
    subprocess.run([SCRIPT, action] + names, check=True, env=dict(os.environ, **(env or {})),
                   stdout=subprocess.DEVNULL)


def _version():
    """The aodh==... line the install script recorded (it also names the venv)."""
    cache = os.environ.get('TELEWATCH_CACHE', os.path.expanduser('~/.cache/telewatch'))
    for path in sorted(glob.glob(os.path.join(cache, 'aodh', 'venv-*', 'complete'))):
        with open(path) as f:
            lines = f.read().splitlines()[1:]  # the first is the requirements
        return next((line for line in lines if line.startswith('aodh==')), None)


def _pid(name):
    try:
        with open(os.path.join(RUN_DIR, name + '.pid')) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def _running(name):
    return subprocess.run([SCRIPT, 'status', name], stdout=subprocess.DEVNULL).returncode == 0


def _create_metrics(project, policy, count):
    ids = []
    for start in range(0, count, 100):
        metrics = {'m%d' % i: {'archive_policy_name': policy}
                   for i in range(start, min(count, start + 100))}
        body = _gnocchi('POST', '/v1/resource/generic', json={
            'id': str(uuid.uuid4()), 'project_id': project, 'metrics': metrics}).json()
        ids.extend(body['metrics']['m%d' % i] for i in range(start, start + len(metrics)))
    return ids


def _write(metric_ids, value, stamp):
    ids = list(metric_ids)
    for start in range(0, len(ids), 5000):
        _gnocchi('POST', '/v1/batch/metrics/measures', json={
            m: [{'timestamp': stamp.isoformat(), 'value': value}]
            for m in ids[start:start + 5000]})


def _wait_gnocchi(deadline=300):
    """Until Gnocchi has no measure left to process (it is shared: capped at deadline)."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        status = _gnocchi('GET', '/v1/status?details=False').json()
        if not status['storage']['summary']['measures']:
            return True
        time.sleep(0.2)
    return False


def _rule(metric, granularity):
    return {'granularity': granularity, 'comparison_operator': 'gt', 'threshold': 100.0,
            'aggregation_method': 'mean', 'evaluation_periods': 1, 'metrics': [metric]}


def _create_alarms_api(project, metric_ids, granularity, hook_url, count, sample):
    ids = []
    begin = time.perf_counter()
    for i in range(count):
        body = {'name': 'aodh-bench-%d' % i, 'type': TYPE,
                TYPE + '_rule': _rule(metric_ids[i % len(metric_ids)], granularity),
                'alarm_actions': ['%s/%d' % (hook_url, i)] if i < sample else []}
        ids.append(_aodh('POST', '/v2/alarms', project, json=body).json()['alarm_id'])
    return ids, time.perf_counter() - begin


def _create_alarms_bulk(project, metric_ids, granularity, first, count):
    """COPY into Aodh's alarm table, each row as Aodh's API writes it (see the module doc).

    evaluate_timestamp too: the evaluator selects `evaluate_timestamp < now - interval / 2`,
    which a NULL never is (Aodh's API sets it at creation).
    """
    now = datetime.datetime.utcnow().isoformat(' ')
    lines = []
    for i in range(first, first + count):
        rule = json.dumps(_rule(metric_ids[i % len(metric_ids)], granularity))
        row = [str(uuid.uuid4()), 't', 'aodh-bench-%d' % i, TYPE, 'low', 'bulk', now,
               project, project, 'insufficient data', 'Not evaluated yet', now, '[]', '[]',
               '[]', 'f', rule, '[]', now]
        lines.append('\t'.join(row))
    begin = time.perf_counter()
    _psql("copy alarm (alarm_id, enabled, name, type, severity, description, timestamp, "
          "user_id, project_id, state, state_reason, state_timestamp, ok_actions, "
          "alarm_actions, insufficient_data_actions, repeat_actions, rule, time_constraints, "
          "evaluate_timestamp) "
          "from stdin", stdin='\n'.join(lines).replace('\\', '\\\\') + '\n')
    return time.perf_counter() - begin


def _cycle(project, since, alarms, timeout):
    """(first, last) time of evaluation once every alarm was evaluated after since.

    Aodh stamps evaluate_timestamp before it evaluates an alarm, but a state transition
    writes the whole alarm back as it was loaded (old evaluate_timestamp and state_timestamp
    included) and dates only its `state transition` history row.
    """
    stamp = ("greatest(a.evaluate_timestamp, (select max(h.timestamp) from alarm_history h "
             "where h.alarm_id = a.alarm_id and h.type = 'state transition'))")
    sql = ("select count(*), extract(epoch from min(t)), extract(epoch from max(t)) from "
           "(select %s t from alarm a where a.project_id = '%s') s "
           "where t > to_timestamp(%f) at time zone 'UTC'" % (stamp, project, since))
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        count, first, last = _psql(sql).split('|')
        if int(count) >= alarms:
            return float(first), float(last)
        time.sleep(1)
    raise RuntimeError('aodh-evaluator did not evaluate all %d alarms within %d s (%s '
                       'done)' % (alarms, timeout, count))


def _figures(sampler, first, last, alarms):
    span = last - first
    cpu = sampler.at(last, 1) - sampler.at(first, 1)
    gnocchi = sampler.at(last, 2) - sampler.at(first, 2)
    return {'cycle_seconds': round(span * alarms / max(1, alarms - 1), 2),
            'evaluations_per_s': round((alarms - 1) / span, 1) if span else None,
            'evaluator_cpu_seconds': round(cpu, 2),
            'evaluations_per_cpu_second': round((alarms - 1) / cpu, 1) if cpu else None,
            'gnocchi_api_cpu_seconds': round(gnocchi, 2),
            'evaluations_per_cpu_second_with_gnocchi_api':
                round((alarms - 1) / (cpu + gnocchi), 1) if cpu + gnocchi else None}


def _states(project):
    rows = _psql("select state, count(*) from alarm where project_id = '%s' group by state"
                 % project)
    return dict((s, int(n)) for s, n in (r.split('|') for r in rows.splitlines() if r))


def _breached(metric_id):
    """True once Gnocchi serves the breaching measure in metric_id's latest point."""
    points = _gnocchi('GET', '/v1/metric/%s/measures?refresh=false' % metric_id).json()
    return bool(points) and points[-1][2] > 100


def _latency(hook, alarm_ids, metric_ids, timeout):
    """A breaching measure on each sampled alarm's metric, then the time to its webhook."""
    metrics = {metric_ids[i % len(metric_ids)] for i in range(len(alarm_ids))}
    written = time.time()
    _write(metrics, BREACH, datetime.datetime.utcnow())
    end = time.monotonic() + timeout
    aggregated = None
    while time.monotonic() < end and len(hook.received) < len(alarm_ids):
        if aggregated is None and _breached(metric_ids[0]):
            aggregated = time.time() - written
        time.sleep(0.2)
    latencies = [hook.received[a] - written for a in alarm_ids if a in hook.received]
    result = {'sample': len(alarm_ids), 'received': len(latencies), 'timeout_s': timeout,
              'gnocchi_aggregated_s': aggregated and round(aggregated, 2)}
    if latencies:
        result.update({'p50_s': round(probes.percentile(latencies, 50), 2),
                       'p99_s': round(probes.percentile(latencies, 99), 2),
                       'max_s': round(max(latencies), 2)})
    return result


def _teardown(project, was_running):
    """Removes what the run made; returns what it had to leave."""
    _service('stop', ['evaluator'])
    _psql("delete from alarm where project_id = '%s'" % project)  # history cascades
    _gnocchi('DELETE', '/v1/resource/generic', json={'=': {'project_id': project}})
    left = []
    policies = [p['name'] for p in _gnocchi('GET', '/v1/archive_policy').json()]
    for name in [p for p in policies if p.startswith('aodh-bench-')]:
        try:  # this run's and earlier runs': in use until metricd expunges their metrics
            _gnocchi('DELETE', '/v1/archive_policy/' + name)
        except RuntimeError:
            left.append(name)
    stop = [name for name in ('api', 'notifier') if not was_running[name]]
    if stop:
        _service('stop', stop)
    if was_running['evaluator']:
        _service('start', ['evaluator'])
    return {'archive_policies_left': left,
            'note': 'Gnocchi refuses to delete a policy until metricd has expunged the '
                    'deleted metrics (minutes); the next run deletes what is left'}


def _setup(project, policy, alarms, metrics, granularity, api_alarms, sample, hook):
    report = {}
    _gnocchi('POST', '/v1/archive_policy', json={
        'name': policy, 'back_window': 0, 'aggregation_methods': ['mean'],
        'definition': [{'granularity': granularity, 'points': 1000}]})
    begin = time.perf_counter()
    metric_ids = _create_metrics(project, policy, metrics)
    report['gnocchi_metrics_create_s'] = round(time.perf_counter() - begin, 2)
    begin = time.perf_counter()
    _write(metric_ids, 50.0, datetime.datetime.utcnow() - datetime.timedelta(seconds=granularity))
    report['gnocchi_all_processed'] = _wait_gnocchi()
    report['gnocchi_measures_processed_s'] = round(time.perf_counter() - begin, 2)
    api_count = min(alarms, max(api_alarms, sample))
    sampled, seconds = _create_alarms_api(project, metric_ids, granularity, hook.url,
                                          api_count, sample)
    report['alarms_through_api'] = api_count
    report['api_alarm_creates_per_s'] = round(api_count / seconds, 1)
    report['alarms_bulk_copied'] = alarms - api_count
    report['bulk_copy_s'] = round(_create_alarms_bulk(project, metric_ids, granularity,
                                                      api_count, alarms - api_count), 2)
    # The evaluator takes alarms whose evaluate_timestamp is older than half its interval:
    # dated back, every alarm is in its first cycle. It goes through them newest `timestamp`
    # (definition time) first: shuffled back within an hour, the sampled alarms (made
    # first, through the API) are anywhere in a cycle rather than all at its end.
    _psql("update alarm set evaluate_timestamp = evaluate_timestamp - interval '1 day', "
          "timestamp = timestamp - random() * interval '1 hour' where project_id = '%s'"
          % project)
    return metric_ids, sampled[:sample], report


def _evaluate(project, alarms, interval, lag, timeout):
    """Restarts aodh-evaluator with interval and lag; its first and a steady cycle."""
    _service('stop', ['evaluator'])
    started = time.time()
    _service('start', ['evaluator'], env={'TELEWATCH_AODH_EVALUATION_INTERVAL': str(interval),
                                          'TELEWATCH_AODH_INGESTION_LAG': str(lag)})
    sampler = probes.CpuSampler(_pid('aodh-evaluator'), _pid('gnocchi-api'))
    sampler.start()
    try:
        first, last = _cycle(project, started - 1, alarms, timeout)
        result = {'first_cycle': dict(_figures(sampler, first, last, alarms),
                                      states_after=_states(project))}
        first, last = _cycle(project, last, alarms, timeout + interval)
        result['steady_cycle'] = _figures(sampler, first, last, alarms)
    finally:
        sampler.stopped.set()
    return result


@contextlib.contextmanager
def _exclusive():
    """One run at a time on this machine: a run restarts the one aodh-evaluator, which
    evaluates every project's alarms, so two runs would measure and stop each other's."""
    os.makedirs(RUN_DIR, exist_ok=True)
    with open(os.path.join(RUN_DIR, 'aodh-baseline.lock'), 'w') as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print('aodh_baseline: waiting for another run to finish', file=sys.stderr)
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def run(alarms=DEFAULT_ALARMS, metrics=None, granularity=60, evaluation_interval=60,
        latency_sample=50, api_alarms=200, ingestion_lag=3600):
    """Aodh 23 on the real Gnocchi: creates, measures, tears down; returns a dict.

    metrics defaults to as many as alarms. Runs one at a time (see _exclusive).
    """
    with _exclusive():
        return _run(alarms, metrics or alarms, granularity, evaluation_interval,
                    latency_sample, api_alarms, ingestion_lag)


def _run(alarms, metrics, granularity, evaluation_interval, latency_sample, api_alarms,
         ingestion_lag):
    project = 'aodh-bench-%s' % uuid.uuid4().hex[:8]
    was_running = {name: _running(name) for name in ('api', 'evaluator', 'notifier')}
    _service('start', ['api', 'notifier'])
    hook = probes.Webhook()
    report = {'aodh': _version(),
              'alarms': alarms, 'metrics': metrics, 'granularity_s': granularity,
              'evaluation_interval_s': evaluation_interval,
              'additional_ingestion_lag_s': ingestion_lag, 'alarm_type': TYPE,
              'rule': 'mean > 100 over 1 period (evaluation_periods 1)',
              'cpus': os.cpu_count(), 'loadavg_before': probes.loadavg()}
    if alarms < TARGET_ALARMS:
        report['size_note'] = SIZE_NOTE
    try:
        metric_ids, sampled, report['setup'] = _setup(
            project, 'aodh-bench-' + project[-8:], alarms, metrics, granularity, api_alarms,
            latency_sample, hook)
        timeout = int(max(600, alarms * 0.2))
        report.update(_evaluate(project, alarms, evaluation_interval, ingestion_lag, timeout))
        cycle = report['steady_cycle']['cycle_seconds']
        report['write_to_webhook'] = _latency(
            hook, sampled, metric_ids, int(2 * max(cycle, evaluation_interval) + 60))
        report['loadavg_after'] = probes.loadavg()
    finally:
        hook.shutdown()
        report['teardown'] = _teardown(project, was_running)
    return report


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--alarms', type=int, default=DEFAULT_ALARMS,
                        help='default %d (see SIZE_NOTE)' % DEFAULT_ALARMS)
    parser.add_argument('--metrics', type=int, default=None, help='default: as many as alarms')
    parser.add_argument('--granularity', type=int, default=60)
    parser.add_argument('--evaluation-interval', type=int, default=60)
    parser.add_argument('--latency-sample', type=int, default=50)
    parser.add_argument('--api-alarms', type=int, default=200,
                        help='alarms created through the API (the rest by COPY)')
    args = parser.parse_args(argv)
    report = run(args.alarms, args.metrics, args.granularity,
                 args.evaluation_interval, args.latency_sample, args.api_alarms)
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write('\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
