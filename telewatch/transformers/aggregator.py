"""aggregator: merge the samples of each series into one, released on size or time."""

import time

import voluptuous as vol

from telewatch import sample as sample_mod
from telewatch.transformers import base

_DROPPED = {'user_id': None, 'project_id': None, 'resource_metadata': {}}
POLICY = vol.In(['first', 'last', 'drop'], msg='expected one of first, last, drop')


def _size_or_retention(parameters):
    if not parameters['size'] and not parameters.get('retention_time'):
        parameters['size'] = 1
    return parameters


class AggregatorTransformer(base.Transformer):
    """Merge the samples of a group (name, resource_id, and user_id / project_id unless
    they have a policy) into one sample.

    Released by a flush once ``size`` samples arrived since the last release, or once
    ``retention_time`` seconds passed (on this agent's clock) since the first of them.
    Gauge groups give their mean, delta groups their sum, cumulative groups their last
    value. ``user_id``, ``project_id`` and ``resource_metadata`` policies: ``first`` or
    ``last`` value wins, ``drop`` empties it. ``timestamp``: the first or last sample's.
    Each input is scaled (``target.scale``) and capped (``target.max``) before merging.
    """

    PARAMETERS = vol.Schema(vol.All({
        vol.Optional('size', default=1): vol.All(int, vol.Range(min=0)),
        vol.Optional('retention_time'): vol.Any(
            None, vol.All(vol.Coerce(float), vol.Range(min=0))),
        vol.Optional('user_id'): POLICY,
        vol.Optional('project_id'): POLICY,
        vol.Optional('resource_metadata', default='last'): POLICY,
        vol.Optional('timestamp', default='first'): vol.In(
            ['first', 'last'], msg='expected one of first, last'),
        vol.Optional('source', default={}): base.source_schema(with_unit=False),
        vol.Optional('target', default={}): base.target_schema(),
    }, base.check_mappings, _size_or_retention))
    EXAMPLE = {'size': 15, 'retention_time': 60, 'user_id': 'last', 'project_id': 'last',
               'resource_metadata': 'drop'}

    def __init__(self, parameters, clock=time.monotonic, **kwargs):
        super().__init__(parameters, **kwargs)
        target = parameters['target']
        self._size = parameters['size']
        self._retention = parameters.get('retention_time')
        self._policies = {field: parameters.get(field)
                          for field in ('user_id', 'project_id', 'resource_metadata')}
        self._last_timestamp = parameters['timestamp'] == 'last'
        self._map = base.NameUnitMapper(parameters)
        self._type = target.get('type')
        self._max = target.get('max')
        self._scale = target.get('scale') or None
        self._clock = clock
        self._groups = {}
        self._count = 0
        self._started = None

    def _volume(self, sample):
        volume = sample.volume
        if isinstance(self._scale, float):
            volume *= self._scale
        elif self._scale is not None:
            volume = float(self._scale.evaluate(sample))
        return volume if self._max is None or volume <= self._max else self._max

    def _key(self, sample):
        key = (sample.name, sample.resource_id)
        if self._policies['user_id'] is None:
            key += (sample.user_id,)
        if self._policies['project_id'] is None:
            key += (sample.project_id,)
        return key

    def handle(self, sample):
        try:
            volume = self._volume(sample)
        except (ArithmeticError, TypeError, ValueError):
            self.counters['scale_error'] += 1
            return None
        if self._started is None:
            self._started = self._clock()
        self._count += 1
        key = self._key(sample)
        group = self._groups.get(key)
        if group is None:
            name, unit = self._map(sample.name, sample.unit)
            group = self._groups[key] = {
                'sample': sample, 'name': name, 'unit': unit, 'volume': volume,
                'type': self._type or sample.type, 'count': 1, 'timestamp': sample.timestamp}
            for field, policy in self._policies.items():
                group[field] = _DROPPED[field] if policy == 'drop' else getattr(sample, field)
            return None
        self._merge(group, sample, volume)
        return None

    def _merge(self, group, sample, volume):
        group['count'] += 1
        if group['type'] == sample_mod.TYPE_CUMULATIVE:
            group['volume'] = volume
        else:
            group['volume'] += volume
        if self._last_timestamp:
            group['timestamp'] = sample.timestamp
        for field, policy in self._policies.items():
            if policy in (None, 'last'):
                group[field] = getattr(sample, field)

    def _due(self):
        if self._size and self._count >= self._size:
            return True
        return bool(self._retention is not None and self._started is not None
                    and self._clock() - self._started >= self._retention)

    def flush(self):
        if not self._groups or not self._due():
            return []
        released = [self._release(group) for group in self._groups.values()]
        self._groups, self._count, self._started = {}, 0, None
        return released

    @staticmethod
    def _release(group):
        volume = group['volume']
        if group['type'] == sample_mod.TYPE_GAUGE:
            volume /= group['count']
        return group['sample'].derive(group['name'], group['type'], group['unit'], volume,
                                      timestamp=group['timestamp'],
                                      resource_metadata=group['resource_metadata'])._replace(
            user_id=group['user_id'], project_id=group['project_id'])
