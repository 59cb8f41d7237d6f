"""What the fault tests share: writers that post measures through a real telewatch-api, post
again what was refused and count what was acknowledged, and the counts at the end
(acknowledged, stored, lost, duplicated), read back through the API."""

import collections
import threading
import time

import psutil
import pytest
import requests

ADMIN = {'Authorization': 'basic YWRtaW46'}  # noauth: gnocchi's "basic" admin
T0 = 1_700_000_000
RETRY_DELAY = 0.2  # seconds a writer waits before it posts a refused call again


def archive_policy(name, methods=('count', 'mean', 'min', 'max', 'sum', 'last'),
                   granularity='1s', points=1000000):
    """A policy keeping, by default, each measure as its own 1-second point: the count read
    back is the number of measures stored, and one stored twice (a post accepted, its
    answer lost, posted again) is still one point."""
    return {'name': name, 'back_window': 0, 'aggregation_methods': list(methods),
            'definition': [{'granularity': granularity, 'points': points}]}


def http_get(url, **kwargs):
    for _ in range(3):  # a connection reset on this busy machine is not the API's answer
        try:
            return requests.get(url, headers=ADMIN, **kwargs)
        except requests.ConnectionError:
            time.sleep(0.5)
    return requests.get(url, headers=ADMIN, **kwargs)


def http_post(url, **kwargs):
    return requests.post(url, headers=ADMIN, **kwargs)


def wait_for(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    pytest.fail('%s: not within %d s' % (what, timeout))


def new_metrics(url, count, policy):
    """Create the archive policy ``policy`` and ``count`` metrics of it; their ids."""
    http_post(url + '/v1/archive_policy', json=policy, timeout=30).raise_for_status()
    ids = []
    for _ in range(count):
        response = http_post(url + '/v1/metric', json={'archive_policy_name': policy['name']},
                             timeout=30)
        assert response.status_code == 201, response.text
        ids.append(response.json()['id'])
    return ids


class Writer(threading.Thread):
    """Posts ``per_post`` measures a call to one metric, each a second after the last, until
    ``done`` is set, then ``after`` more. A post refused (a status in ``refusals``, with
    Gnocchi's JSON body and Retry-After, or no answer at all) is not acknowledged: it is
    posted again, with the same measures, until accepted. ``statuses`` counts every answer
    ('no answer' too), ``acknowledged`` the measures answered 202; any other answer stops
    the writer with ``error``."""

    def __init__(self, url, metric_id, done, refusals=(), after=0, per_post=2000, pause=0.0):
        super().__init__(daemon=True)
        self.root = url
        self.url = '%s/v1/metric/%s/measures' % (url, metric_id)
        self.metric_id = metric_id
        self.done = done
        self.refusals = frozenset(refusals)
        self.after = after
        self.per_post = per_post
        self.pause = pause
        self.statuses = collections.Counter()
        self.acknowledged = 0
        self.posts = 0  # accepted
        self.refused = threading.Event()
        self.error = None

    def run(self):
        try:
            posts_after = 0
            while posts_after < self.after or not self.done.is_set():
                finished = self.done.is_set()
                self._post_until_accepted()
                posts_after += finished
                self.between_posts()
                time.sleep(self.pause)
        except Exception as exc:  # reported by the test
            self.error = exc

    def between_posts(self):
        """What a writer does after each accepted post (a subclass reads)."""

    def _post_until_accepted(self):
        start = T0 + self.acknowledged
        body = [{'timestamp': start + i, 'value': float(i)} for i in range(self.per_post)]
        while True:
            try:
                response = http_post(self.url, json=body, timeout=60)
            except requests.ConnectionError:  # no answer: not acknowledged, post again
                self.statuses['no answer'] += 1
                self.refused.set()
                time.sleep(RETRY_DELAY)
                continue
            self.statuses[response.status_code] += 1
            if response.status_code == 202:
                self.acknowledged += self.per_post
                self.posts += 1
                return
            assert response.status_code in self.refusals, (response.status_code,
                                                           response.text)
            assert response.headers['Retry-After'], response.headers
            assert response.json()['code'] == response.status_code, response.text
            self.refused.set()
            time.sleep(RETRY_DELAY)


def start_writers(writers):
    for writer in writers:
        writer.start()
    return writers


def join_writers(writers, timeout=120):
    deadline = time.monotonic() + timeout
    for writer in writers:
        writer.join(max(deadline - time.monotonic(), 0.1))
        assert not writer.is_alive(), 'a writer still posting after %d s' % timeout
        assert writer.error is None, repr(writer.error)


def statuses(writers):
    return sum((w.statuses for w in writers), collections.Counter())


def pending_measures(url):
    return http_get(url + '/v1/status', timeout=30).json()['storage']['summary']['measures']


def stored_measures(url, metric_id):
    response = http_get('%s/v1/metric/%s/measures' % (url, metric_id), timeout=60,
                        params={'aggregation': 'count', 'refresh': 'true'})
    assert response.status_code == 200, response.text
    return int(sum(value for _, _, value in response.json()))


def counts(url, writers, timeout=60):
    """Once every pending measure is processed: {acknowledged, stored, lost, duplicated}
    over all the writers' metrics, and ``by_metric``: {metric id: (acknowledged, stored)}."""
    wait_for(lambda: pending_measures(url) == 0, timeout, 'every pending measure processed')
    by_metric = {w.metric_id: (w.acknowledged, stored_measures(url, w.metric_id))
                 for w in writers}
    return {'acknowledged': sum(a for a, _ in by_metric.values()),
            'stored': sum(s for _, s in by_metric.values()),
            'lost': sum(max(a - s, 0) for a, s in by_metric.values()),
            'duplicated': sum(max(s - a, 0) for a, s in by_metric.values()),
            'by_metric': by_metric}


def assert_exact(counts):
    """Every acknowledged measure stored, none stored that was not acknowledged."""
    assert counts['lost'] == 0 and counts['duplicated'] == 0, counts['by_metric']
    assert counts['stored'] == counts['acknowledged'] > 0, counts


def workers(master_pid):
    """The gunicorn workers of the telewatch-api whose master is ``master_pid``."""
    return psutil.Process(master_pid).children()


def workers_rss(master_pid):
    """The workers' resident memory, in bytes, summed."""
    total = 0
    for worker in workers(master_pid):
        try:
            total += worker.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total
