"""The one rule against spreadsheet formula injection, for every file meant for a spreadsheet.

Spreadsheets evaluate a cell starting with ``=``, ``+``, ``-`` or ``@`` as a formula, also after
leading spaces or a line break, and some importers drop a leading TAB or CR and evaluate what
follows. OWASP's rule: such a text cell gets a leading single quote, which spreadsheets read as
"text" and do not show. Users of it: the console list CSV (``csv_export``), dashboard and entity
chart CSVs, the catalogue grids' CSV and XLSX, and the audit export CSV, which PostgreSQL renders
in SQL (``app.services.audit.export._csv_text``) with ``neutralise_sql``, the twin kept beside
``neutralise`` so the two cannot drift apart (the export writes the same bytes on both databases).

Numbers stay numbers: the rule is for text, and a quoted ``-12.50`` would no longer add up.
Whether a cell holds a number is decided by its column's type, never by sniffing text columns.
"""

from __future__ import annotations

import decimal
import math
import re
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm

# Skipped before the first character is judged; TAB and CR are triggers in their own right, so
# "the first character after leading spaces, tabs, CR and LF" comes down to this.
LEADING_BLANKS = " \n"
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"

# A plain number as exporters render one (str of an int, Decimal or float): -12.50, 3, 1E+3, 1e-05.
_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")


def needs_quote(text: str) -> bool:
    return text.lstrip(LEADING_BLANKS)[:1] in TRIGGERS


def neutralise(text: str) -> str:
    """A text cell a spreadsheet will not evaluate: a quote in front when ``needs_quote``."""
    return QUOTE + text if needs_quote(text) else text


def is_number(value: Any) -> bool:
    """A finite int, float or Decimal (bool is not a number here)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, decimal.Decimal)):
        return False
    return value.is_finite() if isinstance(value, decimal.Decimal) else math.isfinite(value)


def safe_cell(value: Any, numeric: bool = False) -> Any:
    """A value ready for a spreadsheet cell.

    Decided per column type: a number (``is_number``; what a numeric SQL column yields) is
    returned as it is. Exporters that render every value to text first pass ``numeric=True``
    for a column whose SQL type is numeric (``numeric_column``), and there a plain number
    literal such as ``-12.50`` stays as it is. Everything else is text (None is empty) and
    goes through ``neutralise``: in a text column ``-5`` becomes ``'-5``.
    """
    if is_number(value):
        return value
    text = "" if value is None else str(value)
    if numeric and _NUMBER.fullmatch(text):
        return text
    return neutralise(text)


def numeric_column(model: Any, column: str) -> bool:
    """Whether ``column`` (dotted through many-to-one relations) of a mapped class has a numeric SQL type
    (Integer, Numeric, Float, also behind a TypeDecorator); anything unknown counts as text."""
    mapper = sa.inspect(model, raiseerr=False)
    *relations, last = column.split(".")
    for part in relations:
        prop = mapper.attrs.get(part) if mapper is not None else None
        if not isinstance(prop, orm.RelationshipProperty):
            return False
        mapper = prop.mapper
    prop = mapper.attrs.get(last) if mapper is not None else None
    columns = getattr(prop, "columns", None)
    if not columns or not isinstance(columns[0], sa.Column):
        return False
    type_ = columns[0].type
    if isinstance(type_, sa.TypeDecorator):
        type_ = type_.impl_instance
    return isinstance(type_, (sa.Integer, sa.Numeric)) and not isinstance(type_, sa.Boolean)


def neutralise_sql(text: Any) -> Any:
    """``neutralise`` as a PostgreSQL expression over a text column (NULL stays NULL); constants inline."""
    first = sa.func.left(sa.func.ltrim(text, sa.literal_column(_pg_literal(LEADING_BLANKS))), sa.literal_column("1"))
    triggers = [sa.literal_column(_pg_literal(t)) for t in TRIGGERS]
    quote = sa.literal_column(_pg_literal(QUOTE))
    return sa.case((first.in_(triggers), quote.concat(text)), else_=text)


def _pg_literal(text: str) -> str:
    """``text`` as a PostgreSQL string expression; control characters as ``chr(n)``."""
    parts = [f"chr({ord(c)})" if not c.isprintable() else "'" + c.replace("'", "''") + "'" for c in text]
    return " || ".join(parts)
