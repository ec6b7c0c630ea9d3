"""Bulk import: upload, preview with per-row errors, all-or-nothing commit as a real RQ job, audit."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
import sqlalchemy as sa
from openpyxl import Workbook
from redis import Redis

from app.extensions import db
from app.models.commerce import Product, Promotion
from app.models.compliance import AuditLog
from app.models.customers import CoachAssignment, CustomerProfile
from app.models.identity import PlatformUser, RoleCode, UserRole
from app.models.training import Exercise
from app.services.accounts import ensure_platform_role
from tests.support.jobworker import _run_worker
from tests.support.web import csrf_token, login

CUSTOMERS = (
    "email,full_name,phone,status,gender,timezone,date_of_birth,coach_email\n"
    "ana@example.test,Ana Ruiz,+34 600,ACTIVE,Female,Europe/Madrid,1990-04-01,coach@coachdesk.test\n"
    "ben@example.test,Ben Ode,,invited,,UTC,,\n"
)


def _client(app, accounts, role, tmp_path, monkeypatch, redis_url=None):
    monkeypatch.setitem(app.config, "IMPORTS_DIR", tmp_path / "imports")
    if redis_url:
        monkeypatch.setitem(app.config, "REDIS_URL", redis_url)
        Redis.from_url(redis_url).flushdb()
    client = app.test_client()
    token = csrf_token(client)
    login(client, accounts[role].username, accounts[role].password)
    return client, token


def _upload(client, token, table, name, data: bytes):
    return client.post(
        f"/imports/{table}/upload",
        data={"csrf_token": token, "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def _coach_user(app) -> None:
    """The Coach account's platform user carries the COACH seed role (coach_email references it)."""
    with app.app_context():
        coach = db.session.scalar(sa.select(PlatformUser).where(PlatformUser.email == "coach@coachdesk.test"))
        role = ensure_platform_role(RoleCode.COACH)
        if not db.session.scalar(sa.select(UserRole).where(UserRole.user_id == coach.id, UserRole.role_id == role.id)):
            db.session.add(UserRole(user_id=coach.id, role_id=role.id))
        db.session.commit()


def _commit_and_run(app, client, token, preview_url, redis_url):
    resp = client.post(preview_url.replace("/preview/", "/commit/"), data={"csrf_token": token})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    run_url = resp.headers["Location"]
    _run_worker(app, redis_url)
    return run_url


def test_customers_csv_preview_commit_through_the_job(app, accounts, tmp_path, monkeypatch, redis_url):
    _coach_user(app)
    client, token = _client(app, accounts, "Support", tmp_path, monkeypatch, redis_url)
    resp = _upload(client, token, "customers", "people.csv", CUSTOMERS.encode())
    assert resp.status_code == 302
    preview_url = resp.headers["Location"]
    page = client.get(preview_url).get_data(as_text=True)
    assert "2 rows: 2 valid, 0 invalid." in page and "Ana Ruiz" in page
    with app.app_context():
        assert db.session.scalar(sa.select(PlatformUser).where(PlatformUser.email == "ana@example.test")) is None

    run_url = _commit_and_run(app, client, token, preview_url, redis_url)
    status = client.get(run_url + "/status").get_json()
    assert status["status"] == "succeeded", status
    assert status["result"]["written"] == 2 and status["done"] == status["total"] == 4
    assert "2 rows imported." in client.get(run_url).get_data(as_text=True)
    with app.app_context():
        ana = db.session.scalar(sa.select(PlatformUser).where(PlatformUser.email == "ana@example.test"))
        assert ana.status == "ACTIVE" and ana.full_name == "Ana Ruiz"
        assert {r.code for r in ana.roles} == {RoleCode.CUSTOMER}
        profile = db.session.get(CustomerProfile, ana.id)
        assert (profile.timezone, profile.gender, str(profile.date_of_birth)) == (
            "Europe/Madrid",
            "FEMALE",
            "1990-04-01",
        )
        assert db.session.scalar(sa.select(CoachAssignment.customer_id)) == ana.id
        ben = db.session.scalar(sa.select(PlatformUser).where(PlatformUser.email == "ben@example.test"))
        assert ben.status == "INVITED"
        audit = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "import.commit")).all()
        assert len(audit) == 1
        assert audit[0].metadata_json["rows_written"] == 2 and "ana@example.test" not in str(audit[0].metadata_json)
        assert audit[0].actor_id is not None


def test_xlsx_exercises_commit_on_sqlite(sqlite_app, tmp_path, monkeypatch, redis_url):
    from tests.support.apps import make_accounts

    accounts = make_accounts(sqlite_app)
    client, token = _client(sqlite_app, accounts, "Admin", tmp_path, monkeypatch, redis_url)
    book = Workbook()
    sheet = book.active
    sheet.append(["Name", "Category", "Difficulty", "Equipment"])
    sheet.append(["Squat", "legs", "BEGINNER", "bar"])
    sheet.append(["Plank", "core", "Advanced", None])
    buffer = io.BytesIO()
    book.save(buffer)
    resp = _upload(client, token, "exercises", "moves.xlsx", buffer.getvalue())
    assert resp.status_code == 302
    preview_url = resp.headers["Location"]
    assert "2 rows: 2 valid, 0 invalid." in client.get(preview_url).get_data(as_text=True)
    run_url = _commit_and_run(sqlite_app, client, token, preview_url, redis_url)
    assert client.get(run_url + "/status").get_json()["status"] == "succeeded"
    with sqlite_app.app_context():
        rows = db.session.execute(sa.select(Exercise.name, Exercise.difficulty).order_by(Exercise.name)).all()
        assert [tuple(r) for r in rows] == [("Plank", "ADVANCED"), ("Squat", "BEGINNER")]


def test_invalid_rows_are_reported_per_row_and_nothing_is_written(sqlite_app, tmp_path, monkeypatch, redis_url):
    from tests.support.apps import make_accounts

    accounts = make_accounts(sqlite_app)
    with sqlite_app.app_context():
        db.session.add(Promotion(code="TAKEN", discount_type="PERCENT", value=5, start_date=dt.date(2026, 1, 1)))
        db.session.commit()
    client, token = _client(sqlite_app, accounts, "Manager", tmp_path, monkeypatch, redis_url)
    body = (
        "code,discount_type,value,start_date,end_date,currency\n"
        "SPRING,PERCENT,10,2026-03-01,2026-04-01,\n"
        "TAKEN,PERCENT,10,2026-03-01,,\n"
        "BAD,HALF,ten,2026-13-01,,\n"
        "FIX,FIXED,5,2026-03-01,,\n"
        "SPRING,PERCENT,150,2026-03-01,2026-02-01,\n"
    )
    resp = _upload(client, token, "promotions", "promos.csv", body.encode())
    preview_url = resp.headers["Location"]
    page = client.get(preview_url).get_data(as_text=True)
    assert "5 rows: 1 valid, 4 invalid." in page
    assert "cd-import-commit" not in page  # no commit button while a row is invalid
    report = client.get(preview_url.replace("/preview/", "/errors/"))
    assert report.status_code == 200
    rows = list(csv.DictReader(io.StringIO(report.get_data(as_text=True))))
    by_row = {r["row"]: r["errors"] for r in rows}
    assert set(by_row) == {"3", "4", "5", "6"}
    assert "code: already exists" in by_row["3"]
    assert "discount_type: not one of PERCENT, FIXED" in by_row["4"] and "value: not a number" in by_row["4"]
    assert "start_date: not a date" in by_row["4"]
    assert "currency: required for a FIXED discount" in by_row["5"]
    assert "code: repeats row 2" in by_row["6"]
    # Committing anyway (a forged POST) runs the job, which refuses and writes nothing, audited once.
    run_url = _commit_and_run(sqlite_app, client, token, preview_url, redis_url)
    status = client.get(run_url + "/status").get_json()
    assert status["status"] == "failed" and "4 rows are invalid" in status["error"]
    with sqlite_app.app_context():
        assert db.session.scalars(sa.select(Promotion.code)).all() == ["TAKEN"]
        refused = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "import.refused")).all()
        assert len(refused) == 1 and refused[0].metadata_json["rows_invalid"] == 4


def test_commit_is_all_or_nothing_when_a_row_fails_at_commit(sqlite_app, tmp_path, monkeypatch, redis_url):
    """A row valid at preview but taken by the time the job runs: the job writes none of the file."""
    from tests.support.apps import make_accounts

    accounts = make_accounts(sqlite_app)
    client, token = _client(sqlite_app, accounts, "Support", tmp_path, monkeypatch, redis_url)
    resp = _upload(client, token, "customers", "people.csv", CUSTOMERS.replace(",coach@coachdesk.test", ",").encode())
    preview_url = resp.headers["Location"]
    assert "2 rows: 2 valid, 0 invalid." in client.get(preview_url).get_data(as_text=True)
    with sqlite_app.app_context():
        db.session.add(PlatformUser(email="ben@example.test", full_name="Someone else"))
        db.session.commit()
    run_url = _commit_and_run(sqlite_app, client, token, preview_url, redis_url)
    status = client.get(run_url + "/status").get_json()
    assert status["status"] == "failed"
    with sqlite_app.app_context():
        assert db.session.scalar(sa.select(PlatformUser).where(PlatformUser.email == "ana@example.test")) is None
        assert _count(CustomerProfile) == 0


def test_commit_checks_the_grant_again_when_the_job_runs(sqlite_app, tmp_path, monkeypatch, redis_url):
    """Previewed by Support, who is then moved to the Coach role (no import grant) before the worker runs:
    the job writes nothing and says why."""
    from app.models.identity import ConsoleUser
    from tests.support.apps import make_accounts

    accounts = make_accounts(sqlite_app)
    client, token = _client(sqlite_app, accounts, "Support", tmp_path, monkeypatch, redis_url)
    resp = _upload(client, token, "customers", "people.csv", CUSTOMERS.replace(",coach@coachdesk.test", ",").encode())
    preview_url = resp.headers["Location"]
    assert "2 rows: 2 valid, 0 invalid." in client.get(preview_url).get_data(as_text=True)
    resp = client.post(preview_url.replace("/preview/", "/commit/"), data={"csrf_token": token})
    assert resp.status_code == 302
    with sqlite_app.app_context():
        account = db.session.scalar(sa.select(ConsoleUser).where(ConsoleUser.username == accounts["Support"].username))
        account.roles = [sqlite_app.appbuilder.sm.find_role("Coach")]
        db.session.commit()
    _run_worker(sqlite_app, redis_url)
    with sqlite_app.app_context():
        assert db.session.scalar(sa.select(PlatformUser).where(PlatformUser.email == "ana@example.test")) is None
        assert _count(CustomerProfile) == 0
        from app.models.jobs import JobRun

        run = db.session.scalar(sa.select(JobRun).order_by(JobRun.id.desc()))
        assert run.status == "failed", run.status
        assert "may no longer import" in (run.error or ""), run.error


def test_database_refusal_mid_write_rolls_back_every_batch(sqlite_app, tmp_path, monkeypatch):
    """The write itself fails on the last batch (a constraint): earlier batches are not kept."""
    from app.services.imports import commit as writer
    from app.services.imports.files import store
    from app.services.imports.service import preview
    from tests.support.apps import make_accounts

    make_accounts(sqlite_app)
    monkeypatch.setitem(sqlite_app.config, "IMPORTS_DIR", tmp_path / "imports")
    monkeypatch.setattr(writer, "BATCH", 2)
    body = "name,category,price,currency\n" + "".join(f"P{i},COACHING,{i},EUR\n" for i in range(5))
    with sqlite_app.app_context():
        upload = store("products", "p.csv", body.encode(), 1)
        spec, validation = preview(db.session, upload)
        validation.rows[-1].values["price"] = -1  # the database's CHECK refuses it in the last batch
        with pytest.raises(sa.exc.IntegrityError):
            writer.write(db.session, spec, validation)
        db.session.rollback()
        assert _count(Product) == 0


def test_permissions_and_bad_files(sqlite_app, tmp_path, monkeypatch):
    from tests.support.apps import make_accounts

    accounts = make_accounts(sqlite_app)
    coach, coach_token = _client(sqlite_app, accounts, "Coach", tmp_path, monkeypatch)
    assert coach.get("/imports/customers/").status_code in (302, 403)
    resp = _upload(coach, coach_token, "customers", "people.csv", CUSTOMERS.encode())
    assert resp.status_code in (302, 403)
    with sqlite_app.app_context():
        assert _count(CustomerProfile) == 0
    manager, token = _client(sqlite_app, accounts, "Manager", tmp_path, monkeypatch)
    assert manager.get("/imports/customers/").status_code == 403  # BulkImport, but not Users write
    assert manager.get("/imports/nothing/").status_code == 404
    # The list page links to the import; the template carries the expected header.
    products = manager.get("/products/list/").get_data(as_text=True)
    assert 'href="/imports/products/"' in products
    template = manager.get("/imports/products/template.csv")
    assert template.get_data(as_text=True).strip() == (
        "name,category,description,price,currency,duration_weeks,interval_months,trial_days"
    )
    bad = _upload(manager, token, "products", "notes.pdf", b"%PDF-1.4")
    assert bad.status_code == 400 and "Upload a .csv or .xlsx file." in bad.get_data(as_text=True)
    fake = _upload(manager, token, "products", "x.xlsx", b"name,category\n")
    assert fake.status_code == 400
    monkeypatch.setitem(sqlite_app.config, "IMPORT_MAX_BYTES", 1024 * 1024)
    big = _upload(manager, token, "products", "big.csv", b"name,category,price\n" + b"x,COACHING,1\n" * 100_000)
    assert big.status_code == 413 and "larger than 1 MB" in big.get_data(as_text=True)
    missing = _upload(manager, token, "products", "p.csv", b"name,price\nA,1\n")
    preview = manager.get(missing.headers["Location"])
    assert preview.status_code == 400 and "Required columns missing from the header: category" in preview.get_data(
        as_text=True
    )
    # Another person's upload is not theirs to open.
    support, _s = _client(sqlite_app, accounts, "Support", tmp_path, monkeypatch)
    ok = _upload(
        manager, token, "promotions", "p.csv", b"code,discount_type,value,start_date\nA,PERCENT,1,2026-01-01\n"
    )
    assert support.get(ok.headers["Location"]).status_code == 404
    with sqlite_app.app_context():
        assert _count(Product) == 0 and _count(Promotion) == 0


def test_meals_with_macros_on_postgresql_copy(pg_app, tmp_path, monkeypatch):
    """PostgreSQL writes through COPY: JSON, defaults and labels in another language come out right."""
    from app.models.training import Habit, Meal
    from app.services.imports import commit as writer
    from app.services.imports.files import store
    from app.services.imports.service import preview

    monkeypatch.setitem(pg_app.config, "IMPORTS_DIR", tmp_path / "imports")
    with pg_app.app_context():
        upload = store("meals", "m.csv", b"name,kcal,protein_g,allergens\nOats,350,12.5,gluten\nTea,,,\n", 1)
        spec, validation = preview(db.session, upload)
        assert not validation.invalid
        assert writer.write(db.session, spec, validation) == 2
        habits = store("habits", "h.csv", b"name;frequency\nWalk;Daily\nStretch;WEEKDAYS\n", 1)
        spec, validation = preview(db.session, habits)
        assert [r.errors for r in validation.rows] == [{}, {}]
        writer.write(db.session, spec, validation)
        db.session.commit()
        meals = dict(db.session.execute(sa.select(Meal.name, Meal.macros_json)).all())
        assert meals == {"Oats": {"kcal": 350.0, "protein_g": 12.5}, "Tea": None}
        assert dict(db.session.execute(sa.select(Habit.name, Habit.frequency)).all()) == {
            "Walk": "DAILY",
            "Stretch": "WEEKDAYS",
        }
