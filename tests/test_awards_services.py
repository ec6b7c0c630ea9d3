"""Badge evaluation (once per customer, events, audit), rule awards, challenge ranking with ties and finalization."""

from __future__ import annotations

import datetime as dt
import decimal

import pytest
import sqlalchemy as sa
from flask import Flask

from app.extensions import db
from app.models.compliance import AuditLog
from app.models.engagement import ChallengeResult
from app.models.events import DomainEvent
from app.models.training import Badge, CustomerBadge
from app.services.awards import badges, challenges
from tests.support import awards as h

D = decimal.Decimal


def _awards() -> list[tuple]:
    rows = db.session.execute(sa.select(CustomerBadge.customer_id, CustomerBadge.badge_id, CustomerBadge.awarded_at))
    return sorted(rows, key=str)


def test_evaluation_awards_once_with_an_event_each(app_ctx: Flask) -> None:
    ana, ben = h.customers(("Ana", "UTC"), ("Ben", "UTC"))
    first = h.badge("FIRST", {"kind": "COMPLETIONS", "threshold": 1})
    three = h.badge("THREE", {"kind": "COMPLETIONS", "threshold": 3})
    h.badge("BY_HAND", {"kind": "MANUAL"})
    # A row the schema refuses (written around the ORM's check): skipped and reported, not a failure.
    db.session.execute(
        sa.insert(Badge.__table__).values(code="BROKEN", name="Broken", criteria_json={"kind": "STREAK"})
    )
    h.completions(ana, *(h.at(f"2026-03-0{d}T10:00") for d in (1, 2, 3)))
    h.completions(ben, h.at("2026-03-02T10:00"))
    when = h.at("2026-03-05T00:00")
    result = badges.evaluate_badges(db.session, as_of=when)
    db.session.commit()
    assert (result.awarded, result.per_badge, result.invalid) == (3, {"FIRST": 2, "THREE": 1}, ["BROKEN"])
    assert _awards() == sorted([(ana, first.id, when), (ben, first.id, when), (ana, three.id, when)], key=str)
    # A second run, later and over the same history, awards nothing and announces nothing.
    again = badges.evaluate_badges(db.session, as_of=when + dt.timedelta(hours=1))
    db.session.commit()
    assert again.awarded == 0 and len(_awards()) == 3
    announced = db.session.scalars(sa.select(DomainEvent).where(DomainEvent.event_type == "badge.awarded")).all()
    assert sorted((e.customer_id, e.payload["badge_code"]) for e in announced) == sorted(
        [(ana, "FIRST"), (ben, "FIRST"), (ana, "THREE")], key=str
    )
    audit = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == badges.AUDIT_EVALUATE)).all()
    assert sorted(a.metadata_json["awarded"] for a in audit) == [1, 2]
    assert badges.unmet_awards(db.session) == []


def test_evaluation_for_a_subset_of_customers(app_ctx: Flask) -> None:
    ana, ben = h.customers(("Ana", "UTC"), ("Ben", "UTC"))
    h.badge("FIRST", {"kind": "COMPLETIONS", "threshold": 1})
    h.completions(ana, h.at("2026-03-01T10:00"))
    h.completions(ben, h.at("2026-03-01T10:00"))
    badges.evaluate_badges(db.session, as_of=h.at("2026-03-02"), customer_ids=[ben])
    db.session.commit()
    assert [row[0] for row in _awards()] == [ben]


def test_single_award_manual_as_asked_criteria_only_when_met(app_ctx: Flask) -> None:
    ana, ben = h.customers(("Ana", "UTC"), ("Ben", "UTC"))
    manual = h.badge("HELPER", None)
    first = h.badge("FIRST", {"kind": "COMPLETIONS", "threshold": 1})
    h.completions(ana, h.at("2026-03-01T10:00"))
    now = h.at("2026-03-02")
    assert badges.award(db.session, ben, manual, at=now) is badges.Outcome.AWARDED
    assert badges.award(db.session, ben, manual, at=now) is badges.Outcome.ALREADY_HELD
    assert badges.award(db.session, ben, first, at=now) is badges.Outcome.NOT_MET
    assert badges.award(db.session, ana, first, at=now) is badges.Outcome.AWARDED
    db.session.commit()
    assert len(_awards()) == 2 and badges.unmet_awards(db.session) == []
    # An award typed in that its criteria do not support is what the invariant finds.
    db.session.add(CustomerBadge(customer_id=ben, badge_id=first.id, awarded_at=now))
    db.session.commit()
    assert [code for _id, code in badges.unmet_awards(db.session)] == ["FIRST"]


def _race(rules: dict | None = None) -> tuple:
    ana, ben, cai, dan = h.customers(("Ana", "UTC"), ("Ben", "UTC"), ("Cai", "Pacific/Auckland"), ("Dan", "UTC"))
    ch = h.challenge("March", dt.date(2026, 3, 1), dt.date(2026, 3, 10),
                     rules or {"metric": "WORKOUTS", "aggregation": "COUNT"})  # fmt: skip
    for who in (ana, ben, cai, dan):
        challenges.join(db.session, ch, who, now=h.at("2026-02-28"))
    db.session.commit()
    return ch, ana, ben, cai, dan


def test_ranking_with_ties_is_competition_ranking(app_ctx: Flask) -> None:
    ch, ana, ben, cai, dan = _race()
    h.events(ana, "workout_completed", h.at("2026-03-02"), h.at("2026-03-03"), h.at("2026-03-04"))
    h.events(ben, "workout_completed", h.at("2026-03-02"), h.at("2026-03-05"), h.at("2026-03-06"))
    # Auckland is UTC+13: 2026-02-28T12:00Z is 1 March there (counts), 2026-03-10T12:00Z is 11 March (does not).
    h.events(cai, "workout_completed", h.at("2026-02-28T12:00"), h.at("2026-03-10T12:00"))
    h.events(dan, "workout_completed", h.at("2026-02-28T12:00"))  # 28 February in UTC: before the start
    outcome = challenges.rank(db.session, ch, now=h.at("2026-03-11T00:00"))
    db.session.commit()
    assert not outcome.finalized and ch.ranked_at == h.at("2026-03-11T00:00")
    rows = {r.customer_id: (r.score, r.rank) for r in db.session.scalars(sa.select(ChallengeResult))}
    assert rows == {ana: (D(3), 1), ben: (D(3), 1), cai: (D(1), 3), dan: (D(0), 4)}
    assert challenges.rank_disagreements(db.session) == []


def test_competition_ranks() -> None:
    assert challenges.competition_ranks({"a": D(5), "b": D(7), "c": D(5), "d": D(1), "e": D(7)}) == {
        "b": 1, "e": 1, "a": 3, "c": 3, "d": 5,
    }  # fmt: skip


def test_finalization_freezes_the_results(app_ctx: Flask) -> None:
    ch, ana, ben, _cai, _dan = _race({"metric": "MINUTES", "aggregation": "SUM"})
    h.events(ana, "workout_completed", h.at("2026-03-02"), duration_min=40)
    h.events(ben, "workout_completed", h.at("2026-03-03"), duration_min=30)
    h.events(ben, "workout_completed", h.at("2026-03-04"), duration_min=25)
    # The last day is not over at UTC-12 until 2026-03-11T12:00Z.
    assert not challenges.rank(db.session, ch, now=h.at("2026-03-11T11:00")).finalized
    assert challenges.rank(db.session, ch, now=h.at("2026-03-11T12:00")).finalized
    db.session.commit()
    final = {r.customer_id: (r.score, r.rank) for r in db.session.scalars(sa.select(ChallengeResult))}
    assert final[ben] == (D(55), 1) and final[ana] == (D(40), 2)
    # A late event (recorded afterwards, dated inside the challenge) changes nothing any more.
    h.events(ana, "workout_completed", h.at("2026-03-09"), duration_min=90)
    assert challenges.rank(db.session, ch, now=h.at("2026-03-12")).frozen
    assert challenges.rank_due(db.session, now=h.at("2026-03-12")).challenges == 0
    db.session.commit()
    assert {r.customer_id: (r.score, r.rank) for r in db.session.scalars(sa.select(ChallengeResult))} == final
    with pytest.raises(challenges.ChallengeError):
        challenges.join(db.session, ch, h.customers(("Eve", "UTC"))[0], now=h.at("2026-03-12"))


def test_join_is_idempotent_and_steps_are_metrics(app_ctx: Flask) -> None:
    ch, ana, *_rest = _race({"metric": "STEPS", "aggregation": "MAX"})
    again = challenges.join(db.session, ch, ana, now=h.at("2026-03-02"))
    assert again.joined_at == h.at("2026-02-28")
    h.readings(ana, "steps", (h.at("2026-03-02"), 9000), (h.at("2026-03-03"), 12000), (h.at("2026-03-20"), 30000),
               unit="steps")  # fmt: skip
    challenges.rank(db.session, ch, now=h.at("2026-03-21"))
    db.session.commit()
    result = db.session.scalars(sa.select(ChallengeResult).where(ChallengeResult.customer_id == ana)).one()
    assert (result.score, result.rank) == (D(12000), 1)


def test_cli_runs_recorded_jobs_with_progress(sqlite_app: Flask) -> None:
    from app.models.jobs import JobRun

    with sqlite_app.app_context():
        (ana,) = h.customers(("Ana", "UTC"))
        h.badge("FIRST", {"kind": "COMPLETIONS", "threshold": 1})
        h.completions(ana, h.at("2026-03-01T10:00"))
        ch = h.challenge("Now", dt.date(2026, 3, 1), dt.date(2026, 3, 10), {"metric": "WORKOUTS", "aggregation": "SUM"})
        challenges.join(db.session, ch, ana, now=h.at("2026-03-01"))
        db.session.commit()
    runner = sqlite_app.test_cli_runner()
    out = runner.invoke(args=["awards", "evaluate-badges"])
    assert out.exit_code == 0, out.output
    assert "1 new awards" in out.output and "FIRST: 1" in out.output
    out = runner.invoke(args=["awards", "rank-challenges"])
    assert out.exit_code == 0, out.output
    assert "1 challenges ranked (1 finalized)" in out.output
    with sqlite_app.app_context():
        runs = db.session.scalars(sa.select(JobRun).order_by(JobRun.id)).all()
        assert [(r.kind, r.status, r.progress_done, r.progress_total) for r in runs] == [
            ("awards.evaluate_badges", "succeeded", 1, 1),
            ("awards.rank_challenges", "succeeded", 1, 1),
        ]
        assert db.session.scalars(sa.select(ChallengeResult.rank)).all() == [1]
