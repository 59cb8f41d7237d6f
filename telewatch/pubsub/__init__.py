"""Publish/subscribe: applications subscribe, through the API, to a filtered subset of the
firehose (the topic the kafka:// publisher writes) and telewatch-pubsub delivers it to their
own Kafka topic or UDP port.

- ``subscription``: the pure model: a subscription's filters and target, and their checks.
- ``matching``: the pure index that finds a sample's subscriptions.
- ``registry``: subscriptions and their delivery counters in the archive index's database.
- ``targets``: delivery to one target under its failure policy, in its own thread.
- ``service``: the telewatch-pubsub daemon.
"""
