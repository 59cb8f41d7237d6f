"""The root document's ``build``: what Gnocchi's clients take for Gnocchi's version."""

from packaging import version

from telewatch.api.controllers import root


def test_the_build_is_gnocchis_version_that_ceilometer_upgrade_accepts(api):
    build = api.get('/').json['build']
    assert build == root.gnocchi_build()
    parsed = version.Version(build)
    # ceilometer-upgrade: oslo.utils is_compatible('4.2.0', build), same major.
    assert parsed.major == 4 and parsed >= version.Version('4.2.0')
    assert parsed.public == root.GNOCCHI_API_VERSION
    assert parsed.local.startswith('telewatch.')


def test_telewatchs_own_version_is_the_local_part_whatever_its_form(monkeypatch):
    monkeypatch.setattr(root, 'build_version', lambda: '1.2.3.dev4+g5a6b7c')
    assert root.gnocchi_build() == '4.7.1+telewatch.1.2.3.dev4.g5a6b7c'
    assert version.Version(root.gnocchi_build()).local == 'telewatch.1.2.3.dev4.g5a6b7c'
