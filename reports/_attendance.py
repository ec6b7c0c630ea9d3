"""Shared pieces of the attendance reports (not a report: the leading underscore hides it)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app import models as m
from app.models.scheduling import AttendanceStatus, ParticipantRole, SessionStatus
from app.services import charting as ch
from app.services.reports import ReportContext, rate

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


def grouped(ctx: ReportContext, key: Any, *joins: tuple[Any, Any]) -> list[tuple[Any, ...]]:
    """Attendance figures per ``key`` over the sessions in range, in scope and not cancelled."""
    ss = m.ScheduledSession
    ps = per_session(ctx)
    stmt = sa.select(
        key,
        sa.func.count(),
        sa.func.sum(ss.capacity),
        sa.func.coalesce(sa.func.sum(ps.c.booked), 0),
        sa.func.coalesce(sa.func.sum(ps.c.attended), 0),
        sa.func.coalesce(sa.func.sum(ps.c.no_shows), 0),
    ).select_from(ss)
    for target, on in joins:
        stmt = stmt.join(target, on)
    stmt = (
        stmt.outerjoin(ps, ps.c.session_id == ss.id)
        .where(*ctx.in_range(ss.start_time), ss.status != SessionStatus.CANCELLED, *ctx.sessions(ss.coach_id))
        .group_by(key)
        .order_by(key)
    )
    rows = []
    for k, n, cap, booked, attended, no_shows in ctx.session.execute(stmt).all():
        booked, attended, no_shows = ch.number(booked), ch.number(attended), ch.number(no_shows)
        rows.append(
            (ch.label(k), n, ch.number(cap), booked, rate(booked, cap), attended, no_shows,
             rate(no_shows, attended + no_shows))
        )  # fmt: skip
    return rows
