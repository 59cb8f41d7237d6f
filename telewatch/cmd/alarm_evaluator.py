"""telewatch-alarm-evaluator: workers that evaluate alarms (telewatch.alarms.evaluator),
under cotyledon."""

import sys

from telewatch import service
from telewatch.alarms.evaluator import evaluator
from telewatch.archive import errors
from telewatch.archive import store as store_mod


def main(argv=None):
    conf = service.prepare_service(sys.argv[1:] if argv is None else argv)
    if conf.alarms.evaluator_workers > 1 and not conf.alarms.coordination_url:
        sys.stderr.write('telewatch-alarm-evaluator: [alarms] evaluator_workers > 1 needs '
                         '[alarms] coordination_url, or every worker evaluates every '
                         'alarm\n')
        return 1
    try:
        current, head = store_mod.ArchiveStore.from_conf(conf).schema_revisions()
    except (ValueError, errors.ArchiveError, errors.StorageUnavailable) as exc:
        sys.stderr.write('telewatch-alarm-evaluator: %s\n' % exc)
        return 1
    if current != head:
        sys.stderr.write('telewatch-alarm-evaluator: the archive index is at revision %s, '
                         'not %s: run telewatch-upgrade first\n' % (current, head))
        return 1
    service.run_agents('telewatch-alarm-evaluator', evaluator.AlarmEvaluator, conf,
                       workers=conf.alarms.evaluator_workers)
    return 0


if __name__ == '__main__':
    sys.exit(main())
