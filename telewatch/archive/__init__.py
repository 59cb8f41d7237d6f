"""The archive store: Gnocchi-like archive policies, per-metric rollups and their storage.

The pure numpy core (policy, aggregation, state, serialization) does no I/O, no config, no logging.
"""
