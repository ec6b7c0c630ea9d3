"""Write a validated file: Core INSERTs in batches, one transaction, one audit row with counts.

All or nothing: the caller (the job) commits once, after the last batch; a database refusal in any
batch (a concurrent insert of the same email, a constraint) rolls the whole file back. Rows go in
with ``executemany`` (psycopg pipelines it), so the ORM's per-row work and per-row audit rows are
skipped on purpose: the audit trail gets one row naming the file, the table and the counts, never
the values (customer files hold personal data).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import sqlalchemy as sa
from psycopg.types.json import Jsonb
from sqlalchemy.orm import Session

from app.models.base import utcnow
from app.models.customers import CoachAssignment, CustomerProfile
from app.models.identity import PlatformUser, RoleCode, UserRole
from app.services.accounts import ensure_platform_role
from app.services.audit.chain import record
from app.services.imports.specs import MACRO_COLUMNS, TABLE_MODELS, TableSpec
from app.services.imports.validation import Validation

BATCH = 5000
AUDIT_ACTION = "import.commit"
REFUSED_ACTION = "import.refused"
Progress = Callable[[int], None]


def _batches(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), BATCH):
        yield rows[start : start + BATCH]


def _plain(values: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    return {name: values.get(name) for name in names}


def _insert(session: Session, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """PostgreSQL: one ``COPY ... FROM STDIN`` per batch, on the session's connection and transaction;
    elsewhere one ``executemany``. Column defaults are filled in here, as an INSERT would."""
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        session.execute(sa.insert(table), rows)
        return
    names = list(rows[0])
    defaults = {
        c.name: c.default.arg
        for c in table.columns
        if c.name not in names and c.default is not None and c.default.is_scalar and not c.primary_key
    }
    names += list(defaults)
    columns = ", ".join(f'"{n}"' for n in names)
    cursor = connection.connection.driver_connection.cursor()
    with cursor.copy(f'COPY "{table.name}" ({columns}) FROM STDIN') as copy:
        for row in rows:
            values = [row[n] for n in names[: len(names) - len(defaults)]]
            copy.write_row([Jsonb(v) if isinstance(v, dict | list) else v for v in values] + list(defaults.values()))


def _catalogue_rows(spec: TableSpec, validation: Validation) -> list[dict[str, Any]]:
    if spec.key == "meals":
        rows = []
        for r in validation.rows:
            macros = {c: float(r.values[c]) for c in MACRO_COLUMNS if r.values.get(c) is not None}
            row = _plain(r.values, ("name", "allergens", "instructions"))
            row["macros_json"] = macros or None
            rows.append(row)
        return rows
    return [dict(r.values) for r in validation.rows]


def write(session: Session, spec: TableSpec, validation: Validation, on_batch: Progress | None = None) -> int:
    """Insert every row of a file that validated without errors; flushes, never commits."""
    if validation.invalid:
        raise ValueError("a file with invalid rows is never written")
    if spec.key == "customers":
        count = _write_customers(session, validation, on_batch)
    else:
        table = TABLE_MODELS[spec.key].__table__
        count = 0
        for batch in _batches(_catalogue_rows(spec, validation)):
            _insert(session, table, batch)
            count += len(batch)
            if on_batch is not None:
                on_batch(count)
    return count


def _write_customers(session: Session, validation: Validation, on_batch: Progress | None) -> int:
    role_id = ensure_platform_role(RoleCode.CUSTOMER).id
    now = utcnow()
    count = 0
    for batch in _batches([r.values for r in validation.rows]):
        users, roles, profiles, coaches = [], [], [], []
        for values in batch:
            user_id = uuid.uuid4()
            users.append(
                {
                    "id": user_id,
                    "email": values["email"],
                    "full_name": values["full_name"],
                    "phone": values["phone"],
                    "locale": values["locale"],
                    "status": values["status"],
                    "legal_hold": False,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            roles.append({"user_id": user_id, "role_id": role_id})
            profile = _plain(values, ("date_of_birth", "gender", "timezone", "risk_flags", "emergency_contact"))
            profiles.append({"user_id": user_id, **profile})
            if values.get("coach_email__id") is not None:
                coaches.append(
                    {
                        "customer_id": user_id,
                        "coach_id": values["coach_email__id"],
                        "assigned_at": now,
                        "is_primary": True,
                    }
                )
        _insert(session, PlatformUser.__table__, users)
        _insert(session, UserRole.__table__, roles)
        _insert(session, CustomerProfile.__table__, profiles)
        _insert(session, CoachAssignment.__table__, coaches)
        count += len(batch)
        if on_batch is not None:
            on_batch(count)
    return count


def audit(
    spec: TableSpec, *, run_id: int | None, actor_id: uuid.UUID | None, filename: str, written: int, invalid: int
) -> None:
    """One chained audit row per import: table, file name, counts, outcome; never a row's values."""
    record(
        AUDIT_ACTION if not invalid else REFUSED_ACTION,
        TABLE_MODELS[spec.key].__tablename__,
        run_id,
        {"table": spec.key, "file": filename, "rows_written": written, "rows_invalid": invalid},
        actor_id=actor_id,
    )
