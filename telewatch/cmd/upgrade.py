"""telewatch-upgrade: create or upgrade the archive's index and storage, the default
archive policies and rule (``--skip-default-policies`` to leave them out) and the alarm store."""

import sys

from oslo_config import cfg

from telewatch import service
from telewatch.alarms import storage as alarm_storage
from telewatch.archive import errors
from telewatch.archive import store as store_mod

CLI_OPTS = [
    cfg.BoolOpt('skip-default-policies', default=False,
                help="Do not create Gnocchi's and Ceilometer's default archive policies "
                     'and the rule "default" (* -> low).'),
]


def main(argv=None, stdout=None, stderr=None):
    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    conf = service.prepare_service(sys.argv[1:] if argv is None else argv, cli_opts=CLI_OPTS)
    try:
        store = store_mod.ArchiveStore.from_conf(conf)
        store.upgrade(default_policies=not conf.skip_default_policies)
        alarms = alarm_storage.AlarmStore.from_conf(conf)
        alarms.upgrade()
        alarms.close()
    except (ValueError, errors.ArchiveError, errors.StorageUnavailable) as exc:
        stderr.write('telewatch-upgrade: %s\n' % exc)
        return 1
    stdout.write('archive index %s and storage %s are up to date\n' % store.locations())
    stdout.write('alarm store %s is up to date\n'
                 % alarms.engine.url.render_as_string(hide_password=True))
    store.close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
