"""FAB's own account/role/permission views: malformed URLs get a 4xx and change nothing; no password hash shown.

The views are FAB's, subclassed in ``app/web/security/views.py``. Every test runs on SQLite and
PostgreSQL (the ``app`` fixture), because the two fail differently on a badly typed value.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask_appbuilder.exceptions import DatabaseException
from sqlalchemy import select, text

from app.extensions import db
from app.models.identity import ConsoleUser
from tests.support.routes import FAB_SECURITY_VIEWS
from tests.support.web import login, session_csrf

MODEL_VIEWS = {
    "/users": "UserDBModelView",
    "/roles": "RoleModelView",
    "/groups": "UserGroupModelView",
    "/permissions": "PermissionModelView",
    "/viewmenus": "ViewMenuModelView",
    "/permissionviews": "PermissionViewModelView",
}
# Views whose show/edit/delete routes Admin may use (the permission views are list-only in FAB).
FULL_CRUD = ("/users", "/roles", "/groups")
BAD_PKS = ("abc", "987654321", "99999999999999999999", "2147483648", "-1", "1.5", "1e3", " 1", "%00")
BAD_FILTER_VALUES = ("abc", "9" * 25, "a\x00b", "abc\\")


@pytest.fixture
def admin(app: Flask, accounts: dict) -> dict[str, Any]:
    client = app.test_client()
    login(client, "admin", accounts["Admin"].password)
    return {"client": client, "token": session_csrf(app, client)}


def snapshot(app: Flask) -> dict[str, list[tuple]]:
    """Every row of every table, so a test can show that a refused request changed nothing."""
    with app.app_context():
        db.session.remove()
        result = {}
        for table in db.metadata.sorted_tables:
            rows = db.session.execute(select(table)).all()
            result[table.name] = sorted(tuple(str(v) for v in row) for row in rows)
        db.session.remove()
        return result


def ids(app: Flask, table: str) -> list[str]:
    with app.app_context():
        return [str(v) for v in db.session.scalars(text(f"SELECT id FROM {table} ORDER BY id"))]  # noqa: S608


def view_of(app: Flask, name: str) -> Any:
    return next(v for v in app.appbuilder.baseviews if type(v).__name__ == name)


def test_the_security_views_are_ours_under_fabs_names(app: Flask) -> None:
    from flask_appbuilder.security import views as fab_views

    from app.web.security import views as safe_views

    names = {type(v).__name__: type(v) for v in app.appbuilder.baseviews}
    for name in (*MODEL_VIEWS.values(), "ResetPasswordView", "UserInfoEditView"):
        klass = names[name]
        # The account admin is app.web.security.accounts' (time zone on it), built on the safe one.
        assert issubclass(klass, getattr(safe_views, name))
        assert issubclass(klass, getattr(fab_views, name))
        view = next(v for v in app.appbuilder.baseviews if type(v) is klass)
        assert getattr(view, "datamodel", None) is None or isinstance(view.datamodel, safe_views.SafeSQLAInterface)
    assert set(MODEL_VIEWS.values()) <= FAB_SECURITY_VIEWS


def test_no_file_download_route_on_any_security_view(app: Flask, admin: dict) -> None:
    endpoints = {r.endpoint for r in app.url_map.iter_rules()}
    assert not {e for e in endpoints if e.partition(".")[0] in FAB_SECURITY_VIEWS and e.endswith(".download")}
    for base in MODEL_VIEWS:
        for name in ("no-such-file.txt", "..%2f..%2fconfig.py"):
            resp = admin["client"].get(f"{base}/download/{name}")
            assert resp.status_code == 404, (base, name, resp.status_code)


@pytest.mark.parametrize("base", MODEL_VIEWS)
def test_unknown_action_is_refused_and_changes_nothing(app: Flask, admin: dict, base: str) -> None:
    client, token = admin["client"], admin["token"]
    pk = ids(app, "ab_role" if base in ("/roles", "/permissions") else "ab_user")[0]
    before = snapshot(app)
    assert client.post(f"{base}/action/no-such-action/{pk}", data={"csrf_token": token}).status_code == 404
    assert client.get(f"{base}/action/no-such-action/{pk}").status_code == 405  # actions are POST only
    resp = client.post(f"{base}/action_post", data={"csrf_token": token, "action": "no-such-action", "rowid": pk})
    assert resp.status_code == 400
    assert "No such action here." in resp.get_data(as_text=True)
    assert client.post(f"{base}/action_post", data={"csrf_token": token, "rowid": pk}).status_code == 400
    # Without the CSRF token the request never reaches the view.
    assert client.post(f"{base}/action/no-such-action/{pk}").status_code == 400
    assert snapshot(app) == before


def test_known_actions_with_unknown_or_malformed_rows_change_nothing(app: Flask, admin: dict) -> None:
    client, token = admin["client"], admin["token"]
    role_id = ids(app, "ab_role")[0]
    before = snapshot(app)
    for pk in BAD_PKS:
        for url in (f"/users/action/resetpasswords/{pk}", f"/users/action/userinfoedit/{pk}"):
            # A NUL byte is refused up front by the input guard (400), any other bad key is not found.
            assert client.post(url, data={"csrf_token": token}).status_code == (400 if pk == "%00" else 404), url
    # copyrole works on a list selection only, not from a single record's page
    assert client.post(f"/roles/action/copyrole/{role_id}", data={"csrf_token": token}).status_code == 404
    # resetpasswords works on one record only, not on a list selection
    resp = client.post("/users/action_post", data={"csrf_token": token, "action": "resetpasswords", "rowid": "1"})
    assert resp.status_code == 400
    for rows in (["abc"], ["987654321"], [role_id, "987654321"], [role_id, "99999999999999999999"], []):
        resp = client.post("/roles/action_post", data={"csrf_token": token, "action": "copyrole", "rowid": rows})
        assert resp.status_code == 302, rows
    assert snapshot(app) == before
    page = client.get("/roles/list/").get_data(as_text=True)
    assert "nothing was changed" in page or "No records selected" in page


def test_a_known_action_on_existing_rows_still_runs(app: Flask, admin: dict) -> None:
    """The checks above refuse bad input only: FAB's copy-role action still copies."""
    client, token = admin["client"], admin["token"]
    with app.app_context():
        role = app.appbuilder.sm.find_role("Coach")
        role_id, permissions = str(role.id), {p.id for p in role.permissions}
    resp = client.post("/roles/action_post", data={"csrf_token": token, "action": "copyrole", "rowid": [role_id]})
    assert resp.status_code == 302
    with app.app_context():
        copy = app.appbuilder.sm.find_role("Coach copy")
        assert copy is not None and {p.id for p in copy.permissions} == permissions
        db.session.delete(copy)
        db.session.commit()
    resp = client.post(f"/users/action/resetpasswords/{ids(app, 'ab_user')[0]}", data={"csrf_token": token})
    assert resp.status_code == 302 and "/resetpassword/form?pk=" in resp.headers["Location"]


@pytest.mark.parametrize("base", MODEL_VIEWS)
def test_unknown_or_malformed_keys_in_show_edit_delete(app: Flask, admin: dict, base: str) -> None:
    client, token = admin["client"], admin["token"]
    expected = 404 if base in FULL_CRUD else 403  # FAB's permission views are list-only, even for Admin
    before = snapshot(app)
    for pk in BAD_PKS:
        for method, url in (
            ("get", f"{base}/show/{pk}"),
            ("get", f"{base}/edit/{pk}"),
            ("post", f"{base}/edit/{pk}"),
            ("post", f"{base}/delete/{pk}"),
        ):
            if method == "get":
                resp = client.get(url)
            else:
                resp = client.post(url, data={"csrf_token": token, "name": "changed", "first_name": "changed"})
            want = 400 if pk == "%00" else expected  # the input guard refuses a NUL byte before FAB
            assert resp.status_code == want, (method, url, resp.status_code)
    assert snapshot(app) == before


@pytest.mark.parametrize("base", MODEL_VIEWS)
def test_garbage_paging_and_sort_arguments(app: Flask, admin: dict, base: str) -> None:
    client = admin["client"]
    name = MODEL_VIEWS[base]
    for query in (f"page_{name}=abc", f"psize_{name}=abc", f"page_{name}=1.5", "page_Other=x", f"psize_{name}="):
        resp = client.get(f"{base}/list/?{query}")
        assert resp.status_code == 400, query
        assert "Page and page size must be whole numbers." in resp.get_data(as_text=True)
    for query in (
        f"page_{name}=99999999999999999999",
        f"page_{name}=-5",
        f"psize_{name}=100000",
        f"psize_{name}=-1",
        f"psize_{name}=0",
        f"_oc_{name}=nope&_od_{name}=asc",
        f"_oc_{name}=password&_od_{name}=desc",
        f"_oc_{name}=name&_od_{name}=sideways",
        f"_oc_{name}=",
    ):
        assert client.get(f"{base}/list/?{query}").status_code == 200, query


def test_page_size_is_capped(app: Flask, admin: dict) -> None:
    with app.app_context():
        role = app.appbuilder.sm.find_role("Coach")
        for n in range(105):
            db.session.add(ConsoleUser(first_name="F", last_name=f"{n}", username=f"bulk{n}", email=f"b{n}@x.test",
                                       roles=[role], active=True))  # fmt: skip
        db.session.commit()
    page = admin["client"].get("/users/list/?psize_UserDBModelView=100000").get_data(as_text=True)
    assert page.count("/users/show/") == 100


@pytest.mark.parametrize("base", MODEL_VIEWS)
def test_every_filter_with_a_badly_typed_value_is_a_4xx(app: Flask, admin: dict, base: str) -> None:
    client = admin["client"]
    view = view_of(app, MODEL_VIEWS[base])
    with app.test_request_context():
        searchable = view._filters.get_search_filters()
    assert searchable, base
    before = snapshot(app)
    for column, filters in searchable.items():
        for index in range(len(filters)):
            for value in BAD_FILTER_VALUES:
                resp = client.get(f"{base}/list/", query_string={f"_flt_{index}_{column}": value})
                assert resp.status_code < 500, (column, index, type(filters[index]).__name__, value)
        if len(filters) < 10:  # FAB reads one digit of filter index
            resp = client.get(f"{base}/list/", query_string={f"_flt_{len(filters)}_{column}": "x"})
            assert resp.status_code == 400, column
    for column in ("no_such_column", "password", "id"):
        resp = client.get(f"{base}/list/", query_string={f"_flt_0_{column}": "1"})
        assert resp.status_code == (200 if column in searchable else 400), column
    assert snapshot(app) == before


def test_typed_user_filters_refuse_wrong_types_and_still_filter(app: Flask, admin: dict) -> None:
    client = admin["client"]
    view = view_of(app, "UserDBModelView")
    with app.test_request_context():
        searchable = view._filters.get_search_filters()

    def index(column: str, filter_name: str) -> int:
        return next(i for i, f in enumerate(searchable[column]) if type(f).__name__ == filter_name)

    refused = {
        f"_flt_{index('login_count', 'FilterEqual')}_login_count": "abc",
        f"_flt_{index('login_count', 'FilterGreater')}_login_count": "99999999999",
        f"_flt_{index('active', 'FilterEqual')}_active": "maybe",
        f"_flt_{index('created_on', 'FilterGreater')}_created_on": "2020-13-45",
        f"_flt_{index('roles', 'FilterRelationManyToManyEqual')}_roles": "abc",
    }
    for key, value in refused.items():
        resp = client.get("/users/list/", query_string={key: value})
        assert resp.status_code == 400, key
        assert "Not a valid filter for this list." in resp.get_data(as_text=True)
    resp = client.get("/users/list/", query_string={f"_flt_{index('username', 'FilterEqual')}_username": "nul\x00byte"})
    assert resp.status_code == 400 and "NUL" in resp.get_data(as_text=True)
    # Well-typed values still filter.
    key = f"_flt_{index('username', 'FilterEqual')}_username"
    page = client.get("/users/list/", query_string={key: "support"}).get_data(as_text=True)
    assert "support@coachdesk.test" in page and "coach@coachdesk.test" not in page
    page = client.get("/users/list/", query_string={f"_flt_{index('active', 'FilterEqual')}_active": "y"})
    assert page.status_code == 200 and "coach@coachdesk.test" in page.get_data(as_text=True)


def test_permission_is_checked_before_any_argument(app: Flask, accounts: dict) -> None:
    support = app.test_client()
    login(support, "support", accounts["Support"].password)
    token = session_csrf(app, support)
    anonymous = app.test_client()
    anon_token = session_csrf(app, anonymous)
    for base, name in MODEL_VIEWS.items():
        for url in (f"{base}/list/?page_{name}=abc", f"{base}/list/?_flt_0_password=x", f"{base}/show/abc"):
            assert support.get(url).status_code == 403, url
            resp = anonymous.get(url)
            assert resp.status_code == 302 and "/login/" in resp.headers["Location"], url
        for url, data in (
            (f"{base}/action/no-such-action/1", {}),
            (f"{base}/action_post", {"action": "no-such-action"}),
            (f"{base}/action_post", {"action": next(iter(view_of(app, name).actions), "x"), "rowid": "1"}),
        ):
            assert support.post(url, data={"csrf_token": token, **data}).status_code == 403, url
            resp = anonymous.post(url, data={"csrf_token": anon_token, **data})
            assert resp.status_code == 302 and "/login/" in resp.headers["Location"], url


def password_hash(app: Flask, username: str) -> str:
    with app.app_context():
        return db.session.scalar(select(ConsoleUser.password).where(ConsoleUser.username == username))


def test_reset_password_needs_an_existing_account(app: Flask, admin: dict) -> None:
    client, token = admin["client"], admin["token"]
    new = {"password": "Another-Passw0rd-123!", "conf_password": "Another-Passw0rd-123!", "csrf_token": token}
    before = snapshot(app)
    for query in ("", "?pk=", "?pk=abc", "?pk=987654321", "?pk=99999999999999999999", "?pk=1.5"):
        assert client.get(f"/resetpassword/form{query}").status_code == 404, query
        assert client.post(f"/resetpassword/form{query}", data=new).status_code == 404, query
    assert snapshot(app) == before
    old = password_hash(app, "coach")
    with app.app_context():
        coach_id = db.session.scalar(select(ConsoleUser.id).where(ConsoleUser.username == "coach"))
    assert client.get(f"/resetpassword/form?pk={coach_id}").status_code == 200
    assert client.post(f"/resetpassword/form?pk={coach_id}", data=new).status_code == 302
    assert password_hash(app, "coach") != old


def test_own_details_form_refuses_names_longer_than_the_column(app: Flask, admin: dict) -> None:
    client, token = admin["client"], admin["token"]
    before = snapshot(app)
    resp = client.post("/userinfoeditview/form", data={"first_name": "x" * 65, "last_name": "Y", "csrf_token": token})
    assert resp.status_code == 200
    assert "64" in resp.get_data(as_text=True)  # WTForms' length message names the limit
    assert snapshot(app) == before
    resp = client.post("/userinfoeditview/form", data={"first_name": "Ada", "last_name": "Admin", "csrf_token": token})
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(ConsoleUser.first_name).where(ConsoleUser.username == "admin")) == "Ada"


def test_database_refusals_carry_a_fixed_message_not_sql(app: Flask) -> None:
    """FAB's add/edit/delete flash ``str(exc)``: the SQL and its parameters (a new account's hash, say).

    The forms' own checks (unique names, lengths) stop these before the database in normal use,
    so the security views' interface is exercised directly here, on the real database.
    """
    from app.web.security.views import SafeSQLAInterface

    sm = app.appbuilder.sm
    before = snapshot(app)
    with app.app_context():
        roles = SafeSQLAInterface(sm.role_model)
        with pytest.raises(DatabaseException) as added:
            roles.add(sm.role_model(name="Coach"))
        coach = sm.find_role("Support")
        coach.name = "Admin"
        with pytest.raises(DatabaseException) as edited:
            roles.edit(coach)
        in_use = db.session.scalars(select(sm.permission_model)).first()
        with pytest.raises(DatabaseException) as deleted:
            SafeSQLAInterface(sm.permission_model).delete(in_use)
        db.session.rollback()
    assert str(added.value) == str(edited.value) == "Not saved: the database refused the change."
    assert str(deleted.value) == "Not deleted: other records still refer to this one."
    assert snapshot(app) == before


def test_no_password_hash_in_any_security_page(app: Flask, admin: dict) -> None:
    client = admin["client"]
    with app.app_context():
        accounts = [(u.id, u.password) for u in db.session.scalars(select(ConsoleUser))]
        role_ids = ids(app, "ab_role")
    hashes = [h for _, h in accounts]
    assert all(h and len(h) > 30 for h in hashes)
    view = view_of(app, "UserDBModelView")
    for attr in ("list_columns", "show_columns", "edit_columns", "search_columns", "order_columns"):
        assert "password" not in (getattr(view, attr) or []), attr
    pages = ["/users/list/", "/users/userinfo/", "/users/add", "/roles/list/", "/groups/list/"]
    pages += [f"/users/list/?_oc_UserDBModelView={c}&_od_UserDBModelView=asc" for c in ("password", "username")]
    pages += [f"/users/{route}/{pk}" for pk, _ in accounts for route in ("show", "edit")]
    pages += [f"/roles/show/{pk}" for pk in role_ids]  # lists the role's accounts
    for url in pages:
        resp = client.get(url)
        assert resp.status_code == 200, url
        body = resp.get_data(as_text=True)
        for secret in hashes:
            assert secret not in body and secret.split("$")[-1] not in body, url
    add_form = client.get("/users/add").get_data(as_text=True)
    fields = re.findall(r"<input[^>]*password[^>]*>", add_form)
    assert len(fields) == 2 and all(re.search(r'value="[^"]', f) is None for f in fields), fields
    endpoints = {r.endpoint for r in app.url_map.iter_rules() if r.endpoint.partition(".")[0] in FAB_SECURITY_VIEWS}
    assert not {e for e in endpoints if e.rpartition(".")[2] in ("export", "download", "api_read", "get_list")}


def test_a_relation_key_that_matches_nothing_is_a_form_error(app: Flask, admin: dict) -> None:
    """FAB's multiple-select dropped unknown keys silently: a role was saved without them."""
    client, token = admin["client"], admin["token"]
    with app.app_context():
        sm = app.appbuilder.sm
        permission_id = str(db.session.scalars(select(sm.permissionview_model.id)).first())
        coach_role_id = str(sm.find_role("Coach").id)
        support_id = str(db.session.scalar(select(ConsoleUser.id).where(ConsoleUser.username == "support")))
    before = snapshot(app)
    for bad in ("abc", "987654321", "99999999999999999999"):
        resp = client.post(
            "/roles/add", data={"name": "New role", "permissions": [permission_id, bad], "csrf_token": token}
        )
        assert resp.status_code == 200 and "Not a valid choice" in resp.get_data(as_text=True), bad
        resp = client.post(f"/users/edit/{support_id}", data={
            "first_name": "Changed", "last_name": "Person", "username": "support", "email": "support@coachdesk.test",
            "active": "y", "roles": [coach_role_id, bad], "csrf_token": token,
        })  # fmt: skip
        assert resp.status_code == 200 and "Not a valid choice" in resp.get_data(as_text=True), bad
    assert snapshot(app) == before
    resp = client.post("/roles/add", data={"name": "New role", "permissions": [permission_id], "csrf_token": token})
    assert resp.status_code == 302
    with app.app_context():
        assert [str(p.id) for p in app.appbuilder.sm.find_role("New role").permissions] == [permission_id]
