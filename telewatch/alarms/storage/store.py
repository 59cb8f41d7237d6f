"""The alarm store: alarms, their history and quotas in SQL (the archive index's database
unless ``[alarms] connection`` names another), for the API, the evaluator and the notifiers.

Alarms are the plain dicts of the shared alarm document (``FIELDS``); create, update and
delete write their history entry in the same transaction, and ``transition`` is a
compare-and-set on the state, so that two evaluators never both notify one change.
"""

import datetime
import json
import urllib.parse
import uuid

import sqlalchemy as sa
from oslo_config import cfg

from telewatch.alarms import rules
from telewatch.alarms.storage import migration
from telewatch.alarms.storage import query
from telewatch.alarms.storage import schema
from telewatch.archive import sql

GROUP = 'alarms'
OPTS = [
    cfg.StrOpt('connection', default='', secret=True,
               help='SQLAlchemy URL of the alarm store: sqlite:///PATH or '
                    'postgresql://USER:PASSWORD@HOST:PORT/DB. Empty: the database of the '
                    "archive index ([archive] index_url), in tables of the alarms' own."),
    cfg.IntOpt('user_alarm_quota', min=0,
               help='Most alarms one user may define (unset: no limit), as Aodh.'),
    cfg.IntOpt('project_alarm_quota', min=0,
               help='Most alarms one project may define (unset: no limit; a quota set '
                    'through /v2/quotas wins), as Aodh.'),
    cfg.IntOpt('alarm_max_actions', default=-1,
               help='Most actions of one state of an alarm; 0 or less: no limit.'),
    cfg.IntOpt('history_time_to_live', default=30 * 86400, min=-1,
               help='Seconds an alarm history entry is kept; -1: for ever.'),
]

CREATION = 'creation'
RULE_CHANGE = 'rule change'
STATE_TRANSITION = 'state transition'
DELETION = 'deletion'
ACTION = 'action'
HISTORY_TYPES = (CREATION, RULE_CHANGE, STATE_TRANSITION, DELETION, ACTION)
ACTIONS_OF = {rules.OK: 'ok_actions', rules.ALARM: 'alarm_actions',
              rules.INSUFFICIENT_DATA: 'insufficient_data_actions'}
FIELDS = tuple(column.name for column in schema.alarm.columns)
HISTORY_FIELDS = tuple(column.name for column in schema.alarm_history.columns)
_ALARM_TIMES = ('timestamp', 'state_timestamp', 'evaluate_timestamp')
ALARM_COLUMNS = {c.name: c for c in schema.alarm.columns if not isinstance(c.type, sa.JSON)}
HISTORY_COLUMNS = {c.name: c for c in schema.alarm_history.columns}
_DEFAULTS = {'description': None, 'enabled': True, 'severity': 'low',
             'state': rules.INSUFFICIENT_DATA, 'state_reason': 'Not evaluated yet',
             'reason_data': None, 'evaluate_timestamp': None, 'repeat_actions': False,
             'ok_actions': [], 'alarm_actions': [], 'insufficient_data_actions': [],
             'time_constraints': [], 'project_id': None, 'user_id': None}
# Changes that are no "rule change" of their own (Aodh leaves them out of its detail).
_NOT_CHANGES = ('timestamp', 'state_timestamp', 'evaluate_timestamp')
# Alarm ids in one IN (...) (SQLite's default limit of bound parameters is 32,766).
_IDS_PER_QUERY = 500


def list_opts():
    return [(GROUP, OPTS)]


class NoSuchAlarm(LookupError):
    """No alarm of that id (``alarm_id``)."""

    def __init__(self, alarm_id):
        super().__init__('Alarm %s not found' % alarm_id)
        self.alarm_id = alarm_id


class NoSuchEvent(LookupError):
    """No history entry of that id (a page's marker)."""

    def __init__(self, event_id):
        super().__init__('History entry %s not found' % event_id)
        self.event_id = event_id


def _enabled(statement, types):
    table = schema.alarm
    statement = statement.where(table.c.enabled.is_(True))
    if types is not None:
        statement = statement.where(table.c.type.in_(list(types)))
    return statement


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def scrub(url):
    """An action URL without the credentials in its user part (a trust's id)."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return url
    if '@' not in parts.netloc:
        return url
    return urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rpartition('@')[2]))


def _jsonable(value):
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def history_detail(document):
    """Aodh's JSON text of a history entry's detail, times as ISO texts, action URLs
    scrubbed."""
    detail = dict(document)
    for key in ACTIONS_OF.values():
        if isinstance(detail.get(key), list):
            detail[key] = [scrub(url) for url in detail[key]]
    return json.dumps(_jsonable(detail), sort_keys=True)


class AlarmStore:
    """Alarms, history and quotas in the database of ``url`` (or an existing ``engine``).
    ``history_time_to_live``: seconds ``expire_history`` keeps (-1: for ever)."""

    def __init__(self, url=None, engine=None, history_time_to_live=30 * 86400):
        self.engine = engine if engine is not None else sql.engine_from_url(url)
        self.history_time_to_live = history_time_to_live

    @classmethod
    def from_conf(cls, conf):
        conf.register_opts(OPTS, group=GROUP)
        url = conf.alarms.connection
        if not url:
            from telewatch.archive import store as archive_store
            url = archive_store.index_url(conf)
        return cls(url, history_time_to_live=conf.alarms.history_time_to_live)

    def upgrade(self):
        """Create or upgrade the alarm tables (idempotent)."""
        with sql.retryable_errors('alarm store'):
            migration.upgrade(self.engine)

    def schema_revisions(self):
        """``(current, head)`` revisions of the alarm schema (current None: never set up)."""
        with sql.retryable_errors('alarm store'):
            return migration.current(self.engine), migration.head()

    def close(self):
        self.engine.dispose()

    def reset_connections(self):
        """Drop the connections a forked child inherited, without closing the parent's."""
        self.engine.dispose(close=False)

    def _begin(self):
        return sql.transaction(self.engine, 'alarm store')

    # -- alarms ----------------------------------------------------------------------------

    def create(self, alarm, actor=None):
        """Store a new alarm (defaults filled, an ``alarm_id`` made when it has none) and
        its ``creation`` history entry; ``actor`` = (user_id, project_id) of who asked
        (default: the alarm's owner). Returns the stored alarm."""
        now = utcnow()
        row = dict(_DEFAULTS, timestamp=now, state_timestamp=now)
        row.update({k: v for k, v in alarm.items() if k in FIELDS})
        row.setdefault('alarm_id', str(uuid.uuid4()))
        row['alarm_id'] = row['alarm_id'] or str(uuid.uuid4())
        with self._begin() as conn:
            conn.execute(schema.alarm.insert(), row)
            self._record(conn, row, CREATION, row, actor, row['timestamp'])
        return row

    def get(self, alarm_id):
        with sql.retryable_errors('alarm store'), self.engine.connect() as conn:
            return self._get(conn, alarm_id)

    def _get(self, conn, alarm_id):
        row = conn.execute(schema.alarm.select().where(
            schema.alarm.c.alarm_id == alarm_id)).mappings().first()
        if row is None:
            raise NoSuchAlarm(alarm_id)
        return dict(row)

    def update(self, alarm, actor=None):
        """Replace an alarm's definition (``alarm_id`` names it; fields left out keep their
        value) and record a ``rule change`` entry of what changed. NoSuchAlarm."""
        with self._begin() as conn:
            old = self._get(conn, alarm['alarm_id'])
            new = dict(old, **{k: v for k, v in alarm.items() if k in FIELDS})
            new['timestamp'] = alarm.get('timestamp') or utcnow()
            conn.execute(schema.alarm.update().where(
                schema.alarm.c.alarm_id == old['alarm_id']), new)
            change = {k: v for k, v in new.items()
                      if v != old[k] and k not in _NOT_CHANGES}
            if change:
                self._record(conn, new, RULE_CHANGE, change, actor, new['timestamp'])
        return new

    def delete(self, alarm_id, actor=None):
        """Delete an alarm, recording its ``deletion``; returns what it was. NoSuchAlarm."""
        with self._begin() as conn:
            old = self._get(conn, alarm_id)
            conn.execute(schema.alarm.delete().where(schema.alarm.c.alarm_id == alarm_id))
            self._record(conn, old, DELETION, old, actor, utcnow())
        return old

    def search(self, filter=None, orderby=None, limit=None, marker=None):
        """Alarms matching an Aodh complex ``filter``, in ``orderby`` (default: newest
        definition first), at most ``limit``, after the alarm id ``marker`` (NoSuchAlarm
        when it is not one). query.InvalidQuery for a bad filter or order."""
        table = schema.alarm
        order = query.compile_orderby(orderby or [{'timestamp': 'desc'}], ALARM_COLUMNS)
        order = [(c, d) for c, d in order if c is not table.c.alarm_id] + [
            (table.c.alarm_id, 'asc')]
        statement = table.select().order_by(*query.order_clauses(order))
        if filter is not None:
            statement = statement.where(
                query.compile_filter(filter, ALARM_COLUMNS, _ALARM_TIMES))
        if limit is not None:
            statement = statement.limit(limit)
        with sql.retryable_errors('alarm store'), self.engine.connect() as conn:
            if marker is not None:
                last = self._get(conn, marker)
                statement = statement.where(
                    query.after(order, [last[c.name] for c, _ in order]))
            return [dict(row) for row in conn.execute(statement).mappings()]

    def count(self, project_id=None, user_id=None):
        """How many alarms a project (or a user) has (the quotas' measure)."""
        table = schema.alarm
        statement = sa.select(sa.func.count()).select_from(table)
        if project_id is not None:
            statement = statement.where(table.c.project_id == project_id)
        if user_id is not None:
            statement = statement.where(table.c.user_id == user_id)
        with sql.retryable_errors('alarm store'), self.engine.connect() as conn:
            return conn.execute(statement).scalar()

    # -- the evaluator's ---------------------------------------------------------------------

    def evaluable(self, types=None, ids=None):
        """The enabled alarms (of ``types`` when given; of those ``ids`` when given), every
        project's."""
        table = schema.alarm
        with sql.retryable_errors('alarm store'), self.engine.connect() as conn:
            if ids is None:
                statement = _enabled(table.select(), types)
                return [dict(row) for row in conn.execute(statement).mappings()]
            # By primary key alone, the rest checked here: given the columns of the
            # (enabled, type) index too, SQLite prefers that index and reads every row.
            ids, found = sorted(ids), []
            for start in range(0, len(ids), _IDS_PER_QUERY):
                found += [dict(row) for row in conn.execute(table.select().where(
                    table.c.alarm_id.in_(ids[start:start + _IDS_PER_QUERY]))).mappings()
                    if row['enabled'] and (types is None or row['type'] in types)]
            return found

    def evaluable_versions(self, types=None):
        """``{alarm id: version}`` of the enabled alarms (of ``types`` when given): what an
        evaluator keeping the alarms in memory asks every pass, instead of every alarm. A
        version is an opaque value that changes with the alarm's definition (``timestamp``)
        or its state (``state``, ``state_timestamp``); no JSON column is read."""
        table = schema.alarm
        statement = _enabled(sa.select(
            table.c.alarm_id, sa.cast(table.c.timestamp, sa.String),
            sa.cast(table.c.state_timestamp, sa.String), table.c.state), types)
        with sql.retryable_errors('alarm store'), self.engine.connect() as conn:
            return {row[0]: row[1:] for row in conn.execute(statement)}

    def transition(self, alarm_id, previous, state, reason, reason_data, now=None,
                   actor=None, detail=None):
        """Set the state if it still is ``previous`` (a compare-and-set), with its reason,
        reason data and timestamp, and record a ``state transition`` entry, in one
        transaction; the alarm after it, or None when the state is no longer ``previous``
        (another writer was first) or the alarm is gone. ``actor`` as for ``create``;
        ``detail`` the entry's (default ``{"state", "transition_reason"}``)."""
        now = now or utcnow()
        table = schema.alarm
        with self._begin() as conn:
            done = conn.execute(table.update().where(
                table.c.alarm_id == alarm_id, table.c.state == previous).values(
                state=state, state_reason=reason, reason_data=reason_data,
                state_timestamp=now))
            if done.rowcount != 1:
                return None
            alarm = self._get(conn, alarm_id)
            self._record(conn, alarm, STATE_TRANSITION,
                         detail or {'state': state, 'transition_reason': reason}, actor, now)
        return alarm

    def set_evaluated(self, alarm_ids, now=None):
        """Set ``evaluate_timestamp`` of these alarms (one transaction)."""
        alarm_ids, now = list(alarm_ids), now or utcnow()
        if not alarm_ids:
            return
        table = schema.alarm
        with self._begin() as conn:
            # In chunks: an IN of 10,000 ids costs more to build than to run.
            for start in range(0, len(alarm_ids), _IDS_PER_QUERY):
                conn.execute(table.update().where(table.c.alarm_id.in_(
                    alarm_ids[start:start + _IDS_PER_QUERY])).values(evaluate_timestamp=now))

    # -- history -----------------------------------------------------------------------------

    def _record(self, conn, alarm, kind, detail, actor, timestamp):
        user_id, project_id = actor or (alarm.get('user_id'), alarm.get('project_id'))
        self._insert_history(conn, alarm['alarm_id'], kind, detail, user_id, project_id,
                             alarm.get('project_id'), alarm.get('severity'), timestamp)

    @staticmethod
    def _insert_history(conn, alarm_id, kind, detail, user_id, project_id, on_behalf_of,
                        severity, timestamp):
        event_id = str(uuid.uuid4())
        conn.execute(schema.alarm_history.insert(), {
            'event_id': event_id, 'alarm_id': alarm_id, 'type': kind,
            'detail': detail if isinstance(detail, str) else history_detail(detail),
            'user_id': user_id, 'project_id': project_id, 'on_behalf_of': on_behalf_of,
            'severity': severity, 'timestamp': timestamp or utcnow()})
        return event_id

    def record_history(self, alarm_id, type, detail, user_id=None, project_id=None,
                       on_behalf_of=None, severity=None, timestamp=None):
        """Add one history entry (``detail`` a dict, stored as Aodh's JSON text); its id."""
        if type not in HISTORY_TYPES:
            raise ValueError('history type %r is not one of %s'
                             % (type, ', '.join(HISTORY_TYPES)))
        with self._begin() as conn:
            return self._insert_history(conn, alarm_id, type, detail, user_id, project_id,
                                        on_behalf_of, severity, timestamp)

    def record_action(self, alarm, kind, detail, timestamp=None):
        """The notifiers' ``record``: an entry of ``kind`` (``action``) in ``alarm``'s
        history, on behalf of the alarm's project, so that its project sees it."""
        return self.record_history(alarm['alarm_id'], kind, detail, alarm.get('user_id'),
                                   alarm.get('project_id'), alarm.get('project_id'),
                                   alarm.get('severity'), timestamp)

    def history(self, alarm_id, on_behalf_of=None, filter=None, orderby=None, limit=None,
                marker=None):
        """An alarm's history (a deleted one's too), newest first unless ``orderby``;
        ``on_behalf_of``: only the entries of that project (a non-admin's view)."""
        conditions = [{'=': {'alarm_id': alarm_id}}]
        if on_behalf_of is not None:
            conditions.append({'=': {'on_behalf_of': on_behalf_of}})
        if filter is not None:
            conditions.append(filter)
        tree = {'and': conditions} if len(conditions) > 1 else conditions[0]
        return self.search_history(tree, orderby, limit, marker)

    def search_history(self, filter=None, orderby=None, limit=None, marker=None):
        """History entries matching an Aodh complex ``filter`` (newest first by default),
        after the entry ``marker`` (an event id; NoSuchEvent when it is not one)."""
        table = schema.alarm_history
        order = query.compile_orderby(orderby or [{'timestamp': 'desc'}], HISTORY_COLUMNS)
        order = [(c, d) for c, d in order if c is not table.c.event_id] + [
            (table.c.event_id, 'asc')]
        statement = table.select().order_by(*query.order_clauses(order))
        if filter is not None:
            statement = statement.where(
                query.compile_filter(filter, HISTORY_COLUMNS, ('timestamp',)))
        if limit is not None:
            statement = statement.limit(limit)
        with sql.retryable_errors('alarm store'), self.engine.connect() as conn:
            if marker is not None:
                last = conn.execute(table.select().where(
                    table.c.event_id == marker)).mappings().first()
                if last is None:
                    raise NoSuchEvent(marker)
                statement = statement.where(
                    query.after(order, [last[c.name] for c, _ in order]))
            return [dict(row) for row in conn.execute(statement).mappings()]

    def expire_history(self, now=None):
        """Delete the entries older than ``history_time_to_live``; how many went."""
        if self.history_time_to_live < 0:
            return 0
        limit = (now or utcnow()) - datetime.timedelta(seconds=self.history_time_to_live)
        table = schema.alarm_history
        with self._begin() as conn:
            return conn.execute(table.delete().where(table.c.timestamp < limit)).rowcount

    # -- quotas ------------------------------------------------------------------------------

    def quotas(self, project_id):
        """The quotas set for a project: {resource: limit} (empty: the defaults apply)."""
        table = schema.alarm_quota
        with sql.retryable_errors('alarm store'), self.engine.connect() as conn:
            rows = conn.execute(sa.select(table.c.resource, table.c.limit).where(
                table.c.project_id == project_id))
            return {resource: limit for resource, limit in rows}

    def set_quotas(self, project_id, quotas):
        """Set some of a project's quotas ({resource: limit}); the others are kept."""
        table = schema.alarm_quota
        with self._begin() as conn:
            for resource, limit in quotas.items():
                conn.execute(table.delete().where(table.c.project_id == project_id,
                                                  table.c.resource == resource))
                conn.execute(table.insert(), {'project_id': project_id,
                                              'resource': resource, 'limit': limit})
        return self.quotas(project_id)

    def delete_quotas(self, project_id):
        table = schema.alarm_quota
        with self._begin() as conn:
            conn.execute(table.delete().where(table.c.project_id == project_id))
