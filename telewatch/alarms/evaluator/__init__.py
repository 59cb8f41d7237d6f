"""The alarm evaluator (telewatch-alarm-evaluator, and inside telewatch-all-in-one): evaluates
alarms as soon as the archive aggregates a metric they watch, and on a periodic tick.

The front door: ``evaluator.AlarmEvaluator`` (``start``, ``stop``, ``threads``,
``loop_errors``, ``counters``) and ``options.list_opts``. It reads the archive only through
``telewatch.archive``'s door (the "metrics aggregated" stream, ``many_series``, the index's
resources and metrics), the alarms through ``telewatch.alarms.storage.AlarmStore`` and calls
actions through ``telewatch.alarms.notifiers.Notifiers``. See doc/alarms.md.
"""
