"""The pure arithmetic of benchmarks/aodh_baseline.py and benchmarks/alarm_probes.py:
percentiles, CPU interpolation and the figures of one evaluation cycle (the rest needs the
real Aodh and Gnocchi)."""

import os

from benchmarks import alarm_probes
from benchmarks import aodh_baseline


def sampler(samples):
    result = alarm_probes.CpuSampler(None, None)
    result.samples = samples
    return result


def test_percentile_is_nearest_rank():
    values = list(range(1, 101))
    assert alarm_probes.percentile(values, 50) == 50
    assert alarm_probes.percentile(values, 99) == 99
    assert alarm_probes.percentile([3.0, 1.0, 2.0], 99) == 3.0
    assert alarm_probes.percentile([7.0], 50) == 7.0


def test_cpu_is_interpolated_between_samples_and_clamped_outside():
    cpu = sampler([(10.0, 1.0, 0.0), (12.0, 3.0, 4.0)])
    assert cpu.at(11.0, 1) == 2.0
    assert cpu.at(11.5, 2) == 3.0
    assert cpu.at(9.0, 1) == 1.0
    assert cpu.at(13.0, 1) == 3.0


def test_cpu_of_a_process_tree_grows_and_is_zero_when_gone():
    assert alarm_probes.tree_cpu(os.getpid()) > 0
    assert alarm_probes.tree_cpu(2 ** 22 + 1) == 0.0


def test_figures_of_a_cycle():
    cpu = sampler([(0.0, 0.0, 0.0), (10.0, 5.0, 15.0)])
    figures = aodh_baseline._figures(cpu, 0.0, 10.0, 101)
    assert figures['evaluations_per_s'] == 10.0
    assert figures['evaluator_cpu_seconds'] == 5.0
    assert figures['evaluations_per_cpu_second'] == 20.0
    assert figures['evaluations_per_cpu_second_with_gnocchi_api'] == 5.0
    assert figures['cycle_seconds'] == 10.1
