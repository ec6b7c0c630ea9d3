"""The audit chain: each AuditLogs row hashes its content and the previous row's hash.

Rows are appended in id order under a chain lock (``pg_advisory_xact_lock`` on
PostgreSQL, SQLite's write lock), each storing ``prev_hash`` and
``row_hash = sha256(canonical(content, prev_hash))``. ``canonical`` is built so that
PostgreSQL can produce the same text itself (``canonical_sql``): exports and
verification hash in the database. Rows are attributed to the current
``AuditContext``, else to the ``system@coachdesk.local`` platform user (jobs, CLI).
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import hashlib
import json
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy import insert, select, text
from sqlalchemy.dialects import postgresql, sqlite

from app.extensions import db
from app.models.base import utcnow
from app.models.compliance import AuditLog
from app.models.identity import PlatformUser, UserStatus
from app.services.audit.context import current_context

SYSTEM_EMAIL = "system@coachdesk.local"
CHAIN_LOCK_KEY = 0x0A0D17  # pg_advisory_xact_lock key for the audit chain

# The columns a chained row is read back with (verification, export, rechain).
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
    return write(conn, stamp(entries))


def stamp(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Attribute ``entries`` to the current ``AuditContext`` (actor, IP, agent, extra metadata), now.

    Split from ``write`` so the session hooks can stamp a flush's rows while its context is
    current and chain them later, at commit (see ``hooks``). An entry without an actor and
    without a context actor is left for ``write`` to give to the system user.
    """
    ctx = current_context()
    for entry in entries:
        if "actor_id" not in entry and ctx.actor_id is not None:
            entry["actor_id"] = ctx.actor_id
        entry.setdefault("ip_address", ctx.ip_address)
        entry.setdefault("user_agent", (ctx.user_agent or "")[:300] or None)
        meta = dict(entry.get("metadata_json") or {})
        meta.update(ctx.extra)
        entry["metadata_json"] = _plain(meta) or None
    return entries


def write(conn: sa.Connection, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Chain stamped ``entries`` after the current head and insert them, under the chain lock.

    The lock is held until the transaction ends, so the next appender reads this head only once
    it is committed; the rows go in as one multi-row INSERT, to keep that time short.
    """
    if not entries:
        return []
    lock_chain(conn)
    table = AuditLog.__table__
    prev = conn.execute(select(table.c.row_hash).order_by(table.c.id.desc()).limit(1)).scalar()
    system = None
    for entry in entries:
        entry.setdefault("created_at", utcnow())
        if "actor_id" not in entry:
            system = system or system_user_id(conn)
            entry["actor_id"] = system
        entry["prev_hash"] = prev
        entry["row_hash"] = prev = row_hash(entry)
    columns = {key for entry in entries for key in entry}
    conn.execute(insert(table), [{key: entry.get(key) for key in columns} for entry in entries])
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


def archive_anchors() -> set[str]:
    """Hashes of archived chain segments' last rows, as recorded (chained) by retention runs."""
    table = AuditLog.__table__
    rows = db.session.execute(
        select(table.c.metadata_json).where(table.c.action.in_(("audit.archive", "retention.run")))
    ).scalars()
    return {m["archived_last_hash"] for m in rows if m and m.get("archived_last_hash")}
