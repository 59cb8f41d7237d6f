"""telewatch-upgrade creates the alarm store's tables beside the archive's, and says so."""

import io

import sqlalchemy as sa

from telewatch.alarms.storage import migration
from telewatch.cmd import upgrade


def test_upgrade_creates_the_archive_and_the_alarm_tables(tmp_path):
    config = tmp_path / 'telewatch.conf'
    config.write_text('[DEFAULT]\ndata_dir = %s\n' % tmp_path)
    out = io.StringIO()
    for _ in range(2):  # and again: nothing to do
        assert upgrade.main(['--config-file', str(config)], stdout=out,
                            stderr=io.StringIO()) == 0
    assert 'alarm store sqlite:///%s/archive/index.sqlite is up to date' % tmp_path in (
        out.getvalue())
    engine = sa.create_engine('sqlite:///%s/archive/index.sqlite' % tmp_path)
    assert {'alarm', 'alarm_history', 'alarm_quota', 'resource'} <= set(
        sa.inspect(engine).get_table_names())
    assert migration.current(engine) == migration.head()
    engine.dispose()
