"""The records the archive index returns: resources (a revision of one) and metrics."""

import dataclasses
import datetime

# The resource type every resource also is (and searches of it see every type).
GENERIC = 'generic'


@dataclasses.dataclass(frozen=True)
class Resource:
    id: str
    type: str
    original_resource_id: str
    creator: str
    user_id: str
    project_id: str
    started_at: datetime.datetime
    ended_at: datetime.datetime
    revision_start: datetime.datetime
    attributes: dict
    metrics: dict  # name -> metric id
    revision_end: datetime.datetime = None


@dataclasses.dataclass(frozen=True)
class Metric:
    id: str
    archive_policy_name: str
    creator: str
    resource_id: str
    name: str
    unit: str
    status: str = 'active'


@dataclasses.dataclass(frozen=True)
class NewResource:
    """A resource to create with ``Indexer.create_resources`` (started now), with its new
    ``metrics`` ``{name: Metric}``."""

    resource_type: str
    resource_id: str
    original_resource_id: str
    creator: str
    user_id: str
    project_id: str
    attributes: dict
    metrics: dict
