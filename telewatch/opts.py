"""Every option of telewatch, for oslo-config-generator and for ``prepare_service``."""

from telewatch.pipeline import engine
from telewatch import service


def list_opts():
    return [
        ('pipeline', engine.OPTS),
        ('publisher', service.PUBLISHER_OPTS),
    ]
