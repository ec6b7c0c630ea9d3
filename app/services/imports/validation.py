"""Check a whole file against its table: every cell, every row rule, unique keys and references.

Done in bulk so 50,000 rows take seconds: cells convert in Python, then each unique key is looked
up in the database in chunks (one query per thousand values) and each reference once per chunk of
names. The preview shows the result; the commit job runs it again (the database may have changed
since) and writes nothing unless every row is valid.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from app.services.imports.columns import CellError
from app.services.imports.files import MAX_ROWS, ImportFileError
from app.services.imports.specs import TableSpec

CHUNK = 1000
FIRST_DATA_ROW = 2  # the header is row 1, as a spreadsheet numbers it


@dataclass
class RowResult:
    number: int
    raw: dict[str, Any]
    values: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)


@dataclass
class Validation:
    header: list[str]
    columns: list[str]  # the spec's columns the file has, in the spec's order
    ignored: list[str]  # file columns the table does not know
    rows: list[RowResult]

    @property
    def total(self) -> int:
        return len(self.rows)

    @property
    def invalid(self) -> list[RowResult]:
        return [r for r in self.rows if r.errors]

    @property
    def valid_count(self) -> int:
        return sum(1 for r in self.rows if not r.errors)


def check_header(spec: TableSpec, header: list[str]) -> tuple[list[str], list[str]]:
    """The known columns present and the unknown ones; a missing required column refuses the file."""
    missing = [c.name for c in spec.columns if c.required and c.name not in header]
    if missing:
        raise ImportFileError(_("Required columns missing from the header: %(names)s", names=", ".join(missing)))
    duplicated = sorted({h for h in header if h and header.count(h) > 1})
    if duplicated:
        raise ImportFileError(_("Columns named twice in the header: %(names)s", names=", ".join(duplicated)))
    known = [c.name for c in spec.columns if c.name in header]
    ignored = [h for h in header if h and spec.column(h) is None]
    return known, ignored


def validate(session: Session, spec: TableSpec, header: list[str], rows: Iterable[list[Any]]) -> Validation:
    """Every row checked; row numbers are the file's (header = 1); blank rows are skipped."""
    known, ignored = check_header(spec, header)
    positions = {name: header.index(name) for name in known}
    results: list[RowResult] = []
    for number, cells in _numbered(rows):
        raw = {name: (cells[i] if i < len(cells) else "") for name, i in positions.items()}
        result = RowResult(number, raw, {})
        for column in spec.columns:
            try:
                result.values[column.name] = column.convert(raw.get(column.name))
            except CellError as exc:
                result.errors[column.name] = str(exc)
        if spec.row_check is not None and not result.errors:
            result.errors.update(spec.row_check(result.values))
        results.append(result)
    _check_unique(session, spec, results)
    _resolve_references(session, spec, results)
    return Validation(header, known, ignored, results)


def _numbered(rows: Iterable[list[Any]]) -> Iterator[tuple[int, list[Any]]]:
    count = 0
    for number, cells in enumerate(rows, start=FIRST_DATA_ROW):
        if not any(str(c).strip() for c in cells if c is not None):
            continue
        count += 1
        if count > MAX_ROWS:
            raise ImportFileError(_("The file has more than %(n)s rows; split it.", n=f"{MAX_ROWS:,}"))
        yield number, list(cells)


def _check_unique(session: Session, spec: TableSpec, results: list[RowResult]) -> None:
    """Repeats within the file, then keys the database holds (emails compare lower-cased on both sides)."""
    for name, db_column in spec.unique.items():
        seen: dict[Any, int] = {}
        for result in results:
            value = result.values.get(name)
            if value is None or name in result.errors:
                continue
            if value in seen:
                result.errors[name] = _("repeats row %(row)s", row=seen[value])
            else:
                seen[value] = result.number
        keys = list(seen)
        taken: set[Any] = set()
        for start in range(0, len(keys), CHUNK):
            chunk = keys[start : start + CHUNK]
            taken.update(session.scalars(sa.select(db_column).where(db_column.in_(chunk))))
        for result in results:
            value = result.values.get(name)
            if value is not None and name not in result.errors and value in taken:
                result.errors[name] = _("already exists")


def _resolve_references(session: Session, spec: TableSpec, results: list[RowResult]) -> None:
    for ref in spec.references:
        names = sorted({r.values[ref.column] for r in results if r.values.get(ref.column) is not None})
        found: dict[str, Any] = {}
        for start in range(0, len(names), CHUNK):
            found.update(dict(session.execute(ref.query(names[start : start + CHUNK])).all()))
        for result in results:
            name = result.values.get(ref.column)
            if name is None or ref.column in result.errors:
                continue
            if name in found:
                result.values[f"{ref.column}__id"] = found[name]
            else:
                result.errors[ref.column] = str(ref.message)
