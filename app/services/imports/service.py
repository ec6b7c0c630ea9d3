"""What the import pages and the commit job call: preview an upload, its error report, run the commit.

The commit is a job (``imports.commit``) so a 50,000-row file does not hold a request: it checks
the file again (the database may have changed since the preview), then writes every row in one
transaction. Progress shows in ``job_runs`` like every job: checking and writing advance it; on
PostgreSQL the writing batches report through a second connection (the rows stay uncommitted
until the end), on SQLite (one writer) the count moves when the file is in.
"""

from __future__ import annotations

import csv
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.i18n import _l
from app.models.identity import ConsoleUser
from app.models.jobs import JobRun
from app.policy.roles import WRITE, allowed
from app.policy.scope import Actor
from app.services.imports import commit as writer
from app.services.imports.files import ImportFileError, Upload, load, read_rows
from app.services.imports.specs import TableSpec, get_spec
from app.services.imports.validation import Validation, validate
from app.services.jobs import runs as jobs
from app.services.spreadsheet_safety import safe_cell

KIND = "imports.commit"
QUEUE = "default"
PREVIEW_ROWS = 20


class ImportRefused(Exception):
    """The commit found invalid rows: nothing was written; the error report lists them."""


def may_import(actor: Actor, spec: TableSpec) -> bool:
    """The import page's grant and write on every entity the table fills (the role matrix)."""
    return all(
        any(allowed(role, resource, WRITE) for role in actor.roles) for resource in ("BulkImport", *spec.resources)
    )


def preview(session: Session, upload: Upload) -> tuple[TableSpec, Validation]:
    """The whole file checked; its error report written when a row is invalid."""
    spec = get_spec(upload.table)
    if spec is None:
        raise ImportFileError("unknown table", 404)
    header, rows = read_rows(upload)
    validation = validate(session, spec, header, rows)
    write_error_report(upload, spec, validation)
    return spec, validation


def write_error_report(upload: Upload, spec: TableSpec, validation: Validation) -> Path | None:
    """A CSV of the invalid rows (row number, the file's cells, the problems); cells made spreadsheet-safe."""
    path = upload.error_report
    invalid = validation.invalid
    if not invalid:
        path.unlink(missing_ok=True)
        return None
    columns = validation.columns
    with open(path, "w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["row", *columns, "errors"])
        for result in invalid:
            problems = "; ".join(f"{name}: {message}" for name, message in result.errors.items())
            out.writerow([result.number, *(safe_cell(result.raw.get(c)) for c in columns), safe_cell(problems)])
    return path


def start_commit(upload: Upload, *, requested_by: uuid.UUID | None) -> JobRun:
    """Queue the commit of a previewed upload; one run per upload (a second click returns the first)."""
    params = {"token": upload.token, "table": upload.table, "console_user_id": upload.console_user_id}
    return jobs.start_job(KIND, params, requested_by=requested_by, queue=QUEUE, dedupe_key=f"import-{upload.token}")


def run_commit(
    session: Session,
    params: dict[str, Any],
    *,
    run_id: int | None,
    actor_id: uuid.UUID | None,
    progress: Callable[[int, int], None],
    side_progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Check the upload again and write it all, or write nothing and raise ``ImportRefused``.

    ``progress`` commits (the job's ``ctx.commit``): it is called after the check, before any row is
    written, and with the refusal's audit row. Writing only flushes; the caller commits at the end."""
    upload = load(str(params.get("token", "")))
    if upload is None or upload.table != params.get("table"):
        raise ImportRefused(_l("The uploaded file is gone; upload it again."))
    # The grant is checked again now: an account disabled or a role changed since the preview writes nothing.
    account = session.get(ConsoleUser, params.get("console_user_id")) if params.get("console_user_id") else None
    spec = get_spec(upload.table)
    if spec is None or account is None or not account.active or not may_import(Actor.of(account), spec):
        raise ImportRefused(_l("Your account may no longer import into this table; nothing was imported."))
    spec, validation = preview(session, upload)
    total = validation.total
    invalid = len(validation.invalid)
    if invalid:
        writer.audit(spec, run_id=run_id, actor_id=actor_id, filename=upload.filename, written=0, invalid=invalid)
        progress(total, total * 2)
        raise ImportRefused(_l("%(count)s rows are invalid; nothing was imported.", count=invalid))
    progress(total, total * 2)  # checking is the first half of the work, writing the second
    report = (lambda n: side_progress(total + n)) if side_progress is not None else None
    written = writer.write(session, spec, validation, report)
    writer.audit(spec, run_id=run_id, actor_id=actor_id, filename=upload.filename, written=written, invalid=0)
    session.flush()
    return {"table": spec.key, "written": written, "file": upload.filename}


def report_progress(engine: sa.Engine, run_id: int, done: int) -> None:
    """Move a run's progress from a second connection while the import's transaction is still open."""
    with engine.begin() as conn:
        conn.execute(sa.update(JobRun).where(JobRun.id == run_id).values(progress_done=done))


def recent_runs(table: str, *, console_user_id: int | None, limit: int = 10) -> list[JobRun]:
    """This table's imports, newest first: the person's own, or everyone's for ``console_user_id=None``."""
    runs = [r for r in jobs.recent_runs(limit=200, kinds=(KIND,)) if (r.params or {}).get("table") == table]
    if console_user_id is not None:
        runs = [r for r in runs if (r.params or {}).get("console_user_id") == console_user_id]
    return runs[:limit]
