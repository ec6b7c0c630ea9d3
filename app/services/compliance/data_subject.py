"""Data-subject requests: export everything held about one user, or erase their personal data.

Which rows belong to a user is derived from the schema: every column with a
foreign key to ``users.id`` (plus invoices and payments, reached through the
user's subscriptions). Export writes a ZIP with one JSON file per entity and a
manifest of SHA-256s (temporary name, then rename). Erasure replaces the
personal-data columns (``info={"personal": True}``) of every such row with
irreversible placeholders, keeps invoices and payments (amounts, dates) as
accounting law requires, deactivates any console account, and is refused
while the user is under legal hold. Audit rows are kept: they hold no personal
values, and their chain must stay intact.
"""

from __future__ import annotations

import json
import uuid
import zipfile
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, update

from app.extensions import db
from app.i18n import _l
from app.models.base import utcnow
from app.models.classification import personal_columns
from app.models.identity import ConsoleUser, PlatformUser, UserStatus
from app.models.jobs import JobRun, JobStatus
from app.services.artifacts import partial_path, publish, sha256
from app.services.audit import chain as audit
from app.services.audit.hooks import SECRET_COLUMNS
from app.services.jobs.context import JobContext
from app.services.jobs.runs import start_job
from app.services.retention.strategies import placeholder

EXPORT_KIND = "dsr.export"
ERASURE_KIND = "dsr.erase"
SKIP_TABLES = frozenset({"audit_logs", "job_runs"})


class SubjectRequestError(ValueError):
    """The request cannot be carried out; the message says why."""


def find_subject(user_ref: str) -> PlatformUser:
    """A platform user by id (UUID) or email."""
    ref = (user_ref or "").strip()
    if not ref:
        raise SubjectRequestError(_("give the user's id or email"))
    user = None
    try:
        user = db.session.get(PlatformUser, uuid.UUID(ref))
    except ValueError:
        if "@" in ref and len(ref) <= 320:
            user = db.session.scalar(select(PlatformUser).where(PlatformUser.email == ref.lower()))
    if user is None:
        raise SubjectRequestError(_("no user matches %(value)s", value=repr(ref[:80])))
    if user.email == audit.SYSTEM_EMAIL:
        raise SubjectRequestError(_("the system user is not a data subject"))
    return user


def user_columns() -> list[tuple[sa.Table, list[sa.Column]]]:
    """Every table with a column pointing at users.id, and those columns."""
    found = []
    for table in db.metadata.sorted_tables:
        if table.name in SKIP_TABLES:
            continue
        cols = [c for c in table.c for fk in c.foreign_keys if fk.column.table.name == "users"]
        if cols:
            found.append((table, cols))
    return found


def _subject_queries(uid: uuid.UUID) -> list[tuple[str, Any]]:
    users = db.metadata.tables["users"]
    queries: list[tuple[str, Any]] = [("users", select(users).where(users.c.id == uid))]
    for table, cols in user_columns():
        queries.append((table.name, select(table).where(sa.or_(*[c == uid for c in cols]))))
    subs = db.metadata.tables["subscriptions"]
    invoices, payments = db.metadata.tables["invoices"], db.metadata.tables["payments"]
    sub_ids = select(subs.c.id).where(subs.c.customer_id == uid)
    inv_ids = select(invoices.c.id).where(invoices.c.subscription_id.in_(sub_ids))
    queries.append(("invoices", select(invoices).where(invoices.c.id.in_(inv_ids))))
    queries.append(("payments", select(payments).where(payments.c.invoice_id.in_(inv_ids))))
    return queries


def _secret(table: sa.Table, name: str) -> bool:
    return bool(table.c[name].info.get("secret")) or name in SECRET_COLUMNS.get(table.name, ())


def request_export(user: PlatformUser, requested_by: uuid.UUID | None) -> JobRun:
    return start_job(EXPORT_KIND, {"user_id": str(user.id)}, queue="exports", requested_by=requested_by)


def request_erasure(user: PlatformUser, requested_by: uuid.UUID | None) -> JobRun:
    if user.legal_hold:
        raise SubjectRequestError(
            "this user is under legal hold: their data may not be erased until compliance releases the hold"
        )
    return start_job(ERASURE_KIND, {"user_id": str(user.id)}, queue="default", requested_by=requested_by)


def run_subject_export(ctx: JobContext) -> dict[str, Any]:
    uid = uuid.UUID(ctx.params["user_id"])
    if db.session.get(PlatformUser, uid) is None:
        raise SubjectRequestError(_l("no user %(id)s", id=uid))
    directory = Path(current_app.config["EXPORTS_DIR"])
    directory.mkdir(parents=True, exist_ok=True)
    name = f"subject-{ctx.run_id}.zip"
    final = directory / name
    part = partial_path(final)
    queries = _subject_queries(uid)
    counts: dict[str, int] = {}
    hashes: dict[str, str] = {}
    with zipfile.ZipFile(part, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for table_name, stmt in queries:
            table = db.metadata.tables[table_name]
            rows = [
                {k: audit._plain(v) for k, v in row.items() if not _secret(table, k)}
                for row in db.session.execute(stmt).mappings()
            ]
            if table_name in counts:
                continue
            data = json.dumps(rows, indent=2, ensure_ascii=False, sort_keys=True).encode()
            zf.writestr(f"{table_name}.json", data)
            counts[table_name] = len(rows)
            hashes[f"{table_name}.json"] = sha256(data)
        manifest = {"user_id": str(uid), "created_at": utcnow().isoformat(), "rows": counts, "sha256": hashes}
        zf.writestr("manifest.json", json.dumps(manifest, indent=2, sort_keys=True))
    publish(part, final)
    audit.record("dsr.export", "users", uid, {"entities": len(counts), "rows": sum(counts.values())})
    ctx.commit(done=len(counts), total=len(counts))
    return {"file": name, "rows": counts}


def run_erasure(ctx: JobContext) -> dict[str, Any]:
    uid = uuid.UUID(ctx.params["user_id"])
    user = db.session.get(PlatformUser, uid)
    if user is None:
        raise SubjectRequestError(_l("no user %(id)s", id=uid))
    if user.legal_hold:
        raise SubjectRequestError(_l("this user is under legal hold: erasure refused"))
    touched: dict[str, int] = {}
    for table, cols in user_columns():
        personal = sorted(personal_columns(table))
        if not personal:
            continue
        values = {name: placeholder(table.c[name]) for name in personal}
        result = db.session.execute(update(table).where(sa.or_(*[c == uid for c in cols])).values(**values))
        touched[table.name] = result.rowcount
    consoles = db.session.scalars(select(ConsoleUser).where(ConsoleUser.platform_user_id == uid)).all()
    for console in consoles:
        console.first_name, console.last_name = "Erased", "user"
        console.username = console.email = f"erased-{console.id}@erased.invalid"
        console.active = False
    users = db.metadata.tables["users"]
    db.session.execute(
        update(users)
        .where(users.c.id == uid)
        .values(
            email=f"erased-{uid.hex}@erased.invalid",
            full_name="Erased user",
            phone=None,
            password_hash=None,
            status=UserStatus.DELETED,
            updated_at=utcnow(),
        )
    )
    touched["users"] = 1
    audit.record("dsr.erasure", "users", uid, {"rows": touched, "kept": ["invoices", "payments"]})
    ctx.commit(done=1, total=1)
    return {"rows": touched}


def subject_file(run_id: int) -> Path:
    run = db.session.get(JobRun, run_id)
    if run is None or run.kind != EXPORT_KIND or run.status != JobStatus.SUCCEEDED or not run.result:
        raise SubjectRequestError(_("no finished data-subject export #%(id)s", id=run_id))
    path = Path(current_app.config["EXPORTS_DIR"]) / run.result["file"]
    if not path.is_file():
        raise SubjectRequestError(_("the file of export #%(id)s is no longer there", id=run_id))
    return path
