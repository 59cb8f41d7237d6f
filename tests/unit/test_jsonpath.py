"""telewatch.jsonpath: plain paths are read by dict look-ups, with jsonpath-ng's result."""

import pytest
from jsonpath_ng import ext as jsonpath_ext

from telewatch import jsonpath
from tests.unit.notification.test_meter_definitions import NOVA_CREATE_END


@pytest.mark.parametrize('text', ['$', '$.payload', '$.payload.memory_mb', 'payload.memory_mb',
                                  '$.payload.image_meta.base_image_ref', '$.payload.missing.x',
                                  '$.payload.fixed_ips.address', '$.payload.os_type',
                                  '$.payload.display_name.x', '$.publisher_id'])
def test_plain_paths_read_like_jsonpath_ng(text):
    read = jsonpath.compile_path(text)
    assert read.func is jsonpath._lookup
    values = [m.value for m in jsonpath_ext.parse(text).find(NOVA_CREATE_END)
              if m.value is not None]
    assert read(NOVA_CREATE_END) == (values[0] if values else None)


def test_other_paths_use_jsonpath_ng():
    read = jsonpath.compile_path('$.payload.fixed_ips[0].address')
    assert read.func is jsonpath._first_match
    assert read(NOVA_CREATE_END) == '10.0.0.12'
