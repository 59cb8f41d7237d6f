"""Every option of telewatch, for oslo-config-generator and for ``prepare_service``."""

from telewatch import api
from telewatch import bus
from telewatch.api import app as api_app
from telewatch.archive import store as archive_store
from telewatch import notification
from telewatch import pipeline
from telewatch import polling
from telewatch import pollsters
from telewatch import publishers
from telewatch.pubsub import options as pubsub_options
from telewatch import service


def list_opts():
    """(group, options) of every subpackage, each of which lists its own."""
    return (pipeline.list_opts() + polling.list_opts() + pollsters.list_opts() +
            service.list_opts() + notification.list_opts() + publishers.list_opts() +
            [('bus', bus.OPTS)] + archive_store.list_opts() + api.list_opts() +
            api_app.list_opts() + pubsub_options.list_opts())
