"""Publish/subscribe throughput: ONE telewatch-pubsub worker process fans a firehose of
samples from 10,000 resources out to 100 subscriptions with overlapping filters, over the real
Kafka broker (tools/services/kafka). Prints one JSON document on stdout (logs on stderr).

Subscriptions (made up deterministically, ``--subscriptions``): members' subscriptions to
meters of their project (``cpu``, ``disk.*``, ``* !cpu``, ...), some confined to 20 of their
resources, some with a 5-minute sampling interval, and admins' subscriptions across projects;
half send to a Kafka topic of their own on the same broker, half to UDP ports of a receiver
process. The expected deliveries are computed beforehand with the same matching code, so
``lost`` (expected - delivered, from the subscriptions' counters and what the Kafka topics
and the UDP receiver got) is checked, not assumed.

Phases:
- ``backlog``: ``--samples`` samples are written to the firehose first, then the worker starts
  and drains them. ``samples_per_second`` is the slope of the group's committed offsets (a
  batch is committed once every delivery of it is settled) from the first commit to the last;
  ``deliveries_per_second`` the same over the deliveries.
- ``live``: a producer writes ``--live-rate`` samples/s for ``--live-seconds`` while the worker
  runs; ``lag`` is the records written but not yet committed, sampled every 0.25 s (p50, p99,
  max, also in seconds at that rate).

    python benchmarks/pubsub.py               # 200,000 samples, live 10,000/s for 10 s
    python benchmarks/pubsub.py --quick       # 40,000 samples, live 5 s
"""

import argparse
import datetime
import json
import multiprocessing
import os
import signal
import socket
import sys
import tempfile
import threading
import time
import uuid

import kafka
import psutil

from telewatch import firehose
from telewatch import sample as sample_mod
from telewatch.archive.index import migration
from telewatch.pubsub import matching
from telewatch.pubsub import registry as registry_mod
from telewatch.pubsub import subscription as subscription_mod

try:
    from benchmarks import workload
except ImportError:  # run as a script: benchmarks/ is sys.path[0]
    import workload

TARGET_SAMPLES_PER_SECOND = 20000
METERS = [meter[0] for meter in workload.METERS]
MEMBER_FILTERS = (['cpu'], ['disk.*'], ['*', '!cpu'], ['memory.usage', 'vcpus'],
                  ['network.*'], ['disk.read.*', 'cpu'])
ADMIN_FILTERS = (['disk.device.read.bytes'], ['cpu', 'memory.usage'])


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--kafka', default=os.environ.get('TELEWATCH_KAFKA', '127.0.0.1:9092'))
    parser.add_argument('--samples', type=int, default=200000)
    parser.add_argument('--resources', type=int, default=10000)
    parser.add_argument('--projects', type=int, default=50)
    parser.add_argument('--subscriptions', type=int, default=100)
    parser.add_argument('--live-rate', type=int, default=10000)
    parser.add_argument('--live-seconds', type=float, default=10.0)
    parser.add_argument('--quick', action='store_true')
    args = parser.parse_args(argv)
    if args.quick:
        args.samples, args.live_seconds = 40000, 5.0
    return args


def project_of(resource, args):
    return 'project-%d' % (resource % args.projects)


def make_samples(args, count, start_cycle=0):
    """``count`` samples: cycles of every resource x meter, 60 s apart."""
    samples, cycle = [], start_cycle
    metadata = {'flavor': 'm1.small'}
    while len(samples) < count:
        moment = workload.START + datetime.timedelta(minutes=cycle)
        for resource in range(args.resources):
            for meter in METERS:
                samples.append(sample_mod.Sample.create(
                    meter, 'gauge', 'x', float(cycle), user_id='u',
                    project_id=project_of(resource, args), resource_id='vm-%05d' % resource,
                    timestamp=moment, resource_metadata=metadata))
                if len(samples) == count:
                    return samples
        cycle += 1
    return samples


def subscription_documents(args, udp_ports, run):
    """[(project_id, document)] of the subscriptions, deterministic."""
    documents = []
    for number in range(args.subscriptions):
        project = number % args.projects
        if number % 10 == 9:
            fields = {'meters': ADMIN_FILTERS[number % 2], 'projects': None}
            if number % 20 == 19:
                fields['resources'] = ['vm-%05d' % r for r in range(0, args.resources, 97)]
            owner = 'admin'
        else:
            fields = {'meters': MEMBER_FILTERS[number % len(MEMBER_FILTERS)],
                      'projects': ['project-%d' % project]}
            if number % 5 == 1:
                fields['resources'] = ['vm-%05d' % r for r in range(
                    project, args.resources, args.projects)][:20]
            if number % 5 == 2:
                fields['interval'] = 300
            owner = 'project-%d' % project
        if number % 2:
            fields['target'] = 'udp://127.0.0.1:%d' % udp_ports[number % len(udp_ports)]
        else:
            fields['target'] = 'kafka://%s?topic=%s-sub-%d' % (args.kafka, run, number)
        documents.append((owner, dict(fields, name='sub-%d' % number)))
    return documents


def expected_deliveries(subscriptions, samples):
    index = matching.SubscriptionIndex(subscriptions)
    throttles = {s.id: matching.Throttle(s.interval) for s in subscriptions if s.interval}
    total = 0
    for item in samples:
        for subscription in index.match(item.name, item.project_id, item.resource_id):
            throttle = throttles.get(subscription.id)
            if throttle is None or throttle.allows(item.resource_id, item.name,
                                                   item.timestamp.timestamp()):
                total += 1
    return total


def produce(bootstrap, topic, samples, rate=None):
    producer = kafka.KafkaProducer(bootstrap_servers=bootstrap, linger_ms=20,
                                   batch_size=1024 * 1024, compression_type='lz4')
    start = time.perf_counter()
    for number, item in enumerate(samples):
        value = firehose.encode(item)
        producer.send(topic, value=value, key=firehose.key(item))
        if rate and number % 500 == 0:
            ahead = number / rate - (time.perf_counter() - start)
            if ahead > 0:
                time.sleep(ahead)
    producer.flush(timeout=120)
    producer.close()
    return time.perf_counter() - start


def udp_receiver(ports_out, counts, stop):
    """A process with 5 UDP sockets, counting datagrams."""
    sockets = []
    for _ in range(5):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 * 2 ** 20)
        sock.bind(('127.0.0.1', 0))
        sock.setblocking(False)
        sockets.append(sock)
    ports_out.send([sock.getsockname()[1] for sock in sockets])
    import selectors
    selector = selectors.DefaultSelector()
    for sock in sockets:
        selector.register(sock, selectors.EVENT_READ)
    received = 0
    while not stop.is_set():
        for key, _ in selector.select(0.2):
            while True:
                try:
                    key.fileobj.recv(65535)
                except BlockingIOError:
                    break
                received += 1
        counts.value = received


def run_worker(config_file):
    from telewatch import service
    from telewatch.pubsub import service as pubsub_service
    conf = service.prepare_service(['--config-file', config_file])
    worker = pubsub_service.PubSubWorker(conf)
    # start() returns at once: wait here for SIGTERM (blocked first, so that its threads
    # inherit the mask and the signal comes to sigwait).
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    worker.start()
    signal.sigwait({signal.SIGTERM})
    worker.stop()


def committed(bootstrap, group, topic):
    consumer = kafka.KafkaConsumer(bootstrap_servers=bootstrap, group_id=group,
                                   enable_auto_commit=False)
    partitions = [kafka.TopicPartition(topic, p)
                  for p in sorted(consumer.partitions_for_topic(topic) or ())]

    def read():
        ends = consumer.end_offsets(partitions)
        done = sum(consumer.committed(tp) or 0 for tp in partitions)
        return done, sum(ends.values())
    return consumer, read


def kafka_total(bootstrap, topics):
    consumer = kafka.KafkaConsumer(bootstrap_servers=bootstrap)
    partitions = [kafka.TopicPartition(topic, p) for topic in topics
                  for p in (consumer.partitions_for_topic(topic) or ())]
    total = sum(consumer.end_offsets(partitions).values()) if partitions else 0
    consumer.close()
    return total


def watch(read, registry, ids, until, worker_pid, interval=0.25):
    """[(time, committed, written, delivered, worker cpu)] until ``until(point)``."""
    process = psutil.Process(worker_pid)
    points = []
    while True:
        done, written = read()
        delivered = sum(c['delivered'] for c in registry.counters(ids).values())
        cpu = sum(process.cpu_times()[:2])
        point = (time.perf_counter(), done, written, delivered, cpu)
        points.append(point)
        if until(point):
            return points
        time.sleep(interval)


def drain_rate(points, samples, deliveries):
    """(samples/s, deliveries/s, first, last): from the last observation before anything
    was committed or delivered to the first at which everything was (both conservative:
    observations are 0.25 s apart and the counters are reported every 0.25 s)."""
    idle = [p for p in points if p[1] == 0 and p[3] == 0] or points[:1]
    first = idle[-1]
    last = next((p for p in points if p[1] >= samples and p[3] >= deliveries), points[-1])
    seconds = last[0] - first[0]
    if seconds <= 0:
        return None, None, first, last
    return samples / seconds, deliveries / seconds, first, last


def main(argv=None):
    args = parse_args(argv)
    run = 'bench-%s' % uuid.uuid4().hex[:8]
    directory = tempfile.mkdtemp(prefix='telewatch-pubsub-bench-')
    index_url = 'sqlite:///%s/index.sqlite' % directory
    registry = registry_mod.SubscriptionRegistry(index_url)
    migration.upgrade(registry.engine)

    context = multiprocessing.get_context('spawn')
    ports_in, ports_out = context.Pipe()
    received, stop_receiver = context.Value('q', 0), context.Event()
    receiver = context.Process(target=udp_receiver, args=(ports_out, received, stop_receiver))
    receiver.start()
    udp_ports = ports_in.recv()

    ids, subscriptions = [], []
    for owner, document in subscription_documents(args, udp_ports, run):
        created = registry.create(document, owner, 'bench')
        ids.append(created['id'])
        subscriptions.append(subscription_mod.Subscription(
            created['id'], created['name'], owner, created['meters'], created['target'],
            created['resources'], created['projects'], created['interval']))
    kafka_topics = [s.target.topic for s in subscriptions if s.target.scheme == 'kafka']

    topic = '%s-firehose' % run
    backlog = make_samples(args, args.samples)
    live_count = int(args.live_rate * args.live_seconds)
    live = make_samples(args, live_count, start_cycle=len(backlog) // (
        args.resources * len(METERS)) + 1)
    expected_backlog = expected_deliveries(subscriptions, backlog)
    expected_total = expected_deliveries(subscriptions, backlog + live)
    produce_seconds = produce(args.kafka, topic, backlog)
    print('backlog of %d samples written in %.1f s' % (len(backlog), produce_seconds),
          file=sys.stderr)

    config_file = os.path.join(directory, 'telewatch.conf')
    with open(config_file, 'w') as stream:
        stream.write('[DEFAULT]\ndata_dir = %s\n[archive]\nindex_url = %s\n'
                     '[pubsub]\nfirehose_url = kafka://%s\nfirehose_topic = %s\n'
                     'consumer_group = %s-pubsub\nreport_interval = 0.25\n'
                     % (directory, index_url, args.kafka, topic, run))
    worker = context.Process(target=run_worker, args=(config_file,))
    started = time.perf_counter()
    worker.start()
    consumer, read = committed(args.kafka, '%s-pubsub' % run, topic)
    try:
        points = watch(read, registry, ids, lambda p: p[1] >= len(backlog)
                       and p[3] >= expected_backlog or p[0] - started > 600, worker.pid)
        rate, delivery_rate, first, last = drain_rate(points, len(backlog), expected_backlog)
        backlog_result = {
            'samples': len(backlog), 'expected_deliveries': expected_backlog,
            'fan_out': round(expected_backlog / len(backlog), 3),
            'samples_per_second': round(rate or 0),
            'deliveries_per_second': round(delivery_rate or 0),
            'worker_cpu_seconds_per_100k_samples': round(
                (last[4] - first[4]) / max(1, last[1] - first[1]) * 1e5, 2),
            'seconds_from_start_to_drained': round(points[-1][0] - started, 2),
            'meets_target': bool(rate and rate >= TARGET_SAMPLES_PER_SECOND),
        }

        producer = threading.Thread(target=produce, args=(args.kafka, topic, live,
                                                          args.live_rate))
        live_start = time.perf_counter()
        producer.start()
        total = len(backlog) + len(live)
        live_points = watch(read, registry, ids, lambda p: p[1] >= total
                            and p[3] >= expected_total or p[0] - live_start > 600,
                            worker.pid)
        producer.join()
        lags = sorted(p[2] - p[1] for p in live_points)
        live_result = {
            'samples': len(live), 'rate': args.live_rate,
            'lag_records_p50': lags[len(lags) // 2],
            'lag_records_p99': lags[min(len(lags) - 1, int(len(lags) * 0.99))],
            'lag_records_max': lags[-1],
            'lag_seconds_max': round(lags[-1] / args.live_rate, 3),
        }
        time.sleep(1.5)
        counters = registry.counters(ids)
        delivered = sum(c['delivered'] for c in counters.values())
        on_topics = kafka_total(args.kafka, kafka_topics)
        stop_receiver.set()
        receiver.join(timeout=10)
        result = {
            'benchmark': 'pubsub', 'subscriptions': len(ids), 'resources': args.resources,
            'projects': args.projects, 'backlog': backlog_result, 'live': live_result,
            'expected_deliveries': expected_total, 'delivered': delivered,
            'kafka_records_on_subscriber_topics': on_topics,
            'udp_datagrams_received': received.value,
            'lost': expected_total - delivered,
            'lost_on_the_wire': expected_total - on_topics - received.value,
            'dropped': sum(c['dropped'] for c in counters.values()),
            'failed': sum(c['failed'] for c in counters.values()),
            'target_samples_per_second': TARGET_SAMPLES_PER_SECOND,
            'load_average': os.getloadavg(),
        }
    finally:
        consumer.close()
        worker.terminate()
        worker.join(timeout=60)
        stop_receiver.set()
        receiver.join(timeout=10)
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write('\n')
    return 0 if result['lost'] == 0 else 1


if __name__ == '__main__':
    sys.exit(main())
