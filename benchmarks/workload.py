"""Realistic compute-node samples: N instances x 10 meters per polling cycle.

Used by the benchmarks, and to make etc/samples/compute.jsonl:
    python -m benchmarks.workload --instances 2 --cycles 3 > etc/samples/compute.jsonl
"""

import argparse
import datetime
import json
import random
import sys
import uuid

from telewatch import sample as sample_mod

METERS = (  # name, type, unit, per-device?
    ('cpu', 'cumulative', 'ns', False),
    ('memory.usage', 'gauge', 'MB', False),
    ('vcpus', 'gauge', 'vcpu', False),
    ('disk.read.bytes', 'cumulative', 'B', False),
    ('disk.read.requests', 'cumulative', 'request', False),
    ('disk.write.bytes', 'cumulative', 'B', False),
    ('disk.write.requests', 'cumulative', 'request', False),
    ('network.incoming.bytes', 'cumulative', 'B', False),
    ('network.outgoing.bytes', 'cumulative', 'B', False),
    ('disk.device.read.bytes', 'cumulative', 'B', True),
)
START = datetime.datetime(2026, 11, 1, tzinfo=datetime.timezone.utc)


def _instances(count, rng):
    instances = []
    for index in range(count):
        vcpus = rng.choice((1, 2, 4, 8))
        instance_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        instances.append({
            'id': instance_id, 'vcpus': vcpus, 'memory': vcpus * 2048,
            'project_id': 'project-%d' % (index % 20), 'user_id': 'user-%d' % (index % 50),
            'metadata': {'name': 'instance-%08x' % index, 'display_name': 'vm-%d' % index,
                         'cpu_number': vcpus, 'vcpus': vcpus, 'memory_mb': vcpus * 2048,
                         'flavor': {'name': 'm1.%d' % vcpus, 'vcpus': vcpus},
                         'host': 'compute-1', 'status': 'active'},
            'counters': [0.0] * len(METERS),
            'rates': [rng.uniform(0.05, 0.95) * vcpus * 1e9, 0, 0,
                      rng.uniform(1e3, 1e6), rng.uniform(1, 100), rng.uniform(1e3, 1e6),
                      rng.uniform(1, 100), rng.uniform(1e3, 1e7), rng.uniform(1e3, 1e7),
                      rng.uniform(1e3, 1e6)],
        })
    return instances


def _volume(instance, index, meter, interval, rng):
    name = meter[0]
    if name == 'memory.usage':
        return float(int(instance['memory'] * rng.uniform(0.2, 0.9)))
    if name == 'vcpus':
        return float(instance['vcpus'])
    # Counters grow by their rate with some jitter, and a few reset (a reboot).
    if rng.random() < 0.001:
        instance['counters'][index] = 0.0
    instance['counters'][index] += instance['rates'][index] * interval * rng.uniform(0.8, 1.2)
    return float(int(instance['counters'][index]))


def fleet(instances, seed=42):
    """The instances of ``generate`` (same seed, same instances), to make cycles of."""
    return _instances(instances, random.Random(seed))


def cycle(instances, timestamp, monotonic, interval, rng):
    """One polling cycle's samples of ``instances`` (part of a fleet), stamped
    ``timestamp``; their counters move on."""
    samples = []
    for instance in instances:
        for index, meter in enumerate(METERS):
            name, kind, unit, per_device = meter
            samples.append(sample_mod.Sample.create(
                name=name, type=kind, unit=unit,
                volume=_volume(instance, index, meter, interval, rng),
                resource_id=instance['id'] + '-vda' if per_device else instance['id'],
                timestamp=timestamp, user_id=instance['user_id'],
                project_id=instance['project_id'],
                resource_metadata=instance['metadata'], monotonic_time=monotonic))
    return samples


def generate(instances=2000, cycles=10, interval=60.0, seed=42):
    """The samples of every cycle, in order, as Sample objects."""
    rng = random.Random(seed)
    instances = _instances(instances, rng)
    samples = []
    for number in range(cycles):
        samples += cycle(instances, START + datetime.timedelta(seconds=number * interval),
                         1000.0 + number * interval, interval, rng)
    return samples


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--instances', type=int, default=2)
    parser.add_argument('--cycles', type=int, default=3)
    parser.add_argument('--seed', type=int, default=42)
    args = parser.parse_args()
    for sample in generate(args.instances, args.cycles, seed=args.seed):
        record = sample.to_dict()
        del record['id']
        sys.stdout.write(json.dumps(record) + '\n')


if __name__ == '__main__':
    main()
