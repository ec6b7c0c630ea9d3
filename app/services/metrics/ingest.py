"""Recording progress metrics: one reading or a batch of up to 1,000, idempotent by the client's key.

What was chosen, and why:

- **Core, not ORM.** A batch is a handful of statements whatever its size: one query for the
  customers the actor may write for (with whether each wears a device), one multi-row
  ``INSERT ... ON CONFLICT (customer_id, client_key) DO NOTHING RETURNING`` (SQLAlchemy's dialect
  insert on SQLite; on PostgreSQL one statement that also writes the outbox rows, see
  ``_PG_INSERT``), the audit row. ORM objects per row (and the audit hooks' work per object) cost
  more than the write itself (``bench/metric_ingest``: about 30-60 times).
- **Idempotent by ``client_key``.** The unique ``(customer_id, client_key)`` decides: a retried
  batch, or two identical batches at once on PostgreSQL (the second waits on the first's index
  entry, then does nothing), insert each reading once. A duplicate is reported as such with the
  id of the stored row; a key repeated inside one batch is a duplicate of its first use. A
  reading without a key is always inserted.
- **Per item.** Each reading is checked on its own (``readings.parse``); a bad one is reported
  with its problems and the others are written, so a client resends only what failed.
- **Who for.** A reading is for a platform user holding the CUSTOMER role and inside the actor's
  write scope on users (``scope_criteria(PlatformUser, actor, for_write=True)``: a coach, their
  assigned customers; the API's customer-subject clients, their one customer). Anyone else is
  "unknown customer", never "not yours". A WEARABLE reading also needs an unrevoked wearable
  authorization of that customer (an expired access token is refreshed, the consent stands
  until revoked); a MANUAL one needs none.
- **Audit.** The ORM audit hooks do not see Core inserts, so each call that inserts something
  appends one chained audit row (``metrics.ingest`` on ``progress_metrics``) with the counts,
  the id range, the number of customers and the API client: the values are personal data and
  are never copied into the chain. A call that inserts nothing (a pure retry) changes nothing
  and writes no audit row.
- **Events.** One ``progress.metric_recorded`` per inserted reading (duplicates announce
  nothing), in the same transaction, in one Core INSERT into the outbox (``events.emit_many``),
  so automation's METRIC_THRESHOLD rules see API readings as they see console ones.

Nothing is committed here: the caller (the API view, the benchmark) owns the commit.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from app.extensions import db
from app.i18n import service_gettext as _
from app.models.analytics import MetricSource, ProgressMetric
from app.models.automation import WearableAuthorization
from app.models.base import utcnow
from app.models.identity import PlatformRole, PlatformUser, RoleCode, UserRole
from app.policy.scope import Actor, scope_criteria
from app.services import events
from app.services.audit.chain import record
from app.services.metrics.readings import Reading, parse

MAX_BATCH = 1000
AUDIT_ACTION = "metrics.ingest"
_TABLE = ProgressMetric.__table__


class ItemStatus(enum.StrEnum):
    CREATED = "created"
    DUPLICATE = "duplicate"
    ERROR = "error"


class BatchTooLarge(ValueError):
    """More readings than ``MAX_BATCH`` in one call (the API answers 413)."""


@dataclass(slots=True)
class ItemResult:
    index: int
    status: ItemStatus
    id: int | None = None
    errors: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"index": self.index, "status": self.status.value}
        if self.id is not None:
            out["id"] = self.id
        if self.errors:
            out["errors"] = self.errors
        return out


@dataclass
class IngestResult:
    items: list[ItemResult]

    def count(self, status: ItemStatus) -> int:
        return sum(1 for item in self.items if item.status == status)

    @property
    def created(self) -> int:
        return self.count(ItemStatus.CREATED)

    @property
    def duplicates(self) -> int:
        return self.count(ItemStatus.DUPLICATE)

    @property
    def errors(self) -> int:
        return self.count(ItemStatus.ERROR)


def _is_customer() -> sa.ColumnElement[bool]:
    return PlatformUser.id.in_(
        sa.select(UserRole.user_id).join(PlatformRole).where(PlatformRole.code == RoleCode.CUSTOMER)
    )


def _among(column: Any, ids: set[uuid.UUID]) -> sa.ColumnElement[bool]:
    """``column IN ids``; on PostgreSQL ``= ANY(array)``: one parameter, one plan, whatever the count."""
    if db.session.get_bind().dialect.name == "postgresql":
        return column == sa.any_(sa.bindparam(None, list(ids), type_=postgresql.ARRAY(sa.Uuid())))
    return column.in_(ids)


def writable_customers(actor: Actor, ids: set[uuid.UUID]) -> dict[uuid.UUID, bool]:
    """Which of ``ids`` are customers the actor may record readings for, each with whether it holds an
    unrevoked wearable authorization (one query)."""
    if not ids:
        return {}
    wearables = WearableAuthorization.__table__
    wearing = (
        sa.select(wearables.c.id)
        .where(wearables.c.customer_id == PlatformUser.id, wearables.c.revoked_at.is_(None))
        .exists()
    )
    stmt = sa.select(PlatformUser.id, wearing).where(
        _among(PlatformUser.id, ids), _is_customer(), scope_criteria(PlatformUser, actor, for_write=True)
    )
    return {row[0]: bool(row[1]) for row in db.session.connection().execute(stmt)}


def ingest(
    items: Sequence[Any],
    *,
    actor: Actor,
    default_customer: uuid.UUID | None = None,
    client_id: int | None = None,
    now: dt.datetime | None = None,
) -> IngestResult:
    """Check and insert ``items`` (JSON objects); one result per item, in order. Flushes, never commits.

    ``default_customer`` is the customer of a reading that names none (a customer app's own);
    ``client_id`` (the API client) goes into the audit row. Raises ``BatchTooLarge`` beyond 1,000.
    """
    if len(items) > MAX_BATCH:
        raise BatchTooLarge(_("At most %(max)s readings per request.", max=MAX_BATCH))
    now = now or utcnow()
    results = [ItemResult(i, ItemStatus.ERROR) for i in range(len(items))]
    readings: dict[int, Reading] = {}
    for i, item in enumerate(items):
        reading, problems = parse(item, now=now, default_customer=default_customer)
        if reading is None:
            results[i].errors = problems
        else:
            readings[i] = reading
    _check_customers(readings, results, actor)
    first_use = _first_uses(readings, results)
    inserted, announced = _insert(readings)
    created: list[tuple[int, Reading]] = []
    for i, reading in readings.items():
        row_id = inserted.get(i)
        if row_id is not None:
            results[i].status, results[i].id = ItemStatus.CREATED, row_id
            created.append((row_id, reading))
        else:
            results[i].status = ItemStatus.DUPLICATE
    _fill_duplicates(results, first_use, readings)
    if created:
        _announce([(results[i].id, r) for i, r in readings.items() if i in inserted and i not in announced])
        _audit(created, client_id)
    return IngestResult(results)


def record_one(item: Any, *, actor: Actor, default_customer: uuid.UUID | None = None,
               client_id: int | None = None, now: dt.datetime | None = None) -> ItemResult:  # fmt: skip
    """One reading through the same path as a batch."""
    return ingest([item], actor=actor, default_customer=default_customer, client_id=client_id, now=now).items[0]


def _check_customers(readings: dict[int, Reading], results: list[ItemResult], actor: Actor) -> None:
    allowed = writable_customers(actor, {r.customer_id for r in readings.values()})
    for i, reading in list(readings.items()):
        wearing = allowed.get(reading.customer_id)
        if wearing is None:
            results[i].errors = {"customer_id": _("Unknown customer, or not one you may record readings for.")}
        elif reading.source == MetricSource.WEARABLE and not wearing:
            results[i].errors = {"source": _("This customer has no active wearable authorization.")}
        else:
            continue
        del readings[i]


def _first_uses(readings: dict[int, Reading], results: list[ItemResult]) -> dict[int, int]:
    """A key repeated inside the batch: the repeat is a duplicate of its first use (index -> first index)."""
    seen: dict[tuple[uuid.UUID, str], int] = {}
    repeats: dict[int, int] = {}
    for i, reading in list(readings.items()):
        if reading.client_key is None:
            continue
        key = (reading.customer_id, reading.client_key)
        if key in seen:
            repeats[i] = seen[key]
            results[i].status = ItemStatus.DUPLICATE
            del readings[i]
        else:
            seen[key] = i
    return repeats


# PostgreSQL: one statement per batch. The readings travel as one JSON document the server turns
# into rows (one parameter and one statement text, prepared once: no 7,000 placeholders to parse);
# the unique (customer_id, client_key) decides what is new; the new rows' events go into the outbox
# in the same statement, their payload built as ``events.plain`` builds it (``trim_scale``: 81.5,
# not 81.500; UTC ISO 8601), and one payload comes back (a last row with no id) to be checked.
_PG_INSERT = sa.text(
    "WITH ins AS (INSERT INTO progress_metrics "
    "(customer_id, metric_type, value, unit, recorded_at, source, client_key) "
    "SELECT customer_id, metric_type, value, unit, recorded_at, source, client_key "
    "FROM json_to_recordset(CAST(:rows AS json)) AS t(customer_id uuid, metric_type varchar, value numeric, "
    "unit varchar, recorded_at timestamptz, source varchar, client_key varchar) "
    "ON CONFLICT (customer_id, client_key) DO NOTHING "
    "RETURNING id, customer_id, client_key, metric_type, value, unit, source, recorded_at), "
    "announced AS (INSERT INTO domain_events (event_type, occurred_at, customer_id, payload) "
    "SELECT :event_type, :occurred_at, customer_id, jsonb_build_object('metric_id', id, 'metric_type', "
    "metric_type, 'value', trim_scale(value), 'unit', unit, 'source', source, 'recorded_at', "
    "to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN "
    "extract(microseconds FROM recorded_at)::bigint % 1000000 = 0 THEN '' "
    "ELSE to_char(recorded_at AT TIME ZONE 'UTC', '.US') END || '+00:00') "
    "FROM ins ORDER BY id RETURNING payload) "
    "SELECT id, customer_id, client_key, NULL AS sample FROM ins "
    "UNION ALL (SELECT NULL, NULL, NULL, CAST(payload AS text) FROM announced LIMIT 1)"
)


def _insert_keyed(conn: sa.Connection, keyed: list[Reading]) -> tuple[list[Any], bool]:
    """Insert keyed readings, skipping stored keys: the (id, customer_id, client_key) of the new rows,
    and whether their events were written too (PostgreSQL)."""
    if conn.dialect.name == "postgresql":
        document = json.dumps(
            [
                {"customer_id": str(r.customer_id), "metric_type": r.metric_type, "value": str(r.value),
                 "unit": r.unit, "recorded_at": r.recorded_at.isoformat(), "source": r.source.value,
                 "client_key": r.client_key}
                for r in keyed
            ]
        )  # fmt: skip
        params = {"rows": document, "event_type": events.PROGRESS_METRIC_RECORDED, "occurred_at": utcnow()}
        found = conn.execute(_PG_INSERT, params).all()
        samples = [row.sample for row in found if row.id is None]  # the one payload, to check its shape
        if samples:
            events.check_payload(events.PROGRESS_METRIC_RECORDED, json.loads(samples[0]))
        return [row for row in found if row.id is not None], True
    stmt = (
        sqlite.insert(_TABLE)
        .on_conflict_do_nothing(index_elements=["customer_id", "client_key"])
        .returning(_TABLE.c.id, _TABLE.c.customer_id, _TABLE.c.client_key)
    )
    return conn.execute(stmt, [r.row() for r in keyed]).all(), False


def _insert(readings: dict[int, Reading]) -> tuple[dict[int, int], set[int]]:
    """Insert the readings: index -> new id for those inserted (a keyed one already stored is absent),
    and the indexes whose events are written already."""
    conn = db.session.connection()
    out: dict[int, int] = {}
    announced: set[int] = set()
    keyed = {i: r for i, r in readings.items() if r.client_key is not None}
    plain = [(i, r) for i, r in readings.items() if r.client_key is None]
    if keyed:
        rows, with_events = _insert_keyed(conn, list(keyed.values()))
        by_key = {(row.customer_id, row.client_key): row.id for row in rows}
        for i, reading in keyed.items():
            row_id = by_key.get((reading.customer_id, reading.client_key))
            if row_id is not None:
                out[i] = row_id
                if with_events:
                    announced.add(i)
    if plain:
        stmt = sa.insert(_TABLE).returning(_TABLE.c.id, sort_by_parameter_order=True)
        ids = conn.execute(stmt, [r.row() for _i, r in plain]).scalars().all()
        out.update((i, row_id) for (i, _r), row_id in zip(plain, ids, strict=True))
    return out, announced


def _fill_duplicates(results: list[ItemResult], first_use: dict[int, int], readings: dict[int, Reading]) -> None:
    """Give every duplicate the id of the stored reading it repeats (one query for the earlier ones)."""
    stored = [(i, r) for i, r in readings.items() if results[i].status == ItemStatus.DUPLICATE]
    if stored:
        pairs = {(r.customer_id, r.client_key) for _i, r in stored}
        stmt = sa.select(_TABLE.c.id, _TABLE.c.customer_id, _TABLE.c.client_key).where(
            sa.tuple_(_TABLE.c.customer_id, _TABLE.c.client_key).in_(list(pairs))
        )
        found = {(row.customer_id, row.client_key): row.id for row in db.session.execute(stmt)}
        for i, reading in stored:
            results[i].id = found.get((reading.customer_id, reading.client_key))
    for i, first in first_use.items():
        results[i].id = results[first].id


def _announce(created: list[tuple[Any, Reading]]) -> None:
    if not created:
        return
    events.emit_many(
        db.session,
        events.PROGRESS_METRIC_RECORDED,
        [
            (
                r.customer_id,
                {
                    "metric_id": row_id,
                    "metric_type": r.metric_type,
                    "value": r.value,
                    "unit": r.unit,
                    "source": r.source,
                    "recorded_at": r.recorded_at,
                },
            )
            for row_id, r in created
        ],
    )


def _audit(created: list[tuple[int, Reading]], client_id: int | None) -> None:
    ids = [row_id for row_id, _r in created]
    metadata: dict[str, Any] = {
        "created": len(ids),
        "first_id": min(ids),
        "last_id": max(ids),
        "customers": len({r.customer_id for _id, r in created}),
        "metric_types": sorted({r.metric_type for _id, r in created})[:20],
    }
    if client_id is not None:
        metadata["api_client_id"] = client_id
    record(AUDIT_ACTION, _TABLE.name, None, metadata)
