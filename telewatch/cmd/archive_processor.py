"""telewatch-archive-processor: workers that aggregate the archive's incoming measures
(telewatch.archive.processor), under cotyledon."""

import sys

from telewatch import service
from telewatch.archive import errors
from telewatch.archive import processor
from telewatch.archive import store as store_mod


def main(argv=None):
    conf = service.prepare_service(sys.argv[1:] if argv is None else argv)
    try:
        store_mod.ArchiveStore.from_conf(conf).upgrade_storage()
    except (ValueError, errors.ArchiveError) as exc:
        sys.stderr.write('telewatch-archive-processor: %s\n' % exc)
        return 1
    service.run_agents('telewatch-archive-processor', processor.ArchiveProcessor, conf,
                       workers=conf.archive.processors)
    return 0


if __name__ == '__main__':
    sys.exit(main())
