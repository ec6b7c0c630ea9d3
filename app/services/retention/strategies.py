"""What each retention strategy selects and changes in a primary-key range.

A run's candidates are the expired rows nobody holds (for ANONYMIZE, not yet anonymized).
HARD_DELETE deletes a range's candidates and ANONYMIZE overwrites their personal columns
with placeholders, each in one idempotent statement per range; ARCHIVE (``archive_batch``)
selects the same rows.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy import delete, update

from app.models.compliance import DeletionStrategy
from app.services.retention.holds import held_clause
from app.services.retention.policies import A, H, RetentionEntity


def placeholder(column: sa.Column) -> Any:
    """The irreversible replacement for a personal-data column."""
    if column.nullable:
        return sa.null()
    if isinstance(column.type, sa.JSON) or column.info.get("json_schema"):
        return {}
    if isinstance(column.type, (sa.Numeric, sa.Integer, sa.Float)):
        return 0
    return "[anonymized]"


def _not_anonymized(spec: RetentionEntity, table: sa.Table) -> Any:
    conds = []
    for name in spec.personal_columns:
        col = table.c[name]
        value = placeholder(col)
        if col.nullable:
            conds.append(col.is_not(None))
        elif isinstance(value, str):
            conds.append(col != value)
    return sa.or_(*conds) if conds else sa.false()


def candidates(spec: RetentionEntity, strategy: DeletionStrategy, cutoff: dt.datetime) -> list[Any]:
    """The rows a run may change: expired, not held (and for ANONYMIZE, not yet anonymized)."""
    table = spec.sa_table
    conds = [table.c[spec.time_column] < cutoff, held_clause(spec, table)]
    if strategy == A:
        conds.append(_not_anonymized(spec, table))
    return conds


def range_conds(spec: RetentionEntity, strategy: DeletionStrategy, cutoff: dt.datetime, lo: int, hi: int) -> list:
    """The batch's rows: its key range, cut to the expired rows nobody holds, in the one statement that changes them."""
    table = spec.sa_table
    return [table.c.id > lo, table.c.id <= hi, *candidates(spec, strategy, cutoff)]


def change(spec: RetentionEntity, strategy: DeletionStrategy, cutoff: dt.datetime, lo: int, hi: int) -> Any:
    """The one statement that HARD_DELETEs or ANONYMIZEs a key range's expired, unheld rows
    (personal columns get their placeholders; rows already anonymized are skipped)."""
    table = spec.sa_table
    conds = range_conds(spec, strategy, cutoff, lo, hi)
    if strategy == H:
        stmt = delete(table).where(*conds)
    else:
        stmt = update(table).where(*conds).values({name: placeholder(table.c[name]) for name in spec.personal_columns})
    return stmt.execution_options(synchronize_session=False)
