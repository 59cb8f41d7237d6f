"""accumulator: hold samples and release them together."""

import voluptuous as vol

from telewatch.transformers import base


class AccumulatorTransformer(base.Transformer):
    """Hold every sample; a flush releases all of them once ``size`` are held."""

    PARAMETERS = vol.Schema({vol.Optional('size', default=1): vol.All(int, vol.Range(min=1))})
    EXAMPLE = {'size': 15}

    def __init__(self, parameters, **kwargs):
        super().__init__(parameters, **kwargs)
        self._size = parameters['size']
        self._held = []

    def handle(self, sample):
        self._held.append(sample)
        return None

    def flush(self):
        if len(self._held) < self._size:
            return []
        released, self._held = self._held, []
        return released
