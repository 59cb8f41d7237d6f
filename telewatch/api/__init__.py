"""The REST API: Gnocchi-compatible /v1 and telewatch's own resources."""

from telewatch.api import auth


def list_opts():
    """(group, options) of the API's modules, for oslo-config-generator."""
    return auth.list_opts()
