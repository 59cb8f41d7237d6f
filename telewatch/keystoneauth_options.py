"""keystoneauth1's session and auth options in one oslo.config group, as each part that logs
in to Keystone registers them (the gnocchi publisher's ``[gnocchi]``, the alarms'
``[service_credentials]``)."""

from keystoneauth1 import loading as ka_loading


def register(conf, group, opts=()):
    """``opts`` and keystoneauth's session and auth plugin options in ``group``."""
    conf.register_opts(list(opts), group=group)
    ka_loading.register_session_conf_options(conf, group)
    ka_loading.register_auth_conf_options(conf, group)


def list_opts(group, opts=()):
    return [(group, list(opts) + ka_loading.get_session_conf_options()
             + ka_loading.get_auth_common_conf_options())]


def list_auth_opts(group):
    """The password plugin's options, for the sample configuration only (registering them
    with the others would clash with another plugin's options of the same names)."""
    return [(group, ka_loading.get_auth_plugin_conf_options('password'))]
