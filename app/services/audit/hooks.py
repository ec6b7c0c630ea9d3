"""The ORM session hooks: one chained AuditLogs row per change, written in the same transaction.

``install()`` (called from create_app) listens to the app session's ``before_flush``
(collect what changed while history is still there) and ``after_flush`` (write the
rows, primary keys now known) events. Every ORM create/update/delete made by the
console, the API or a job is audited; bulk Core statements are not flushes and are
audited by the service that runs them (retention, erasure) as one event with counts.

Changed field NAMES are always recorded; VALUES only for columns that hold no personal
data (``info={"personal": True}``, see ``app.models.classification``) and are not
secrets (``info={"secret": True}``, ``SECRET_COLUMNS``), never JSON blobs.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import NO_VALUE

from app.extensions import db
from app.models.classification import is_personal
from app.services import csv_export
from app.services.audit.chain import append, record

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


def install() -> None:
    """Listen to the app session's flushes, and to list exports, once per process."""
    if not event.contains(db.session, "before_flush", _before_flush):
        event.listen(db.session, "before_flush", _before_flush)
        event.listen(db.session, "after_flush", _after_flush)
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
