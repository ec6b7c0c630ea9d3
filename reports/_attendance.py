"""Shared pieces of the attendance reports (not a report: the leading underscore hides it)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app import models as m
from app.models.scheduling import AttendanceStatus, ParticipantRole, SessionStatus
from app.services.analytics import charting as ch
from app.services.analytics.reports import ReportContext, rate

COLUMNS = ["sessions", "capacity", "booked", "fill_rate", "attended", "no_shows", "no_show_rate"]


def per_session(ctx: ReportContext) -> Any:
    """Booked / attended / no-show counts per session, limited to the filtered customers."""
    sp = m.SessionParticipant

    def count(condition: Any) -> Any:
        return sa.func.sum(sa.case((condition, 1), else_=0))

    booked = sa.and_(
        sp.role == ParticipantRole.PRIMARY,
        sp.attendance_status.not_in([AttendanceStatus.CANCELLED, AttendanceStatus.LATE_CANCEL]),
    )
    return (
        sa.select(
            sp.session_id.label("session_id"),
            count(booked).label("booked"),
            count(sp.attendance_status == AttendanceStatus.ATTENDED).label("attended"),
            count(sp.attendance_status == AttendanceStatus.NO_SHOW).label("no_shows"),
        )
        .where(*ctx.customers(sp.customer_id, coach=False))
        .group_by(sp.session_id)
        .subquery()
    )


def _cells(ctx: ReportContext) -> list[tuple[Any, ...]]:
    """One GROUP BY (session type x coach) shared by the attendance reports of a render."""
    if "attendance_cells" in ctx.cache:
        return ctx.cache["attendance_cells"]
    ss, u = m.ScheduledSession, m.PlatformUser
    ps = per_session(ctx)
    stmt = (
        sa.select(
            ss.session_type,
            ss.coach_id,
            u.full_name,
            sa.func.count(),
            sa.func.sum(ss.capacity),
            sa.func.coalesce(sa.func.sum(ps.c.booked), 0),
            sa.func.coalesce(sa.func.sum(ps.c.attended), 0),
            sa.func.coalesce(sa.func.sum(ps.c.no_shows), 0),
        )
        .select_from(ss)
        .outerjoin(u, u.id == ss.coach_id)
        .outerjoin(ps, ps.c.session_id == ss.id)
        .where(*ctx.in_range(ss.start_time), ss.status != SessionStatus.CANCELLED, *ctx.sessions(ss.coach_id))
        .group_by(ss.session_type, ss.coach_id, u.full_name)
    )
    cells = [(t, c, name, *map(ch.number, rest)) for t, c, name, *rest in ctx.session.execute(stmt).all()]
    ctx.cache["attendance_cells"] = cells
    return cells


def grouped(ctx: ReportContext, by: str) -> list[tuple[Any, ...]]:
    """Attendance figures per session type (``by="type"``) or coach, over sessions in range and scope."""
    totals: dict[Any, list[Any]] = {}
    for kind, coach_id, coach_name, n, cap, booked, attended, no_shows in _cells(ctx):
        if by == "coach" and coach_id is None:
            continue
        key = ch.label(kind) if by == "type" else (coach_name, str(coach_id))
        acc = totals.setdefault(key, [0, 0, 0, 0, 0])
        for i, v in enumerate((n, cap, booked, attended, no_shows)):
            acc[i] += v
    rows = []
    for key in sorted(totals):
        n, cap, booked, attended, no_shows = totals[key]
        label = key if by == "type" else key[0]
        rows.append((label, n, cap, booked, rate(booked, cap), attended, no_shows, rate(no_shows, attended + no_shows)))
    return rows
