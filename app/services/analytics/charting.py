"""Chart building blocks shared by entity charts and dashboard reports.

Everything here works on SQL expressions so aggregation stays on the database:
date bucketing uses the dialect's own functions (``date_trunc`` on PostgreSQL,
``strftime``/``date`` on SQLite), and figures are checked against the size
budget (5,000 points, 1 MB of JSON) before they reach a page.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio
import sqlalchemy as sa
from babel.numbers import get_decimal_symbol, get_group_symbol
from flask_babel import gettext as _
from sqlalchemy.sql.elements import ColumnElement

MAX_POINTS = 5_000
MAX_FIGURE_BYTES = 1_000_000
MAX_SERIES = 10
MAX_CATEGORIES = 30
OTHER = "Other"
NONE_LABEL = "(none)"

UNITS = ("day", "week", "month", "quarter", "year")
# Dates a person can mean; outside them, date arithmetic and the databases overflow.
MIN_YEAR, MAX_YEAR = 1900, 2999


class ChartInputError(ValueError):
    """Bad chart input (dates, columns, values); the message is shown to the user as a 400."""


class FigureTooLarge(RuntimeError):
    """A figure broke the point or byte budget; callers must bucket or roll up instead."""


@dataclass(frozen=True)
class DateRange:
    start: dt.date
    end: dt.date  # inclusive

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def start_dt(self) -> dt.datetime:
        return dt.datetime.combine(self.start, dt.time.min, tzinfo=dt.UTC)

    def end_dt_exclusive(self) -> dt.datetime:
        return dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)


def parse_date(value: str | None, name: str) -> dt.date | None:
    if value is None or value.strip() == "":
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise ChartInputError(
            _("%(field)s: %(value)s is not a date (expected YYYY-MM-DD)", field=name, value=repr(value))
        ) from None


def parse_range(start: str | None, end: str | None) -> tuple[dt.date | None, dt.date | None]:
    """Parse ``from``/``to`` query values; refuse a range that ends before it starts."""
    d1, d2 = parse_date(start, "from"), parse_date(end, "to")
    if d1 and d2 and d1 > d2:
        raise ChartInputError(_("from (%(start)s) is after to (%(end)s)", start=d1, end=d2))
    if any(d is not None and not MIN_YEAR <= d.year <= MAX_YEAR for d in (d1, d2)):
        raise ChartInputError(_("dates must lie between 1900 and 2999"))
    return d1, d2


def is_date_only(column: Any) -> bool:
    type_ = column.type
    return isinstance(type_, sa.Date) and not isinstance(type_, sa.DateTime)


def range_criteria(column: Any, rng: DateRange) -> list[ColumnElement]:
    """Inclusive date range on a Date or a UTC timestamp column (index friendly)."""
    if is_date_only(column):
        return [column >= rng.start, column <= rng.end]
    return [column >= rng.start_dt(), column < rng.end_dt_exclusive()]


def bucket_expr(column: Any, unit: str, dialect: str) -> ColumnElement:
    """The start date of ``column``'s day/week/month/quarter/year, computed by the database."""
    if unit not in UNITS:
        raise ChartInputError(
            _("unknown bucket %(value)s; expected one of %(choices)s", value=repr(unit), choices=", ".join(UNITS))
        )
    if dialect == "postgresql":
        source = (
            sa.cast(column, sa.DateTime())
            if is_date_only(column)
            else sa.func.timezone(sa.literal_column("'UTC'"), column)
        )
        # The unit is inlined (it is one of UNITS), so the same bucket built twice renders identically
        # in SELECT and GROUP BY; a bound parameter would make PostgreSQL reject the grouping.
        return sa.cast(sa.func.date_trunc(sa.literal_column(f"'{unit}'"), source), sa.Date)
    # SQLite keeps UTC timestamps as ISO text; date()/strftime() read them directly.
    if unit == "day":
        expr = sa.func.date(column)
    elif unit == "week":  # ISO weeks start on Monday; %w is 0 for Sunday
        back = (sa.cast(sa.func.strftime("%w", column), sa.Integer) + 6) % 7
        expr = sa.func.date(column, sa.func.printf("-%d days", back))
    elif unit == "month":
        expr = sa.func.strftime("%Y-%m-01", column)
    elif unit == "quarter":
        month = sa.cast(sa.func.strftime("%m", column), sa.Integer)
        expr = sa.func.printf("%s-%02d-01", sa.func.strftime("%Y", column), ((month - 1) / 3) * 3 + 1)
    else:
        expr = sa.func.strftime("%Y-01-01", column)
    return sa.type_coerce(expr, sa.Date())


def as_date(value: Any) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def floor_date(day: dt.date, unit: str) -> dt.date:
    if unit == "day":
        return day
    if unit == "week":
        return day - dt.timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    if unit == "quarter":
        return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
    return day.replace(month=1, day=1)


def step(day: dt.date, unit: str) -> dt.date:
    if unit == "day":
        return day + dt.timedelta(days=1)
    if unit == "week":
        return day + dt.timedelta(days=7)
    months = {"month": 1, "quarter": 3, "year": 12}[unit]
    total = day.year * 12 + day.month - 1 + months
    return dt.date(total // 12, total % 12 + 1, 1)


def bucket_starts(rng: DateRange, unit: str) -> list[dt.date]:
    """Every bucket in the range, so empty periods show as zero instead of vanishing."""
    out, cur = [], floor_date(rng.start, unit)
    while cur <= rng.end:
        out.append(cur)
        cur = step(cur, unit)
        if len(out) > MAX_POINTS:
            raise FigureTooLarge(f"more than {MAX_POINTS} {unit}s in range")
    return out


def count_buckets(rng: DateRange, unit: str) -> int:
    days = rng.days
    per = {"day": 1, "week": 7, "month": 28, "quarter": 90, "year": 365}[unit]
    return days // per + 2


def choose_unit(rng: DateRange, series: int = 1, requested: str | None = None) -> str:
    """The finest sensible bucket for the range that keeps the figure within budget.

    A requested unit is honoured unless it would break the point budget, in which case
    the next coarser unit is used (never an error: the user asked for a chart).
    """
    if requested and requested not in UNITS:
        raise ChartInputError(
            _("unknown bucket %(value)s; expected one of %(choices)s", value=repr(requested), choices=", ".join(UNITS))
        )
    if requested:
        start = UNITS.index(requested)
    elif rng.days <= 92:
        start = 0
    elif rng.days <= 730:
        start = 1
    else:
        start = 2
    for unit in UNITS[start:]:
        if count_buckets(rng, unit) * max(series, 1) <= MAX_POINTS:
            return unit
    return "year"


def number(value: Any) -> float | int:
    if value is None:
        return 0
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def label(value: Any) -> str:
    if value is None:
        return NONE_LABEL
    return str(getattr(value, "value", value))


# --- figures ---------------------------------------------------------------


@dataclass
class FigureOptions:
    locale: str = "en"
    title: str = ""
    x_title: str = ""
    y_title: str = ""
    extra_layout: dict[str, Any] = field(default_factory=dict)


def separators(locale: str) -> str:
    """plotly's ``separators``: decimal mark then thousands mark, from the locale (CLDR via Babel)."""
    try:
        return get_decimal_symbol(locale) + get_group_symbol(locale)
    except Exception:  # unknown locale string: fall back to English marks
        return ".,"


def base_figure(opts: FigureOptions) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(
        separators=separators(opts.locale),
        margin={"l": 50, "r": 20, "t": 40 if opts.title else 10, "b": 40},
        legend={"orientation": "h"},
        xaxis_title=opts.x_title or None,
        yaxis_title=opts.y_title or None,
        title=opts.title or None,
        template="plotly_white",
        **opts.extra_layout,
    )
    return fig


def figure_points(fig: go.Figure) -> int:
    total = 0
    for trace in fig.data:
        z = getattr(trace, "z", None)
        if z is not None:
            total += sum(len(row) if isinstance(row, (list, tuple)) else 1 for row in z)
            continue
        xs = getattr(trace, "x", None)
        ys = getattr(trace, "y", None)
        values = getattr(trace, "values", None)
        total += max(len(xs or ()), len(ys or ()), len(values or ()))
    return total


def figure_json(fig: go.Figure) -> str:
    """The figure as JSON, its text escaped (``escape_text``), refused if it carries more than the budget allows.

    Every figure reaches a page through here (entity charts and dashboard reports), so labels are
    escaped once, whichever builder or report made them."""
    points = figure_points(fig)
    if points > MAX_POINTS:
        raise FigureTooLarge(f"figure has {points} points (max {MAX_POINTS})")
    text = pio.to_json(escape_text(fig.to_dict()), validate=False, engine="json")
    if len(text.encode()) > MAX_FIGURE_BYTES:
        raise FigureTooLarge(f"figure JSON is {len(text.encode())} bytes (max {MAX_FIGURE_BYTES})")
    return text


# plotly.js renders a subset of HTML (<a href>, <span style>, <b>, <br>...) in these attributes: trace
# names, category values on axes and in hover labels, text, titles (layout, axes, legend) and annotations.
# Templates (hovertemplate, texttemplate) are the code's own markup and keep it.
TEXT_KEYS = frozenset(
    {"name", "text", "hovertext", "x", "y", "labels", "parents", "ticktext", "title", "customdata", "meta"}
)
# Numeric references: plotly decodes these, but not &quot; or &#x27;.
_ENTITIES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&#34;", "'": "&#39;"})


def escape_label(text: str) -> str:
    """Text plotly shows as it is, instead of as markup."""
    return text.translate(_ENTITIES)


def escape_text(node: Any, text: bool = False) -> Any:
    """A figure dict (``Figure.to_dict()``) with every data-borne string under ``TEXT_KEYS`` escaped;
    the layout's ``template`` (plotly's own styling) is left alone."""
    if isinstance(node, str):
        return escape_label(node) if text else node
    if isinstance(node, dict):
        return {k: v if k == "template" else escape_text(v, k in TEXT_KEYS) for k, v in node.items()}
    if isinstance(node, (list, tuple)):
        return [escape_text(v, text) for v in node]
    return node


def top_labels(pairs: Sequence[tuple[Any, Any]], limit: int) -> list[str]:
    ordered = sorted(pairs, key=lambda p: (-float(number(p[1])), label(p[0])))
    return [label(k) for k, _ in ordered[:limit]]
