"""telewatch-api: the REST API under gunicorn (``[api] host``, ``port``, ``workers``).

For uwsgi or another WSGI server, serve ``telewatch.api.wsgi:application`` instead (it reads
the configuration files named by ``TELEWATCH_CONFIG_FILES``).
"""

import sys

import gunicorn.util
from gunicorn.app import base as gunicorn_base

from telewatch import service
from telewatch.api import app as app_mod
from telewatch.api import cli as api_cli


class GunicornServer(gunicorn_base.BaseApplication):
    """gunicorn serving one WSGI application with the options given (telewatch-api's and
    telewatch-cloudwatch's)."""

    def __init__(self, application, options):
        self.application = application
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        return self.application


def main(argv=None):
    conf = service.prepare_service(sys.argv[1:] if argv is None else argv)
    application = app_mod.make_app(conf)
    gunicorn.util.write_error = api_cli.write_json_error
    GunicornServer(application, {
        'bind': '%s:%d' % (conf.api.host, conf.api.port), 'workers': conf.api.workers,
        'worker_class': 'sync', 'accesslog': '-', 'proc_name': 'telewatch-api',
        # The app is built before forking; each worker opens its own database connections.
        'preload_app': True,
        'post_fork': lambda server, worker: api_cli.post_fork(worker, application),
    }).run()
    return 0


if __name__ == '__main__':
    sys.exit(main())
