"""Flask-Admin catalogue grids and file browsers at /admin, guarded by FAB permissions."""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import json
import logging
import re
from urllib.parse import urljoin, urlparse

import openpyxl
import pytest
from sqlalchemy import func, select

from app.models.commerce import DiscountType, Product, ProductCategory, Promotion
from app.models.training import Badge, Difficulty, Exercise, Habit, HabitFrequency, Meal
from app.policy.roles import CONSOLE_ROLES, READ, WRITE, allowed
from tests.support.web import csrf_token, login

GRIDS = {
    # url suffix: (resource, model, an editable column, a valid new value)
    "exercises": ("Exercises", Exercise, "equipment", "Kettlebell 16 kg"),
    "meals": ("Meals", Meal, "allergens", "nuts"),
    "habits": ("Habits", Habit, "name", "Drink water"),
    "products": ("Products", Product, "price", "49.90"),
    "promotions": ("Promotions", Promotion, "usage_limit", "250"),
    "badges": ("Badges", Badge, "name", "Early bird"),
}
AREA = "CatalogueGrids"
TOKEN_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def seed_catalogue(app) -> dict[str, int]:
    """One row per catalogue entity; returns their ids by grid."""
    from app.extensions import db

    with app.app_context():
        rows = {
            "exercises": Exercise(name="Goblet squat", category="legs", difficulty=Difficulty.BEGINNER),
            "meals": Meal(name="Oat bowl", macros_json={"kcal": 420}),
            "habits": Habit(name="Walk", frequency=HabitFrequency.DAILY),
            "products": Product(
                name="Coaching 12 weeks",
                category=ProductCategory.COACHING,
                price=decimal.Decimal("99.00"),
                currency="EUR",
                duration_weeks=12,
            ),
            "promotions": Promotion(
                code="SPRING",
                discount_type=DiscountType.PERCENT,
                value=decimal.Decimal("10"),
                start_date=dt.date(2026, 3, 1),
                end_date=dt.date(2026, 3, 31),
            ),
            "badges": Badge(code="FIRST", name="First workout"),
        }
        db.session.add_all(rows.values())
        db.session.commit()
        return {name: row.id for name, row in rows.items()}


def column_value(app, model, pk, column):
    from app.extensions import db

    with app.app_context():
        db.session.expire_all()
        return getattr(db.session.get(model, pk), column)


def page_token(client, url: str) -> str:
    match = TOKEN_RE.search(client.get(url).get_data(as_text=True))
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def sign_in(client, account) -> str:
    """Sign in and return the session's CSRF token (CSRFProtect keeps one per session)."""
    token = csrf_token(client)
    login(client, account.username, account.password)
    return token


def inline_edit(client, grid: str, pk: int, column: str, value: str, token: str | None):
    data = {"list_form_pk": str(pk), column: value}
    if token is not None:
        data["csrf_token"] = token
    return client.post(f"/admin/{grid}/ajax/update/", data=data)


# --------------------------------------------------------------------------- permissions


@pytest.mark.parametrize("role", CONSOLE_ROLES)
def test_each_role_gets_exactly_what_roles_py_grants_on_each_grid(app, client, accounts, role):
    ids = seed_catalogue(app)
    token = sign_in(client, accounts[role])
    for grid, (resource, model, column, value) in GRIDS.items():
        may_read = allowed(role, AREA, READ) and allowed(role, resource, READ)
        may_write = allowed(role, AREA, WRITE) and allowed(role, resource, WRITE)
        listing = client.get(f"/admin/{grid}/")
        assert listing.status_code == (200 if may_read else 403), (role, grid, "list")
        export = client.get(f"/admin/{grid}/export/csv/")
        export.get_data()  # consume the streamed body before the next request
        export.close()
        assert export.status_code == (200 if may_read else 403), (role, grid, "export")
        new_form = client.get(f"/admin/{grid}/new/")
        assert new_form.status_code == (200 if may_write else 403), (role, grid, "new")
        edit_form = client.get(f"/admin/{grid}/edit/?id={ids[grid]}")
        assert edit_form.status_code == (200 if may_write else 403), (role, grid, "edit")
        if may_read:
            page = listing.get_data(as_text=True)
            assert (f"/admin/{grid}/new/" in page) == may_write, (role, grid, "create button shown")
            assert ('data-role="x-editable' in page) == may_write, (role, grid, "inline editors shown")
        before = column_value(app, model, ids[grid], column)
        edited = inline_edit(client, grid, ids[grid], column, value, token)
        after = column_value(app, model, ids[grid], column)
        if may_write:
            assert edited.status_code == 200, (role, grid, edited.get_data(as_text=True))
            assert str(after) == value
        else:
            assert edited.status_code == 403, (role, grid, "inline edit")
            assert after == before
        deleted = client.post(f"/admin/{grid}/delete/", data={"id": str(ids[grid]), "csrf_token": token})
        exists = column_value(app, model, ids[grid], "id") if not may_write else None
        if not may_write:
            assert deleted.status_code == 403 and exists == ids[grid], (role, grid, "delete")


def test_writers_can_delete_through_the_grid(app, client, accounts):
    ids = seed_catalogue(app)
    login(client, accounts["Manager"].username, accounts["Manager"].password)
    token = page_token(client, "/admin/products/")
    resp = client.post("/admin/products/delete/", data={"id": str(ids["products"]), "csrf_token": token})
    assert resp.status_code == 302
    from app.extensions import db

    with app.app_context():
        assert db.session.get(Product, ids["products"]) is None


def test_catalogue_grids_resource_gates_the_area(app, client, accounts):
    """Support may read Exercises in FAB but holds no CatalogueGrids: no grid at all."""
    assert allowed("Support", "Exercises", READ) and not allowed("Support", AREA, READ)
    login(client, accounts["Support"].username, accounts["Support"].password)
    assert client.get("/admin/").status_code == 403
    assert client.get("/admin/exercises/").status_code == 403


def test_coach_browses_catalogue_read_only(app, client, accounts):
    ids = seed_catalogue(app)
    token = sign_in(client, accounts["Coach"])
    assert client.get("/admin/exercises/").status_code == 200
    assert client.get("/admin/products/").status_code == 403  # coaches hold no Products
    resp = inline_edit(client, "exercises", ids["exercises"], "equipment", "Barbell", token)
    assert resp.status_code == 403
    assert column_value(app, Exercise, ids["exercises"], "equipment") is None


def test_anonymous_is_sent_to_login_from_every_admin_url(app, client):
    urls = [rule.rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/admin")]
    urls = [u for u in urls if "<" not in u and not u.startswith("/admin/static")]
    assert "/admin/" in urls and "/admin/products/" in urls and "/admin/exports/" in urls
    rules = [r for r in app.url_map.iter_rules() if r.rule.startswith("/admin") and "GET" in r.methods]
    urls = [r.rule for r in rules if "<" not in r.rule and not r.rule.startswith("/admin/static")]
    for url in urls:
        resp = client.get(url)
        assert resp.status_code == 302, url
        assert urlparse(resp.headers["Location"]).path == "/login/", url
    resp = client.post("/admin/products/ajax/update/", data={"list_form_pk": "1", "price": "1"})
    assert resp.status_code in (302, 400)  # refused before any view code: CSRF (400) or login (302)


def test_every_admin_view_carries_the_guard(app):
    from app.web.admin.guard import FabPermissionMixin

    views = app.extensions["admin"][0]._views
    assert len(views) == 9  # index + 6 grids + 2 file browsers
    assert all(isinstance(v, FabPermissionMixin) for v in views)


def test_endpoints_do_not_clash_with_fab_blueprints(app):
    admin = app.extensions["admin"][0]
    fab_names = {view.endpoint for view in app.appbuilder.baseviews}
    admin_names = {view.endpoint for view in admin._views}
    assert all(name.startswith("admin_") for name in admin_names)
    assert not fab_names & admin_names
    assert admin_names <= set(app.blueprints)


def test_console_accounts_are_never_exposed(app, client, accounts):
    from app.models.identity import ConsoleUser

    admin = app.extensions["admin"][0]
    models = {getattr(v, "model", None) for v in admin._views}
    assert ConsoleUser not in models and not any(m is not None and m.__tablename__ == "ab_user" for m in models)
    login(client, accounts["Admin"].username, accounts["Admin"].password)
    for url in ("/admin/user/", "/admin/ab_user/", "/admin/consoleuser/", "/admin/users/"):
        assert client.get(url).status_code == 404, url


# --------------------------------------------------------------------------- CSRF and bad input


def test_inline_edit_without_csrf_token_is_refused(app, client, accounts):
    ids = seed_catalogue(app)
    login(client, accounts["Manager"].username, accounts["Manager"].password)
    resp = inline_edit(client, "products", ids["products"], "price", "1.00", token=None)
    assert resp.status_code == 400
    assert column_value(app, Product, ids["products"], "price") == decimal.Decimal("99.00")
    resp = inline_edit(client, "products", ids["products"], "price", "1.00", token="forged-token")
    assert resp.status_code == 400
    assert column_value(app, Product, ids["products"], "price") == decimal.Decimal("99.00")


def test_create_without_csrf_token_is_refused(app, client, accounts):
    login(client, accounts["Manager"].username, accounts["Manager"].password)
    resp = client.post("/admin/badges/new/", data={"code": "NOCSRF", "name": "No token"})
    assert resp.status_code == 400
    from app.extensions import db

    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Badge)) == 0


@pytest.mark.parametrize(
    ("grid", "column", "value", "message"),
    [
        ("products", "price", "-5", "zero or more"),
        ("products", "currency", "euro", "ISO 4217"),
        ("products", "duration_weeks", "0", "at least one week"),
        ("products", "price", "abc", "Not a valid decimal"),
        ("promotions", "end_date", "2026-02-01", "end date must be on or after the start date"),
        ("promotions", "value", "150", "cannot exceed 100"),
        ("promotions", "usage_limit", "-1", "zero or more"),
        ("habits", "frequency", "HOURLY", "Not a valid choice"),
        ("products", "price", "12345678901234.50", "Too large"),
        ("promotions", "usage_limit", "99999999999", "Too large"),
        ("exercises", "name", "x" * 300, "longer than 200"),
        ("exercises", "name", "", "required"),
    ],
)
def test_invalid_inline_edit_is_a_clear_400_and_changes_nothing(app, client, accounts, grid, column, value, message):
    ids = seed_catalogue(app)
    model = GRIDS[grid][1]
    before = column_value(app, model, ids[grid], column)
    login(client, accounts["Admin"].username, accounts["Admin"].password)
    token = page_token(client, f"/admin/{grid}/")
    resp = inline_edit(client, grid, ids[grid], column, value, token)
    assert resp.status_code == 400, resp.get_data(as_text=True)
    text = resp.get_data(as_text=True)
    assert message.lower() in text.lower()
    assert "SELECT" not in text and "UPDATE" not in text  # no SQL echoed back
    assert column_value(app, model, ids[grid], column) == before


def test_inline_edit_of_unknown_record_is_not_a_500(app, client, accounts):
    seed_catalogue(app)
    login(client, accounts["Admin"].username, accounts["Admin"].password)
    token = page_token(client, "/admin/products/")
    resp = inline_edit(client, "products", 999_999, "price", "5", token)
    assert resp.status_code == 400
    assert "does not exist" in resp.get_data(as_text=True)


def test_duplicate_code_is_refused_with_a_message(app, client, accounts):
    seed_catalogue(app)
    login(client, accounts["Admin"].username, accounts["Admin"].password)
    token = page_token(client, "/admin/badges/new/")
    resp = client.post(
        "/admin/badges/new/",
        data={"code": "FIRST", "name": "Duplicate", "csrf_token": token},
        follow_redirects=True,
    )
    text = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "already exists" in text.lower() and "INSERT" not in text
    from app.extensions import db

    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Badge)) == 1


def test_json_that_breaks_its_schema_is_refused_with_the_field_named(app, client, accounts):
    login(client, accounts["Admin"].username, accounts["Admin"].password)
    token = page_token(client, "/admin/meals/new/")
    bad_schema = client.post(
        "/admin/meals/new/",
        data={"name": "Soup", "macros_json": json.dumps({"kcal": -3}), "csrf_token": token},
        follow_redirects=True,
    )
    text = bad_schema.get_data(as_text=True)
    assert bad_schema.status_code == 200
    assert "macros_json" in text and "kcal" in text
    not_json = client.post(
        "/admin/meals/new/",
        data={"name": "Soup", "macros_json": "{kcal: 1", "csrf_token": token},
        follow_redirects=True,
    )
    assert not_json.status_code == 200
    assert "Invalid JSON" in not_json.get_data(as_text=True)
    from app.extensions import db

    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Meal)) == 0


# --------------------------------------------------------------------------- exports


def test_csv_export_is_a_real_csv_of_the_grid(app, client, accounts):
    seed_catalogue(app)
    login(client, accounts["Manager"].username, accounts["Manager"].password)
    resp = client.get("/admin/products/export/csv/")
    assert resp.status_code == 200
    assert "attachment" in resp.headers["Content-Disposition"] and ".csv" in resp.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True))))
    assert rows[0] == ["Name", "Category", "Price", "Currency", "Duration (weeks)"]
    assert rows[1][0] == "Coaching 12 weeks" and rows[1][2] == "99.00" and rows[1][3] == "EUR"
    assert len(rows) == 2
    with app.app_context():
        from app.extensions import db
        from app.models import AuditLog

        audited = db.session.query(AuditLog).filter_by(action="export.grid").one()
        assert audited.metadata_json["format"] == "csv" and audited.actor_id is not None


def test_xlsx_export_is_a_real_workbook(app, client, accounts):
    seed_catalogue(app)
    login(client, accounts["Manager"].username, accounts["Manager"].password)
    resp = client.get("/admin/promotions/export/xlsx/")
    assert resp.status_code == 200
    workbook = openpyxl.load_workbook(io.BytesIO(resp.data), read_only=True)
    rows = list(workbook.active.iter_rows(values_only=True))
    assert rows[0] == ("Code", "Discount type", "Value", "Starts", "Ends", "Usage limit")
    assert rows[1][0] == "SPRING" and "PERCENT" in str(rows[1][1])
    assert len(rows) == 2


def test_export_respects_the_search(app, client, accounts):
    from app.extensions import db

    seed_catalogue(app)
    with app.app_context():
        db.session.add(Exercise(name="Push-up", category="upper", difficulty=Difficulty.BEGINNER))
        db.session.commit()
    login(client, accounts["Manager"].username, accounts["Manager"].password)
    resp = client.get("/admin/exercises/export/csv/?search=push")
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True))))
    assert [r[0] for r in rows[1:]] == ["Push-up"]


def test_unknown_export_type_is_refused(app, client, accounts):
    login(client, accounts["Manager"].username, accounts["Manager"].password)
    resp = client.get("/admin/products/export/yaml/", follow_redirects=False)
    assert resp.status_code in (302, 404)
    assert resp.status_code != 500


# --------------------------------------------------------------------------- look, language, offline


def test_pages_sit_with_the_console(app, client, accounts):
    login(client, accounts["Manager"].username, accounts["Manager"].password)
    page = client.get("/admin/products/").get_data(as_text=True)
    assert app.config["APP_NAME"] in page
    assert 'data-link="console"' in page and 'href="/"' in page
    with app.app_context():  # the person's full name, as the console shows it (issue 17), not the username
        full_name = app.appbuilder.sm.find_user(username=accounts["Manager"].username).get_full_name()
    assert f"</i> {full_name}</a>" in page
    index = client.get("/admin/").get_data(as_text=True)
    assert "/admin/products/" in index and "/admin/exports/" not in index  # managers hold no AuditExports


def test_flask_admin_follows_the_console_language(app, client, accounts):
    login(client, accounts["Manager"].username, accounts["Manager"].password)
    english = client.get("/admin/products/").get_data(as_text=True)
    assert ">List" in english or "List\n" in english
    with client.session_transaction() as sess:
        sess["locale"] = "es"
    spanish = client.get("/admin/products/").get_data(as_text=True)
    assert "Lista" in spanish and "Exportar" in spanish  # our catalogue first, then Flask-Admin's


def _local_assets(page: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"#]+)"', page)


def test_no_admin_page_loads_anything_from_the_internet(app, client, accounts, export_dirs):
    seed_catalogue(app)
    login(client, accounts["Admin"].username, accounts["Admin"].password)
    pages = ["/admin/", "/admin/exports/", "/admin/archive/"]
    for grid in GRIDS:
        pages += [f"/admin/{grid}/", f"/admin/{grid}/new/", f"/admin/{grid}/details/?id=1"]
    seen_assets: set[str] = set()
    for url in pages:
        resp = client.get(url)
        assert resp.status_code in (200, 302), url
        page = resp.get_data(as_text=True)
        for ref in _local_assets(page):
            parsed = urlparse(ref)
            assert not parsed.netloc and parsed.scheme in ("", "javascript"), f"{url} references {ref}"
            if parsed.path.endswith((".css", ".js")):
                seen_assets.add(parsed.path)
        assert not re.search(r"url\(\s*['\"]?(https?:)?//", page), url
    assert any(a.endswith("bootstrap.min.css") for a in seen_assets)
    for asset in sorted(seen_assets):
        resp = client.get(asset)
        assert resp.status_code == 200, asset
        body = resp.get_data(as_text=True)
        resp.close()
        if asset.endswith(".css"):
            assert not re.search(r"(@import|url\()\s*['\"]?(https?:)?//", body), f"{asset} loads from the internet"


# --------------------------------------------------------------------------- read-only file browsers


@pytest.fixture
def export_dirs(app, tmp_path, monkeypatch):
    exports, archive = tmp_path / "exports", tmp_path / "archive"
    (exports / "2026").mkdir(parents=True)
    (exports / "2026" / "audit-0001.csv").write_text("id,action\n1,login\n")
    (exports / "2026" / "audit-0002.csv.part").write_text("half written")
    (exports / "2026" / ".hidden").write_text("hidden")
    (tmp_path / "exports-private").mkdir()
    (tmp_path / "exports-private" / "secret.csv").write_text("nope")
    monkeypatch.setitem(app.config, "EXPORTS_DIR", exports)
    monkeypatch.setitem(app.config, "ARCHIVE_DIR", archive)
    return exports, archive


@pytest.mark.parametrize("role", CONSOLE_ROLES)
def test_file_browser_is_guarded_by_audit_exports(app, client, accounts, export_dirs, role):
    login(client, accounts[role].username, accounts[role].password)
    expected = 200 if allowed(role, "AuditExports", READ) else 403
    assert client.get("/admin/exports/").status_code == expected
    assert client.get("/admin/exports/b/2026").status_code == expected
    assert client.get("/admin/exports/download/2026/audit-0001.csv").status_code == expected
    assert client.get("/admin/archive/").status_code == expected


def test_compliance_downloads_and_the_hook_records_it(app, client, accounts, export_dirs, caplog):
    login(client, accounts["Compliance"].username, accounts["Compliance"].password)
    listing = client.get("/admin/exports/b/2026").get_data(as_text=True)
    assert "audit-0001.csv" in listing
    assert "audit-0002.csv.part" not in listing and ".hidden" not in listing
    assert client.get("/admin/exports/download/2026/audit-0002.csv.part").status_code == 404
    assert client.get("/admin/exports/download/2026/.hidden").status_code == 404
    with caplog.at_level(logging.INFO, logger="coachdesk.downloads"):
        resp = client.get("/admin/exports/download/2026/audit-0001.csv")
        assert resp.status_code == 200 and resp.data == b"id,action\n1,login\n"
        resp.close()
    events = [json.loads(r.getMessage()) for r in caplog.records if r.name == "coachdesk.downloads"]
    assert len(events) == 1
    assert events[0]["path"] == "2026/audit-0001.csv" and events[0]["area"] == "admin_exports"
    assert events[0]["user_id"] is not None and events[0]["size_bytes"] == 18
    with app.app_context():
        from app.extensions import db
        from app.models import AuditLog

        audited = db.session.query(AuditLog).filter_by(action="export.download").one()
        assert audited.resource_id == "2026/audit-0001.csv" and audited.actor_id is not None


def test_file_browser_is_read_only_for_everyone(app, client, accounts, export_dirs):
    exports, _ = export_dirs
    for role in ("Compliance", "Admin"):
        token = sign_in(client, accounts[role])
        page = client.get("/admin/exports/b/2026").get_data(as_text=True)
        assert "/admin/exports/upload/" not in page and "/admin/exports/mkdir/" not in page
        refused = [
            client.get("/admin/exports/upload/"),
            client.post("/admin/exports/upload/", data={"csrf_token": token}),
            client.post("/admin/exports/mkdir/", data={"name": "x", "csrf_token": token}),
            client.post("/admin/exports/delete/", data={"path": "2026/audit-0001.csv", "csrf_token": token}),
            client.post("/admin/exports/rename/?path=2026", data={"name": "y", "csrf_token": token}),
            client.get("/admin/exports/edit/?path=2026/audit-0001.csv"),
            client.post(
                "/admin/exports/action/", data={"action": "delete", "rowid": "2026/audit-0001.csv", "csrf_token": token}
            ),
        ]
        assert [r.status_code for r in refused] == [403] * len(refused), role
        client.post("/logout/", data={"csrf_token": csrf_token(client, "/")})
    assert sorted(p.name for p in exports.rglob("*")) == [".hidden", "2026", "audit-0001.csv", "audit-0002.csv.part"]


def test_file_browser_stays_inside_its_directory(app, client, accounts, export_dirs, tmp_path):
    exports, _ = export_dirs
    (exports / "escape").symlink_to(tmp_path / "exports-private")
    login(client, accounts["Compliance"].username, accounts["Compliance"].password)
    assert "escape" not in client.get("/admin/exports/").get_data(as_text=True)
    for url in (
        "/admin/exports/download/../exports-private/secret.csv",
        "/admin/exports/download/%2e%2e/exports-private/secret.csv",
        "/admin/exports/b/..%2Fexports-private",
        "/admin/exports/download/escape/secret.csv",
        "/admin/exports/b/escape",
        "/admin/exports/download/2026/missing.csv",
        "/admin/exports/download/2026",
    ):
        resp = client.get(url)
        assert resp.status_code == 404, url
        assert b"nope" not in resp.data


def test_grid_links_resolve(app, client, accounts, export_dirs):
    """Every link on the index leads somewhere the user may go."""
    login(client, accounts["Admin"].username, accounts["Admin"].password)
    index = client.get("/admin/").get_data(as_text=True)
    links = sorted(set(re.findall(r'href="(/admin/[^"]+)"', index)))
    assert len(links) >= 8
    for link in links:
        assert client.get(urljoin("/admin/", link)).status_code == 200, link


def test_database_refusals_are_reported_by_rule_name(app):
    """What the database still refuses is named by its constraint, on both backends, never echoed as SQL."""
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    from app.extensions import db
    from app.web.admin.grids import constraint_name

    with app.app_context():
        with pytest.raises(IntegrityError) as refused:
            db.session.execute(
                text("INSERT INTO products (name, category, price, currency) VALUES ('x', 'COACHING', -1, 'EUR')")
            )
        db.session.rollback()
    assert "price_non_negative" in constraint_name(refused.value)


@pytest.mark.parametrize("role", CONSOLE_ROLES)
def test_console_menu_leads_to_the_areas_each_role_may_use(app, client, accounts, role):
    login(client, accounts[role].username, accounts[role].password)
    home = client.get("/").get_data(as_text=True)
    for link, resource, target in (
        ("/catalogue-grids/", AREA, "/admin/"),
        ("/audit-files/", "AuditExports", "/admin/exports/"),
    ):
        may = allowed(role, resource, READ)
        assert (f'href="{link}"' in home) == may, (role, link)
        resp = client.get(link)
        if may:
            assert resp.status_code == 302 and urlparse(resp.headers["Location"]).path == target
        else:
            assert resp.status_code in (302, 403) and urlparse(resp.headers.get("Location", "")).path != target


def _filter_arg(app, endpoint: str, column: str, operation: str) -> str:
    view = next(v for v in app.extensions["admin"][0]._views if v.endpoint == endpoint)
    for index, flt in enumerate(view._filters):
        if flt.column.name == column and str(flt.operation()) == operation:
            return f"flt0_{index}"
    raise AssertionError(f"no {operation!r} filter on {column}")


def test_typed_filters_narrow_the_grid_and_its_export(app, client, accounts):
    from app.extensions import db

    seed_catalogue(app)
    with app.app_context():
        db.session.add_all(
            [
                Product(name="Meal plan", category=ProductCategory.NUTRITION, price=decimal.Decimal("19.00")),
                Product(name="Class pack", category=ProductCategory.CLASS_PACK, price=decimal.Decimal("150.00")),
            ]
        )
        db.session.commit()
    login(client, accounts["Manager"].username, accounts["Manager"].password)
    by_category = _filter_arg(app, "admin_products", "category", "equals")
    rows = list(
        csv.reader(io.StringIO(client.get(f"/admin/products/export/csv/?{by_category}=NUTRITION").get_data(True)))
    )
    assert [r[0] for r in rows[1:]] == ["Meal plan"]
    cheaper = _filter_arg(app, "admin_products", "price", "smaller than")
    page = client.get(f"/admin/products/?{cheaper}=100").get_data(as_text=True)
    assert "Meal plan" in page and "Coaching 12 weeks" in page and "Class pack" not in page
    bad = client.get(f"/admin/products/?{cheaper}=lots")
    assert bad.status_code == 200  # an unusable filter value is ignored with a message, not a 500


def test_grid_exports_are_recorded_before_they_stream(app, client, accounts, caplog):
    seed_catalogue(app)
    login(client, accounts["Manager"].username, accounts["Manager"].password)
    with caplog.at_level(logging.INFO, logger="coachdesk.downloads"):
        resp = client.get("/admin/products/export/xlsx/?search=coach")
        assert resp.status_code == 200
    events = [json.loads(r.getMessage()) for r in caplog.records if r.name == "coachdesk.downloads"]
    assert len(events) == 1
    assert events[0]["event"] == "grid_exported" and events[0]["grid"] == "admin_products"
    assert events[0]["format"] == "xlsx" and events[0]["query"] == {"search": "coach"}
    assert events[0]["user_id"] is not None


def test_stored_markup_is_escaped_in_grids(app, client, accounts):
    from app.extensions import db

    with app.app_context():
        db.session.add(
            Exercise(name='<script>alert("x")</script>', category="<b>legs</b>", difficulty=Difficulty.BEGINNER)
        )
        db.session.commit()
    login(client, accounts["Admin"].username, accounts["Admin"].password)
    page = client.get("/admin/exercises/").get_data(as_text=True)
    assert '<script>alert("x")</script>' not in page and "<b>legs</b>" not in page
    assert "&lt;script&gt;" in page


def test_page_size_is_capped(app, client, accounts):
    from app.extensions import db

    with app.app_context():
        db.session.add_all(Habit(name=f"Habit {i:03}", frequency=HabitFrequency.DAILY) for i in range(120))
        db.session.commit()
    login(client, accounts["Manager"].username, accounts["Manager"].password)
    page = client.get("/admin/habits/?page_size=100000").get_data(as_text=True)
    shown = len(re.findall(r"Habit \d{3}", page))
    assert 0 < shown <= 100


def test_admin_view_resources_describe_every_blueprint(app):
    from app.web.admin import admin_view_resources

    resources = admin_view_resources(app)
    assert resources["admin_products"] == (AREA, "Products")
    assert resources["admin_exports"] == ("AuditExports",)
    assert set(resources) == {v.endpoint for v in app.extensions["admin"][0]._views}


def test_the_grid_pages_like_the_console(app, client, accounts):
    """25 exercises at 20 a page: the console's pager (« ‹ 1 2 ›, no javascript: links); › opens page 2."""
    from app.extensions import db

    with app.app_context():
        db.session.add_all(
            Exercise(name=f"Drill {n:02d}", category="legs", difficulty=Difficulty.BEGINNER) for n in range(25)
        )
        db.session.commit()
    sign_in(client, accounts["Admin"])
    first = client.get("/admin/exercises/?page_size=20&sort=0").get_data(as_text=True)
    pager = re.search(r'<ul class="pagination pagination-sm cd-pager".*?</ul>', first, re.S).group(0)
    assert "javascript:" not in pager and ">2</a>" in pager and "&lsaquo;" in pager
    following = re.search(r'rel="next" href="([^"]+)"', pager).group(1).replace("&amp;", "&")
    second = client.get(following).get_data(as_text=True)
    names = set(re.findall(r"Drill \d\d", second))
    assert len(names) == 5 and not names & set(re.findall(r"Drill \d\d", first))
