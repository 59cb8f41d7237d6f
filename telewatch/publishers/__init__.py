"""Publishers: one module each, registered in setup.cfg under ``telewatch.publisher``."""


def list_opts():
    from telewatch.publishers import gnocchi
    return gnocchi.list_opts()
