"""Alarms (Aodh's part): one evaluation engine for the Aodh-compatible API and, later, the
CloudWatch one. So far the pure core alone: no I/O, no config, no logging.

The front door, for now:

- ``rules``: the states (``ok``, ``alarm``, ``insufficient data``), the comparison
  operators (Aodh's, and CloudWatch's mapped onto them), ``ThresholdRule`` (``from_aodh``,
  ``from_cloudwatch``, ``query_window``: what the caller reads) and ``InvalidRule``.
- ``evaluation.evaluate(rule, previous, datapoints, now, repeat_actions, time_constraints)``
  -> ``Evaluation`` (state, notify, reason, reason_data); ``judge`` and ``conclude`` are its
  two halves.
- ``composite``: ``CompositeRule.from_aodh`` and ``evaluate`` over one datapoint list per leaf.
- ``constraints``: ``within(time_constraints, now)`` and ``check``.
- ``storage``: ``AlarmStore``, the alarms, their history and quotas in SQL, which the Aodh
  v2 API (telewatch.api), the evaluator and the notifiers share.

``reasons`` (the texts) is private. What comes next (issue 15 sections 2 to 5): the Aodh v2
API in telewatch-api, the evaluator daemon fed by the archive's "metrics aggregated" stream
and reading through ``telewatch.archive``'s store, and the notifiers and history, delivering
through ``telewatch.delivery``; they will call this engine and nothing will re-implement it.
"""
