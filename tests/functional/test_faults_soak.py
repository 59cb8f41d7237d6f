"""Fault suite: a short soak (issue 19 §5). Eight clients write measures through a real
``telewatch-api`` (two gunicorn workers) and ``telewatch-archive-processor`` for a minute,
each reading the last 100 minutes of its metric back now and then; counted exactly at the
end: every post answered 202 and every read 200 (no 5xx, nothing refused), every
acknowledged measure stored, and the workers' memory flat once warm (sampled every few
seconds, printed).

File storage only: the PostgreSQL storage holds the same promise under the restarts and
kills of test_faults_restarts.py, and a second minute would make the suite too slow.
"""

import collections
import threading
import time

import requests

from tests.functional import api_helpers
from tests.functional import fault_helpers

CLIENTS = 8
SECONDS = 60
PER_POST = 100
READ_EVERY = 10  # posts between two reads of a client
RECENT = 6000  # seconds of measures a read asks for: 100 points of 60 s
WARM_AFTER = 10  # seconds before the memory is taken as warm
RSS_EVERY = 5
RSS_GROWTH = 16 * 2**20  # how much the workers may grow once warm


class Client(fault_helpers.Writer):
    """A writer that reads the last RECENT seconds of its metric back every READ_EVERY
    posts, and the status every fifth time; ``reads`` counts their answers. (Reading the
    whole of a metric that keeps growing, a worker's memory grows with the answer.)"""

    def __init__(self, url, metric_id, done):
        super().__init__(url, metric_id, done, per_post=PER_POST)
        self.reads = collections.Counter()

    def between_posts(self):
        if self.posts % READ_EVERY:
            return
        recent = fault_helpers.T0 + self.acknowledged - RECENT
        response = requests.get(self.url, headers=fault_helpers.ADMIN, timeout=60,
                                params={'aggregation': 'count', 'granularity': 60,
                                        'start': recent})
        self.reads[response.status_code] += 1
        assert response.status_code == 200, response.text
        if self.posts % (5 * READ_EVERY) == 0:
            response = requests.get(self.root + '/v1/status', headers=fault_helpers.ADMIN,
                                    timeout=60)
            self.reads[response.status_code] += 1
            assert response.status_code == 200, response.text


def _soak(master_pid, done):
    """Sleep SECONDS, taking the workers' RSS every RSS_EVERY s; then set ``done``.
    [(seconds since the start, bytes)]."""
    start = time.monotonic()
    samples = []
    while (elapsed := time.monotonic() - start) < SECONDS:
        samples.append((round(elapsed), fault_helpers.workers_rss(master_pid)))
        time.sleep(min(RSS_EVERY, max(SECONDS - elapsed, 0)))
    samples.append((round(time.monotonic() - start), fault_helpers.workers_rss(master_pid)))
    done.set()
    return samples


def test_a_minute_of_eight_clients_is_stored_whole_in_flat_memory(tmp_path):
    config = '[api]\nworkers = 2\n[archive]\nsacks = 8\n'
    policy = fault_helpers.archive_policy('soak', ('count', 'last'), '60s', 100000)
    with api_helpers.running_api_process(tmp_path, config) as (url, api):
        done = threading.Event()
        clients = fault_helpers.start_writers([
            Client(url, m, done)
            for m in fault_helpers.new_metrics(url, CLIENTS, policy)])
        rss = _soak(api.pid, done)
        fault_helpers.join_writers(clients)
        counts = fault_helpers.counts(url, clients)
        assert api.poll() is None, 'telewatch-api died'
    posts = fault_helpers.statuses(clients)
    reads = sum((c.reads for c in clients), collections.Counter())
    assert set(posts) == {202} and set(reads) == {200}, (posts, reads)
    fault_helpers.assert_exact(counts)
    warm = max(size for seconds, size in rss if seconds <= WARM_AFTER)
    grown = max(size for _, size in rss) - warm
    print('soak, %d clients, %d s: %d posts, %d reads, %d acknowledged, %d stored, %d lost, '
          '%d duplicated; workers RSS %s MB' % (
              CLIENTS, SECONDS, posts[202], reads[200], counts['acknowledged'],
              counts['stored'], counts['lost'], counts['duplicated'],
              ' '.join('%d s: %.0f' % (s, size / 2**20) for s, size in rss)))
    assert grown < RSS_GROWTH, 'the workers grew by %.0f MB once warm' % (grown / 2**20)
