"""rate_of_change: the rate of a counter between two consecutive samples of one series."""

import voluptuous as vol

from telewatch import sample as sample_mod
from telewatch.transformers import base


class RateOfChangeTransformer(base.Transformer):
    """Emit ``scale * (volume - previous volume) / seconds`` for each series (name, resource).

    The first sample of a series only primes the state. The time between two samples comes
    from ``monotonic_time`` when both carry it, else from their timestamps; zero seconds
    gives a rate of 0.0. A cumulative counter that went down was reset: its new volume is
    the growth. A sample older than the one held is dropped and counted. A numeric
    ``scale`` k multiplies the rate by k; a string scale is an expression over the current
    sample, evaluated and multiplied by the rate. ``max`` caps the result.
    """

    PARAMETERS = vol.Schema(vol.All({
        vol.Optional('source', default={}): base.source_schema(with_unit=False),
        vol.Optional('target', default={}): base.target_schema(),
    }, base.check_mappings))
    EXAMPLE = {'target': {'name': 'cpu_util', 'unit': '%', 'type': 'gauge', 'max': 100,
                          'scale': '100.0 / (10**9 * (resource_metadata.cpu_number or 1))'}}

    def __init__(self, parameters, **kwargs):
        super().__init__(parameters, **kwargs)
        target = parameters['target']
        self._map = base.NameUnitMapper(parameters)
        self._type = target.get('type')
        self._max = target.get('max')
        scale = target.get('scale')
        self._factor = 1.0 if scale is None or not isinstance(scale, float) else scale
        self._expression = None if scale is None or isinstance(scale, float) else scale
        self._series = base.SeriesState(self.series_ttl)

    def handle(self, sample):
        # This is the busiest function of the pipeline. ``previous`` is (volume, timestamp,
        # monotonic_time) of the series' last sample.
        key = (sample.name, sample.resource_id)
        previous = self._series.swap(key, (sample.volume, sample.timestamp,
                                           sample.monotonic_time))
        if previous is None:
            self.counters['primed'] += 1
            return None
        seconds = self._seconds(sample, previous)
        if seconds < 0:
            self._series[key] = previous
            self.counters['out_of_order'] += 1
            return None
        growth = sample.volume - previous[0]
        if growth < 0 and sample.type == sample_mod.TYPE_CUMULATIVE:
            growth = sample.volume
        rate = growth / seconds if seconds else 0.0
        if self._expression is not None:
            try:
                rate *= self._expression.evaluate(sample)
            except (ArithmeticError, TypeError):
                self.counters['scale_error'] += 1
                return None
        else:
            rate *= self._factor
        if self._max is not None and rate > self._max:
            rate = self._max
        name, unit = self._map(sample.name, sample.unit)
        return sample.derive(name, self._type or sample.type, unit, rate)

    @staticmethod
    def _seconds(sample, previous):
        if sample.monotonic_time is not None and previous[2] is not None:
            seconds = sample.monotonic_time - previous[2]
            if seconds >= 0:
                return seconds
            # The producer restarted (a new monotonic clock): fall back to wall time.
        return (sample.timestamp - previous[1]).total_seconds()

    def flush(self):
        self.counters['expired_series'] += self._series.expire()
        return []
