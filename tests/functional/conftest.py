"""Fixtures shared by the functional tests.

The fixtures are imported rather than listed in ``pytest_plugins``: pytest refuses
``pytest_plugins`` in a conftest below the rootdir as soon as it is collected from a parent
directory (``pytest tests``).
"""

import os
import sys

import pytest

from tests.functional import leaks
from tests.functional.api_helpers import telewatch_api  # noqa: F401
from tests.functional.libvirt_guest import real_guest  # noqa: F401
from tests.functional.libvirt_guest import second_guest  # noqa: F401
from tests.functional.services import (  # noqa: F401
    gnocchi_endpoint, kafka_bootstrap, kafka_topics, keystone, postgresql_indexer,
    postgresql_url, rabbitmq_url, redis_url)
from tests.functional.bus_helpers import deployment, kafka_deployment  # noqa: F401
from tests.functional.cloudwatch_clients import (  # noqa: F401
    allinone_keys_file, cbor_models, client, cloudwatch, cloudwatch_clients_installed)
from tests.functional.console_browser import (  # noqa: F401
    browser, chromium_installed, console_built, console_server, keystone_console)


_leak_check = leaks.LeakCheck()


@pytest.fixture(autouse=True)
def _no_leaks(request):
    """List what the services this test uses hold, before and after it (tests.functional.leaks);
    the session fails at its end if what appeared is still there."""
    if os.environ.get('TELEWATCH_SKIP_LEAK_CHECK') == '1':
        yield
        return
    for fixture in leaks.LISTINGS:
        if fixture in request.fixturenames:
            request.getfixturevalue(fixture)  # started before the first listing
    listings = _leak_check.listings(request.fixturenames)
    _leak_check.before(listings)
    yield
    _leak_check.after(listings, request.node.nodeid)


def pytest_sessionfinish(session):
    _leak_check.report = _leak_check.leaked()
    if _leak_check.report and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter):
    gabbits = sys.modules.get('tests.functional.gnocchi_gabbits')
    if gabbits is not None and gabbits.RESULTS:  # test_gnocchi_gabbits ran
        terminalreporter.section("Gnocchi's gabbits: tests passed per file")
        for line in gabbits.report_lines():
            terminalreporter.write_line(line)
    for test, items in sorted(_leak_check.report.items()):
        terminalreporter.section('left behind by %s' % test, red=True)
        for kind, name in items:
            terminalreporter.write_line('%s %s' % (kind, name))
