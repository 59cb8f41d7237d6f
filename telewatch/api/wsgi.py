"""``application`` for WSGI servers (uwsgi ``--module telewatch.api.wsgi:application``,
gunicorn ``telewatch.api.wsgi:application``). The configuration files are those of
``TELEWATCH_CONFIG_FILES`` (comma-separated), else oslo.config's default locations. The
server's own command line is not parsed as telewatch's."""

import os

from telewatch import service
from telewatch.api import app as app_mod


def _config_args():
    files = [f for f in os.environ.get('TELEWATCH_CONFIG_FILES', '').split(',') if f]
    return [arg for path in files for arg in ('--config-file', path)]


application = app_mod.make_app(service.prepare_service(_config_args()))
