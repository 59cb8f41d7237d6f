"""telewatch-cloudwatch: the CloudWatch API under gunicorn (``[cloudwatch] host``, ``port``,
``workers``), served as telewatch-api is (its server class and worker set-up)."""

import sys

from telewatch import service
from telewatch.api import cli as api_cli
from telewatch.cloudwatch import app as app_mod
from telewatch.cmd import api as api_cmd


def post_fork(worker, application):
    """gunicorn's post_fork hook: the worker dies with its master and opens its own
    database connections."""
    api_cli.die_with_parent(worker.ppid)
    application.reset_connections()


def main(argv=None):
    conf = service.prepare_service(sys.argv[1:] if argv is None else argv)
    application = app_mod.make_app(conf)
    options = conf.cloudwatch
    api_cmd.GunicornServer(application, {
        'bind': '%s:%d' % (options.host, options.port), 'workers': options.workers,
        'worker_class': 'sync', 'accesslog': '-', 'proc_name': 'telewatch-cloudwatch',
        'preload_app': True,
        'post_fork': lambda server, worker: post_fork(worker, application),
    }).run()
    return 0


if __name__ == '__main__':
    sys.exit(main())
