"""Constraints live in the database and the model layer: bad data is refused with a clear error.

Runs on SQLite and PostgreSQL (the ``app`` fixture is parametrised over both).
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import IntegrityError, StatementError

from app.extensions import db
from app.models import (
    APIClient,
    Assessment,
    AutomationRule,
    Badge,
    ChallengeResult,
    Consent,
    CustomerProfile,
    Invoice,
    Meal,
    PlatformRole,
    PlatformUser,
    Product,
    ProgramItem,
    Promotion,
    ScheduledSession,
    SessionParticipant,
    Subscription,
)
from app.models.base import JSONValidationError
from app.models.identity import RoleCode

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def _user(email="ann@example.com", **kw):
    user = PlatformUser(email=email, full_name="Ann Example", **kw)
    db.session.add(user)
    db.session.flush()
    return user


def _refused(obj) -> str:
    """Add ``obj``, expect the database to refuse it, roll back, return the error text."""
    db.session.add(obj)
    with pytest.raises(IntegrityError) as err:
        db.session.flush()
    db.session.rollback()
    return str(err.value.orig).lower()


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def ctx(app_ctx):
    yield app_ctx
    db.session.rollback()


def test_user_ids_are_uuids_and_round_trip(ctx):
    user = _user()
    db.session.commit()
    db.session.expire_all()
    loaded = db.session.get(PlatformUser, user.id)
    assert isinstance(loaded.id, uuid.UUID)
    assert loaded.created_at.tzinfo is not None and loaded.created_at.utcoffset() == dt.timedelta(0)


def test_unique_email_role_code_promo_code_badge_code_client_name(ctx):
    _user("dup@example.com")
    db.session.commit()
    assert "unique" in _refused(PlatformUser(email="dup@example.com", full_name="Other"))
    db.session.add(PlatformRole(code=RoleCode.COACH))
    db.session.commit()
    assert "unique" in _refused(PlatformRole(code=RoleCode.COACH))
    start = dt.date(2026, 1, 1)
    db.session.add(Promotion(code="SPRING", discount_type="PERCENT", value=Decimal("10"), start_date=start))
    db.session.commit()
    again = Promotion(code="SPRING", discount_type="FIXED", value=Decimal("5"), currency="EUR", start_date=start)
    assert "unique" in _refused(again)
    db.session.add(Badge(code="STREAK7", name="Seven days"))
    db.session.commit()
    assert "unique" in _refused(Badge(code="STREAK7", name="Again"))
    db.session.add(APIClient(name="crm", api_key_hash="x" * 64))
    db.session.commit()
    assert "unique" in _refused(APIClient(name="crm", api_key_hash="y" * 64))


def test_negative_money_is_refused(ctx):
    error = _refused(Product(name="Plan", category="COACHING", price=Decimal("-1.00"), currency="EUR"))
    assert "price_non_negative" in error
    assert _count(Product) == 0


def test_currency_must_be_iso_4217_shaped(ctx):
    assert "currency_iso" in _refused(Product(name="Plan", category="COACHING", price=Decimal("1"), currency="eu"))


def test_end_before_start_is_refused(ctx):
    error = _refused(
        ScheduledSession(session_type="CLASS", start_time=NOW, end_time=NOW - dt.timedelta(hours=1), capacity=10)
    )
    assert "end_after_start" in error


def test_capacity_must_be_positive(ctx):
    error = _refused(
        ScheduledSession(session_type="CLASS", start_time=NOW, end_time=NOW + dt.timedelta(hours=1), capacity=0)
    )
    assert "capacity_positive" in error


def test_score_and_rating_ranges(ctx):
    user = _user()
    assert "score_range" in _refused(
        Assessment(user_id=user.id, questionnaire_version="v1", responses_json={"q1": 3}, score=Decimal("120"))
    )
    user = _user("b@example.com")
    session = ScheduledSession(session_type="CLASS", start_time=NOW, end_time=NOW + dt.timedelta(hours=1), capacity=5)
    db.session.add(session)
    db.session.flush()
    assert "feedback_range" in _refused(
        SessionParticipant(session_id=session.id, customer_id=user.id, feedback_score=9)
    )


def test_end_date_before_start_date_on_subscriptions(ctx):
    user = _user()
    product = Product(name="P", category="COACHING", price=Decimal("10"), currency="EUR")
    db.session.add(product)
    db.session.flush()
    error = _refused(
        Subscription(
            customer_id=user.id,
            product_id=product.id,
            status="ACTIVE",
            start_date=dt.date(2026, 2, 1),
            end_date=dt.date(2026, 1, 1),
        )
    )
    assert "end_after_start" in error


def test_unknown_enum_value_is_refused_by_model_and_database(ctx):
    with pytest.raises(StatementError) as err:
        db.session.add(ScheduledSession(session_type="YOGA", start_time=NOW, end_time=NOW, capacity=1))
        db.session.flush()
    db.session.rollback()
    assert "YOGA" in str(err.value)
    # Bypassing the ORM, the CHECK constraint still refuses it.
    with pytest.raises(IntegrityError):
        db.session.execute(
            text(
                "INSERT INTO scheduled_sessions (session_type, start_time, end_time, timezone, capacity, status) "
                "VALUES ('YOGA', :s, :e, 'UTC', 1, 'SCHEDULED')"
            ),
            {"s": NOW, "e": NOW + dt.timedelta(hours=1)},
        )
    db.session.rollback()
    assert _count(ScheduledSession) == 0


def test_invalid_json_names_the_field_and_the_problem(ctx):
    with pytest.raises(JSONValidationError) as err:
        Meal(name="Oats", macros_json={"kcal": "lots"})
    assert err.value.field == "meals.macros_json"
    assert "kcal" in str(err.value) and "number" in str(err.value)

    with pytest.raises(JSONValidationError) as err:
        Consent(consent_type="MARKETING", metadata_json="{not json")
    assert "not valid JSON" in str(err.value)

    with pytest.raises(JSONValidationError) as err:
        ProgramItem(program_id=1, item_type="EXERCISE", item_id=1, prescription_json={"sets": 0})
    assert "sets" in str(err.value) and "minimum" in str(err.value)

    with pytest.raises(JSONValidationError) as err:
        AutomationRule(name="r", trigger_type="EVENT", action_json=[{"type": "DANCE"}])
    assert "action_json" in str(err.value)


def test_valid_json_round_trips_including_text_input(ctx):
    user = _user()
    profile = CustomerProfile(user_id=user.id, timezone="Europe/Berlin", goals_json='{"primary": "ENDURANCE"}')
    db.session.add(profile)
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(CustomerProfile, user.id).goals_json == {"primary": "ENDURANCE"}


def test_naive_datetimes_are_refused(ctx):
    user = _user()
    db.session.add(Consent(user_id=user.id, consent_type="TERMS", granted_at=dt.datetime(2026, 1, 1, 9, 0)))
    with pytest.raises(StatementError) as err:
        db.session.flush()
    db.session.rollback()
    assert "naive datetime" in str(err.value)


def test_timestamps_are_stored_in_utc(ctx):
    user = _user()
    berlin = dt.timezone(dt.timedelta(hours=1))
    db.session.add(
        Consent(user_id=user.id, consent_type="TERMS", granted_at=dt.datetime(2026, 1, 1, 10, 0, tzinfo=berlin))
    )
    db.session.commit()
    db.session.expire_all()
    stored = db.session.scalar(select(Consent.granted_at))
    assert stored == dt.datetime(2026, 1, 1, 9, 0, tzinfo=dt.UTC)
    assert stored.utcoffset() == dt.timedelta(0)


def test_money_is_exact_decimal(ctx):
    user = _user()
    product = Product(name="P", category="COACHING", price=Decimal("19.99"), currency="EUR")
    db.session.add(product)
    db.session.flush()
    sub = Subscription(customer_id=user.id, product_id=product.id, status="ACTIVE", start_date=dt.date(2026, 1, 1))
    db.session.add(sub)
    db.session.flush()
    db.session.execute(
        insert(Invoice),
        [{"subscription_id": sub.id, "amount": Decimal("0.10"), "currency": "EUR", "due_date": dt.date(2026, 1, 1),
          "status": "OPEN"}] * 3,
    )  # fmt: skip
    db.session.commit()
    total = db.session.scalar(select(func.sum(Invoice.amount)))
    assert Decimal(total) == Decimal("0.30")


def test_challenge_rank_must_be_positive(ctx):
    user = _user()
    db.session.execute(
        text("INSERT INTO challenges (name, start_date, end_date) VALUES ('c', '2026-01-01', '2026-01-31')")
    )
    cid = db.session.scalar(text("SELECT id FROM challenges"))
    assert "rank_positive" in _refused(ChallengeResult(challenge_id=cid, customer_id=user.id, score=Decimal(1), rank=0))
