"""The series an evaluator keeps between passes (reading.Recent): what it gives for a later
window is what a new read through the archive's door gives."""

import numpy

from telewatch.alarms.evaluator import reading
from telewatch.alarms.evaluator import watch as watch_mod
from tests.unit.alarms.evaluator import fakes
from tests.unit.alarms.evaluator.test_evaluator import archive  # noqa: F401 (fixture)
from tests.unit.alarms.evaluator.test_evaluator import conf  # noqa: F401 (fixture)
from tests.unit.alarms.evaluator.test_evaluator import NOW
from tests.unit.alarms.evaluator.test_evaluator import resource
from tests.unit.alarms.evaluator.test_evaluator import threshold
from tests.unit.alarms.evaluator.test_evaluator import write

G = 60 * 10 ** 9


def _series(*stamps):
    stamps = numpy.array([s * G for s in stamps], 'int64').view('datetime64[ns]')
    return reading.series(stamps, numpy.arange(len(stamps), dtype=float), 60)


def test_a_kept_series_is_cut_from_a_later_first_bucket():
    recent = reading.Recent()
    recent.keep('m', 60, 'mean', 10 * G, _series(10, 11, 13))
    assert recent.get('m', 60, 'mean', 9 * G) is None  # an earlier window: read it
    assert recent.get('m', 300, 'mean', 10 * G) is None
    stamps, values, points = recent.get('m', 60, 'mean', 11 * G)
    assert points == ((660.0, 60, 1.0), (780.0, 60, 2.0))
    assert values.tolist() == [1.0, 2.0] and len(stamps) == 2
    assert recent.get('m', 60, 'mean', 14 * G)[2] == ()
    recent.keep('m', 300, 'mean', 0, _series())
    recent.keep('n', 60, 'mean', 0, _series(1))
    recent.forget(['m', 'other'])
    assert len(recent) == 1 and recent.get('m', 60, 'mean', 11 * G) is None
    recent.clear()
    assert recent.get('n', 60, 'mean', 0) is None


def test_what_is_kept_is_what_a_new_read_gives(archive):  # noqa: F811
    rid, metric = resource(archive)
    ids = [resource(archive)[1] for _ in range(2)]
    write(archive, metric, 10.0, 20.0, 30.0, 40.0)
    for n, other in enumerate(ids):
        write(archive, other, 1.0 + n, 2.0 + n, 3.0 + n)
    alarms = [
        fakes.alarm('gnocchi_resources_threshold', threshold(
            metric='cpu', resource_id=rid, evaluation_periods=3)),
        fakes.alarm('gnocchi_aggregation_by_metrics_threshold', threshold(
            metrics=ids, aggregation_method='max', evaluation_periods=2,
            treat_missing_data='ignore'))]
    watch = watch_mod.WatchMap()
    watch.refresh(alarms, archive.index)
    plans = list(watch.plans.values())
    recent = reading.Recent()
    first = reading.read(plans, archive, NOW - 120, 0, recent)
    for later in (NOW - 120, NOW - 60, NOW, NOW + 300):
        kept = reading.read(plans, archive, later, 0, recent)
        assert kept == reading.read(plans, archive, later, 0), later
    assert len(recent) == 3 and kept != first
    assert [len(points) for points in first[alarms[0]['alarm_id']]] == [4]


def test_what_a_reader_derived_lasts_until_one_of_its_metrics_is_aggregated():
    recent = reading.Recent()
    recent.keep_derived('alarm', ('m', 'n'), [[(1.0, 60, 2.0)]])
    recent.keep_derived('alarm', ('m', 'n'), [[(1.0, 60, 3.0)]])  # kept once per metric
    assert recent.derived('alarm') == [[(1.0, 60, 3.0)]]
    recent.forget(['other'])
    assert recent.derived('alarm') is not None
    recent.forget(['n'])
    assert recent.derived('alarm') is None
    recent.forget(['m'])
    assert len(recent) == 0
