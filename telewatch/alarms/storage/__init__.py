"""The alarm store (``AlarmStore``): alarms, their history and quotas in SQL, what the API,
the evaluator and the notifiers share; ``query`` compiles Aodh's complex queries.

``AlarmStore.from_conf(conf)`` (``[alarms] connection``, default the archive index's
database) or ``AlarmStore(url)``; ``upgrade()`` creates its tables. See ``store`` for the
methods, ``ACTIONS_OF`` for the actions of each state and ``NoSuchAlarm``.
"""

from telewatch.alarms.storage.query import InvalidQuery  # noqa: F401
from telewatch.alarms.storage.store import ACTION  # noqa: F401
from telewatch.alarms.storage.store import ACTIONS_OF  # noqa: F401
from telewatch.alarms.storage.store import AlarmStore  # noqa: F401
from telewatch.alarms.storage.store import CREATION  # noqa: F401
from telewatch.alarms.storage.store import DELETION  # noqa: F401
from telewatch.alarms.storage.store import HISTORY_TYPES  # noqa: F401
from telewatch.alarms.storage.store import list_opts  # noqa: F401
from telewatch.alarms.storage.store import NoSuchAlarm  # noqa: F401
from telewatch.alarms.storage.store import NoSuchEvent  # noqa: F401
from telewatch.alarms.storage.store import RULE_CHANGE  # noqa: F401
from telewatch.alarms.storage.store import STATE_TRANSITION  # noqa: F401
