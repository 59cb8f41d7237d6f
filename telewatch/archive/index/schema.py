"""The archive index's tables: archive policies and their rules, resource types, resources
(with the history of their attributes) and metrics.

The same tables on SQLite (embedded default) and PostgreSQL; ``migrations/`` creates and
upgrades them (a test checks that the migrations produce exactly these tables). Timestamps
are naive UTC; ids are UUIDs in their 36-character text form.
"""

import sqlalchemy as sa

metadata = sa.MetaData(naming_convention={
    'ix': 'ix_%(table_name)s_%(column_0_N_name)s',
    'uq': 'uq_%(table_name)s_%(column_0_N_name)s',
    'fk': 'fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s',
    'pk': 'pk_%(table_name)s',
})

archive_policy = sa.Table(
    'archive_policy', metadata,
    sa.Column('name', sa.String(255), primary_key=True),
    sa.Column('back_window', sa.Integer, nullable=False),
    sa.Column('definition', sa.JSON, nullable=False),
    sa.Column('aggregation_methods', sa.JSON, nullable=False),
)

archive_policy_rule = sa.Table(
    'archive_policy_rule', metadata,
    sa.Column('name', sa.String(255), primary_key=True),
    sa.Column('metric_pattern', sa.String(255), nullable=False),
    sa.Column('archive_policy_name', sa.String(255),
              sa.ForeignKey('archive_policy.name'), nullable=False),
)

resource_type = sa.Table(
    'resource_type', metadata,
    sa.Column('name', sa.String(255), primary_key=True),
    sa.Column('attributes', sa.JSON, nullable=False),
    sa.Column('state', sa.String(32), nullable=False),
)


def _resource_columns():
    return [
        sa.Column('type', sa.String(255), sa.ForeignKey('resource_type.name'),
                  nullable=False),
        sa.Column('original_resource_id', sa.String(289), nullable=False),
        sa.Column('creator', sa.String(255)),
        sa.Column('user_id', sa.String(255)),
        sa.Column('project_id', sa.String(255)),
        sa.Column('started_at', sa.DateTime, nullable=False),
        sa.Column('ended_at', sa.DateTime),
        sa.Column('revision_start', sa.DateTime, nullable=False),
        sa.Column('attributes', sa.JSON, nullable=False),
    ]


resource = sa.Table(
    'resource', metadata,
    sa.Column('id', sa.String(36), primary_key=True),
    *_resource_columns(),
    sa.Index(None, 'type'),
    sa.Index(None, 'project_id'),
    sa.Index(None, 'original_resource_id'),
    # Listings in the default order (revision_start, started_at, id), of a type or of all;
    # each custom attribute has one too, made with its type (indexer.attribute_indexes).
    sa.Index(None, 'type', 'revision_start', 'started_at', 'id'),
    sa.Index(None, 'revision_start', 'started_at', 'id'),
)

resource_history = sa.Table(
    'resource_history', metadata,
    sa.Column('revision', sa.Integer, primary_key=True, autoincrement=True),
    sa.Column('id', sa.String(36), nullable=False),
    *_resource_columns(),
    sa.Column('revision_end', sa.DateTime, nullable=False),
    sa.Index(None, 'id', 'revision_end'),
)

metric = sa.Table(
    'metric', metadata,
    sa.Column('id', sa.String(36), primary_key=True),
    sa.Column('archive_policy_name', sa.String(255), sa.ForeignKey('archive_policy.name'),
              nullable=False),
    sa.Column('creator', sa.String(255)),
    sa.Column('resource_id', sa.String(36), sa.ForeignKey('resource.id')),
    sa.Column('name', sa.String(255)),
    sa.Column('unit', sa.String(31)),
    sa.Column('status', sa.String(16), nullable=False),
    sa.UniqueConstraint('resource_id', 'name'),
    sa.Index(None, 'archive_policy_name'),
)

# Publish/subscribe (telewatch.pubsub): subscriptions, and what each telewatch-pubsub
# instance (``worker``) delivered for them, added up by the API.
subscription = sa.Table(
    'subscription', metadata,
    sa.Column('id', sa.String(36), primary_key=True),
    sa.Column('name', sa.String(255), nullable=False),
    sa.Column('project_id', sa.String(255), nullable=False),
    sa.Column('user_id', sa.String(255)),
    sa.Column('meters', sa.JSON, nullable=False),
    sa.Column('resources', sa.JSON),
    sa.Column('projects', sa.JSON),
    sa.Column('sampling_interval', sa.Float),
    sa.Column('target', sa.String(2048), nullable=False),
    sa.Column('created_at', sa.DateTime, nullable=False),
    sa.Column('updated_at', sa.DateTime, nullable=False),
    sa.Column('revision', sa.Integer, nullable=False),
    sa.UniqueConstraint('project_id', 'name'),
)

subscription_counter = sa.Table(
    'subscription_counter', metadata,
    sa.Column('subscription_id', sa.String(36),
              sa.ForeignKey('subscription.id', ondelete='CASCADE'), primary_key=True),
    sa.Column('worker', sa.String(255), primary_key=True),
    sa.Column('delivered', sa.BigInteger, nullable=False),
    sa.Column('dropped', sa.BigInteger, nullable=False),
    sa.Column('failed', sa.BigInteger, nullable=False),
    sa.Column('skipped', sa.BigInteger, nullable=False),
    sa.Column('queue_length', sa.Integer, nullable=False),
    sa.Column('updated_at', sa.DateTime, nullable=False),
)

# The "metrics aggregated" stream (``aggregated.AggregatedStream``): one row per processing
# round, the ids of the metrics it aggregated, read by position (``id``) and pruned by age.
metric_aggregated = sa.Table(
    'metric_aggregated', metadata,
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer, 'sqlite'), primary_key=True,
              autoincrement=True),
    sa.Column('created_at', sa.DateTime, nullable=False),
    sa.Column('metric_ids', sa.Text, nullable=False),
    sa.Index(None, 'created_at'),
)
