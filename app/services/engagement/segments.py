"""An announcement's audience: typed criteria (``ANNOUNCEMENT_SEGMENT``) as one SELECT of customer ids.

Every criterion given narrows the audience (AND); inside one criterion the values are
alternatives (OR). Products and subscription statuses given together must hold on the *same*
subscription ("active subscribers of Coaching"), which is what a person composing the audience
means. Only customers (the CUSTOMER role) whose account is ACTIVE are ever in an audience.

The criteria are checked twice: by the JSON Schema (types, ranges) and against the database
(every product and coach named exists), so a typo'd id is a clear refusal, not an empty audience.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from jsonschema import Draft202012Validator
from sqlalchemy.orm import Session

from app.models import json_schemas as js
from app.models.analytics import EngagementEvent
from app.models.base import utcnow
from app.models.commerce import Product, Subscription, SubscriptionStatus
from app.models.customers import CoachAssignment
from app.models.identity import PlatformRole, PlatformUser, RoleCode, UserRole, UserStatus
from app.services.engagement.errors import EngagementError

SUMMARY_MAX = 100  # announcements.target_segment is String(100)
_VALIDATOR = Draft202012Validator(js.ANNOUNCEMENT_SEGMENT)


class SegmentError(EngagementError):
    """Criteria the schema or the database refuses; ``field`` names the criterion at fault."""


def _role_members(code: RoleCode) -> sa.Select[tuple[uuid.UUID]]:
    return (
        sa.select(UserRole.user_id)
        .join(PlatformRole, PlatformRole.id == UserRole.role_id)
        .where(PlatformRole.code == code)
    )


def validate(session: Session, criteria: Any) -> dict[str, Any]:
    """The criteria, checked by the schema and against existing products and coaches (``SegmentError``).

    Returns a normalised copy: empty lists dropped, values sorted, so equal audiences store equally.
    """
    if criteria is None:
        criteria = {}
    if not isinstance(criteria, Mapping):
        raise SegmentError(_("The audience must be a set of criteria."))
    errors = sorted(_VALIDATOR.iter_errors(dict(criteria)), key=lambda e: [str(p) for p in e.absolute_path])
    if errors:
        error = errors[0]
        field = str(error.absolute_path[0]) if error.absolute_path else None
        raise SegmentError(_("The audience criteria are not valid: %(problem)s", problem=error.message[:200]),
                           field=field)  # fmt: skip
    clean: dict[str, Any] = {}
    for key, value in criteria.items():
        if isinstance(value, list):
            if value:
                clean[key] = sorted(value)
        elif value is not None:
            clean[key] = value
    product_ids = clean.get("product_ids", [])
    if product_ids:
        found = set(session.scalars(sa.select(Product.id).where(Product.id.in_(product_ids))))
        missing = [str(pid) for pid in product_ids if pid not in found]
        if missing:
            raise SegmentError(_("Unknown product: %(ids)s", ids=", ".join(missing)), field="product_ids")
    coach_ids = clean.get("coach_ids", [])
    if coach_ids:
        wanted = [uuid.UUID(c) for c in coach_ids]
        coaches = _role_members(RoleCode.COACH)
        found_coaches = set(session.scalars(
            sa.select(PlatformUser.id).where(PlatformUser.id.in_(wanted), PlatformUser.id.in_(coaches))
        ))  # fmt: skip
        missing = [str(c) for c in wanted if c not in found_coaches]
        if missing:
            raise SegmentError(_("Unknown coach: %(ids)s", ids=", ".join(missing)), field="coach_ids")
    within, idle = clean.get("active_within_days"), clean.get("inactive_for_days")
    if within is not None and idle is not None and within <= idle:
        raise SegmentError(
            _("Active within %(a)s days and inactive for %(b)s days cannot both hold: no customer would match.",
              a=within, b=idle),
            field="inactive_for_days",
        )  # fmt: skip
    return clean


def _month_start(text: str) -> dt.datetime:
    year, month = (int(part) for part in text.split("-"))
    return dt.datetime(year, month, 1, tzinfo=dt.UTC)


def _next_month(start: dt.datetime) -> dt.datetime:
    return start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)


def conditions(criteria: Mapping[str, Any], *, now: dt.datetime | None = None) -> list[sa.ColumnElement[bool]]:
    """The WHERE clauses over ``users`` for already validated criteria (customers, active, and each criterion)."""
    now = now or utcnow()
    where: list[sa.ColumnElement[bool]] = [
        PlatformUser.status == UserStatus.ACTIVE,
        PlatformUser.id.in_(_role_members(RoleCode.CUSTOMER)),
        PlatformUser.created_at <= now,  # signed up by then (a no-op now; keeps a replayed history honest)
    ]
    products, statuses = criteria.get("product_ids"), criteria.get("subscription_statuses")
    if products or statuses:
        subscription = [Subscription.customer_id == PlatformUser.id]
        if products:
            subscription.append(Subscription.product_id.in_(products))
        if statuses:
            subscription.append(Subscription.status.in_([SubscriptionStatus(s) for s in statuses]))
        where.append(sa.exists().where(*subscription))
    if criteria.get("coach_ids"):
        coaches = [uuid.UUID(str(c)) for c in criteria["coach_ids"]]
        where.append(sa.exists().where(CoachAssignment.customer_id == PlatformUser.id,
                                       CoachAssignment.coach_id.in_(coaches)))  # fmt: skip
    if criteria.get("cohort_months"):
        spans = []
        for month in criteria["cohort_months"]:
            start = _month_start(month)
            spans.append(sa.and_(PlatformUser.created_at >= start, PlatformUser.created_at < _next_month(start)))
        where.append(sa.or_(*spans))
    if criteria.get("active_within_days"):
        where.append(_active_since(now - dt.timedelta(days=int(criteria["active_within_days"]))))
    if criteria.get("inactive_for_days"):
        where.append(sa.not_(_active_since(now - dt.timedelta(days=int(criteria["inactive_for_days"])))))
    if criteria.get("locales"):
        where.append(PlatformUser.locale.in_(list(criteria["locales"])))
    return where


def _active_since(since: dt.datetime) -> sa.ColumnElement[bool]:
    """An engagement event at or after ``since`` (one index probe of (customer_id, occurred_at) per customer)."""
    return sa.exists().where(EngagementEvent.customer_id == PlatformUser.id, EngagementEvent.occurred_at >= since)


def audience(criteria: Mapping[str, Any], *, now: dt.datetime | None = None) -> sa.Select[tuple[uuid.UUID]]:
    """The ids of the customers the (validated) criteria pick, as one SELECT over ``users``."""
    return sa.select(PlatformUser.id).where(*conditions(criteria, now=now))


def audience_size(session: Session, criteria: Mapping[str, Any], *, now: dt.datetime | None = None) -> int:
    """How many customers the criteria pick right now."""
    return int(session.scalar(sa.select(sa.func.count()).where(*conditions(criteria, now=now))
                              .select_from(PlatformUser)) or 0)  # fmt: skip


def _status_word(code: str) -> str:
    words = {
        "TRIAL": _("trial"), "ACTIVE": _("active"), "PAUSED": _("paused"), "PAST_DUE": _("past due"),
        "CANCELLED": _("cancelled"), "EXPIRED": _("expired"),
    }  # fmt: skip
    return words.get(code, code)


def describe(session: Session, criteria: Mapping[str, Any], *, limit: int = SUMMARY_MAX) -> str:
    """The audience in words, in the current language, at most ``limit`` characters (for ``target_segment``)."""
    parts: list[str] = []
    if criteria.get("product_ids"):
        names = session.scalars(sa.select(Product.name).where(Product.id.in_(criteria["product_ids"]))
                                .order_by(Product.name))  # fmt: skip
        parts.append(_("product: %(names)s", names=", ".join(names)))
    if criteria.get("subscription_statuses"):
        statuses = ", ".join(_status_word(s) for s in criteria["subscription_statuses"])
        parts.append(_("subscription: %(statuses)s", statuses=statuses))
    if criteria.get("coach_ids"):
        ids = [uuid.UUID(str(c)) for c in criteria["coach_ids"]]
        names = session.scalars(sa.select(PlatformUser.full_name).where(PlatformUser.id.in_(ids))
                                .order_by(PlatformUser.full_name))  # fmt: skip
        parts.append(_("coach: %(names)s", names=", ".join(names)))
    if criteria.get("cohort_months"):
        parts.append(_("joined: %(months)s", months=", ".join(criteria["cohort_months"])))
    if criteria.get("active_within_days"):
        parts.append(_("active in the last %(n)s days", n=criteria["active_within_days"]))
    if criteria.get("inactive_for_days"):
        parts.append(_("inactive for %(n)s days", n=criteria["inactive_for_days"]))
    if criteria.get("locales"):
        parts.append(_("language: %(codes)s", codes=", ".join(criteria["locales"])))
    text = "; ".join(parts) if parts else _("All customers")
    text = text[:1].upper() + text[1:]
    return text if len(text) <= limit else text[: limit - 1] + "…"
