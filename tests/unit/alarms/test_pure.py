"""The engine is a pure core: importing it brings in no configuration, logging, I/O
library or other telewatch package."""

import json
import subprocess
import sys

from tests.unit.conftest import REPO

FORBIDDEN = ('oslo_config', 'oslo_log', 'logging', 'socket', 'sqlalchemy', 'requests',
             'kafka', 'numpy')


def test_the_engine_imports_no_config_logging_or_io():
    code = ('import json, sys\n'
            'from telewatch.alarms import composite, constraints, evaluation, rules\n'
            'print(json.dumps(sorted(sys.modules)))\n')
    loaded = json.loads(subprocess.run([sys.executable, '-c', code], cwd=REPO, check=True,
                                       capture_output=True, text=True).stdout)
    assert [name for name in loaded if name.split('.')[0] in FORBIDDEN] == []
    assert [name for name in loaded if name.startswith('telewatch.')
            and not name.startswith('telewatch.alarms')] == []
