"""What telewatch-api (telewatch.cmd.api) adds to gunicorn: its workers' set-up after the
fork, and Gnocchi's JSON body for the errors gunicorn answers itself.
"""

import ctypes
import ctypes.util
import json
import os
import signal

import gunicorn.util

from telewatch.api.controllers import aodh

_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def post_fork(worker, application):
    """gunicorn's post_fork hook of a worker serving ``application``."""
    die_with_parent(worker.ppid)
    _reset_pools(application)


def _reset_pools(application):
    application.values['telewatch.store'].reset_connections()
    application.values[aodh.ENVIRON_KEY].reset_connections()  # the AlarmStore of /v2


def _prctl():
    try:
        return ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6', use_errno=True).prctl
    except (OSError, AttributeError):  # not Linux
        return None


def die_with_parent(parent_pid, sig=signal.SIGTERM):
    """Have the kernel send ``sig`` to this process when its parent ``parent_pid`` dies
    (Linux; nothing elsewhere).

    A gunicorn sync worker looks at its parent only between requests and after each wait
    for one, up to half ``timeout`` (15 s): after a SIGKILL of the master, its workers
    went on serving for that long, on a socket no master watches. On SIGTERM a worker
    finishes the request it is serving, then exits.
    """
    prctl = _prctl()
    if prctl is None:
        return
    prctl(_PR_SET_PDEATHSIG, int(sig))
    if os.getppid() != parent_pid:  # it died before prctl: no signal will come
        os.kill(os.getpid(), sig)


def write_json_error(sock, status_int, reason, mesg):
    """``gunicorn.util.write_error`` with Gnocchi's JSON error body instead of an HTML page.

    gunicorn answers the requests it cannot parse itself, before the application sees them
    (a request line over 4094 bytes: 414; a malformed request line or header: 400; a
    header section too large: 431), and has no hook for their body: its workers call
    ``gunicorn.util.write_error``, replaced by this in telewatch-api.
    """
    body = json.dumps({'code': status_int, 'title': reason, 'description': mesg}).encode()
    head = ('HTTP/1.1 %d %s\r\nConnection: close\r\nContent-Type: application/json\r\n'
            'Content-Length: %d\r\n\r\n' % (status_int, reason, len(body)))
    gunicorn.util.write_nonblock(sock, head.encode('latin-1') + body)
