"""Which columns hold personal data, declared on the column: ``info={"personal": True}``.

Audit never writes their values, retention ANONYMIZE and data-subject erasure replace
them. A column that holds none says so with ``info={"personal": False}`` where the
decision is not obvious (tests/test_personal_data.py asks for one on every text, JSON
and date column of a table that references a user).
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

PERSONAL = "personal"


def is_personal(column: sa.Column) -> bool:
    return bool(column.info.get(PERSONAL))


def personal_columns(table: sa.Table) -> frozenset[str]:
    return frozenset(column.name for column in table.columns if is_personal(column))


def classify(table: sa.Table, personal: Iterable[str] = (), not_personal: Iterable[str] = ()) -> None:
    """Mark columns a library declares (FAB's ``ab_*`` tables), where ``info=`` cannot be passed."""
    for name in personal:
        table.c[name].info[PERSONAL] = True
    for name in not_personal:
        table.c[name].info[PERSONAL] = False
