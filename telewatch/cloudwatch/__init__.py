"""The CloudWatch API (``monitoring`` 2010-08-01) on telewatch's archive and alarm engine:
its three wire protocols, SigV4 on Keystone EC2 credentials, and the operations.

The operation interface (the wire layer calls it, the operations modules implement it):

- An operation is ``op(ctx, params) -> dict``, registered by name in the module-level dict
  ``OPERATIONS`` of its module (``metrics``, ``alarms``, ``dashboards``, ``tags``);
  ``telewatch.cloudwatch.app`` merges them.
- ``params`` is the operation's input as botocore's service model names it, parsed from
  whichever protocol and checked against the model (required members, types, enums, ranges):
  structures are dicts, lists lists, maps dicts, timestamps aware UTC datetimes, doubles
  floats, integers ints, booleans bools, blobs bytes. Missing optional members are absent.
- The return value is the output shape's dict with the same conventions (``{}`` when the
  operation has no output); the wire layer serialises it per protocol.
- Errors are ``telewatch.cloudwatch.errors.CloudWatchError`` and its subclasses.
- ``ctx`` is a ``Context``: everything an operation reads or writes is scoped to
  ``ctx.project_id``.
"""

import dataclasses
import datetime
import typing


@dataclasses.dataclass(frozen=True)
class Context:
    """Who asks and with what: one per request, built by the wire layer after SigV4."""

    project_id: str
    user_id: str
    access_key: str
    request_id: str
    now: datetime.datetime  # aware UTC: when the request arrived
    conf: typing.Any  # the oslo.config ConfigOpts
    store: typing.Any  # telewatch.archive.store.ArchiveStore
    alarms: typing.Any  # telewatch.alarms.storage.AlarmStore
    region: str = 'RegionOne'
