"""delta: the change of a meter between two consecutive samples of one series."""

import voluptuous as vol

from telewatch import sample as sample_mod
from telewatch.transformers import base


class DeltaTransformer(base.Transformer):
    """Emit ``volume - previous volume`` as a delta sample, per series (name, resource).

    The first sample of a series only primes the state; a sample older than the one held is
    dropped and counted. With ``growth_only`` a negative change is dropped and counted (the
    state still moves on to the new sample).
    """

    PARAMETERS = vol.Schema(vol.All({
        vol.Optional('source', default={}): base.source_schema(with_unit=False),
        vol.Optional('target', default={}): {vol.Optional('name'): str,
                                             vol.Optional('map_to'): base.MAPPING},
        vol.Optional('growth_only', default=False): bool,
    }, base.check_mappings))
    EXAMPLE = {'target': {'name': 'cpu.delta'}, 'growth_only': True}

    def __init__(self, parameters, **kwargs):
        super().__init__(parameters, **kwargs)
        self._map = base.NameUnitMapper(parameters)
        self._growth_only = parameters['growth_only']
        self._series = base.SeriesState(self.series_ttl)

    def handle(self, sample):
        key = (sample.name, sample.resource_id)
        previous = self._series.swap(key, (sample.volume, sample.timestamp))
        if previous is None:
            self.counters['primed'] += 1
            return None
        if sample.timestamp < previous[1]:
            self._series[key] = previous
            self.counters['out_of_order'] += 1
            return None
        change = sample.volume - previous[0]
        if self._growth_only and change < 0:
            self.counters['negative_change'] += 1
            return None
        name, unit = self._map(sample.name, sample.unit)
        return sample.derive(name, sample_mod.TYPE_DELTA, unit, change)

    def flush(self):
        self.counters['expired_series'] += self._series.expire()
        return []
