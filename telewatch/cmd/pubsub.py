"""telewatch-pubsub: workers that read the firehose and deliver each sample to the
subscriptions that want it (telewatch.pubsub.service), under cotyledon."""

import sys

from telewatch import service
from telewatch.archive import errors
from telewatch.archive import store as store_mod
from telewatch.pubsub import service as pubsub_service
from telewatch.pubsub import subscription as subscription_mod


def main(argv=None):
    conf = service.prepare_service(sys.argv[1:] if argv is None else argv)
    try:
        subscription_mod.AllowList(conf.pubsub.allowed_targets)
        store_mod.upgrade_index(conf)
    except (ValueError, errors.ArchiveError) as exc:
        sys.stderr.write('telewatch-pubsub: %s\n' % exc)
        return 1
    service.run_agents('telewatch-pubsub', pubsub_service.PubSubWorker, conf,
                       workers=conf.pubsub.workers)
    return 0


if __name__ == '__main__':
    sys.exit(main())
