import pytest
import voluptuous as vol

from telewatch.sample import Sample
from telewatch.transformers.accumulator import AccumulatorTransformer


def make(volume):
    return Sample.create('cpu', 'cumulative', 'ns', volume, 'r1',
                         timestamp='2026-01-01T00:00:%02dZ' % volume)


def transformer(parameters):
    cls = AccumulatorTransformer
    return cls(cls.PARAMETERS(parameters))


def test_releases_all_once_size_is_held_and_none_before():
    accumulate = transformer({'size': 3})
    samples = [make(v) for v in (1, 2, 3, 4)]
    assert accumulate.handle(samples[0]) is None
    assert accumulate.flush() == []
    assert accumulate.handle(samples[1]) is None
    assert accumulate.flush() == []
    accumulate.handle(samples[2])
    accumulate.handle(samples[3])
    released = accumulate.flush()
    assert released == samples
    assert all(a is b for a, b in zip(released, samples))
    assert accumulate.flush() == []


def test_starts_again_after_a_release():
    accumulate = transformer({'size': 2})
    for volume in (1, 2):
        accumulate.handle(make(volume))
    assert len(accumulate.flush()) == 2
    accumulate.handle(make(3))
    assert accumulate.flush() == []
    accumulate.handle(make(4))
    assert [s.volume for s in accumulate.flush()] == [3.0, 4.0]


def test_default_size_is_one():
    accumulate = transformer({})
    assert accumulate.flush() == []
    sample = make(1)
    assert accumulate.handle(sample) is None
    assert accumulate.flush() == [sample]


@pytest.mark.parametrize('parameters', [{'size': 0}, {'size': -1}, {'size': 'ten'},
                                        {'size': 2.5}, {'retention_time': 5}])
def test_invalid_parameters_are_rejected(parameters):
    with pytest.raises(vol.Invalid):
        AccumulatorTransformer.PARAMETERS(parameters)
