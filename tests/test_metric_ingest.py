"""Progress-metric ingest (issue 15): idempotent by client key, per-item results, bounds, scope, events, audit."""

from __future__ import annotations

import datetime as dt
import decimal
import threading
import uuid

import pytest
import sqlalchemy as sa
from flask import Flask

from app.extensions import db
from app.models.analytics import ProgressMetric
from app.models.automation import WearableAuthorization
from app.models.compliance import AuditLog
from app.models.events import DomainEvent
from app.models.identity import RoleCode
from app.policy.scope import Actor
from app.services.metrics.ingest import MAX_BATCH, BatchTooLarge, ItemStatus, ingest, record_one
from tests.support.plan_support import make_customer, make_user

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def _admin() -> Actor:
    return Actor(make_user("Admin Person", RoleCode.ADMIN).id, frozenset({"Admin"}))


def _reading(customer: uuid.UUID, n: int, **changes) -> dict:
    item = {
        "customer_id": str(customer),
        "metric_type": "weight",
        "value": 80 + n / 10,
        "unit": "kg",
        "recorded_at": (NOW - dt.timedelta(hours=n)).isoformat(),
        "client_key": f"k-{n}",
    }
    item.update(changes)
    return {k: v for k, v in item.items() if v is not None}


def _count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(ProgressMetric))


def test_same_batch_twice_inserts_once(app_ctx: Flask) -> None:
    actor = _admin()
    customer = make_customer("Cara")
    batch = [_reading(customer, n) for n in range(50)]
    first = ingest(batch, actor=actor, client_id=None, now=NOW)
    db.session.commit()
    assert first.created == 50 and first.errors == 0
    again = ingest(batch, actor=actor, now=NOW)
    db.session.commit()
    assert again.created == 0 and again.duplicates == 50
    assert [r.id for r in again.items] == [r.id for r in first.items]
    assert _count() == 50
    # One event per stored reading, and one audit row for the batch that stored them.
    events = db.session.scalars(sa.select(DomainEvent).where(DomainEvent.event_type == "progress.metric_recorded"))
    by_metric = {e.payload["metric_id"]: e for e in events}
    assert sorted((i, e.customer_id) for i, e in by_metric.items()) == sorted((r.id, customer) for r in first.items)
    # The payload as events.plain builds it, on both backends (PostgreSQL builds it in SQL).
    assert by_metric[first.items[0].id].payload == {
        "metric_id": first.items[0].id, "metric_type": "weight", "value": 80, "unit": "kg", "source": "MANUAL",
        "recorded_at": NOW.isoformat(),
    }  # fmt: skip
    assert by_metric[first.items[5].id].payload["value"] == 80.5
    assert by_metric[first.items[5].id].payload["recorded_at"] == (NOW - dt.timedelta(hours=5)).isoformat()
    audits = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "metrics.ingest")).all()
    assert len(audits) == 1
    assert audits[0].metadata_json["created"] == 50
    assert "80" not in str(audits[0].metadata_json)  # no values in the chain


def test_repeated_key_inside_one_batch_is_a_duplicate(app_ctx: Flask) -> None:
    actor = _admin()
    customer = make_customer("Cara")
    result = ingest([_reading(customer, 1), _reading(customer, 1, value=99)], actor=actor, now=NOW)
    db.session.commit()
    assert [r.status for r in result.items] == [ItemStatus.CREATED, ItemStatus.DUPLICATE]
    assert result.items[0].id == result.items[1].id
    assert _count() == 1


def test_the_same_key_for_two_customers_is_two_readings(app_ctx: Flask) -> None:
    actor = _admin()
    a, b = make_customer("Ann"), make_customer("Bea")
    result = ingest([_reading(a, 1), _reading(b, 1)], actor=actor, now=NOW)
    assert result.created == 2


def test_readings_without_key_always_insert(app_ctx: Flask) -> None:
    actor = _admin()
    customer = make_customer("Cara")
    item = _reading(customer, 1, client_key=None)
    ingest([item, item], actor=actor, now=NOW)
    ingest([item], actor=actor, now=NOW)
    db.session.commit()
    assert _count() == 3


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"value": "80"}, "value"),
        ({"value": True}, "value"),
        ({"value": 10**11}, "value"),
        ({"value": 1e300}, "value"),
        ({"value": -5}, "value"),  # a known metric's plausible range
        ({"unit": "stone"}, "unit"),
        ({"metric_type": "Weight!"}, "metric_type"),
        ({"metric_type": "x" * 51}, "metric_type"),
        ({"unit": "k\x00g"}, "unit"),
        ({"recorded_at": "2026-03-01T10:00:00"}, "recorded_at"),  # no offset
        ({"recorded_at": "1999-12-31T23:00:00Z"}, "recorded_at"),
        ({"recorded_at": "2026-03-01T14:00:00+00:00"}, "recorded_at"),  # two hours ahead
        ({"recorded_at": "yesterday"}, "recorded_at"),
        ({"recorded_at": "9999-12-31T23:59:59-14:00"}, "recorded_at"),
        ({"recorded_at": "0001-01-01T00:00:00+14:00"}, "recorded_at"),
        ({"recorded_at": 1700000000}, "recorded_at"),
        ({"source": "SATELLITE"}, "source"),
        ({"client_key": "has space"}, "client_key"),
        ({"client_key": "k" * 65}, "client_key"),
        ({"customer_id": "not-a-uuid"}, "customer_id"),
        ({"customer_id": None}, "customer_id"),
        ({"metric_type": None}, "metric_type"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_bad_readings_are_refused_one_by_one(app_ctx: Flask, changes: dict, field: str) -> None:
    actor = _admin()
    customer = make_customer("Cara")
    good = _reading(customer, 1)
    bad = _reading(customer, 2, **changes)  # a None change leaves the field out
    result = ingest([good, bad], actor=actor, now=NOW)
    db.session.commit()
    assert result.items[0].status == ItemStatus.CREATED
    assert result.items[1].status == ItemStatus.ERROR
    assert field in result.items[1].errors
    assert _count() == 1


def test_values_are_rounded_to_the_column_and_unknown_metrics_accepted(app_ctx: Flask) -> None:
    actor = _admin()
    customer = make_customer("Cara")
    result = ingest(
        [_reading(customer, 1, metric_type="vo2_max", unit="ml/kg/min", value=99999999999.9994)],
        actor=actor,
        now=NOW,
    )
    db.session.commit()
    assert result.created == 1, result.items[0].errors
    stored = db.session.get(ProgressMetric, result.items[0].id)
    assert stored.value == decimal.Decimal("99999999999.999")
    assert stored.recorded_at == NOW - dt.timedelta(hours=1)


def test_not_an_object_and_too_many(app_ctx: Flask) -> None:
    actor = _admin()
    result = ingest([[1, 2], "x", None], actor=actor, now=NOW)
    assert [r.status for r in result.items] == [ItemStatus.ERROR] * 3
    with pytest.raises(BatchTooLarge):
        ingest([{}] * (MAX_BATCH + 1), actor=actor, now=NOW)


def test_coach_records_only_for_their_customers(app_ctx: Flask) -> None:
    coach = make_user("Coach A", RoleCode.COACH)
    actor = Actor(coach.id, frozenset({"Coach"}))
    mine = make_customer("Mine", coach_id=coach.id)
    other = make_customer("Other")
    staff = make_user("Staff", RoleCode.COACH).id  # not a customer
    result = ingest(
        [_reading(mine, 1), _reading(other, 2), _reading(staff, 3), _reading(uuid.uuid4(), 4)], actor=actor, now=NOW
    )
    assert [r.status for r in result.items] == [ItemStatus.CREATED] + [ItemStatus.ERROR] * 3
    assert {r.errors["customer_id"] for r in result.items[1:]} == {result.items[1].errors["customer_id"]}


def test_nobody_records_for_anyone(app_ctx: Flask) -> None:
    customer = make_customer("Cara")
    result = record_one(_reading(customer, 1), actor=Actor(None, frozenset()), now=NOW)
    assert result.status == ItemStatus.ERROR


def test_default_customer_fills_in(app_ctx: Flask) -> None:
    actor = _admin()
    customer = make_customer("Cara")
    item = {k: v for k, v in _reading(customer, 1).items() if k != "customer_id"}
    result = record_one(item, actor=actor, default_customer=customer, now=NOW)
    assert result.status == ItemStatus.CREATED


def test_wearable_readings_need_an_unrevoked_authorization(app_ctx: Flask) -> None:
    actor = _admin()
    worn, revoked, bare = make_customer("Worn"), make_customer("Revoked"), make_customer("Bare")
    db.session.add(WearableAuthorization(customer_id=worn, provider="garmin"))
    db.session.add(WearableAuthorization(customer_id=revoked, provider="fitbit", revoked_at=NOW))
    db.session.commit()
    items = [
        _reading(c, n, source="WEARABLE", metric_type="steps", unit="steps", value=8000)
        for n, c in enumerate((worn, revoked, bare))
    ]
    items.append(_reading(bare, 9, source="MANUAL"))
    result = ingest(items, actor=actor, now=NOW)
    assert [r.status for r in result.items] == [
        ItemStatus.CREATED, ItemStatus.ERROR, ItemStatus.ERROR, ItemStatus.CREATED,
    ]  # fmt: skip
    assert "source" in result.items[1].errors


def test_concurrent_identical_batches_insert_once(pg_app: Flask) -> None:
    with pg_app.app_context():
        actor = _admin()
        customer = make_customer("Cara")
        db.session.commit()
    batch = [_reading(customer, n) for n in range(200)]
    barrier = threading.Barrier(2)
    outcomes: list = []

    def run() -> None:
        with pg_app.app_context():
            barrier.wait()
            result = ingest(batch, actor=actor, now=NOW)
            db.session.commit()
            outcomes.append(result)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.created for r in outcomes) == [0, 200]
    assert sorted(r.duplicates for r in outcomes) == [0, 200]
    with pg_app.app_context():
        assert _count() == 200
        assert db.session.scalar(sa.select(sa.func.count()).select_from(DomainEvent)) == 200
