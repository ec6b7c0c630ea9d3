"""The correction service: only an Admin, only the listed columns, a reason, one audit entry; else nothing changes."""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models.analytics import CohortSnapshot, EngagementEvent, MetricSource, ProgressMetric, RecommendationLog
from app.models.compliance import AuditLog
from app.models.customers import CoachAssignment
from app.models.engagement import Challenge, ChallengeResult
from app.models.identity import PlatformUser
from app.models.training import Badge, CustomerBadge
from app.policy.roles import CONSOLE_ROLES
from app.policy.scope import Actor
from app.services import corrections
from app.services.corrections import CorrectionRefused, correct
from tests.support.world import platform_user

ADMIN = Actor(None, frozenset({"Admin"}))
REASON = "Snapshot captured during the outage of 2 May"
COMPUTED = (EngagementEvent, CohortSnapshot, ChallengeResult, CustomerBadge, RecommendationLog)


def computed_world(coach_email: str | None = None, tag: str = "a") -> dict[type, Any]:
    """One row of each computed table, around a customer (assigned to the coach, if any). Call in an app context."""
    today = dt.date(2025, 3, 1)
    customer = PlatformUser(email=f"computed-{tag}@example.test", full_name=f"Computed {tag.upper()}", locale="en")
    badge = Badge(code=f"CB-{tag}", name=f"Badge {tag}", criteria_json={"kind": "STREAK", "threshold": 3})
    challenge = Challenge(name=f"Challenge {tag}", start_date=today, end_date=today + dt.timedelta(days=30))
    db.session.add_all([customer, badge, challenge])
    db.session.flush()
    if coach_email:
        db.session.add(CoachAssignment(customer_id=customer.id, coach_id=platform_user(coach_email).id))
    rows: dict[type, Any] = {
        EngagementEvent: EngagementEvent(customer_id=customer.id, event_type="login", payload_json={"tag": tag}),
        CohortSnapshot: CohortSnapshot(cohort_key=f"2025-W{tag}", metric_name="retention", value=1),
        ChallengeResult: ChallengeResult(challenge_id=challenge.id, customer_id=customer.id, score=5),
        CustomerBadge: CustomerBadge(customer_id=customer.id, badge_id=badge.id),
        RecommendationLog: RecommendationLog(customer_id=customer.id, recommendation_type="program"),
        ProgressMetric: ProgressMetric(
            customer_id=customer.id, metric_type="weight", value=80, unit="kg", source=MetricSource.MANUAL
        ),
    }
    db.session.add_all(rows.values())
    db.session.commit()
    return {PlatformUser: customer, **rows}


@pytest.fixture
def world(app_ctx) -> dict[type, Any]:
    return computed_world()


def _corrections() -> list[AuditLog]:
    return list(db.session.scalars(sa.select(AuditLog).where(AuditLog.action == corrections.ACTION)))


def _row_values(model: type, row_id: Any) -> dict[str, Any] | None:
    db.session.expire_all()
    row = db.session.get(model, row_id)
    return None if row is None else {c.key: getattr(row, c.key) for c in sa.inspect(model).columns}


def test_an_admin_corrects_a_snapshot_value_and_only_that_column(world) -> None:
    snap = world[CohortSnapshot]
    before = _row_values(CohortSnapshot, snap.id)
    done = correct(CohortSnapshot, snap.id, changes={"value": "0.8125"}, delete=False, reason=REASON, actor=ADMIN)
    db.session.commit()
    after = _row_values(CohortSnapshot, snap.id)
    assert after["value"] == decimal.Decimal("0.8125")
    assert {k: v for k, v in after.items() if k != "value"} == {k: v for k, v in before.items() if k != "value"}
    (entry,) = _corrections()
    assert entry.resource_type == "cohort_snapshots" and entry.resource_id == str(snap.id)
    meta = entry.metadata_json
    assert meta["reason"] == REASON and meta["operation"] == "update" and meta["table"] == "cohort_snapshots"
    assert decimal.Decimal(meta["before"]["value"]) == 1 and decimal.Decimal(meta["after"]["value"]) == 0.8125
    assert meta["after"]["cohort_key"] == snap.cohort_key and done.after["value"] == decimal.Decimal("0.8125")


@pytest.mark.parametrize("model", COMPUTED, ids=lambda m: m.__tablename__)
def test_an_admin_deletes_a_computed_row_with_a_reason(world, model) -> None:
    row_id = world[model].id
    correct(
        model.__tablename__, str(row_id), changes=None, delete=True, reason="Recorded for the wrong person", actor=ADMIN
    )
    db.session.commit()
    assert _row_values(model, row_id) is None
    (entry,) = _corrections()
    assert entry.metadata_json["operation"] == "delete" and entry.metadata_json["after"] is None
    assert entry.metadata_json["reason"] == "Recorded for the wrong person"
    # Personal and JSON values never reach the audit trail: their names only.
    assert "payload_json" not in entry.metadata_json["before"]
    if model in (EngagementEvent, RecommendationLog):
        assert "payload_json" in entry.metadata_json["withheld"]
    # The ORM change itself is audited too, as every console write is.
    deletes = db.session.scalars(
        sa.select(AuditLog).where(AuditLog.action == "delete", AuditLog.resource_type == model.__tablename__)
    ).all()
    assert [d.resource_id for d in deletes] == [str(row_id)]


@pytest.mark.parametrize("role", [r for r in CONSOLE_ROLES if r != "Admin"] + ["CustomerApp", "ApiPartner"])
def test_nobody_but_an_admin_may_correct(world, role) -> None:
    snap = world[CohortSnapshot]
    with pytest.raises(CorrectionRefused) as refused:
        correct(
            CohortSnapshot,
            snap.id,
            changes={"value": "2"},
            delete=False,
            reason=REASON,
            actor=Actor(None, frozenset({role})),
        )
    assert refused.value.status == 403
    with pytest.raises(CorrectionRefused):
        correct(
            CustomerBadge,
            world[CustomerBadge].id,
            changes=None,
            delete=True,
            reason=REASON,
            actor=Actor(None, frozenset({role})),
        )
    db.session.rollback()
    assert _row_values(CohortSnapshot, snap.id)["value"] == 1 and _row_values(CustomerBadge, world[CustomerBadge].id)
    assert _corrections() == []


BAD_SNAPSHOT_CASES = {
    "no reason": ({"value": "2"}, False, ""),
    "blank reason": ({"value": "2"}, False, "          \t"),
    "short reason": ({"value": "2"}, False, "too short"),
    "long reason": ({"value": "2"}, False, "x" * 501),
    "reason not text": ({"value": "2"}, False, 12345678901),
    "NUL in reason": ({"value": "2"}, False, "a reason with \x00 NUL"),
    "line break in reason": ({"value": "2"}, False, "first line\nsecond line"),
    "bidi override in reason": ({"value": "2"}, False, "a reason \u202e reversed"),
    "unknown column": ({"colour": "red"}, False, REASON),
    "a column not allowed": ({"cohort_key": "2030-W1"}, False, REASON),
    "allowed and not allowed": ({"value": "2", "captured_at": "2020-01-01"}, False, REASON),
    "float": ({"value": 2.5}, False, REASON),
    "bool": ({"value": True}, False, REASON),
    "list": ({"value": ["2"]}, False, REASON),
    "words": ({"value": "two"}, False, REASON),
    "empty value": ({"value": ""}, False, REASON),
    "NUL in value": ({"value": "2\x00"}, False, REASON),
    "NaN": ({"value": "NaN"}, False, REASON),
    "infinity": ({"value": "-Infinity"}, False, REASON),
    "huge exponent": ({"value": "1e400"}, False, REASON),
    "huge number": ({"value": "1" + "0" * 14}, False, REASON),
    "long digits": ({"value": "9" * 500}, False, REASON),
    "too many decimals": ({"value": "0.12345"}, False, REASON),
    "non-ASCII digits": ({"value": "\u0663"}, False, REASON),
    "same value": ({"value": "1.0000"}, False, REASON),
    "changes and delete": ({"value": "2"}, True, REASON),
    "neither": (None, False, REASON),
    "empty changes": ({}, False, REASON),
    "changes not a dict": ("value=2", False, REASON),
    "delete not a bool": (None, "yes", REASON),
}


@pytest.mark.parametrize("case", list(BAD_SNAPSHOT_CASES))
def test_bad_input_is_refused_with_a_4xx_and_changes_nothing(world, case) -> None:
    changes, delete, reason = BAD_SNAPSHOT_CASES[case]
    snap = world[CohortSnapshot]
    before = _row_values(CohortSnapshot, snap.id)
    with pytest.raises(CorrectionRefused) as refused:
        correct(CohortSnapshot, snap.id, changes=changes, delete=delete, reason=reason, actor=ADMIN)
    assert 400 <= refused.value.status < 500 and str(refused.value.message)
    db.session.rollback()
    assert _row_values(CohortSnapshot, snap.id) == before
    assert _corrections() == []


def test_the_numbers_a_snapshot_may_take(world) -> None:
    snap = world[CohortSnapshot]
    for text, expected in (("-3.5", "-3.5"), ("-12345678.1234", "-12345678.1234"), ("  7 ", "7"), (12, "12")):
        correct(CohortSnapshot, snap.id, changes={"value": text}, delete=False, reason=REASON, actor=ADMIN)
        db.session.commit()
        assert _row_values(CohortSnapshot, snap.id)["value"] == decimal.Decimal(expected)


def test_unknown_rows_and_tables_are_404(world) -> None:
    for row_id in (987654321, "987654321", 0, -1, 2**63, "1 OR 1=1", "", None, True, 1.0):
        with pytest.raises(CorrectionRefused) as refused:
            correct(CohortSnapshot, row_id, changes={"value": "2"}, delete=False, reason=REASON, actor=ADMIN)
        assert refused.value.status == 404, row_id
    # Measurements people record (and every other table) are not corrected here.
    for model in (ProgressMetric, "progress_metrics", "audit_logs", "users", "x", None, AuditLog):
        with pytest.raises(CorrectionRefused) as refused:
            correct(model, 1, changes=None, delete=True, reason=REASON, actor=ADMIN)
        assert refused.value.status == 404, model
    # Tables that only allow a delete refuse a change of any column.
    with pytest.raises(CorrectionRefused) as refused:
        correct(
            ChallengeResult, world[ChallengeResult].id, changes={"score": "9"}, delete=False, reason=REASON, actor=ADMIN
        )
    assert refused.value.status == 400 and "score" in str(refused.value.message)
    db.session.rollback()
    assert _row_values(ChallengeResult, world[ChallengeResult].id)["score"] == 5 and _corrections() == []


def test_the_listed_tables_and_columns() -> None:
    assert set(corrections.CORRECTABLE) == {m.__tablename__ for m in COMPUTED}
    assert {t: corrections.editable_fields(t) for t in corrections.CORRECTABLE if corrections.editable_fields(t)} == {
        "cohort_snapshots": ["value"]
    }
