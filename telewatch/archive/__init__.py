"""The archive store: Gnocchi-like archive policies, per-metric rollups and their storage.

The pure numpy core (policy, aggregation, state, serialization) does no I/O, no config, no logging.

The front door (what other packages use; everything else here is the archive's own):

- ``store.ArchiveStore`` (``from_conf``): every operation that writes or reads measures and
  series, and those that change the index and the series together: ``ensure_metrics``,
  ``new_metric``, ``create_metrics``, ``add_measures``, ``series`` (with ``resample``),
  ``every_granularity``, ``refresh``, ``delete_metric``, ``delete_resource``,
  ``delete_resources``, ``status``, ``health``, ``upgrade``; ``many_series`` (the series of
  many metrics in one read); ``report_component`` and ``components`` (the last reports of
  agents and evaluators, for ``/v1/status``).
- The "metrics aggregated" stream: every ``ArchiveStore.process`` (whoever calls it: a
  telewatch-archive-processor on any host, the all-in-one's processor, a read with
  refresh) records which metrics it just aggregated, one row per round in the index's
  database; any process follows it with ``ArchiveStore.aggregated_since(cursor) ->
  (cursor, metric ids)``. Rows are kept an hour; a row committed after a later one is
  never skipped (``index.aggregated``). What the processors are made of is no reader's
  business: the stream is the whole interface.
- ``ArchiveStore.index``: the index (an ``Indexer``), for what lives in the index alone:
  archive policies and rules, resource types, resources and metrics, their searches
  (``search_resources``, ``search_metrics``, ``marker_of``, ``MAX_LIMIT``) and the
  filter-string parser (``parse_filter``). One documented object rather than as many
  pass-through methods on the store: the Indexer already is the batched public interface
  over its SQL (Gnocchi's indexer is too), and what the store adds is the work that needs
  both halves. The series storage (``ArchiveStore._storage``) is never reached from
  outside.
- ``errors`` (what the door raises), ``policy`` (archive policy definitions, aggregation
  methods, durations), ``aggregates`` (the operations language over loaded series),
  ``calendar`` (calendar periods), ``resource_ids`` (Gnocchi's ids of non-UUID resource
  ids), ``processor`` and ``upgrade`` (the daemons).
- For ``telewatch.pubsub.registry`` alone, whose subscription tables live in the index's
  database and migrations: ``index.schema``'s ``subscription`` and
  ``subscription_counter`` tables, and ``sql`` (its engine and transactions).
  ``telewatch.alarms.storage`` (own tables and migrations, by default in the index's
  database) uses ``sql`` too.

Private: ``index`` (but for ``Indexer`` and its records as ``store.index`` returns them),
``storage``, ``state``, ``aggregation``, ``serialization``, ``incoming``, ``sql``,
``resource_types``.
"""
