"""The leaderboard page: the stored ranks and ties, final or as of a time, names within row scope, roles."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa
from flask import Flask

from app.extensions import db
from app.models.engagement import ChallengeResult
from app.models.identity import ConsoleUser
from app.models.training import CustomerBadge
from app.services.awards import badges, challenges
from tests.support import awards as h
from tests.support.apps import Account
from tests.support.plan_support import make_customer
from tests.support.web import login

ROW_RE = re.compile(r'<tr class="cd-row[^"]*" data-rank="(\d*)">(.*?)</tr>', re.S)


def _world(app: Flask) -> dict:
    with app.app_context():
        coach = db.session.scalars(sa.select(ConsoleUser).where(ConsoleUser.username == "coach")).one().platform_user_id
        mine = make_customer("Mina Mine", coach_id=coach)
        other = make_customer("Otto Other")
        third = make_customer("Thea Third", coach_id=coach)
        ch = h.challenge("Spring Steps", dt.date(2026, 3, 1), dt.date(2026, 3, 10),
                         {"metric": "WORKOUTS", "aggregation": "COUNT", "target": 5})  # fmt: skip
        for who in (mine, other, third):
            challenges.join(db.session, ch, who, now=h.at("2026-02-28"))
        h.events(mine, "workout_completed", h.at("2026-03-02"), h.at("2026-03-03"))
        h.events(other, "workout_completed", h.at("2026-03-02"), h.at("2026-03-04"))
        h.events(third, "workout_completed", h.at("2026-03-02"))
        challenges.rank(db.session, ch, now=h.at("2026-03-05T12:00"))
        badge = h.badge("BY_HAND", {"kind": "MANUAL"})
        badges.award(db.session, mine, badge, at=h.at("2026-03-05"))
        db.session.commit()
        return {"challenge": ch.id, "mine": mine, "other": other, "third": third}


def _rows(html: str) -> list[tuple[str, str]]:
    return [(rank, re.sub(r"<[^>]+>|\s+", " ", body).strip()) for rank, body in ROW_RE.findall(html)]


def test_leaderboard_shows_the_stored_ranks_with_ties_and_scope(app: Flask, accounts: dict[str, Account]) -> None:
    world = _world(app)
    client = app.test_client()
    login(client, "coach", accounts["Coach"].password)
    page = client.get(f"/leaderboard/{world['challenge']}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    with app.app_context():
        stored = sorted(str(r) for r in db.session.scalars(sa.select(ChallengeResult.rank)))
    rows = _rows(html)
    assert sorted(rank for rank, _text in rows) == stored == ["1", "1", "3"]
    texts = " | ".join(text for _rank, text in rows)
    assert "Mina Mine" in texts and "Thea Third" in texts and "Otto Other" not in texts
    assert "Another coach" in texts and "(tied)" in texts and "2 workouts" in texts
    assert "As of" in html and "Final results" not in html
    # Manager: every name; after finalization the page says final.
    with app.app_context():
        ch = db.session.get(challenges.Challenge, world["challenge"])
        challenges.rank(db.session, ch, now=h.at("2026-03-12"))
        db.session.commit()
    manager = app.test_client()
    login(manager, "manager", accounts["Manager"].password)
    html = manager.get(f"/leaderboard/{world['challenge']}").get_data(as_text=True)
    assert "Otto Other" in html and "Final results" in html
    # The challenge's show page links to it; the customer's page lists their badges.
    show = manager.get(f"/challenges/show/{world['challenge']}").get_data(as_text=True)
    assert f"/leaderboard/{world['challenge']}" in show
    customer_page = manager.get(f"/platform-users/show/{world['mine']}").get_data(as_text=True)
    assert "By_Hand" in customer_page or "BY_HAND" in customer_page


@pytest.mark.parametrize(("role", "status"), [
    ("Admin", 200), ("Support", 200), ("Coach", 200), ("Manager", 200), ("Compliance", 403), (None, 302),
])  # fmt: skip
def test_leaderboard_permissions(sqlite_app: Flask, role: str | None, status: int) -> None:
    from tests.support.apps import make_accounts

    accounts = make_accounts(sqlite_app)
    world = _world(sqlite_app)
    client = sqlite_app.test_client()
    if role is not None:
        login(client, accounts[role].username, accounts[role].password)
    page = client.get(f"/leaderboard/{world['challenge']}")
    assert page.status_code == status
    if status == 302:
        assert "/login" in page.headers["Location"]
    if role == "Admin":
        assert client.get("/leaderboard/999999").status_code == 404
    with sqlite_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CustomerBadge)) == 1
