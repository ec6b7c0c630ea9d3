"""A chart for every entity: counts or sums over time, and breakdowns by category.

Each of the 45 entities declares its main time column, its categorical columns and
its summable numeric columns. ``entity_chart`` takes an already-scoped select (from
the row-scope layer) and aggregates it in SQL with GROUP BY, so no row is loaded
into Python; the figure is bucketed to stay within the point budget.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from typing import Any

import plotly.graph_objects as go
import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from app import models as m
from app.i18n import _l
from app.models import labels
from app.services.analytics import charting as ch


@dataclass(frozen=True)
class EntityChart:
    resource: str  # the roles.py resource; its lower-case form is the URL key
    model: type
    time: str | None
    categories: tuple[str, ...] = ()
    numbers: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return self.resource.lower()

    def column(self, name: str) -> Any:
        return getattr(self.model, name)

    def time_column(self) -> Any:
        return self.column(self.time) if self.time else None


E = EntityChart
ENTITIES: tuple[EntityChart, ...] = (
    E("Users", m.PlatformUser, "created_at", ("status", "locale")),
    E("Roles", m.PlatformRole, None, ("code",)),
    E("UserRoles", m.UserRole, None, ("role_id",)),
    E("AuthSessions", m.AuthSession, "issued_at", ("mfa_verified",)),
    E("Consents", m.Consent, "granted_at", ("consent_type",)),
    E("CustomerProfiles", m.CustomerProfile, None, ("gender", "timezone")),
    E("Assessments", m.Assessment, "created_at", ("questionnaire_version",), ("score",)),
    E("CoachAssignments", m.CoachAssignment, "assigned_at", ("is_primary", "coach_id")),
    E("Products", m.Product, None, ("category", "currency"), ("price", "duration_weeks")),
    E("Subscriptions", m.Subscription, "start_date", ("status", "product_id")),
    E("Invoices", m.Invoice, "due_date", ("status", "currency"), ("amount",)),
    E("Payments", m.Payment, "created_at", ("status", "method", "provider", "currency", "failure_reason"), ("amount",)),
    E("Promotions", m.Promotion, "start_date", ("discount_type",), ("value", "usage_limit")),
    E("Exercises", m.Exercise, None, ("category", "difficulty")),
    E("Meals", m.Meal, None, ()),
    E("Habits", m.Habit, None, ("frequency",)),
    E("Programs", m.Program, "created_at", ("level", "visibility", "goal"), ("weeks",)),
    E("ProgramItems", m.ProgramItem, None, ("item_type", "program_id"), ("week_index",)),
    E("CustomerPlans", m.CustomerPlan, "start_date", ("status", "program_id")),
    E("PlanItems", m.PlanItem, "scheduled_date", ("completion_state", "item_type")),
    E("Badges", m.Badge, None, ()),
    E("CustomerBadges", m.CustomerBadge, "awarded_at", ("badge_id",)),
    E("ScheduledSessions", m.ScheduledSession, "start_time", ("session_type", "status", "timezone"), ("capacity",)),
    E("SessionParticipants", m.SessionParticipant, None, ("attendance_status", "role"), ("feedback_score",)),
    E("CoachAvailability", m.CoachAvailability, None, ("day_of_week",), ("capacity",)),
    E("WaitlistEntries", m.WaitlistEntry, "joined_at", ()),
    E("Messages", m.Message, "sent_at", ()),
    E("Threads", m.Thread, "created_at", ("context_type",)),
    E("Announcements", m.Announcement, "created_at", ("channel", "status", "target_segment")),
    E("CommunityPosts", m.CommunityPost, "created_at", ("status", "community_id")),
    E("CommunityReactions", m.CommunityReaction, "created_at", ("type",)),
    E("Challenges", m.Challenge, "start_date", ()),
    E("ChallengeResults", m.ChallengeResult, "updated_at", ("challenge_id",), ("score",)),
    E("SupportTickets", m.SupportTicket, "created_at", ("status", "priority")),
    E("ProgressMetrics", m.ProgressMetric, "recorded_at", ("metric_type", "source", "unit"), ("value",)),
    E("EngagementEvents", m.EngagementEvent, "occurred_at", ("event_type",)),
    E("CohortSnapshots", m.CohortSnapshot, "captured_at", ("metric_name", "cohort_key"), ("value",)),
    E("RecommendationLogs", m.RecommendationLog, "shown_at", ("recommendation_type",)),
    E("AutomationRules", m.AutomationRule, "created_at", ("status", "trigger_type")),
    E("AutomationExecutions", m.AutomationExecution, "triggered_at", ("status", "rule_id"), ("retry_count",)),
    E("APIClients", m.APIClient, "created_at", ("status",), ("rate_limit",)),
    E("APIAccessLogs", m.APIAccessLog, "occurred_at", ("status_code", "client_id", "endpoint"), ("latency_ms",)),
    E("WearableAuthorizations", m.WearableAuthorization, "expires_at", ("provider",)),
    E("AuditLogs", m.AuditLog, "created_at", ("action", "resource_type")),
    E("DataRetentionPolicies", m.DataRetentionPolicy, None, ("deletion_strategy", "enabled"),
      ("retention_period_days",)),
)  # fmt: skip

REGISTRY: dict[str, EntityChart] = {e.key: e for e in ENTITIES}


def get_entity(key: str) -> EntityChart:
    try:
        return REGISTRY[key]
    except KeyError:
        raise ch.ChartInputError(f"unknown entity {key!r}") from None


# --- request parameters ----------------------------------------------------


@dataclass
class ChartRequest:
    """What to chart; built from query args by ``parse_request`` (never trusted raw)."""

    date_from: Any = None
    date_to: Any = None
    equals: dict[str, Any] = field(default_factory=dict)
    measure: str | None = None  # None = count rows; else the name of a numeric column to sum
    by: str | None = None  # categorical column to split or break down by
    bucket: str | None = None


def _coerce(entity: EntityChart, name: str, raw: str) -> Any:
    column = entity.column(name)
    type_ = column.type
    if len(raw) > 200:
        raise ch.ChartInputError(f"{name}: value too long")
    if raw == ch.NONE_LABEL:
        return None
    enum_cls = getattr(type_, "enum_class", None)
    if isinstance(type_, sa.Enum) and enum_cls is not None:
        try:
            return enum_cls(raw)
        except ValueError:
            allowed = ", ".join(e.value for e in enum_cls)
            raise ch.ChartInputError(f"{name}: {raw!r} is not one of {allowed}") from None
    if isinstance(type_, sa.Boolean):
        if raw.lower() in ("true", "1", "yes", "y"):
            return True
        if raw.lower() in ("false", "0", "no", "n"):
            return False
        raise ch.ChartInputError(f"{name}: {raw!r} is not true or false")
    if isinstance(type_, sa.Integer):
        try:
            return int(raw)
        except ValueError:
            raise ch.ChartInputError(f"{name}: {raw!r} is not a whole number") from None
    if isinstance(type_, sa.Uuid):
        import uuid

        try:
            return uuid.UUID(raw)
        except ValueError:
            raise ch.ChartInputError(f"{name}: {raw!r} is not an id") from None
    return raw


RESERVED_ARGS = {"from", "to", "measure", "by", "bucket", "chart"}


def is_list_filter_arg(name: str) -> bool:
    """The list page's search and filters (``q``, ``f_*``), which a chart opened from a list carries."""
    return name == "q" or name.startswith("f_")


def parse_request(entity: EntityChart, args: Any) -> ChartRequest:
    """Validate query args: dates, known columns only, typed values. Raises ChartInputError."""
    date_from, date_to = ch.parse_range(args.get("from"), args.get("to"))
    if (date_from or date_to) and entity.time is None:
        raise ch.ChartInputError(f"{entity.resource} has no time column to filter by date")
    measure = args.get("measure") or None
    if measure in ("count",):
        measure = None
    if measure is not None and measure not in entity.numbers:
        raise ch.ChartInputError(f"{measure!r} is not a numeric column of {entity.resource}")
    by = args.get("by") or None
    if by is not None and by not in entity.categories:
        raise ch.ChartInputError(f"{by!r} is not a categorical column of {entity.resource}")
    bucket = args.get("bucket") or None
    if bucket is not None and bucket not in ch.UNITS:
        raise ch.ChartInputError(f"unknown bucket {bucket!r}; expected one of {', '.join(ch.UNITS)}")
    equals: dict[str, Any] = {}
    for name in args:
        if name in RESERVED_ARGS or name.startswith("_") or is_list_filter_arg(name) or args.get(name) == "":
            continue
        if name not in entity.categories:
            raise ch.ChartInputError(f"{name!r} is not a column you can filter {entity.resource} by")
        equals[name] = _coerce(entity, name, args.get(name))
    return ChartRequest(date_from, date_to, equals, measure, by, bucket)


# --- aggregation -----------------------------------------------------------


@dataclass
class ChartData:
    """Aggregated rows ready for a figure or a CSV download."""

    kind: str  # "timeseries" or "breakdown"
    columns: list[str]
    rows: list[tuple[Any, ...]]
    unit: str | None = None
    series: list[str] = field(default_factory=list)
    total: float | int = 0
    range: ch.DateRange | None = None  # the dates a time series covers
    names: dict[str, str] = field(default_factory=dict)  # category code or id -> what people read

    def name(self, key: Any) -> str:
        return self.names.get(str(key), str(key))

    @property
    def empty(self) -> bool:
        return not self.rows or self.total == 0


def _filtered(entity: EntityChart, base: sa.Select, req: ChartRequest) -> sa.Select:
    criteria: list[ColumnElement] = []
    for name, value in req.equals.items():
        col = entity.column(name)
        criteria.append(col.is_(None) if value is None else col == value)
    time_col = entity.time_column()
    if time_col is not None and req.date_from:
        criteria.append(ch.range_criteria(time_col, ch.DateRange(req.date_from, req.date_from))[0])
    if time_col is not None and req.date_to:
        criteria.append(ch.range_criteria(time_col, ch.DateRange(req.date_to, req.date_to))[1])
    return base.where(*criteria) if criteria else base


def _aggregate(select: sa.Select, *columns: Any) -> sa.Select:
    return select.with_only_columns(*columns, maintain_column_froms=True).order_by(None).limit(None).offset(None)


def _measure(entity: EntityChart, req: ChartRequest) -> ColumnElement:
    if req.measure:
        return sa.func.coalesce(sa.func.sum(entity.column(req.measure)), 0)
    return sa.func.count()


def resolve_range(session: Session, entity: EntityChart, select: sa.Select, req: ChartRequest) -> ch.DateRange | None:
    """The requested range, completed from the data's own min/max where open."""
    time_col = entity.time_column()
    if req.date_from and req.date_to:
        return ch.DateRange(req.date_from, req.date_to)
    low, high = session.execute(_aggregate(select, sa.func.min(time_col), sa.func.max(time_col))).one()
    if low is None:
        return None
    start = req.date_from or ch.as_date(low)
    end = req.date_to or ch.as_date(high)
    return ch.DateRange(start, max(start, end))


def top_categories(session: Session, entity: EntityChart, select: sa.Select, req: ChartRequest, by: str, limit: int):
    col = entity.column(by)
    measure = _measure(entity, req)
    stmt = _aggregate(select, col, measure).group_by(col).order_by(measure.desc(), col).limit(limit + 1)
    return [(ch.label(k), v) for k, v in session.execute(stmt).all()]


def entity_chart(session: Session, entity: EntityChart, base: sa.Select, req: ChartRequest) -> ChartData:
    """Aggregate an already-scoped select into chart data (over time if possible, else a breakdown)."""
    select = _filtered(entity, base, req)
    dialect = session.get_bind().dialect.name
    time_col = entity.time_column()
    measure = _measure(entity, req)
    measure_name = req.measure or "count"
    if time_col is None:
        return breakdown(session, entity, select, req, req.by or (entity.categories[:1] or (None,))[0])

    rng = resolve_range(session, entity, select, req)
    if rng is None:
        return ChartData("timeseries", ["period", measure_name], [], unit=None)
    series: list[str] = []
    overflow = False
    if req.by:
        top = top_categories(session, entity, select, req, req.by, ch.MAX_SERIES)
        series = [k for k, _ in top[: ch.MAX_SERIES]]
        overflow = len(top) > ch.MAX_SERIES
    unit = ch.choose_unit(rng, max(1, len(series) + int(overflow)), req.bucket)
    bucket = ch.bucket_expr(time_col, unit, dialect).label("period")
    ranged = select.where(*ch.range_criteria(time_col, rng))
    if req.by:
        by_col = entity.column(req.by)
        stmt = _aggregate(ranged, bucket, by_col, measure).group_by(bucket, by_col)
        raw = session.execute(stmt).all()
        keep = set(series)
        values: dict[tuple[Any, str], float] = {}
        for period, key, value in raw:
            name = ch.label(key)
            name = name if name in keep else ch.OTHER
            k = (ch.as_date(period), name)
            values[k] = values.get(k, 0) + ch.number(value)
        if overflow or any(n == ch.OTHER for _, n in values):
            series.append(ch.OTHER)
        starts = ch.bucket_starts(rng, unit)
        rows = [(p, s, values.get((p, s), 0)) for p in starts for s in series]
        total = sum(v for *_, v in rows)
        names = category_names(session, entity, req.by, series)
        return ChartData("timeseries", ["period", req.by, measure_name], rows, unit, series, total, rng, names)
    stmt = _aggregate(ranged, bucket, measure).group_by(bucket)
    found = {ch.as_date(p): ch.number(v) for p, v in session.execute(stmt).all()}
    rows = [(p, found.get(p, 0)) for p in ch.bucket_starts(rng, unit)]
    return ChartData("timeseries", ["period", measure_name], rows, unit, [], sum(v for _, v in rows), rng)


def breakdown(session: Session, entity: EntityChart, select: sa.Select, req: ChartRequest, by: str | None) -> ChartData:
    """Totals per category (top 30 plus an "Other" remainder computed in SQL)."""
    measure_name = req.measure or "count"
    measure = _measure(entity, req)
    if by is None:
        total = ch.number(session.execute(_aggregate(select, measure)).scalar())
        return ChartData("breakdown", ["all", measure_name], [("all", total)] if total else [], total=total)
    top = top_categories(session, entity, select, req, by, ch.MAX_CATEGORIES)
    rows = [(k, ch.number(v)) for k, v in top[: ch.MAX_CATEGORIES]]
    total = ch.number(session.execute(_aggregate(select, measure)).scalar())
    rest = total - sum(v for _, v in rows)
    if rest:
        rows.append((ch.OTHER, rest))
    names = category_names(session, entity, by, [str(k) for k, _ in rows])
    return ChartData("breakdown", [by, measure_name], rows, total=total, names=names)


_NAME_ATTRS = ("full_name", "name", "title", "subject", "code", "email")


def _referenced_class(entity: EntityChart, by: str) -> type | None:
    """The mapped class a foreign-key category column points to (a coach, a product), if any."""
    column = entity.column(by).property.columns[0]
    for fk in column.foreign_keys:
        for mapper in sa.inspect(entity.model).registry.mappers:
            if mapper.local_table is fk.column.table:
                return mapper.class_
    return None


def category_names(session: Session, entity: EntityChart, by: str | None, keys: list[str]) -> dict[str, str]:
    """What people read for each category key: an enum's label, a goal's label, a referenced row's name.

    The rows keep the codes and ids (CSV and the records links need them); names of referenced
    rows come in one query per chart, never one per bar.
    """
    names = {ch.OTHER: str(_l("Other")), ch.NONE_LABEL: str(_l("(none)"))}
    if by is None:
        return names
    type_ = entity.column(by).type
    enum_cls = getattr(type_, "enum_class", None)
    if enum_cls is not None:
        members = {str(member.value): member for member in enum_cls}
        names.update({k: labels.enum_label(members[k]) for k in keys if k in members})
        return names
    if by == "goal":
        names.update({k: labels.code_label("goal", k) for k in keys if k not in names})
        return names
    target = _referenced_class(entity, by)
    attr = next((a for a in _NAME_ATTRS if target is not None and hasattr(target, a)), None)
    if target is None or attr is None:
        return names
    ids = {}
    for key in keys:
        try:
            value = _coerce(entity, by, key)
        except ch.ChartInputError:
            continue
        if value is not None:
            ids[value] = key
    if ids:
        pk = sa.inspect(target).primary_key[0]
        for id_, name in session.execute(sa.select(pk, getattr(target, attr)).where(pk.in_(list(ids)))).all():
            if id_ in ids and name:
                names[ids[id_]] = labels.enum_label(name) if isinstance(name, enum.Enum) else str(name)
    return names


def figure(entity: EntityChart, data: ChartData, opts: ch.FigureOptions) -> go.Figure:
    fig = ch.base_figure(opts)
    if data.kind == "breakdown":
        fig.add_trace(
            go.Bar(x=[data.name(r[0]) for r in data.rows], y=[r[1] for r in data.rows], name=data.columns[-1])
        )
        return fig
    if data.series:
        for name in data.series:
            pts = [(p, v) for p, s, v in data.rows if s == name]
            fig.add_trace(go.Bar(x=[p.isoformat() for p, _ in pts], y=[v for _, v in pts], name=data.name(name)))
        fig.update_layout(barmode="stack")
    else:
        fig.add_trace(
            go.Bar(x=[p.isoformat() for p, _ in data.rows], y=[v for _, v in data.rows], name=data.columns[-1])
        )
    return fig


# --- the records behind a figure ---------------------------------------------


@dataclass
class RecordsQuery:
    """The records behind a figure or one of its bars: entity, equality filters, inclusive date range.

    Services say which records; the web layer turns this into the list page's own URL.
    """

    entity: str
    equals: dict[str, Any] = field(default_factory=dict)
    date_from: dt.date | None = None
    date_to: dt.date | None = None


@dataclass
class Bucket:
    """One bar of an entity chart and the records it counts (None for the "Other" remainder)."""

    label: str
    value: float | int
    records: RecordsQuery | None
    series: str | None = None
    label_name: str = ""  # the label and series as people read them (names, translated enum labels)
    series_name: str = ""


def records_query(entity: EntityChart, req: ChartRequest) -> RecordsQuery:
    return RecordsQuery(entity.key, dict(req.equals), req.date_from, req.date_to)


def _with_category(entity: EntityChart, query: RecordsQuery, by: str, label: str) -> RecordsQuery | None:
    if label == ch.OTHER:
        return None
    try:
        value = _coerce(entity, by, label)
    except ch.ChartInputError:
        return None
    return RecordsQuery(query.entity, {**query.equals, by: value}, query.date_from, query.date_to)


def _period(query: RecordsQuery, start: dt.date, unit: str, rng: ch.DateRange) -> RecordsQuery:
    end = ch.step(start, unit) - dt.timedelta(days=1)
    return RecordsQuery(query.entity, dict(query.equals), max(start, rng.start), min(end, rng.end))


def buckets(entity: EntityChart, req: ChartRequest, data: ChartData) -> list[Bucket]:
    """Every non-empty bar of ``data`` with the records behind it (what "Show records" opens per bar)."""
    whole = records_query(entity, req)
    out: list[Bucket] = []
    if data.kind == "breakdown":
        by = data.columns[0]
        for key, value in data.rows:
            if value:
                query = whole if by == "all" else _with_category(entity, whole, by, key)
                out.append(Bucket(str(key), value, query, label_name=data.name(key)))
        return out
    rng = data.range
    for row in data.rows:
        period, value = row[0], row[-1]
        if not value or rng is None or data.unit is None:
            continue
        query: RecordsQuery | None = _period(whole, period, data.unit, rng)
        series = row[1] if len(row) == 3 else None
        if series is not None and query is not None and req.by:
            query = _with_category(entity, query, req.by, series)
        out.append(Bucket(period.isoformat(), value, query, series, period.isoformat(), data.name(series or "")))
    return out
