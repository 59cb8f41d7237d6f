"""Alarms (Aodh's part): one evaluation engine for the Aodh-compatible API and, later, the
CloudWatch one, and the parts around it that store alarms, evaluate them and act.

The front door:

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

- ``evaluator``: ``AlarmEvaluator`` (telewatch-alarm-evaluator, and inside the all-in-one),
  fed by the archive's "metrics aggregated" stream and reading through
  ``telewatch.archive``'s store.
- ``actions``: ``Actions`` (what an alarm's action URLs may be: schemes, the allow-list,
  Keystone trusts) and ``scrub``; ``notifiers``: ``Notifiers``, which deliver through
  ``telewatch.delivery`` and record each delivery in the history.
- ``events`` (pure) and ``event_listener``: event alarms on the notification agent's
  service notifications.

The engine modules (``rules``, ``evaluation``, ``composite``, ``constraints``) are pure: no
I/O, no config, no logging. ``reasons`` (the texts) and ``keystone`` (trusts) are private;
the Aodh v2 API is in telewatch.api.
"""
