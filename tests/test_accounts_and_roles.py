"""Console roles as code, the permission sync, console accounts and the login page."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import appbuilder, db
from app.models.identity import ConsoleUser, PlatformUser
from app.policy.roles import CONSOLE_ROLES, READ, ROLE_GRANTS, WRITE
from app.policy.sync import sync_roles
from tests.support.web import csrf_token, login


def test_sync_creates_the_five_roles_and_is_idempotent(app):
    with app.app_context():
        for name in CONSOLE_ROLES:
            assert appbuilder.sm.find_role(name) is not None
        again = sync_roles(appbuilder)
        assert (again.created_roles, again.granted, again.revoked) == ([], 0, 0)


def test_role_permissions_match_the_declared_grants(app):
    with app.app_context():
        for name in ("Support", "Coach", "Manager", "Compliance"):
            role = appbuilder.sm.find_role(name)
            have = {
                (pv.permission.name, pv.view_menu.name)
                for pv in role.permissions
                if pv.permission.name != "menu_access"
            }
            declared = {(action, resource) for resource, actions in ROLE_GRANTS[name].items() for action in actions}
            assert have == declared, name


def test_sync_removes_a_permission_granted_by_hand(app):
    with app.app_context():
        sm = appbuilder.sm
        role = sm.find_role("Coach")
        pv = sm.add_permission_view_menu(WRITE, "AuditLogs")
        sm.add_permission_role(role, pv)
        report = sync_roles(appbuilder)
        assert report.revoked == 1
        assert not any(p.view_menu.name == "AuditLogs" for p in sm.find_role("Coach").permissions)
        assert READ in ROLE_GRANTS["Compliance"]["AuditLogs"]


def test_create_admin_cli_links_a_platform_user_and_can_sign_in(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create-admin", "--username", "boss", "--email", "Boss@Example.com"])
    assert result.exit_code == 0, result.output
    password = result.output.strip().split("password=")[1]
    with app.app_context():
        user = db.session.scalar(select(ConsoleUser).where(ConsoleUser.username == "boss"))
        assert user.platform_user is not None
        assert user.platform_user.email == "boss@example.com"
        assert "ADMIN" in user.platform_user.role_codes
        assert [r.name for r in user.roles] == ["Admin"]
    login(app.test_client(), "boss", password)


def test_duplicate_account_is_a_clear_error_and_changes_nothing(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["users", "create-admin", "--username", "boss"]).exit_code == 0
    again = runner.invoke(args=["users", "create-admin", "--username", "boss", "--email", "other@example.com"])
    assert again.exit_code == 1
    assert "already exists" in again.output
    with app.app_context():
        assert db.session.scalar(select(PlatformUser).where(PlatformUser.email == "other@example.com")) is None


def test_unknown_role_is_refused(app):
    result = app.test_cli_runner().invoke(
        args=["users", "create", "--username", "x", "--email", "x@example.com", "--name", "X", "--role", "Owner"]
    )
    assert result.exit_code == 2
    assert "Owner" in result.output


def test_login_without_csrf_token_is_refused(app, client, accounts):
    resp = client.post("/login/", data={"username": "admin", "password": accounts["Admin"].password})
    assert resp.status_code == 400
    assert client.get("/").status_code == 302  # still anonymous


def test_wrong_password_stays_on_login(app, client, accounts):
    token = csrf_token(client)
    resp = client.post("/login/", data={"username": "admin", "password": "nope", "csrf_token": token})
    assert resp.status_code == 302 and "/login/" in resp.headers["Location"]
    assert client.get("/").status_code == 302


def test_google_chart_user_statistics_view_is_switched_off(app):
    rules = [r.rule for r in app.url_map.iter_rules()]
    assert not any("userstats" in rule for rule in rules)


def test_login_page_loads_nothing_from_the_internet(app, client):
    page = client.get("/login/").get_data(as_text=True)
    assert "http://" not in page.replace("http://localhost", "") and "https://" not in page
