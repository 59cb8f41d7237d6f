"""Fixtures shared by the functional tests.

The fixtures are imported rather than listed in ``pytest_plugins``: pytest refuses
``pytest_plugins`` in a conftest below the rootdir as soon as it is collected from a parent
directory (``pytest tests``).
"""

from tests.functional.api_helpers import telewatch_api  # noqa: F401
from tests.functional.libvirt_guest import real_guest  # noqa: F401
from tests.functional.services import (  # noqa: F401
    gnocchi_endpoint, kafka_bootstrap, keystone, postgresql_indexer, postgresql_url,
    rabbitmq_url, redis_url)
from tests.functional.bus_helpers import deployment, kafka_deployment  # noqa: F401
