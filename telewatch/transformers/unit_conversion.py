"""unit_conversion: rename and rescale samples one by one."""

import voluptuous as vol

from telewatch.transformers import base


class UnitConversionTransformer(base.Transformer):
    """Convert each sample whose unit is ``source.unit`` (or every sample without it).

    A numeric ``scale`` k gives ``volume * k``; a string scale is an expression over the
    sample whose value becomes the new volume (``volume * 9 / 5 + 32``). ``max`` caps it.
    Name and unit come from map_from/map_to or from the target. Samples in another unit
    pass through unchanged; one whose scale cannot be evaluated is dropped and counted.
    """

    PARAMETERS = vol.Schema(vol.All({
        vol.Optional('source', default={}): base.source_schema(with_unit=True),
        vol.Optional('target', default={}): base.target_schema(),
    }, base.check_mappings))
    EXAMPLE = {'source': {'unit': 'B'},
               'target': {'name': 'memory.usage.mb', 'unit': 'MB', 'scale': 1 / 1048576}}

    def __init__(self, parameters, **kwargs):
        super().__init__(parameters, **kwargs)
        target = parameters['target']
        self._unit = parameters['source'].get('unit')
        self._map = base.NameUnitMapper(parameters)
        self._type = target.get('type')
        self._max = target.get('max')
        self._scale = target.get('scale') or None

    def handle(self, sample):
        if self._unit is not None and sample.unit != self._unit:
            return sample
        volume = sample.volume
        scale = self._scale
        if isinstance(scale, float):
            volume *= scale
        elif scale is not None:
            try:
                volume = float(scale.evaluate(sample))
            except (ArithmeticError, TypeError, ValueError):
                self.counters['scale_error'] += 1
                return None
        if self._max is not None and volume > self._max:
            volume = self._max
        name, unit = self._map(sample.name, sample.unit)
        return sample.derive(name, self._type or sample.type, unit, volume)
