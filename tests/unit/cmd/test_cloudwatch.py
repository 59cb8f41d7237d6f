"""telewatch-cloudwatch: gunicorn with [cloudwatch]'s address and workers, the app built
before forking."""

from telewatch.cloudwatch import app as app_mod
from telewatch.cmd import api as api_cmd
from telewatch.cmd import cloudwatch


def test_main_serves_the_app_with_the_options(tmp_path, monkeypatch):
    served = {}
    monkeypatch.setattr(api_cmd.GunicornServer, 'run', lambda self: served.update(
        app=self.application, options=self.options))
    config = tmp_path / 'telewatch.conf'
    config.write_text('[DEFAULT]\ndata_dir = %s\n[cloudwatch]\nport = 9043\nworkers = 3\n'
                      'auth_strategy = keys_file\n' % tmp_path)
    assert cloudwatch.main(['--config-file', str(config)]) == 0
    assert isinstance(served['app'], app_mod.CloudWatchApp)
    assert served['options']['bind'] == '0.0.0.0:9043'
    assert served['options']['workers'] == 3 and served['options']['preload_app']
    assert (tmp_path / 'cloudwatch-credentials').exists()
    served['app'].store.close()
