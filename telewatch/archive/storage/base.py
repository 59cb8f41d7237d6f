"""Series storage: the durable incoming buffer and every metric's aggregates.

``SeriesStorage`` implements the public, batched operations (``add_measures``, ``process``,
``get``, ``delete``, ``pending``) on a few primitives a driver writes:

``_append(records)``
    Make ``{sack: record}`` durable before returning (the write is then acknowledged).
``_sacks_with_pending()``
    The sacks that may hold records (a superset is fine).
``_claim(sack, wait)``
    A context manager giving a ``SackClaim`` when this process may process the sack (no
    other processor holds it; with ``wait``, waiting up to ``wait`` seconds), else None.
    On a clean exit its changes are committed; if the process dies inside, nothing was
    lost: the sack's records are processed again, and ``round`` (see ``SackClaim``) makes
    that harmless.
``_load(metric_ids)`` (the stored bytes), ``_delete(metric_id)``, ``_pending_records()``,
``close()``.

Errors: a primitive raises StorageUnavailable (InsufficientStorage for a full disk) or an
OSError, which the public operations turn into those; a write that raised was not made
durable and is not acknowledged. A processor meeting a failing sack goes on with the others
(``ProcessReport.failed``); a series whose bytes are damaged is moved aside
(``SackClaim.quarantine``) and the metric starts afresh, as Gnocchi does.

Measures are grouped into sacks by metric id (``incoming.sack_of``) so that processors,
on one host or many, split the work by sack without ever updating one metric twice at once.
"""

import abc
import dataclasses
import struct

import numpy

from telewatch.archive import errors
from telewatch.archive import incoming
from telewatch.archive import many
from telewatch.archive import serialization
from telewatch.archive import state as state_mod

_SERIES = struct.Struct('<4sQQ')
_SERIES_MAGIC = b'TWSR'


def _decode(metric_id, data):
    try:
        return StoredSeries.loads(data)
    except errors.InvalidState as exc:
        raise errors.CorruptSeries(metric_id, exc) from None
    except ValueError as exc:  # bytes no check above foresaw
        raise errors.CorruptSeries(metric_id, errors.InvalidState(str(exc))) from None


def _decode_series(data, metric_id, granularity_ns, method, start_ns):
    try:
        data = bytes(data)  # (the same bytes when they are bytes already)
        if not data.startswith(_SERIES_MAGIC) or len(data) < _SERIES.size:
            raise errors.InvalidState('not a telewatch series')
        return serialization.loads_series(data, granularity_ns, method, start_ns,
                                          _SERIES.size)
    except errors.InvalidState as exc:
        return errors.CorruptSeries(metric_id, exc)
    except ValueError as exc:  # bytes no check foresaw
        return errors.CorruptSeries(metric_id, errors.InvalidState(str(exc)))


@dataclasses.dataclass(frozen=True)
class StoredSeries:
    """A metric's state; how many of its measures were rejected as too late; and the last
    incoming round applied to it (drivers whose claims are not transactions use it)."""

    state: state_mod.MetricState
    rejected: int = 0
    applied_round: int = 0

    def dumps(self):
        return (_SERIES.pack(_SERIES_MAGIC, self.applied_round, self.rejected)
                + serialization.dumps(self.state))

    @classmethod
    def loads(cls, data):
        data = bytes(data)
        if len(data) < _SERIES.size or data[:4] != _SERIES_MAGIC:
            raise errors.InvalidState('not a telewatch series')
        _, applied, rejected = _SERIES.unpack_from(data)
        return cls(serialization.loads(data[_SERIES.size:]), rejected, applied)


class SackClaim(abc.ABC):
    """What a processor holding a sack may do: read its records, load and store series.

    Each record comes with a round: None when ``commit`` is atomic with the removal of the
    records (a database transaction); otherwise a number that grows with each claim of the
    sack. A series stored records the highest round it applied, so a record whose round is
    not above it is already in the series (a claim died before removing it) and is skipped.
    """

    @abc.abstractmethod
    def records(self):
        """The sack's incoming records as ``(round, bytes)``, oldest first."""

    @abc.abstractmethod
    def load(self, metric_ids):
        """``{metric_id: bytes}`` of the stored series of those that exist."""

    @abc.abstractmethod
    def quarantine(self, metric_id):
        """Move the stored series of ``metric_id`` out of the way, kept for the operator
        (its bytes are damaged); it is stored afresh by ``commit``."""

    @abc.abstractmethod
    def commit(self, series):
        """Store ``{metric_id: StoredSeries}`` durably, then remove the records read."""


@dataclasses.dataclass
class ProcessReport:
    """What ``SeriesStorage.process`` did."""

    sacks: int = 0
    metrics: int = 0
    measures: int = 0
    rejected: dict = dataclasses.field(default_factory=dict)  # metric_id -> measures
    orphaned: int = 0  # measures of metrics deleted before they were processed
    busy: list = dataclasses.field(default_factory=list)  # sacks another processor held
    failed: dict = dataclasses.field(default_factory=dict)  # sack -> retryable error
    quarantined: list = dataclasses.field(default_factory=list)  # CorruptSeries moved aside
    aggregated: list = dataclasses.field(default_factory=list)  # ids of metrics updated

    def add(self, other):
        self.sacks += other.sacks
        self.metrics += other.metrics
        self.measures += other.measures
        self.orphaned += other.orphaned
        self.busy += other.busy
        self.failed.update(other.failed)
        self.quarantined += other.quarantined
        self.aggregated += other.aggregated
        for metric_id, count in other.rejected.items():
            self.rejected[metric_id] = self.rejected.get(metric_id, 0) + count


class SeriesStorage(abc.ABC):
    """The public operations of every series storage driver (see the module docstring)."""

    def __init__(self, sacks):
        self.sacks = sacks

    # -- writers -------------------------------------------------------------------------

    def add_measures(self, measures):
        """Make ``{metric_id: (timestamps, values)}`` durable; aggregated later by ``process``.

        Timestamps are datetime64 or int64 ns; InvalidMeasures (nothing written) names the
        first metric with a bad measure. Writing the same measure twice changes nothing.
        """
        clean = {}
        for metric_id, (stamps, values) in measures.items():
            try:
                stamps, values = state_mod.normalise_measures(stamps, values)
            except errors.InvalidMeasures as exc:
                exc.detail = dict(exc.detail, metric_id=str(metric_id))
                raise
            if len(stamps):
                clean[str(metric_id)] = (stamps, values)
        if clean:
            try:
                self._append(incoming.split_by_sack(clean, self.sacks))
            except OSError as exc:
                raise errors.from_os_error(exc, self.location) from exc
        return sum(len(s[0]) for s in clean.values())

    # -- processors ----------------------------------------------------------------------

    def process(self, policy_of, sacks=None, wait=None, skip=()):
        """Aggregate the pending measures of ``sacks`` (default: all but ``skip``) into
        their series.

        ``policy_of(metric_ids)`` returns ``{metric_id: ArchivePolicy}`` for the metrics
        that still exist; measures of the others are dropped and counted as orphaned.
        Sacks another processor holds are skipped (listed in ``busy``) unless ``wait``
        seconds are given. A sack that fails (a full disk, a series of another version)
        is left as it was, listed in ``failed`` with its error, and the others go on.
        """
        report = ProcessReport()
        if sacks is None:
            try:
                sacks = [s for s in self._sacks_with_pending() if s not in skip]
            except OSError as exc:
                raise errors.from_os_error(exc, self.location) from exc
        for sack in sacks:
            try:
                with self._claim(sack, wait) as claim:
                    if claim is None:
                        report.busy.append(sack)
                    else:
                        report.add(self._process_claim(claim, policy_of))
            except OSError as exc:
                report.failed[sack] = errors.from_os_error(exc, self.location)
            except (errors.StorageUnavailable, errors.ArchiveError) as exc:
                report.failed[sack] = exc
        return report

    def _process_claim(self, claim, policy_of):
        report = ProcessReport(sacks=1)
        chunks = {}
        for round_, record in claim.records():
            for metric_id, (stamps, values) in incoming.decode(record).items():
                chunks.setdefault(metric_id, []).append((round_, stamps, values))
        if not chunks:
            return report
        policies = policy_of(list(chunks))
        stored = self._load_for_update(claim, [m for m in chunks if m in policies], report)
        # The metrics of one policy are aggregated together (telewatch.archive.many).
        groups = {}
        for metric_id, parts in chunks.items():
            policy = policies.get(metric_id)
            if policy is None:
                report.orphaned += sum(len(p[1]) for p in parts)
                continue
            series = stored.get(metric_id) or StoredSeries(state_mod.MetricState.new(policy))
            parts = [p for p in parts if p[0] is None or p[0] > series.applied_round]
            if parts:
                groups.setdefault(id(policy), (policy, []))[1].append(
                    (metric_id, series, parts))
        updated = {}
        for policy, members in groups.values():
            self._aggregate(policy, members, updated, report)
        claim.commit(updated)
        report.aggregated = list(updated)
        return report

    @staticmethod
    def _aggregate(policy, members, updated, report):
        """Merge ``[(metric_id, StoredSeries, parts)]`` of one policy into ``updated``."""
        batches = [(parts[0][1], parts[0][2]) if len(parts) == 1 else
                   (numpy.concatenate([p[1] for p in parts]),
                    numpy.concatenate([p[2] for p in parts])) for _, _, parts in members]
        results = many.add_measures_many(policy, [m[1].state for m in members], batches)
        for (metric_id, series, parts), result in zip(members, results):
            if result.rejected:
                report.rejected[metric_id] = result.rejected
            updated[metric_id] = StoredSeries(
                result.state, series.rejected + result.rejected,
                max(p[0] or 0 for p in parts) or series.applied_round)
            report.metrics += 1
            report.measures += result.accepted

    @staticmethod
    def _load_for_update(claim, metric_ids, report):
        stored = {}
        for metric_id, data in claim.load(metric_ids).items():
            try:
                stored[metric_id] = _decode(metric_id, data)
            except errors.CorruptSeries as exc:
                if not exc.damaged:
                    raise
                claim.quarantine(metric_id)
                report.quarantined.append(exc)
        return stored

    def sack_of(self, metric_id):
        return incoming.sack_of(metric_id, self.sacks)

    # -- readers -------------------------------------------------------------------------

    def get(self, metric_id):
        """The ``StoredSeries`` of a metric, None when nothing was processed for it yet;
        CorruptSeries when its bytes cannot be read."""
        return self.get_many([metric_id]).get(str(metric_id))

    def get_many(self, metric_ids):
        try:
            found = self._load([str(m) for m in metric_ids])
        except OSError as exc:
            raise errors.from_os_error(exc, self.location) from exc
        return {metric_id: _decode(metric_id, data) for metric_id, data in found.items()}

    def get_series(self, wanted):
        """``{(metric_id, granularity_ns, method, start_ns): (int64 ns timestamps, values)}``
        of ``wanted`` tuples (``method`` a parsed ``policy.Method``, ``start_ns`` None or
        the first bucket's), each decoded from its series without the rest (None when the
        series has no such granularity or method, CorruptSeries when it cannot be read); a
        metric with nothing processed yet has no key."""
        ids = sorted({str(key[0]) for key in wanted})
        try:
            found = self._load(ids)
        except OSError as exc:
            raise errors.from_os_error(exc, self.location) from exc
        out = {}
        for key in wanted:
            data = found.get(str(key[0]))
            if data is not None:
                out[key] = _decode_series(data, *key)
        return out

    def pending(self):
        """``{metric_id: measures}`` waiting to be processed."""
        return self.backlog()[0]

    def backlog(self):
        """``({metric_id: measures}, oldest)`` waiting to be processed; ``oldest`` is the
        earliest timestamp (ns) among them, None when none waits."""
        counts, oldest = {}, None
        try:
            for record in self._pending_records():
                for metric_id, (stamps, _) in incoming.decode(record).items():
                    counts[metric_id] = counts.get(metric_id, 0) + len(stamps)
                    if len(stamps):
                        first = int(stamps.min())
                        oldest = first if oldest is None else min(oldest, first)
        except OSError as exc:
            raise errors.from_os_error(exc, self.location) from exc
        return counts, oldest

    # -- health --------------------------------------------------------------------------

    def health(self):
        """What an operator needs to see of the storage itself: ``free_bytes`` (None when
        the driver cannot tell) and ``corrupt_series`` (series moved aside as damaged)."""
        return {'free_bytes': None, 'corrupt_series': 0}

    def report_processor(self, name, status):
        """Publish a processor's ``status`` (a small JSON-able dict) for ``processors``;
        this default keeps it in this process only (an all-in-one)."""
        self._processor_status = getattr(self, '_processor_status', {})
        self._processor_status[name] = status

    def processors(self):
        """``{name: status}`` of the processors that reported lately."""
        return dict(getattr(self, '_processor_status', {}))

    def forget_processor(self, name):
        getattr(self, '_processor_status', {}).pop(name, None)

    def delete(self, metric_id):
        """Forget a metric's series; its pending measures are dropped when processed."""
        self._delete(str(metric_id))

    # -- primitives ----------------------------------------------------------------------

    @abc.abstractmethod
    def _append(self, records):
        pass

    @abc.abstractmethod
    def _sacks_with_pending(self):
        pass

    @abc.abstractmethod
    def _claim(self, sack, wait):
        pass

    @abc.abstractmethod
    def _load(self, metric_ids):
        pass

    @abc.abstractmethod
    def _delete(self, metric_id):
        pass

    @abc.abstractmethod
    def _pending_records(self):
        pass

    @property
    @abc.abstractmethod
    def location(self):
        """Where the series are, for messages (no password)."""

    def upgrade(self):
        """Create what the driver needs (directories, tables); safe to run again."""

    def close(self):
        """Release connections and files; safe twice."""
