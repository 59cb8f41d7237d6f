"""Everything telewatch does with Apache Kafka (kafka-python), in one place.

- ``cluster``: bootstrap servers, topic names, and the partition a record key picks
  (murmur2, as the Java client's default partitioner, remembered per key).
- ``producer``: producer options, the producers shared per cluster, sending to a topic,
  and which producer errors may pass.
- ``consumer``: the one commit-after-acknowledgement consumer loop.
- ``bus``: the bus between agents over Kafka (``transport_url = kafka://``), opened by
  ``telewatch.bus.open``.
Other packages use these modules, never kafka-python's producers and consumers directly.
"""
