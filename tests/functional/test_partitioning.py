"""Partitioned notification agents (RabbitMQ topics per partition, tooz over Redis): two
agents give exactly the rate_of_change outputs of one, and an agent that stops hands its
share to the other without losing a sample."""

import datetime
import json
import signal

import pytest
import redis

from telewatch import sample as sample_mod
from tests.functional.bus_helpers import Deployment, send, wait_for

RESOURCES, CYCLES, PARTITIONS = 60, 8, 12
ALL = list(range(PARTITIONS))
PIPELINE = '''
sources:
  - {name: all, meters: ["*"], sinks: [archive]}
  - {name: cpu, meters: [cpu], sinks: [rates]}
sinks:
  - {name: archive, publishers: ["file://%(dir)s/archive-%(agent)s.jsonl"]}
  - name: rates
    transformers: [{name: rate_of_change, parameters: {target: {name: cpu.rate}}}]
    publishers: ["file://%(dir)s/rates-%(agent)s.jsonl"]
'''


@pytest.fixture
def partitioned(tmp_path, rabbitmq_url, redis_url):
    deployment = Deployment(tmp_path, rabbitmq_url, extra=(
        '[bus]\nworkload_partitioning = true\npipeline_processing_queues = %d\n'
        '[coordination]\nbackend_url = %s\ncheck_watchers = 0.5\n' % (PARTITIONS, redis_url)))
    yield deployment
    deployment.stop_all()
    # The killed agents never left their tooz group: remove it, as tooz's Redis driver keeps
    # it (a hash of the members, in the set of every group).
    group = 'telewatch.notification.%s' % deployment.conf.bus.samples_topic
    client = redis.Redis.from_url(redis_url, socket_timeout=10)
    try:
        client.srem('_tooz_groups', group)
        client.delete('_tooz_group:%s' % group)
    finally:
        client.close()


def start_agent(deployment, name):
    pipeline = deployment.dir / ('pipeline-%s.yaml' % name)
    pipeline.write_text(PIPELINE % {'dir': deployment.dir, 'agent': name})
    return deployment.start(
        'telewatch-agent-notification', conf_text='[pipeline]\npipeline_cfg_file = %s\n'
        '[notification]\nstatus_file = %s/status-%s.json\n' % (pipeline, deployment.dir, name))


def partitions(deployment, name):
    path = deployment.dir / ('status-%s.json' % name)
    return json.loads(path.read_text()).get('partitions') if path.exists() else None


def cycle_samples(cycles):
    start = datetime.datetime(2026, 11, 1, tzinfo=datetime.timezone.utc)
    return [sample_mod.Sample.create(
        'cpu', 'cumulative', 'ns', (cycle + 1) * (index + 1) * 6e9, 'vm-%03d' % index,
        timestamp=start + datetime.timedelta(minutes=cycle))
        for cycle in cycles for index in range(RESOURCES)]


def outputs(deployment, prefix, agents):
    records = []
    for agent in agents:
        records += deployment.received('%s-%s.jsonl' % (prefix, agent), field=None)
    return records


def rates(deployment, agents):
    return sorted((r['resource_id'], r['timestamp'], r['volume'])
                  for r in outputs(deployment, 'rates', agents))


def test_two_agents_compute_what_one_computes(partitioned):
    samples = cycle_samples(range(CYCLES))
    expected_count = RESOURCES * (CYCLES - 1)

    single = start_agent(partitioned, 'single')
    assert wait_for(lambda: partitions(partitioned, 'single') == ALL)
    send(partitioned, samples)
    assert wait_for(lambda: len(rates(partitioned, ['single'])) == expected_count), \
        single.log.read_text()
    one_agent = rates(partitioned, ['single'])
    single.send_signal(signal.SIGTERM)
    assert single.wait(timeout=30) == 0

    start_agent(partitioned, 'a')
    start_agent(partitioned, 'b')
    assert wait_for(lambda: partitions(partitioned, 'a') and partitions(partitioned, 'b') and
                    sorted(partitions(partitioned, 'a') + partitions(partitioned, 'b')) == ALL)
    send(partitioned, samples)
    assert wait_for(lambda: len(rates(partitioned, ['a', 'b'])) == expected_count)
    assert rates(partitioned, ['a', 'b']) == one_agent
    # 1.0e8 ns/s per resource index step: the values themselves are right too.
    assert one_agent[0] == ('vm-000', '2026-11-01T00:01:00+00:00', 1e8)


def test_a_stopping_agent_hands_its_share_over_without_loss(partitioned):
    first, second = cycle_samples(range(4)), cycle_samples(range(4, 8))
    start_agent(partitioned, 'a')
    b = start_agent(partitioned, 'b')
    assert wait_for(lambda: partitions(partitioned, 'a') and partitions(partitioned, 'b'))
    send(partitioned, first)
    assert wait_for(lambda: len(outputs(partitioned, 'archive', 'ab')) >= len(first))
    b.send_signal(signal.SIGTERM)
    assert b.wait(timeout=30) == 0
    assert wait_for(lambda: partitions(partitioned, 'a') == ALL)
    send(partitioned, second)
    everything = {s.id for s in first + second}
    assert wait_for(lambda: {r['id'] for r in outputs(partitioned, 'archive', 'ab')} >=
                    everything)
