"""Chart building blocks shared by entity charts and dashboard reports.

Everything here works on SQL expressions so aggregation stays on the database:
date bucketing uses the dialect's own functions (``date_trunc`` on PostgreSQL,
``strftime``/``date`` on SQLite), and figures are checked against the size
budget (5,000 points, 1 MB of JSON) before they reach a page.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio
import sqlalchemy as sa
from babel.numbers import get_decimal_symbol, get_group_symbol
from flask_babel import gettext as _
from sqlalchemy.sql.elements import ColumnElement

from app.models.labels import enum_label, humanize

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


# Outside the plot area, above it and left-aligned: the space below the plot belongs to the tick
# labels (long coach names, rotated) and the axis title, whose height varies; above, only the
# legend lives, and plotly grows the top margin when the legend wraps onto more rows.
LEGEND = {"orientation": "h", "x": 0, "xanchor": "left", "y": 1.02, "yanchor": "bottom", "yref": "paper"}
# plotly_white's layout without its per-trace defaults (most of the template's bytes in every figure).
TEMPLATE = go.layout.Template(layout=pio.templates["plotly_white"].layout)

# Tick formats (d3-format): whole numbers for counts, percentages for rates, grouped amounts.
COUNT, PERCENT, AMOUNT, DECIMAL = ",d", ".0%", ",.0f", ",.1f"
# plotly's period of one bucket, to centre a bucket's bar or point in it (ms for day and week).
PERIODS = {"day": 86_400_000, "week": 7 * 86_400_000, "month": "M1", "quarter": "M3", "year": "M12"}


def base_figure(opts: FigureOptions) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(
        separators=separators(opts.locale),
        margin={"l": 50, "r": 20, "t": 60 if opts.title else 30, "b": 40},
        legend=LEGEND,
        xaxis={"title": {"text": opts.x_title or None}, "automargin": True},
        yaxis={"title": {"text": opts.y_title or None}, "automargin": True, "nticks": 6, "rangemode": "tozero"},
        title=opts.title or None,
        template=TEMPLATE,
        hovermode="x unified",
        **opts.extra_layout,
    )
    return fig


def value_axis(fig: go.Figure, fmt: str, values: Sequence[Any] = (), axis: str = "yaxis", **extra: Any) -> None:
    """Round ticks on a value axis: ``fmt`` one of COUNT, PERCENT, AMOUNT, DECIMAL; a count axis
    whose values stay under 6 ticks every whole number (never 0.5 steps shown as "0, 1, 1, 2")."""
    settings: dict[str, Any] = {"tickformat": fmt, "hoverformat": fmt, **extra}
    if fmt == COUNT:
        top = max((float(number(v)) for v in values if v is not None), default=0)
        if top < 6:
            settings.update(tick0=0, dtick=1)
    fig.update_layout({axis: settings})


def period_axis(fig: go.Figure, unit: str, axis: str = "xaxis") -> None:
    """A date axis of ``unit`` buckets: each bar or point centred in its period, labels on periods."""
    for trace in fig.data:
        if trace.type in ("bar", "scatter"):
            trace.update(xperiod=PERIODS[unit], xperiodalignment="middle")
            if unit == "week":
                trace.update(xperiod0="2000-01-03")  # a Monday: ISO weeks
    hover = {"day": "%x", "week": "%x", "month": "%b %Y", "quarter": "%b %Y", "year": "%Y"}[unit]
    fig.update_layout({axis: {"type": "date", "hoverformat": hover, "ticklabelmode": "period"}})


def is_partial(last_start: dt.date, unit: str, range_end: dt.date, today: dt.date) -> bool:
    """True when the last bucket is not over yet (today) or is cut by the range's end."""
    return min(range_end, today) < step(last_start, unit) - dt.timedelta(days=1)


def mark_partial(fig: go.Figure, last_start: dt.date, unit: str, text: str) -> None:
    """Draw the last, incomplete period as incomplete: a dashed frame with ``text`` ("partial")
    over it, and each line's last segment as a dashed trace of its own, so a half-counted
    month reads as unfinished instead of as a cliff."""
    end = step(last_start, unit)
    fig.add_shape(
        type="rect", xref="x", yref="paper", x0=last_start.isoformat(), x1=end.isoformat(), y0=0, y1=1,
        line={"dash": "dash", "width": 1, "color": "#888"}, fillcolor="rgba(136,136,136,0.08)", layer="below",
    )  # fmt: skip
    mid = last_start + (end - last_start) / 2
    fig.add_annotation(
        x=mid.isoformat(), xref="x", y=1, yref="paper", yanchor="bottom", text=text, showarrow=False,
        font={"size": 11, "color": "#666"},
    )  # fmt: skip
    colorway = fig.layout.colorway or fig.layout.template.layout.colorway or ("#636efa",)
    for index, trace in enumerate(list(fig.data)):
        if trace.type != "scatter" or not trace.x or len(trace.x) < 2 or trace.line.dash == "dash":
            continue
        color = trace.line.color or colorway[index % len(colorway)]
        trace.update(line_color=color, marker_color=color)  # the dashed segment keeps its line's colour
        fig.add_scatter(
            x=list(trace.x[-2:]), y=list(trace.y[-2:]), name=f"{trace.name or ''} ({text})".strip(),
            mode="lines+markers", line={"dash": "dash", "color": color}, marker={"color": color}, showlegend=False,
            yaxis=trace.yaxis, xperiod=trace.xperiod, xperiodalignment=trace.xperiodalignment,
            legendgroup=trace.legendgroup, hoverinfo="skip",
        )  # fmt: skip
        trace.update(x=list(trace.x[:-1]), y=list(trace.y[:-1]))


def shown(value: Any) -> str:
    """A category or series label as a person reads it: enum members by their translated label,
    the "Other" and "(none)" buckets translated, snake_case codes as words."""
    if value is None or value == NONE_LABEL:
        return _("(none)")
    if isinstance(value, enum.Enum):
        return enum_label(value)
    if value == OTHER:
        return _("Other")
    text = str(value)
    return humanize(text) if text.islower() and "_" in text and " " not in text else text


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
