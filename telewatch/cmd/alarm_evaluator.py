"""telewatch-alarm-evaluator: workers that evaluate alarms (telewatch.alarms.evaluator),
under cotyledon."""

import sys

from telewatch import service
from telewatch.alarms.evaluator import evaluator


def main(argv=None):
    conf = service.prepare_service(sys.argv[1:] if argv is None else argv)
    if conf.alarms.evaluator_workers > 1 and not conf.alarms.coordination_url:
        sys.stderr.write('telewatch-alarm-evaluator: [alarms] evaluator_workers > 1 needs '
                         '[alarms] coordination_url, or every worker evaluates every '
                         'alarm\n')
        return 1
    service.run_agents('telewatch-alarm-evaluator', evaluator.AlarmEvaluator, conf,
                       workers=conf.alarms.evaluator_workers)
    return 0


if __name__ == '__main__':
    sys.exit(main())
