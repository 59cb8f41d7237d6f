"""A PostgreSQL cluster of a test's own, for the faults that must fill or crash the database
(never the shared one on 5433): the binaries tools/services/postgresql installs, ``initdb``
into a directory of the test's, its own port and socket, stopped and removed at the end.

``wal_dir`` puts pg_wal elsewhere (initdb --waldir), e.g. on a small tmpfs, and
``tablespace`` the database's tables (CREATE DATABASE ... TABLESPACE): a test fills either
one alone. WAL segments are 1 MB (initdb --wal-segsize) so that a few megabytes fill them.
"""

import os
import pathlib
import shutil
import subprocess
import tempfile
import time

import pytest

from tests.functional import api_helpers
from tests.functional import services

BIN = pathlib.Path('/usr/lib/postgresql/15/bin')
ROLE = DB = 'telewatch'


def _as_postgres(*args, check=True, timeout=120):
    return subprocess.run(['runuser', '-u', 'postgres', '--', *map(str, args)], cwd='/',
                          capture_output=True, text=True, check=check, timeout=timeout)


def give_to_postgres(path):
    """Make ``path`` (a directory) the postgres user's; its parents let it through."""
    shutil.chown(path, 'postgres', 'postgres')
    os.chmod(path, 0o700)


class Cluster:
    """``start``/``stop``/``running``; ``url`` is the libpq URL of its database."""

    def __init__(self, base, wal_dir=None, tablespace=None):
        self.base = pathlib.Path(base)
        self.data = self.base / 'data'
        self.log = self.base / 'server.log'
        self.port = api_helpers.free_port()
        self.url = 'postgresql://%s@127.0.0.1:%d/%s' % (ROLE, self.port, DB)
        self.wal_dir = wal_dir
        self.tablespace = tablespace

    def create(self):
        args = [BIN / 'initdb', '-D', self.data, '-A', 'trust', '-U', ROLE, '-E', 'UTF8',
                '--locale=C.UTF-8', '--wal-segsize=1', '--no-sync']
        if self.wal_dir is not None:
            args += ['--waldir', self.wal_dir / 'pg_wal']
        _as_postgres(*args)
        self.start()
        create = 'CREATE DATABASE %s' % DB
        if self.tablespace is not None:
            self.psql("CREATE TABLESPACE filled LOCATION '%s'" % self.tablespace, 'postgres')
            create += ' TABLESPACE filled'
        self.psql(create, 'postgres')

    def psql(self, sql, database=DB):
        return _as_postgres(BIN / 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', self.data,
                            '-p', self.port, '-U', ROLE, '-d', database, '-tAc', sql).stdout

    def start(self):
        options = ('-p %d -k %s -c listen_addresses=127.0.0.1 -c max_wal_size=32MB '
                   '-c min_wal_size=2MB -c fsync=on' % (self.port, self.data))
        result = _as_postgres(BIN / 'pg_ctl', '-D', self.data, '-l', self.log, '-w', '-t', 60,
                              '-o', options, 'start', check=False)
        if result.returncode:
            pytest.fail('pg_ctl start failed: %s\n%s' % (result.stderr, self.log_tail()))

    def running(self):
        return _as_postgres(BIN / 'pg_ctl', '-D', self.data, 'status',
                            check=False).returncode == 0

    def accepts(self):
        """Whether a login works now (not starting up, not recovering)."""
        return _as_postgres(BIN / 'psql', '-X', '-h', self.data, '-p', self.port, '-U', ROLE, '-d',
                            DB, '-tAc', 'select 1', check=False, timeout=10).returncode == 0

    def wait_accepting(self, timeout=60):
        deadline = time.monotonic() + timeout
        while not self.accepts():
            if time.monotonic() > deadline:
                pytest.fail('PostgreSQL does not accept logins:\n%s' % self.log_tail())
            time.sleep(0.2)

    def stop(self):
        if self.running():
            _as_postgres(BIN / 'pg_ctl', '-D', self.data, '-m', 'immediate', '-w', '-t', 30,
                         'stop', check=False)

    def log_tail(self, lines=30):
        try:
            return '\n'.join(self.log.read_text(errors='replace').splitlines()[-lines:])
        except OSError:
            return ''

    def log_text(self):
        try:
            return self.log.read_text(errors='replace')
        except OSError:
            return ''


def scratch_base(prefix):
    """A directory the postgres user can reach (pytest's tmp_path is root's alone)."""
    if os.geteuid() != 0:
        pytest.skip('needs root: mounts a tmpfs and runs PostgreSQL as the postgres user')
    base = pathlib.Path(tempfile.gettempdir()) / services.unique(prefix)
    base.mkdir(mode=0o755)
    give_to_postgres(base)
    os.chmod(base, 0o755)
    return base
