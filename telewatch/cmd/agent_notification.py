"""telewatch-agent-notification: the notification agent daemon (cotyledon), one or more
workers consuming the bus and running pipeline.yaml."""

import sys

from telewatch import config_file
from telewatch import service
from telewatch.notification import agent as agent_mod
from telewatch.pipeline import config as pipeline_config


def main(argv=None, stderr=None):
    stderr = stderr or sys.stderr
    conf = service.prepare_service(sys.argv[1:] if argv is None else argv)
    try:
        # Check everything before any worker starts: errors stop start-up, here.
        agent_mod.Pipelines(conf)
        if conf.bus.workload_partitioning and not conf.coordination.backend_url:
            raise ValueError('[bus] workload_partitioning needs [coordination] backend_url')
    except config_file.ConfigErrors as exc:
        stderr.write('%s\n' % exc)
        return 1
    except (ValueError, pipeline_config.plugins.PluginLoadError) as exc:
        stderr.write('telewatch-agent-notification: %s\n' % exc)
        return 1
    service.run_agents('telewatch-agent-notification', agent_mod.NotificationAgent, conf,
                       workers=conf.notification.workers)
    return 0


if __name__ == '__main__':
    sys.exit(main())
