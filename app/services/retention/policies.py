"""Retention policies: which entities may carry one, and which strategy and period each allows.

``RETENTION_ENTITIES`` declares, in code, every entity a DataRetentionPolicy may name: its
time column, its personal-data columns (``info={"personal": True}``), the user columns whose
legal hold protects a row, and the strategies allowed. Audit logs may only be ARCHIVEd, and
are kept a year at least, so their chain stays verifiable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy import event, select

from app.extensions import db
from app.models.classification import personal_columns
from app.models.compliance import DataRetentionPolicy, DeletionStrategy

H, A, X = DeletionStrategy.HARD_DELETE, DeletionStrategy.ANONYMIZE, DeletionStrategy.ARCHIVE


class RetentionError(ValueError):
    """A policy or run request is invalid; the message says why."""


@dataclass(frozen=True)
class RetentionEntity:
    table: str
    time_column: str
    holders: tuple[str, ...]
    strategies: frozenset[DeletionStrategy]
    min_days: int = 1

    @property
    def personal_columns(self) -> tuple[str, ...]:
        return tuple(sorted(personal_columns(self.sa_table)))

    @property
    def sa_table(self) -> sa.Table:
        return db.metadata.tables[self.table]


# Tables holding personal data that no retention policy may name, and why; with RETENTION_ENTITIES
# they cover every table with a personal column (tests/test_retention.py checks it).
NO_RETENTION: dict[str, str] = {
    "users": "an account ends by data-subject erasure, not by age",
    "ab_user": "console accounts are staff, closed by an administrator",
    "saved_views": "a console account's own saved list filters, deleted with the account",
    "customer_profiles": "one row per customer, as long-lived as the account; erased with it",
    "plan_items": "a plan's feedback lives as long as the plan; no user column for a legal hold to name",
}

RETENTION_ENTITIES: dict[str, RetentionEntity] = {
    e.table: e
    for e in (
        RetentionEntity("auth_sessions", "issued_at", ("user_id",), frozenset({H, X})),
        RetentionEntity("engagement_events", "occurred_at", ("customer_id",), frozenset({H, A, X})),
        RetentionEntity("recommendation_logs", "shown_at", ("customer_id",), frozenset({H, A, X})),
        RetentionEntity("progress_metrics", "recorded_at", ("customer_id",), frozenset({H, X})),
        RetentionEntity("messages", "sent_at", ("sender_id", "recipient_id"), frozenset({H, A, X})),
        RetentionEntity("support_tickets", "created_at", ("requester_id", "assigned_to"), frozenset({A})),
        RetentionEntity("assessments", "created_at", ("user_id",), frozenset({H, A, X})),
        RetentionEntity("community_posts", "created_at", ("author_id",), frozenset({H, A, X})),
        # Threads hold their messages: only the subject is anonymized; messages have their own policy.
        RetentionEntity("threads", "last_message_at", ("customer_id", "coach_id"), frozenset({A})),
        # A consent is evidence: only revoked ones expire (a NULL revoked_at never does), kept a year at least.
        RetentionEntity("consents", "revoked_at", ("user_id",), frozenset({A, X}), min_days=365),
        RetentionEntity("api_access_logs", "occurred_at", (), frozenset({H, X})),
        RetentionEntity("automation_executions", "triggered_at", (), frozenset({H, X})),
        # The outbox: dispatched events are history once their handlers ran; payloads may hold measurements.
        RetentionEntity("domain_events", "occurred_at", ("customer_id",), frozenset({H, X})),
        # A coach's dated time off and extra slots: of no use once past; the note may be personal.
        RetentionEntity("coach_availability_exceptions", "ends_at", ("coach_id",), frozenset({H, A, X})),
        # Audit logs: archive only, never anonymized or deleted without an archive; kept a year at least.
        RetentionEntity("audit_logs", "created_at", ("actor_id",), frozenset({X}), min_days=365),
    )
}


def all_policies() -> list[DataRetentionPolicy]:
    """Every retention policy, by entity, as the compliance page lists them."""
    return list(db.session.scalars(select(DataRetentionPolicy).order_by(DataRetentionPolicy.entity)))


def validate_policy(entity: str, strategy: str | DeletionStrategy, days: Any) -> list[str]:
    """Clear, translated messages for an invalid (entity, strategy, period) combination; [] when valid."""
    errors = []
    spec = RETENTION_ENTITIES.get(entity)
    if spec is None:
        errors.append(
            _("%(entity)s cannot carry a retention policy; choose one of %(choices)s",
              entity=repr(entity), choices=", ".join(RETENTION_ENTITIES))
        )  # fmt: skip
    try:
        strategy = DeletionStrategy(strategy)
    except ValueError:
        errors.append(
            _("unknown strategy %(strategy)s; choose one of %(choices)s",
              strategy=repr(strategy), choices=", ".join(s.value for s in DeletionStrategy))
        )  # fmt: skip
        strategy = None
    if spec is not None and strategy is not None and strategy not in spec.strategies:
        allowed = ", ".join(sorted(s.value for s in spec.strategies))
        errors.append(
            _("%(entity)s allows only %(allowed)s, not %(strategy)s", entity=entity, allowed=allowed,
              strategy=strategy.value)
        )  # fmt: skip
    try:
        days = int(days)
    except (TypeError, ValueError):
        errors.append(_("the retention period must be a whole number of days"))
    else:
        minimum = spec.min_days if spec else 1
        if days < minimum:
            errors.append(
                _("the retention period for %(entity)s must be at least %(days)s days", entity=entity, days=minimum)
            )
    return errors


@event.listens_for(DataRetentionPolicy, "before_insert")
@event.listens_for(DataRetentionPolicy, "before_update")
def _refuse_invalid_policy(mapper: Any, connection: Any, policy: DataRetentionPolicy) -> None:
    """Safety net under every form and API: an invalid combination never reaches the table."""
    errors = validate_policy(policy.entity, policy.deletion_strategy, policy.retention_period_days)
    if errors:
        raise RetentionError("; ".join(errors))


def save_policy(
    entity: str, strategy: str, days: Any, enabled: bool, policy_id: int | None = None
) -> DataRetentionPolicy:
    errors = validate_policy(entity, strategy, days)
    if errors:
        raise RetentionError("; ".join(errors))
    policy = db.session.get(DataRetentionPolicy, policy_id) if policy_id else None
    if policy_id and policy is None:
        raise RetentionError(_("no retention policy #%(id)s", id=policy_id))
    other = db.session.scalar(select(DataRetentionPolicy).where(DataRetentionPolicy.entity == entity))
    if other is not None and other is not policy:
        raise RetentionError(_("%(entity)s already has a policy (#%(id)s); edit that one", entity=entity, id=other.id))
    if policy is None:
        policy = DataRetentionPolicy(entity=entity)
        db.session.add(policy)
    policy.deletion_strategy = DeletionStrategy(strategy)
    policy.retention_period_days = int(days)
    policy.enabled = bool(enabled)
    db.session.commit()
    return policy
