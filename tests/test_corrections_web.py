"""The "Correct..." page: Admin only, CSRF and a recent second factor, the service's 4xx with nothing changed."""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from app.extensions import db
from app.models.analytics import CohortSnapshot, EngagementEvent, ProgressMetric
from app.models.compliance import AuditLog
from app.models.identity import AuthSession, ConsoleUser
from app.models.training import CustomerBadge
from app.services import corrections
from tests.support.routes import ROLES
from tests.support.web import login, session_csrf
from tests.test_corrections import computed_world

REASON = "Recomputed after the import of 2 May went wrong"


@pytest.fixture
def world(app: Flask, accounts: dict) -> dict[type, Any]:
    with app.app_context():
        rows = computed_world("coach@coachdesk.test")
        return {model: row.id for model, row in rows.items()}


def _client(app: Flask, role: str | None) -> Any:
    client = app.test_client()
    if role is not None:
        login(client, role.lower(), f"{role.lower()}-Passw0rd!")
    return client


def _snapshot_value(app: Flask, row_id: int) -> decimal.Decimal:
    with app.app_context():
        return db.session.get(CohortSnapshot, row_id).value


def _corrections(app: Flask) -> list[dict[str, Any]]:
    with app.app_context():
        rows = db.session.scalars(
            sa.select(AuditLog).where(AuditLog.action == corrections.ACTION).order_by(AuditLog.id)
        )
        return [{"resource": (r.resource_type, r.resource_id), **r.metadata_json} for r in rows]


def test_an_admin_corrects_a_snapshot_from_its_show_page(app: Flask, world: dict) -> None:
    client = _client(app, "Admin")
    snap = world[CohortSnapshot]
    show = client.get(f"/cohort-snapshots/show/{snap}").get_data(as_text=True)
    assert f'href="/corrections/cohort_snapshots/{snap}"' in show
    page = client.get(f"/corrections/cohort_snapshots/{snap}")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and 'name="value"' in body and 'name="reason"' in body
    assert 'name="cohort_key"' not in body and 'value="delete"' in body
    token = session_csrf(app, client)
    resp = client.post(
        f"/corrections/cohort_snapshots/{snap}",
        data={"csrf_token": token, "operation": "update", "value": "0.75", "reason": REASON},
    )
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/cohort-snapshots/show/{snap}")
    assert _snapshot_value(app, snap) == decimal.Decimal("0.75")
    (entry,) = _corrections(app)
    assert entry["resource"] == ("cohort_snapshots", str(snap)) and entry["reason"] == REASON
    assert decimal.Decimal(entry["before"]["value"]) == 1 and decimal.Decimal(entry["after"]["value"]) == 0.75
    with app.app_context():
        admin_user = db.session.scalar(sa.select(ConsoleUser).where(ConsoleUser.username == "admin"))
        actor = db.session.scalar(sa.select(AuditLog.actor_id).where(AuditLog.action == corrections.ACTION))
        assert actor == admin_user.platform_user_id


def test_an_admin_revokes_a_badge_and_deletes_an_event(app: Flask, world: dict) -> None:
    client = _client(app, "Admin")
    token = session_csrf(app, client)
    for table, model, listing in (
        ("customer_badges", CustomerBadge, "/customer-badges/list/"),
        ("engagement_events", EngagementEvent, "/engagement-events/list/"),
    ):
        row_id = world[model]
        resp = client.post(
            f"/corrections/{table}/{row_id}", data={"csrf_token": token, "operation": "delete", "reason": REASON}
        )
        assert resp.status_code == 302 and resp.headers["Location"].endswith(listing)
        with app.app_context():
            assert db.session.get(model, row_id) is None
        assert client.get(f"/corrections/{table}/{row_id}").status_code == 404
    assert [e["resource"][0] for e in _corrections(app)] == ["customer_badges", "engagement_events"]


def _bad_posts(world: dict) -> list[tuple[str, str, dict[str, str], int]]:
    snap, badge = world[CohortSnapshot], world[CustomerBadge]
    s, b = f"/corrections/cohort_snapshots/{snap}", f"/corrections/customer_badges/{badge}"
    update = {"operation": "update", "value": "2", "reason": REASON}
    return [
        ("no reason", s, {**update, "reason": ""}, 400),
        ("short reason", s, {**update, "reason": "because"}, 400),
        ("long reason", s, {**update, "reason": "x" * 501}, 400),
        ("control character", s, {**update, "reason": "a reason with a \x07 bell in it"}, 400),
        ("NUL byte", s, {**update, "reason": "a reason with a \x00 NUL in it"}, 400),
        ("unknown column", s, {**update, "colour": "red"}, 400),
        ("column not allowed", s, {**update, "cohort_key": "2030-W1"}, 400),
        ("a badge's customer", b, {"operation": "update", "customer_id": "x", "reason": REASON}, 400),
        ("words for a number", s, {**update, "value": "lots"}, 400),
        ("huge number", s, {**update, "value": "1" + "0" * 30}, 400),
        ("NaN", s, {**update, "value": "nan"}, 400),
        ("no operation", s, {"value": "2", "reason": REASON}, 400),
        ("odd operation", s, {**update, "operation": "drop"}, 400),
        ("delete with values", s, {**update, "operation": "delete"}, 400),
        ("unknown id", f"/corrections/cohort_snapshots/{snap + 987654}", update, 404),
        ("id beyond 64 bits", "/corrections/cohort_snapshots/99999999999999999999999", update, 404),
        ("not a computed table", f"/corrections/progress_metrics/{world[ProgressMetric]}", update, 404),
        ("unknown table", f"/corrections/nope/{snap}", update, 404),
    ]


def test_bad_input_is_a_clear_4xx_and_changes_nothing(app: Flask, world: dict) -> None:
    client = _client(app, "Admin")
    token = session_csrf(app, client)
    for name, url, data, status in _bad_posts(world):
        resp = client.post(url, data={"csrf_token": token, **data})
        assert resp.status_code == status, (name, resp.status_code)
        if status == 400 and "NUL" not in name:
            assert 'class="alert alert-danger cd-correction-error"' in resp.get_data(as_text=True), name
    no_csrf = client.post(f"/corrections/cohort_snapshots/{world[CohortSnapshot]}", data=_bad_posts(world)[0][2])
    assert no_csrf.status_code == 400
    assert _snapshot_value(app, world[CohortSnapshot]) == 1
    with app.app_context():
        assert db.session.get(CustomerBadge, world[CustomerBadge]) is not None
    assert _corrections(app) == []


@pytest.mark.parametrize("role", [r for r in ROLES if r != "Admin"] + [None])
def test_every_other_role_is_refused(app: Flask, world: dict, role: str | None) -> None:
    client = _client(app, role)
    token = session_csrf(app, client)
    snap, badge = world[CohortSnapshot], world[CustomerBadge]
    attempts = [
        (f"/corrections/cohort_snapshots/{snap}", {"operation": "update", "value": "3", "reason": REASON}),
        (f"/corrections/customer_badges/{badge}", {"operation": "delete", "reason": REASON}),
    ]
    for url, data in attempts:
        for resp in (client.get(url), client.post(url, data={"csrf_token": token, **data})):
            if role is None:
                assert resp.status_code in (302, 401) and "/login" in resp.headers.get("Location", "/login")
            else:
                assert resp.status_code == 403, (role, url, resp.status_code)
    if role is not None:
        assert "/corrections/" not in client.get(f"/customer-badges/show/{badge}").get_data(as_text=True)
    assert _snapshot_value(app, snap) == 1
    with app.app_context():
        assert db.session.get(CustomerBadge, badge) is not None
    assert _corrections(app) == []


def test_a_correction_asks_for_a_fresh_second_factor(app: Flask, world: dict) -> None:
    client = _client(app, "Admin")
    token = session_csrf(app, client)
    with app.app_context():
        user_id = db.session.scalar(sa.select(ConsoleUser.id).where(ConsoleUser.username == "admin"))
        at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=16)
        db.session.execute(
            sa.update(AuthSession).where(AuthSession.console_user_id == user_id).values(mfa_verified_at=at)
        )
        db.session.commit()
    snap = world[CohortSnapshot]
    resp = client.post(
        f"/corrections/cohort_snapshots/{snap}",
        data={"csrf_token": token, "operation": "update", "value": "0.5", "reason": REASON},
        headers={"Referer": f"http://localhost/corrections/cohort_snapshots/{snap}"},
    )
    assert resp.status_code == 302 and "/mfa/verify" in resp.headers["Location"]
    assert _snapshot_value(app, snap) == 1 and _corrections(app) == []
