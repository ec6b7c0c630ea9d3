"""The ORM session hooks: one chained AuditLogs row per change, written in the same transaction.

``install()`` (called from create_app) listens to the app session's ``before_flush``
(collect what changed while history is still there) and ``after_flush`` (describe the
rows, primary keys now known, and attribute them to the current context) events. Every
ORM create/update/delete made by the console, the API or a job is audited; bulk Core
statements are not flushes and are audited by the service that runs them (retention,
erasure) as one event with counts.

The rows are chained at commit, not at the flush: ``before_commit`` flushes what is left and
writes the transaction's queued rows under the chain lock (``chain.write``), which is then held
only for those inserts and the commit itself, instead of from a transaction's first flush to
its end (every audited write in the system waits for that lock). They are still written in
the same transaction, so they commit with the change or not at all; a rollback drops the
queue. Inside a savepoint (``begin_nested``) rows are chained at the flush as before, so a
savepoint rolled back takes its own rows with it and no others; flushes that run while the
commit is under way (after ``before_commit``) are chained at once too. A statement run
through the session that reads ``audit_logs`` first writes the queue (``do_orm_execute``), so
a transaction still sees its own audit rows.

Changed field NAMES are always recorded; VALUES only for columns that hold no personal
data (``info={"personal": True}``, see ``app.models.classification``) and are not
secrets (``info={"secret": True}``, ``SECRET_COLUMNS``), never JSON blobs.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, scoped_session
from sqlalchemy.orm.attributes import NO_VALUE
from sqlalchemy.sql import util as sql_util

from app.extensions import db
from app.models.classification import is_personal
from app.services import csv_export
from app.services.audit.chain import record, stamp, write

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
AUDIT_TABLE = "audit_logs"
# session.info keys: objects seen by before_flush; rows waiting for the commit; "chain at once".
PENDING_KEY = "audit_pending"
QUEUE_KEY = "audit_queue"
DIRECT_KEY = "audit_direct"


def install() -> None:
    """Listen to the app session's flushes, and to list exports, once per process."""
    if not event.contains(db.session, "before_flush", _before_flush):
        event.listen(db.session, "before_flush", _before_flush)
        event.listen(db.session, "after_flush", _after_flush)
        event.listen(db.session, "before_commit", _before_commit)
        event.listen(db.session, "do_orm_execute", _before_audit_read)
        event.listen(db.session, "after_transaction_end", _after_transaction_end)
    csv_export.export_started.connect(_on_list_export)  # one receiver, however often connected


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
    if is_personal(column):
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
    pending = session.info.setdefault(PENDING_KEY, [])
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
    pending = session.info.pop(PENDING_KEY, None)
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
    stamp(entries)  # who and where: the context of the flush, not of the commit
    if session.info.get(DIRECT_KEY) or session.in_nested_transaction():
        write(session.connection(), entries)
    else:
        session.info.setdefault(QUEUE_KEY, []).extend(entries)


def queue(session: Session, entries: list[dict[str, Any]]) -> None:
    """Add intent entries (``subscription.status``...) to the transaction's audit rows, chained with them at
    commit: no chain lock and head read per entry, as ``chain.append`` would need."""
    if isinstance(session, scoped_session):
        session = session()
    stamp(entries)
    if session.info.get(DIRECT_KEY) or session.in_nested_transaction():
        write(session.connection(), entries)
    else:
        session.info.setdefault(QUEUE_KEY, []).extend(entries)


def _before_commit(session: Session) -> None:
    """Chain the transaction's queued rows, last thing before the database commit."""
    if session.in_nested_transaction():
        return  # releasing a savepoint: its rows are written already, the queue waits for the real commit
    session.flush()  # the commit's own flush runs after this hook: take its rows now
    session.info[DIRECT_KEY] = True  # anything flushed from here on is chained at once
    _chain_queue(session)


def _chain_queue(session: Session) -> None:
    queued = session.info.pop(QUEUE_KEY, None)
    if queued:
        write(session.connection(), queued)


def _before_audit_read(state: ORMExecuteState) -> None:
    """A statement on ``audit_logs`` sees the rows this transaction queued: chain them first."""
    if state.session.info.get(QUEUE_KEY) and any(
        t.name == AUDIT_TABLE for t in sql_util.find_tables(state.statement, include_crud=True)
    ):
        _chain_queue(state.session)


def _after_transaction_end(session: Session, transaction: Any) -> None:
    """A commit or rollback of the whole transaction: what it queued is written or gone."""
    if transaction.parent is None:
        for key in (QUEUE_KEY, DIRECT_KEY, PENDING_KEY):
            session.info.pop(key, None)
