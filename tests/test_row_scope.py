"""Coach row scope holds on every path: list, show, edit, delete, export, autocomplete, filters, bulk, related lists."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import func, select

from app.extensions import db
from app.models.analytics import ProgressMetric
from app.models.engagement import Message
from app.models.identity import ConsoleUser, PlatformUser
from app.models.training import CustomerPlan, PlanStatus, Program, Visibility
from app.services.accounts import create_console_account
from app.services.data_access import scoped_select
from tests.support.web import login
from tests.support.world import SECRET_B


def shows(html: str, base: str, pk: str) -> bool:
    """Whether a list page links to the row ``pk``."""
    return f'{base}/show/{pk}"' in html


TARGETS = {
    PlatformUser: "/platform-users",
    CustomerPlan: "/customer-plans",
    Message: "/messages",
    ProgressMetric: "/progress-metrics",
}


def test_coach_a_cannot_reach_coach_b_rows_by_any_url(app: Flask, two_coaches: dict) -> None:
    client, a, b, token = two_coaches["client"], two_coaches["a"], two_coaches["b"], two_coaches["token"]
    for model, base in TARGETS.items():
        listing = client.get(f"{base}/list/").get_data(as_text=True)
        assert shows(listing, base, a[model]), f"coach A should see their own {model.__name__}"
        assert not shows(listing, base, b[model]) and SECRET_B not in listing
        assert client.get(f"{base}/show/{b[model]}").status_code == 404
        assert client.get(f"{base}/show/{a[model]}").status_code == 200
        export = client.get(f"{base}/export/").get_data(as_text=True)
        assert SECRET_B not in export and "Customer B" not in export
        assert "Customer A" in export
        # edit and delete by URL: permission (coach has write on these) then scope -> 404
        if model is not PlatformUser:
            assert client.get(f"{base}/edit/{b[model]}").status_code == 404
            assert client.post(f"{base}/edit/{b[model]}", data={"csrf_token": token}).status_code == 404
            assert client.post(f"{base}/delete/{b[model]}", data={"csrf_token": token}).status_code == 404
    # filters: asking for B's customer by id finds nothing
    filtered = client.get(f"/customer-plans/list/?f_customer={b[PlatformUser]}").get_data(as_text=True)
    assert not shows(filtered, "/customer-plans", b[CustomerPlan]) and "No records found" in filtered
    # autocomplete offers only A's customer (and the coach)
    found = client.get("/customer-plans/autocomplete/customer?q=Customer").get_json()
    names = {r["text"] for r in found["results"]}
    assert "Customer A" in names and "Customer B" not in names
    # bulk and single actions on B's plan change nothing
    resp = client.post(
        "/customer-plans/action_post", data={"csrf_token": token, "action": "pause", "rowid": b[CustomerPlan]}
    )
    assert resp.status_code == 302
    assert client.post(f"/customer-plans/action/pause/{b[CustomerPlan]}", data={"csrf_token": token}).status_code == 404
    with app.app_context():
        assert db.session.get(CustomerPlan, int(b[CustomerPlan])).status == PlanStatus.ACTIVE
        assert db.session.get(Message, int(b[Message])) is not None
        assert db.session.get(ProgressMetric, int(b[ProgressMetric])) is not None
    # while the same bulk action on A's own plan works
    client.post("/customer-plans/action_post", data={"csrf_token": token, "action": "pause", "rowid": a[CustomerPlan]})
    with app.app_context():
        assert db.session.get(CustomerPlan, int(a[CustomerPlan])).status == PlanStatus.PAUSED


def test_coach_cannot_create_rows_for_another_coachs_customer(app: Flask, two_coaches: dict) -> None:
    client, a, b, token = two_coaches["client"], two_coaches["a"], two_coaches["b"], two_coaches["token"]
    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(CustomerPlan))
    resp = client.post(
        "/customer-plans/add",
        data={
            "csrf_token": token,
            "customer": b[PlatformUser],
            "program": a[Program],
            "status": "ACTIVE",
            "start_date": "2025-03-01",
        },
    )
    assert resp.status_code == 200
    assert "Choose an existing record" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(CustomerPlan)) == before


def test_related_lists_on_a_shared_program_are_scoped(app: Flask, two_coaches: dict) -> None:
    client, b = two_coaches["client"], two_coaches["b"]
    with app.app_context():
        db.session.get(Program, int(b[Program])).visibility = Visibility.SHARED
        db.session.commit()
    page = client.get(f"/programs/show/{b[Program]}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Strength b" in text
    assert "Customer B" not in text  # B's customer plan is in the related tab's table, but not for coach A
    # DESIGN.md: a coach sees and touches programs they created or that are shared with the team...
    assert client.get(f"/programs/edit/{b[Program]}").status_code == 200
    # ...while a public template can be read and assigned, not changed
    with app.app_context():
        db.session.get(Program, int(b[Program])).visibility = Visibility.PUBLIC
        db.session.commit()
    assert client.get(f"/programs/show/{b[Program]}").status_code == 200
    assert client.get(f"/programs/edit/{b[Program]}").status_code == 404


def test_coach_without_platform_link_sees_nothing(app: Flask, two_coaches: dict) -> None:
    with app.app_context():
        acc = create_console_account(
            app.appbuilder.sm, username="loner", email="loner@coachdesk.test", full_name="Lone Coach",
            role="Coach", password="loner-Passw0rd!",
        )  # fmt: skip
        db.session.get(ConsoleUser, acc.console_user.id).platform_user_id = None
        db.session.commit()
        loner = db.session.get(ConsoleUser, acc.console_user.id)
        for model in (PlatformUser, CustomerPlan, Message, ProgressMetric, Program):
            assert db.session.execute(scoped_select(model, loner)).first() is None
    client = app.test_client()
    login(client, "loner", "loner-Passw0rd!")
    a = two_coaches["a"]
    for model, base in TARGETS.items():
        listing = client.get(f"{base}/list/").get_data(as_text=True)
        assert "No records found" in listing
        assert client.get(f"{base}/show/{a[model]}").status_code == 404
    assert client.get("/customer-plans/autocomplete/customer?q=").get_json()["results"] == []


def test_scoped_select_service_matches_the_console(app: Flask, two_coaches: dict) -> None:
    """The service-level function charts and the API use gives the same rows as the console."""
    with app.app_context():
        coach = db.session.scalar(select(ConsoleUser).where(ConsoleUser.username == "coach"))
        admin = db.session.scalar(select(ConsoleUser).where(ConsoleUser.username == "admin"))
        mine = {str(p.id) for p in db.session.scalars(scoped_select(CustomerPlan, coach))}
        everything = {str(p.id) for p in db.session.scalars(scoped_select(CustomerPlan, admin))}
    assert mine == {two_coaches["a"][CustomerPlan]}
    assert everything == {two_coaches["a"][CustomerPlan], two_coaches["b"][CustomerPlan]}
    assert scoped_select(CustomerPlan, None) is not None
    with app.app_context():
        assert db.session.execute(scoped_select(CustomerPlan, None)).first() is None


def test_no_rule_means_no_rows_for_every_entity(app: Flask, two_coaches: dict) -> None:
    """A console account with no console role, and a coach on entities without a coach rule, get nothing."""
    from app.models import SEED_MODELS
    from app.policy.scope import COACH_RULES

    with app.app_context():
        sm = app.appbuilder.sm
        public = sm.find_role("Public") or sm.add_role("Public")
        nobody = sm.add_user("nobody", "No", "Body", "nobody@example.test", public, password="nobody-Passw0rd!")
        coach = db.session.scalar(select(ConsoleUser).where(ConsoleUser.username == "coach"))
        admin = db.session.scalar(select(ConsoleUser).where(ConsoleUser.username == "admin"))
        for model in SEED_MODELS:
            assert db.session.execute(scoped_select(model, admin)).first() is not None, model.__name__
            assert db.session.execute(scoped_select(model, nobody)).first() is None, model.__name__
            if model not in COACH_RULES:
                assert db.session.execute(scoped_select(model, coach)).first() is None, model.__name__


def test_coach_acts_only_on_assigned_customers_and_edits_own_or_team_programs(app: Flask, two_coaches: dict) -> None:
    """The rules the plan builder added to the central table hold for every caller of ``scoped_select``."""
    a, b = two_coaches["a"], two_coaches["b"]
    with app.app_context():
        coach = db.session.scalar(select(ConsoleUser).where(ConsoleUser.username == "coach"))
        readable = {str(u.id) for u in db.session.scalars(scoped_select(PlatformUser, coach))}
        writable = {str(u.id) for u in db.session.scalars(scoped_select(PlatformUser, coach, for_write=True))}
        assert readable == {a[PlatformUser], str(coach.platform_user_id)}  # pickers may offer the coach
        assert writable == {a[PlatformUser]}  # plans go to assigned customers only
        program_b = db.session.get(Program, int(b[Program]))
        expected = {
            Visibility.PRIVATE: (False, False),
            Visibility.SHARED: (True, True),
            Visibility.PUBLIC: (True, False),
        }
        for visibility, (can_read, can_write) in expected.items():
            program_b.visibility = visibility
            db.session.commit()
            by_id = Program.id == program_b.id
            assert (db.session.execute(scoped_select(Program, coach, by_id)).first() is not None) is can_read
            assert (
                db.session.execute(scoped_select(Program, coach, by_id, for_write=True)).first() is not None
            ) is can_write
        own = scoped_select(Program, coach, Program.id == int(a[Program]), for_write=True)
        assert db.session.execute(own).first() is not None
