"""Pollsters (what the polling agent measures) and discoveries (what it polls)."""


def list_opts():
    from telewatch.pollsters import libvirt_inspector
    return [('compute', libvirt_inspector.OPTS)]
