"""Dashboard reports as definitions: one small file per report under ``reports/``.

A report is a query (context -> aggregated rows) and a figure (rows -> plotly figure).
Reports are discovered from the ``reports`` package, so adding a report means adding a
file. The context carries the dashboard filters and the viewer's row scope; every
report applies them through ``ReportContext.customers`` / ``sessions`` so scope is
never forgotten.
"""

from __future__ import annotations

import datetime as dt
import importlib
import pkgutil
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import plotly.graph_objects as go
import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from app import models as m
from app.models.identity import RoleCode
from app.policy.scope import coach_customers
from app.services.analytics import charting as ch
from app.services.analytics.entity_charts import RecordsQuery

DASHBOARDS: dict[str, Any] = {
    "retention": _l("Retention"),
    "revenue": _l("Revenue"),
    "adherence": _l("Adherence"),
    "attendance": _l("Attendance"),
    "engagement": _l("Engagement"),
    "trends": _l("Headline trends"),
}


class ReportInputError(ch.ChartInputError):
    """Bad dashboard filter; shown to the user as a 400."""


@dataclass(frozen=True)
class ReportFilters:
    date_from: dt.date
    date_to: dt.date
    product_id: int | None = None
    coach_id: uuid.UUID | None = None
    program_id: int | None = None
    cohort: dt.date | None = None  # a signup month, for the single-cohort retention curve

    @property
    def range(self) -> ch.DateRange:
        return ch.DateRange(self.date_from, self.date_to)

    def as_args(self) -> dict[str, str]:
        args = {"from": self.date_from.isoformat(), "to": self.date_to.isoformat()}
        if self.product_id is not None:
            args["product"] = str(self.product_id)
        if self.coach_id is not None:
            args["coach"] = str(self.coach_id)
        if self.program_id is not None:
            args["program"] = str(self.program_id)
        if self.cohort is not None:
            args["cohort"] = self.cohort.strftime("%Y-%m")
        return args


DEFAULT_MONTHS = 12


def parse_filters(args: Any, today: dt.date | None = None) -> ReportFilters:
    """Dashboard filters from query args; defaults to the last 12 months. Raises ReportInputError."""
    today = today or dt.datetime.now(dt.UTC).date()
    try:
        start, end = ch.parse_range(args.get("from"), args.get("to"))
    except ch.ChartInputError as exc:
        raise ReportInputError(str(exc)) from None
    end = end or today
    start = start or ch.floor_date(end, "month").replace(year=end.year - 1)
    if start > end:
        raise ReportInputError(_("from (%(start)s) is after to (%(end)s)", start=start, end=end))
    if (end - start).days > 366 * 20:
        raise ReportInputError(_("the date range may span at most 20 years"))
    cohort = None
    if args.get("cohort"):
        try:
            cohort = dt.date.fromisoformat(args.get("cohort")[:7] + "-01")
        except ValueError:
            raise ReportInputError(
                _("cohort: %(value)s is not a month (expected YYYY-MM)", value=repr(args.get("cohort")))
            ) from None
    return ReportFilters(
        start,
        end,
        product_id=_int_arg(args, "product"),
        coach_id=_uuid_arg(args, "coach"),
        program_id=_int_arg(args, "program"),
        cohort=cohort,
    )


def _int_arg(args: Any, name: str) -> int | None:
    raw = args.get(name)
    if raw in (None, ""):
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ReportInputError(_("%(field)s: %(value)s is not an id", field=name, value=repr(raw))) from None
    if not 0 < value < 2**63:
        raise ReportInputError(_("%(field)s: %(value)s is not an id", field=name, value=repr(raw)))
    return value


def _uuid_arg(args: Any, name: str) -> uuid.UUID | None:
    raw = args.get(name)
    if raw in (None, ""):
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise ReportInputError(_("%(field)s: %(value)s is not an id", field=name, value=repr(raw))) from None


@dataclass
class ReportContext:
    session: Session
    filters: ReportFilters
    scope_coach_id: uuid.UUID | None = None  # the viewer is a coach: only their customers and sessions
    locale: str = "en"
    use_rollups: bool = True  # False computes from raw tables (tests and the benchmark's baseline)
    today: dt.date = field(default_factory=lambda: dt.datetime.now(dt.UTC).date())
    cache: dict[Any, Any] = field(default_factory=dict)  # shared by the reports of one dashboard render

    @property
    def dialect(self) -> str:
        return self.session.get_bind().dialect.name

    @property
    def range(self) -> ch.DateRange:
        return self.filters.range

    def bucket(self, column: Any, unit: str) -> ColumnElement:
        return ch.bucket_expr(column, unit, self.dialect)

    def in_range(self, column: Any) -> list[ColumnElement]:
        return ch.range_criteria(column, self.range)

    @property
    def customer_filtered(self) -> bool:
        """True when some filter or scope narrows the customers (rollups without customers can't be used)."""
        f = self.filters
        return any(v is not None for v in (f.product_id, f.coach_id, f.program_id, self.scope_coach_id))

    def customers(
        self, column: Any, *, product: bool = True, program: bool = True, coach: bool = True
    ) -> list[ColumnElement]:
        """Criteria limiting a customer-id column to the filtered, in-scope customers.

        ``coach=False`` leaves the coach filter and scope to the caller (sessions are
        bounded by their own coach column instead).
        """
        f = self.filters
        out: list[ColumnElement] = []
        for coach_id in (self.scope_coach_id, f.coach_id) if coach else ():
            if coach_id is not None:
                out.append(column.in_(coach_customers(coach_id)))
        if product and f.product_id is not None:
            s = m.Subscription
            out.append(column.in_(sa.select(s.customer_id).where(s.product_id == f.product_id)))
        if program and f.program_id is not None:
            p = m.CustomerPlan
            out.append(column.in_(sa.select(p.customer_id).where(p.program_id == f.program_id)))
        return out

    def sessions(self, coach_column: Any) -> list[ColumnElement]:
        """Criteria on a scheduled session's coach column: the coach filter and a coach's own scope."""
        return [coach_column == c for c in (self.scope_coach_id, self.filters.coach_id) if c is not None]


def metric_rows(ctx: ReportContext, metric: str, *, history: bool = False) -> list[tuple[Any, str, Any, Any]]:
    """(month, dim, count, amount) from the ``metric_monthly`` rollup for the range's months
    (``history``: every month up to the range's end)."""
    from app.models.rollups import MetricMonthly as M

    stmt = sa.select(M.month, M.dim, M.count, M.amount).where(M.metric == metric, M.month <= ctx.range.end)
    if not history:
        stmt = stmt.where(M.month >= ch.floor_date(ctx.range.start, "month"))
    return [(ch.as_date(mo), d, c, ch.number(a)) for mo, d, c, a in ctx.session.execute(stmt).all()]


def use_metric_rollup(ctx: ReportContext) -> bool:
    return ctx.use_rollups and not ctx.customer_filtered


def customer_ids() -> sa.Select:
    """Platform users holding the CUSTOMER role."""
    return (
        sa.select(m.UserRole.user_id)
        .join(m.PlatformRole, m.PlatformRole.id == m.UserRole.role_id)
        .where(m.PlatformRole.code == RoleCode.CUSTOMER)
    )


def days_between(later: Any, earlier: Any, dialect: str) -> ColumnElement:
    """Whole days from ``earlier`` to ``later`` (two DATE columns)."""
    if dialect == "postgresql":
        return sa.cast(later - earlier, sa.Integer)
    return sa.cast(sa.func.julianday(later) - sa.func.julianday(earlier), sa.Integer)


def month_index(later: dt.date, earlier: dt.date) -> int:
    return (later.year - earlier.year) * 12 + later.month - earlier.month


def rate(part: Any, whole: Any) -> float | None:
    whole = ch.number(whole)
    return round(ch.number(part) / whole, 4) if whole else None


@dataclass
class ReportData:
    columns: list[str]
    rows: list[tuple[Any, ...]]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.rows


@dataclass(frozen=True)
class Records:
    """Which list page shows the records behind a report: an entity key and equality filters."""

    entity: str
    equals: dict[str, Any] = field(default_factory=dict)
    dated: bool = True  # pass the dashboard's date range to the list

    def query(self, filters: ReportFilters) -> RecordsQuery:
        """The records for these dashboard filters (the date range on the entity's time column if dated)."""
        if self.dated:
            return RecordsQuery(self.entity, dict(self.equals), filters.date_from, filters.date_to)
        return RecordsQuery(self.entity, dict(self.equals))


@dataclass(frozen=True)
class Report:
    key: str
    title: Any
    dashboard: str
    query: Callable[[ReportContext], ReportData]
    figure: Callable[[ReportData, ReportContext], go.Figure]
    order: int = 100
    records: Records | None = None
    description: Any = ""
    # The entity resources (roles.py) whose rows it aggregates: a viewer sees the report only
    # with read access to every one, as they would need to see those rows in the console.
    reads: tuple[str, ...] = ()

    def readable(self, can_read: Callable[[str], bool]) -> bool:
        return all(can_read(resource) for resource in self.reads)


def options(ctx: ReportContext, title: str = "", x: str = "", y: str = "", **layout: Any) -> ch.FigureOptions:
    return ch.FigureOptions(locale=ctx.locale, title=title, x_title=x, y_title=y, extra_layout=layout)


def bar_figure(
    data: ReportData,
    ctx: ReportContext,
    xcol: int,
    ycols: Sequence[int],
    names: Sequence[Any],
    fmt: str = ch.COUNT,
    **layout: Any,
) -> go.Figure:
    """Grouped bars: column ``xcol`` against each column in ``ycols``, each series named by ``names``
    (translated labels, never the column's code), the value axis ticked in ``fmt``."""
    fig = ch.base_figure(options(ctx, **layout))
    xs = [_axis(r[xcol]) for r in data.rows]
    for i, name in zip(ycols, names, strict=True):
        fig.add_trace(go.Bar(x=xs, y=[ch.number(r[i]) for r in data.rows], name=str(name)))
    ch.value_axis(fig, fmt, [r[i] for r in data.rows for i in ycols])
    if data.rows and isinstance(data.rows[-1][xcol], dt.date):
        periods(fig, ctx, data.rows[-1][xcol], data.meta.get("unit", "month"))
    return fig


def periods(fig: go.Figure, ctx: ReportContext, last_start: dt.date, unit: str) -> None:
    """A time axis of ``unit`` buckets; the last one marked "partial" when it is not over yet."""
    ch.period_axis(fig, unit)
    if ch.is_partial(last_start, unit, ctx.range.end, ctx.today):
        ch.mark_partial(fig, last_start, unit, _("partial"))


def _axis(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else ch.shown(value)


# --- discovery -------------------------------------------------------------


class ReportRegistryError(RuntimeError):
    pass


def discover(package: str = "reports") -> dict[str, Report]:
    """Import every module of ``package`` and collect its ``REPORT``; keys must be unique."""
    pkg = importlib.import_module(package)
    found: dict[str, Report] = {}
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package}.{info.name}")
        report = getattr(module, "REPORT", None)
        if not isinstance(report, Report):
            raise ReportRegistryError(f"{package}.{info.name} defines no REPORT = Report(...)")
        if report.key in found:
            raise ReportRegistryError(f"two reports share the key {report.key!r}")
        if report.dashboard not in DASHBOARDS:
            raise ReportRegistryError(f"{report.key}: unknown dashboard {report.dashboard!r}")
        found[report.key] = report
    return found


_REPORTS: dict[str, Report] | None = None


def all_reports() -> dict[str, Report]:
    global _REPORTS
    if _REPORTS is None:
        _REPORTS = discover()
    return _REPORTS


def dashboard_reports(dashboard: str) -> list[Report]:
    if dashboard not in DASHBOARDS:
        raise ReportInputError(_("unknown dashboard %(name)s", name=repr(dashboard)))
    return sorted((r for r in all_reports().values() if r.dashboard == dashboard), key=lambda r: (r.order, r.key))


def get_report(dashboard: str, key: str) -> Report:
    for report in dashboard_reports(dashboard):
        if report.key == key:
            return report
    raise ReportInputError(_("unknown report %(key)s on dashboard %(name)s", key=repr(key), name=repr(dashboard)))


# --- rendering -------------------------------------------------------------


@dataclass
class RenderedReport:
    report: Report
    data: ReportData
    figure_json: str | None
    error: str = ""


def render_report(report: Report, ctx: ReportContext) -> RenderedReport:
    data = report.query(ctx)
    if data.empty:
        return RenderedReport(report, data, None)
    try:
        # Axis titles are lazy strings: pin the locale so jobs and CLI render them without a request.
        with force_locale(ctx.locale):
            return RenderedReport(report, data, ch.figure_json(report.figure(data, ctx)))
    except ch.FigureTooLarge as exc:
        return RenderedReport(report, data, None, error=str(exc))


def readable_reports(dashboard: str, can_read: Callable[[str], bool]) -> list[Report]:
    """The reports of ``dashboard`` whose data a viewer with these read grants may see."""
    return [r for r in dashboard_reports(dashboard) if r.readable(can_read)]


def readable_dashboards(can_read: Callable[[str], bool]) -> dict[str, Any]:
    """Dashboard key -> title, for the dashboards showing at least one readable report."""
    return {key: title for key, title in DASHBOARDS.items() if readable_reports(key, can_read)}


def render_dashboard(dashboard: str, ctx: ReportContext, can_read: Callable[[str], bool]) -> list[RenderedReport]:
    return [render_report(r, ctx) for r in readable_reports(dashboard, can_read)]
