"""The PNG renderer (telewatch.render): milliseconds to draw and encode a chart, the issue's
600x400 chart of 1,440 points first (target: <= 60 ms), then the other views and a heavier
chart. No peer to compare with: Gnocchi has no image output, CloudWatch's is a service.

Prints one JSON document. Each case is drawn ``--repeat`` times in this process on one
thread after one warm-up; per chart, p50 and p95 of wall time and of CPU time
(``time.process_time``, the fair figure on a shared machine). ``first_chart_ms`` is the
cost of the first chart of a process, matplotlib's import included.

    PYTHONPATH=. python benchmarks/render.py [--quick] [--repeat N]
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time

import numpy

from telewatch import render

NS = 10 ** 9


def series(count, points, step=60):
    end = int(time.time()) // step * step * NS
    stamps = end - numpy.arange(points, dtype=numpy.int64)[::-1] * step * NS
    rng = numpy.random.default_rng(7)
    return tuple(render.Series('metric-%d' % i, stamps,
                               50 + 30 * numpy.sin(numpy.arange(points) / 90.0 + i)
                               + rng.normal(0, 3, points), unit='Percent')
                 for i in range(count))


def cases():
    one = series(1, 1440)
    ten = series(10, 1440)
    threshold = (render.Horizontal(80.0, 'alarm', fill='above'),)
    return {
        'timeSeries_600x400_1x1440': render.Chart(one, title='CPUUtilization',
                                                  horizontal=threshold),
        'timeSeries_600x400_10x1440': render.Chart(ten, title='10 metrics'),
        'timeSeries_stacked_1200x600_10x1440': render.Chart(ten, stacked=True, width=1200,
                                                            height=600),
        'singleValue_600x400_10': render.Chart(ten, view='singleValue'),
        'bar_600x400_10': render.Chart(ten, view='bar'),
        'pie_600x400_10': render.Chart(ten, view='pie'),
        'no_data_600x400': render.Chart((), title='empty'),
    }


def measure(chart, repeat):
    render.png(chart)  # warm-up: fonts and caches of this size
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        size = len(render.png(chart))
        cpus.append(time.process_time() - cpu)
        walls.append(time.perf_counter() - wall)
    return {'wall_ms_p50': _ms(statistics.median(walls)), 'wall_ms_p95': _ms(_p95(walls)),
            'cpu_ms_p50': _ms(statistics.median(cpus)), 'cpu_ms_p95': _ms(_p95(cpus)),
            'png_bytes': size}


def _p95(values):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * len(ordered) + 0.5)) - 1)]


def _ms(seconds):
    return round(seconds * 1000, 1)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--repeat', type=int, default=30)
    parser.add_argument('--quick', action='store_true', help='5 charts a case')
    args = parser.parse_args(argv)
    if args.quick:
        args.repeat = 5
    report = {'benchmark': 'render', 'python': platform.python_version(),
              'cpus': os.cpu_count(), 'loadavg_before': _loadavg(), 'repeat': args.repeat}
    charts = cases()
    began = time.perf_counter()
    render.png(charts['timeSeries_600x400_1x1440'])
    report['first_chart_ms'] = _ms(time.perf_counter() - began)
    import matplotlib
    report['matplotlib'] = matplotlib.__version__
    report['cases'] = {name: measure(chart, args.repeat) for name, chart in charts.items()}
    main_case = report['cases']['timeSeries_600x400_1x1440']
    report['target'] = {'chart': '600x400, 1,440 points', 'limit_ms': 60,
                        'cpu_ms_p50': main_case['cpu_ms_p50'],
                        'wall_ms_p50': main_case['wall_ms_p50'],
                        'met': main_case['cpu_ms_p50'] <= 60}
    report['loadavg_after'] = _loadavg()
    print(json.dumps(report, indent=2))
    return 0


def _loadavg():
    with open('/proc/loadavg') as f:
        return f.read().split()[:3]


if __name__ == '__main__':
    sys.exit(main())
