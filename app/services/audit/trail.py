"""The audit trail: one chained AuditLogs row per change, written in the same transaction.

* ``install()`` (called once from create_app) listens to the app session's
  ``before_flush`` (collect what changed while history is still there) and
  ``after_flush`` (write the rows, primary keys now known) events. Every ORM
  create/update/delete made by the console, the API or a job is audited; bulk
  Core statements are not flushes and are audited by the service that runs them
  (retention, erasure) as one event with counts.
* Changed field NAMES are always recorded; VALUES only for columns that hold no
  personal data (``PERSONAL_DATA`` below, the registry retention and erasure
  also use) and are not secrets (``info={"secret": True}``), never JSON blobs.
* The chain: rows are appended in id order under a chain lock
  (``pg_advisory_xact_lock`` on PostgreSQL, SQLite's write lock), each storing
  ``prev_hash`` and ``row_hash = sha256(canonical(content, prev_hash))``.
  ``verify_chain()`` finds the first row that was edited, deleted or inserted.
* Who: a console request's user (through the context provider the views layer
  installs), else the ``system@coachdesk.local`` platform user (jobs, CLI).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import enum
import hashlib
import json
import uuid
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event, insert, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import NO_VALUE

from app.extensions import db
from app.i18n import N_
from app.models.base import utcnow
from app.models.compliance import AuditLog
from app.models.identity import PlatformUser, UserStatus

SYSTEM_EMAIL = "system@coachdesk.local"
CHAIN_LOCK_KEY = 0x0A0D17  # pg_advisory_xact_lock key for the audit chain
GENESIS = None

# Columns that hold personal data, per table. Values of these are never written
# to audit metadata; retention ANONYMIZE and data-subject erasure replace them.
PERSONAL_DATA: dict[str, frozenset[str]] = {
    "users": frozenset({"email", "full_name", "phone"}),
    "ab_user": frozenset({"first_name", "last_name", "email", "username"}),
    "auth_sessions": frozenset({"device_fingerprint"}),
    "consents": frozenset({"metadata_json"}),
    "customer_profiles": frozenset({"date_of_birth", "gender", "goals_json", "risk_flags", "emergency_contact"}),
    "assessments": frozenset({"responses_json", "score"}),
    "plan_items": frozenset({"feedback_text"}),
    "messages": frozenset({"body", "attachments_json"}),
    "threads": frozenset({"subject"}),
    "community_posts": frozenset({"content", "media_url"}),
    "support_tickets": frozenset({"subject", "resolution_notes"}),
    "progress_metrics": frozenset({"value"}),
    "engagement_events": frozenset({"payload_json"}),
    "recommendation_logs": frozenset({"payload_json"}),
    "audit_logs": frozenset({"ip_address", "user_agent"}),
}
SECRET_COLUMNS: dict[str, frozenset[str]] = {"ab_user": frozenset({"password"})}
# Tables whose rows are infrastructure, not business data.
NOT_AUDITED = frozenset(
    {"audit_logs", "job_runs", "ab_permission", "ab_view_menu", "ab_permission_view", "ab_register_user"}
)
# Bookkeeping columns FAB touches on every login.
IGNORED_COLUMNS: dict[str, frozenset[str]] = {
    "ab_user": frozenset({"last_login", "login_count", "fail_login_count", "changed_on", "changed_by_fk"}),
}
PERMISSION_TABLES = frozenset({"ab_role", "ab_user", "ab_group"})
PERMISSION_RELATIONS = frozenset({"permissions", "roles", "groups"})


@dataclass
class AuditContext:
    actor_id: uuid.UUID | None = None
    ip_address: str | None = None
    user_agent: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


_provider: list[Callable[[], AuditContext | None]] = []
_override: ContextVar[AuditContext | None] = ContextVar("audit_override", default=None)


def set_context_provider(provider: Callable[[], AuditContext | None]) -> None:
    """The views layer supplies who/where for requests; services never read the request."""
    _provider[:] = [provider]


@contextlib.contextmanager
def acting_as(context: AuditContext) -> Iterator[None]:
    """Attribute every audit row written inside the block to ``context`` (jobs, CLI)."""
    token = _override.set(context)
    try:
        yield
    finally:
        _override.reset(token)


def current_context() -> AuditContext:
    ctx = _override.get()
    if ctx is None and _provider:
        ctx = _provider[0]()
    return ctx or AuditContext()


# --------------------------------------------------------------------------- the chain


def _plain(value: Any) -> Any:
    """A JSON value that survives JSONB and back unchanged (floats/decimals become strings)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, enum.Enum):
        return _plain(value.value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, (dt.date, dt.time, uuid.UUID, decimal.Decimal, float)):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    return str(value)


def format_ts(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def _js(value: str | None) -> str:
    return "null" if value is None else json.dumps(value, ensure_ascii=False)


def _key(item: tuple[str, Any]) -> tuple[int, bytes]:
    raw = item[0].encode()
    return len(raw), raw


def jsonb_text(value: Any) -> str:
    """``value`` rendered exactly as PostgreSQL prints a jsonb (keys by length then bytes, ", " and ": ")."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_js(k)}: {jsonb_text(v)}" for k, v in sorted(value.items(), key=_key)) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(jsonb_text(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def canonical(row: dict[str, Any]) -> str:
    """The text a row's hash covers: its content and the previous row's hash, as one JSON object.

    Built so PostgreSQL can produce the same text itself (``canonical_sql``), which lets
    exports and verification hash in the database at COPY-like speed.
    """
    actor = row.get("actor_id")
    meta = row.get("metadata_json")
    return (
        f'{{"action":{_js(row["action"])},"actor_id":{_js(str(actor) if actor else None)},'
        f'"created_at":{_js(format_ts(row["created_at"]))},"ip_address":{_js(row.get("ip_address"))},'
        f'"metadata":{"null" if meta is None else jsonb_text(meta)},"prev_hash":{_js(row.get("prev_hash"))},'
        f'"resource_id":{_js(row.get("resource_id"))},"resource_type":{_js(row["resource_type"])},'
        f'"user_agent":{_js(row.get("user_agent"))}}}'
    )


def utc_text_sql(column: Any) -> Any:
    """``format_ts()`` in PostgreSQL; constants inline, so statements compiled apart share no anonymous parameter."""
    return sa.func.to_char(
        sa.func.timezone(sa.literal_column("'UTC'"), column), sa.literal_column("""'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'""")
    )


def canonical_sql(table: sa.Table) -> tuple[Any, Any]:
    """``canonical()`` in PostgreSQL: a LATERAL row of ``table``'s canonical fields and its text.

    Join the first (``table.join(lateral, sa.true())``), select the second. ``row_to_json``
    escapes strings as ``json.dumps(ensure_ascii=False)`` does, writes NULL as ``null`` and a
    jsonb as its jsonb text, and keeps the fields' order, so its text is ``canonical()``'s byte
    for byte (tests/test_audit.py checks awkward values), at a fifth less work than
    concatenating one ``to_json`` per field.
    """
    return _json_row(table, [])


def line_sql(table: sa.Table) -> tuple[Any, Any]:
    """An export line in PostgreSQL: ``{"id":..,"row_hash":..,`` then the canonical text without its ``{``.

    One ``row_to_json`` serves the file and the hash check (``canonical_in_line_sql``)."""
    return _json_row(table, [table.c.id, table.c.row_hash])


def canonical_in_line_sql(line: str, row_id: str) -> str:
    """SQL for the canonical bytes inside a line of ``line_sql`` (``line``: its bytes, a bytea column).

    The line starts ``{"id":<id>,"row_hash":"<64 hex>",``: 85 bytes plus the id's digits, all
    ASCII, so the canonical text is a ``{`` and the bytes after them. A row_hash that is not 64
    characters shifts the cut, and the hash check fails as it must."""
    return f"'\\x7b'::bytea || substring({line} from 86 + length({row_id}::text))"


def _json_row(table: sa.Table, leading: list[Any]) -> tuple[Any, Any]:
    fields = sa.select(
        *leading,
        table.c.action,
        table.c.actor_id,
        utc_text_sql(table.c.created_at).label("created_at"),
        table.c.ip_address,
        table.c.metadata_json.label("metadata"),
        table.c.prev_hash,
        table.c.resource_id,
        table.c.resource_type,
        table.c.user_agent,
    )
    lateral = fields.correlate(table).lateral("canon_row")
    return lateral, sa.cast(sa.func.row_to_json(sa.literal_column("canon_row")), sa.Text)


def row_hash(row: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(row).encode()).hexdigest()


def lock_chain(conn: sa.Connection) -> None:
    """Serialise appenders until this transaction ends."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": CHAIN_LOCK_KEY})
    else:
        # Any write takes SQLite's database write lock, before we read the chain head.
        conn.exec_driver_sql("DELETE FROM audit_logs WHERE 0")


def append(conn: sa.Connection, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Chain and insert ``entries`` (dicts of AuditLog columns) on ``conn``'s transaction."""
    if not entries:
        return []
    lock_chain(conn)
    table = AuditLog.__table__
    prev = conn.execute(select(table.c.row_hash).order_by(table.c.id.desc()).limit(1)).scalar()
    ctx = current_context()
    actor_default = ctx.actor_id or system_user_id(conn)
    for entry in entries:
        entry.setdefault("created_at", utcnow())
        if "actor_id" not in entry:
            entry["actor_id"] = actor_default
        entry.setdefault("ip_address", ctx.ip_address)
        entry.setdefault("user_agent", (ctx.user_agent or "")[:300] or None)
        meta = dict(entry.get("metadata_json") or {})
        meta.update(ctx.extra)
        entry["metadata_json"] = _plain(meta) or None
        entry["prev_hash"] = prev
        entry["row_hash"] = prev = row_hash(entry)
        conn.execute(insert(table).values(**entry))
    return entries


def system_user_id(conn: sa.Connection) -> uuid.UUID:
    """The platform user jobs and the CLI act as; created on first use."""
    users = PlatformUser.__table__
    found = conn.execute(select(users.c.id).where(users.c.email == SYSTEM_EMAIL)).scalar()
    if found is not None:
        return found
    now = utcnow()
    values = {
        "id": uuid.uuid4(),
        "email": SYSTEM_EMAIL,
        "full_name": "Coachdesk system",
        "locale": "en",
        "status": UserStatus.ACTIVE,
        "legal_hold": False,
        "created_at": now,
        "updated_at": now,
    }
    ins = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(users)
    conn.execute(ins.values(**values).on_conflict_do_nothing(index_elements=["email"]))
    return conn.execute(select(users.c.id).where(users.c.email == SYSTEM_EMAIL)).scalar_one()


def record(
    action: str,
    resource_type: str,
    resource_id: Any = None,
    metadata: dict[str, Any] | None = None,
    *,
    actor_id: uuid.UUID | None = None,
    commit: bool = False,
) -> None:
    """Append one event (login, export, retention run...) in the session's current transaction."""
    entry: dict[str, Any] = {
        "action": action,
        "resource_type": resource_type,
        "resource_id": None if resource_id is None else str(resource_id)[:64],
        "metadata_json": metadata or {},
    }
    if actor_id is not None:
        entry["actor_id"] = actor_id
    append(db.session.connection(), [entry])
    if commit:
        db.session.commit()


# --------------------------------------------------------------------------- session hooks


def install() -> None:
    """Listen to the app session's flushes, and to list exports, once per process."""
    if not event.contains(db.session, "before_flush", _before_flush):
        event.listen(db.session, "before_flush", _before_flush)
        event.listen(db.session, "after_flush", _after_flush)
    from app.services import csv_export

    csv_export.export_started.connect(_on_list_export)


def _on_list_export(sender: Any, *, resource: str, columns: list[str], filters: dict[str, str], **_: Any) -> None:
    # Filter *names* only: a search term can be a person's name or email.
    record(
        "export.list_csv",
        resource,
        None,
        {"columns": list(columns), "filters": sorted(filters)},
        commit=True,
    )


def _table(obj: Any) -> str | None:
    table = getattr(obj, "__table__", None)
    return None if table is None else table.name


def _value_allowed(table: str, column: sa.Column) -> bool:
    if column.info.get("secret") or column.name in SECRET_COLUMNS.get(table, ()):
        return False
    if column.name in PERSONAL_DATA.get(table, ()):
        return False
    return not column.info.get("json_schema") and not isinstance(column.type, sa.JSON)


def _describe(obj: Any, kind: str) -> dict[str, Any] | None:
    state = sa.inspect(obj)
    mapper = state.mapper
    table = mapper.local_table.name
    ignored = IGNORED_COLUMNS.get(table, frozenset())
    fields: list[str] = []
    values: dict[str, Any] = {}
    relations: dict[str, Any] = {}
    for prop in mapper.column_attrs:
        column = prop.columns[0]
        if prop.key in ignored or column.primary_key and kind != "update":
            continue
        hist = state.attrs[prop.key].history
        if kind == "create":
            value = state.dict.get(prop.key)  # described after the flush: defaults are filled in
            if value is None:
                continue
            fields.append(prop.key)
            if _value_allowed(table, column):
                values[prop.key] = value
        elif kind == "update" and hist.has_changes():
            fields.append(prop.key)
            if _value_allowed(table, column):
                old = hist.deleted[0] if hist.deleted else None
                values[prop.key] = {"old": old if old is not NO_VALUE else None, "new": (hist.added or [None])[0]}
    if table in PERMISSION_TABLES and kind != "delete":
        for rel in mapper.relationships:
            if rel.key not in PERMISSION_RELATIONS:
                continue
            hist = state.attrs[rel.key].history
            if hist.added or hist.deleted:
                relations[rel.key] = {"added": sorted(map(str, hist.added)), "removed": sorted(map(str, hist.deleted))}
    if kind == "update" and not fields and not relations:
        return None
    return {"fields": sorted(fields + list(relations)), "values": values, "relations": relations}


def _before_flush(session: Session, flush_context: Any, instances: Any) -> None:
    pending = session.info.setdefault("audit_pending", [])
    for kind, objects in (("create", session.new), ("update", session.dirty), ("delete", session.deleted)):
        for obj in list(objects):
            table = _table(obj)
            if table is None or table in NOT_AUDITED:
                continue
            if kind == "update" and not session.is_modified(obj):
                continue
            # Creates are described after the flush, once column defaults are known.
            described = None if kind == "create" else _describe(obj, kind)
            if described is None and kind != "create":
                continue
            pending.append((kind, obj, table, described))


def _after_flush(session: Session, flush_context: Any) -> None:
    pending = session.info.pop("audit_pending", None)
    if not pending:
        return
    entries = []
    for kind, obj, table, described in pending:
        if described is None:
            described = _describe(obj, kind)
        state = sa.inspect(obj)
        identity = state.mapper.primary_key_from_instance(obj)
        resource_id = None if None in identity else ",".join(str(part) for part in identity)
        action = "permission.change" if described["relations"] else kind
        meta: dict[str, Any] = {"fields": described["fields"]}
        if described["values"]:
            meta["values"] = described["values"]
        if described["relations"]:
            meta["relations"] = described["relations"]
            meta["change"] = kind
        entries.append({"action": action, "resource_type": table, "resource_id": resource_id, "metadata_json": meta})
    append(session.connection(), entries)


# --------------------------------------------------------------------------- verification


@dataclass
class VerifyReport:
    ok: bool
    rows: int
    first_bad_id: int | None = None
    reason: str | None = None
    last_hash: str | None = None


CHAIN_COLUMNS = (
    "id",
    "actor_id",
    "action",
    "resource_type",
    "resource_id",
    "metadata_json",
    "created_at",
    "ip_address",
    "user_agent",
    "prev_hash",
    "row_hash",
)


def check_row(row: dict[str, Any], expected_prev: str | None, first: bool, anchors: set[str]) -> str | None:
    """Why ``row`` breaks the chain (English, marked: translate it where it is shown), or None."""
    if row["row_hash"] is None:
        return N_("row is not chained (no hash): inserted outside the audit service")
    if first:
        if row["prev_hash"] is not None and row["prev_hash"] not in anchors:
            return N_("first row does not start the chain nor continue an archived segment")
    elif row["prev_hash"] != expected_prev:
        return N_("link broken: the row before it was deleted, or this row was inserted")
    if row_hash(row) != row["row_hash"]:
        return N_("content does not match its hash: the row was edited")
    return None


def archive_anchors() -> set[str]:
    """Hashes of archived chain segments' last rows, as recorded (chained) by retention runs."""
    table = AuditLog.__table__
    rows = db.session.execute(
        select(table.c.metadata_json).where(table.c.action.in_(("audit.archive", "retention.run")))
    ).scalars()
    return {m["archived_last_hash"] for m in rows if m and m.get("archived_last_hash")}


def iter_rows(batch: int = 5000, where: Any = None) -> Iterator[dict[str, Any]]:
    """Audit rows in id order, in keyset batches (never all in memory)."""
    table = AuditLog.__table__
    cols = [table.c[name] for name in CHAIN_COLUMNS]
    last = 0
    while True:
        stmt = select(*cols).where(table.c.id > last).order_by(table.c.id).limit(batch)
        if where is not None:
            stmt = stmt.where(where)
        rows = db.session.execute(stmt).mappings().all()
        if not rows:
            return
        for row in rows:
            yield dict(row)
        last = rows[-1]["id"]


Progress = Callable[[int, int], None]


def verify_chain(batch: int = 10000, progress: Progress | None = None) -> VerifyReport:
    """Check every row's hash and link, in id order, up to the last row when it starts.

    On PostgreSQL the database checks each id range (``chain_check``, as the export does), on
    SQLite Python does (``check_row``); both name the first broken row the same way.
    ``progress(done, total)`` follows the rows checked."""
    table = AuditLog.__table__
    stop, total = db.session.execute(select(sa.func.max(table.c.id), sa.func.count())).one()
    if progress:
        progress(0, total)
    if db.session.get_bind().dialect.name == "postgresql":
        return _verify_in_database(stop or 0, batch, total, progress)
    anchors = archive_anchors()
    prev: str | None = None
    count = 0
    for row in iter_rows(batch, where=table.c.id <= (stop or 0)):
        problem = check_row(row, prev, count == 0, anchors)
        if problem:
            return VerifyReport(False, count, row["id"], problem, prev)
        prev = row["row_hash"]
        count += 1
        if progress and count % batch == 0:
            progress(count, total)
    if progress:
        progress(count, total)
    return VerifyReport(True, count, None, None, prev)


def _verify_in_database(stop: int, span: int, total: int, progress: Progress | None) -> VerifyReport:
    from app.services.audit import pg_check as chain_check  # it builds on this module

    table = AuditLog.__table__
    # The database's reasons, in check_row's words.
    words = {
        chain_check.NO_HASH: N_("row is not chained (no hash): inserted outside the audit service"),
        chain_check.BROKEN: N_("link broken: the row before it was deleted, or this row was inserted"),
        chain_check.CONTENT: N_("content does not match its hash: the row was edited"),
    }
    anchors = archive_anchors()
    prev: str | None = None
    count = 0
    for chunk in chain_check.batches([], 0, stop, span, chain_check.check_only(), linked=True):
        if chain_check.first_link(chunk, prev, True, anchors):
            first = N_("first row does not start the chain nor continue an archived segment")
            return VerifyReport(False, count, chunk.first_id, first if count == 0 else words[chain_check.BROKEN], prev)
        if chunk.bad_id is not None:
            before = select(table.c.id, table.c.row_hash).where(table.c.id < chunk.bad_id, table.c.id >= chunk.first_id)
            rows = db.session.execute(before.order_by(table.c.id.desc())).all()
            last = rows[0].row_hash if rows else prev
            return VerifyReport(False, count + len(rows), chunk.bad_id, words[chunk.bad_reason], last)
        prev = chunk.last_hash
        count += chunk.rows
        if progress:
            progress(count, total)
    return VerifyReport(True, count, None, None, prev)


def rechain() -> int:
    """Chain rows written without hashes (bulk demo seeding), from the first such row on. Audited."""
    table = AuditLog.__table__
    first = db.session.scalar(select(sa.func.min(table.c.id)).where(table.c.row_hash.is_(None)))
    if first is None:
        return 0
    conn = db.session.connection()
    lock_chain(conn)
    if conn.dialect.name == "postgresql":
        conn.execute(text("SET LOCAL coachdesk.maintenance = 'on'"))
    prev = conn.execute(
        select(table.c.row_hash).where(table.c.id < first).order_by(table.c.id.desc()).limit(1)
    ).scalar()
    count = 0
    for row in iter_rows(where=table.c.id >= first):
        row["prev_hash"] = prev
        prev = row_hash(row)
        conn.execute(sa.update(table).where(table.c.id == row["id"]).values(prev_hash=row["prev_hash"], row_hash=prev))
        count += 1
    record("audit.rechain", "audit_logs", first, {"rows": count})
    db.session.commit()
    return count
