"""Audit export: files verify against their manifests; the page, its permissions and bad input; SIGKILL mid-way."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import zoneinfo

import pytest
import pytz
from flask import current_app
from sqlalchemy import select, text

from app.extensions import db
from app.models import AuditLog
from app.models.identity import ConsoleUser
from app.models.jobs import JobRun
from app.services.audit import chain as audit
from app.services.compliance import audit_export as ex
from app.services.jobs.context import execute_run, run_inline
from app.services.jobs.runs import retry_run
from tests.support.audit_samples import AWKWARD_ENTRIES
from tests.support.jobworker import finish, jobs_env, kill_hard, start_worker, wait_for  # noqa: F401
from tests.support.web import csrf_token, login


def _events(n: int, action: str = "test.event") -> list[int]:
    for i in range(n):
        audit.record(action, "things", i, {"n": i})
    db.session.commit()
    return list(db.session.scalars(select(AuditLog.id).where(AuditLog.action == action).order_by(AuditLog.id)))


def _export(
    fmt: str, batch: int | None = None, start: str = "2000-01-01", end: str = "2100-01-01", **filters: str
) -> JobRun:
    """Run an export inline (in batches of ``batch`` ids), check it succeeded and return the run."""
    app = current_app
    if batch:
        app.config["AUDIT_EXPORT_BATCH"] = batch
    try:
        run = run_inline(ex.request_export(ex.build_params(start, end, fmt, **filters), None, enqueue=False))
    finally:
        app.config.pop("AUDIT_EXPORT_BATCH", None)
    assert run.status == "succeeded", run.error
    return run


def _manifest(run: JobRun) -> dict:
    return ex.verify_export(current_app.config["EXPORTS_DIR"] / run.result["manifest"])


@pytest.mark.usefixtures("jobs_env")
@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_export_verifies_against_its_manifest(app, fmt):
    with app.app_context():
        ids = _events(25)
        run = _export(fmt, batch=7)
        directory = app.config["EXPORTS_DIR"]
        manifest = ex.verify_export(directory / run.result["manifest"])
        rows = ex.read_rows(directory / manifest["file"], fmt)
        assert [int(r["id"]) for r in rows] == sorted(r.id for r in db.session.scalars(select(AuditLog)))[: len(rows)]
        assert set(ids) <= {int(r["id"]) for r in rows}
        assert manifest["chain_verified"] is True and manifest["rows"] == len(rows)
        assert manifest["first_hash"] == rows[0]["row_hash"] and manifest["last_hash"] == rows[-1]["row_hash"]
        assert not [p for p in directory.iterdir() if p.name.startswith(".")]
        assert db.session.scalar(select(AuditLog).where(AuditLog.action == "export.audit")) is not None


@pytest.mark.usefixtures("jobs_env")
def test_filters_and_a_broken_chain_show_in_the_manifest(app):
    with app.app_context():
        _events(4, "keep.me")
        _events(3, "other")
        run = _export("jsonl", action="keep.me")
        manifest = _manifest(run)
        assert manifest["rows"] == 4 and manifest["filters"]["action"] == "keep.me"
        victim = db.session.scalar(select(AuditLog.id).where(AuditLog.action == "other").limit(1))
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("SET LOCAL coachdesk.maintenance = 'on'")
            conn.execute(text("UPDATE audit_logs SET resource_id = 'forged' WHERE id = :id"), {"id": victim})
        broken = _export("csv")
        body = json.loads((app.config["EXPORTS_DIR"] / broken.result["manifest"]).read_text())
        assert body["chain_verified"] is False and body["chain_problem"]["id"] == victim


@pytest.mark.usefixtures("jobs_env")
@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
@pytest.mark.parametrize("where", ["first of a batch", "inside a batch", "forged content", "no hash"])
def test_every_kind_of_break_is_found_at_its_row(app, fmt, where):
    """The chain check (in SQL on PostgreSQL, in Python on SQLite) names the first broken row,
    also when the break falls on a batch boundary (the first row's link is checked across batches)."""
    with app.app_context():
        ids = _events(30)
        # Batches of 7: pick the row whose link or content breaks, at or away from a batch's start.
        start = next(i for i in ids[1:-1] if i % 7 == 1) if where == "first of a batch" else ids[12]
        pos = ids.index(start)
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("SET LOCAL coachdesk.maintenance = 'on'")
            if where in ("first of a batch", "inside a batch"):
                conn.execute(text("DELETE FROM audit_logs WHERE id = :id"), {"id": ids[pos - 1]})
            elif where == "forged content":
                conn.execute(text("UPDATE audit_logs SET resource_id = 'forged' WHERE id = :id"), {"id": start})
            else:
                conn.execute(text("UPDATE audit_logs SET row_hash = NULL WHERE id = :id"), {"id": start})
        run = _export(fmt, batch=7)
        manifest = _manifest(run)
        reason = {
            "forged content": "content does not match its hash",
            "no hash": "row is not chained (no hash)",
        }.get(where, "link broken: a row before it was deleted, or this row was inserted")
        assert manifest["chain_verified"] is False
        assert manifest["chain_problem"] == {"id": start, "reason": reason}
        rows = ex.read_rows(app.config["EXPORTS_DIR"] / manifest["file"], fmt)
        assert start in {int(r["id"]) for r in rows} and manifest["rows"] == len(rows)


@pytest.mark.usefixtures("jobs_env")
@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_both_databases_write_the_same_bytes_for_awkward_values(app, fmt):
    """PostgreSQL renders lines in SQL (``_rendering``), SQLite in Python (``_encode_batch``): the same file."""
    with app.app_context():
        with db.engine.begin() as conn:
            audit.append(conn, [dict(e) for e in AWKWARD_ENTRIES])
        run = _export(fmt, batch=2)
        manifest = _manifest(run)
        assert manifest["chain_verified"] is True
        path = app.config["EXPORTS_DIR"] / manifest["file"]
        params = ex.build_params("2000-01-01", "2100-01-01", fmt)
        rows = ex._fetch(ex._filters(params), 0, 10_000, fmt)  # rendered in Python, whatever the database
        rows = [r for r in rows if r.id <= manifest["last_id"]]  # not the export's own audit row
        expected = ex._encode_batch(rows, fmt)
        if fmt == "csv":
            written = path.read_bytes().split(b"\n", 1)[1]
        else:
            written, expected = gzip.decompress(path.read_bytes()), gzip.decompress(expected)
        assert written == expected
        by_action = {r["action"]: r for r in ex.read_rows(path, fmt)}
        assert by_action["x"]["resource_id"] == "1,2"
        assert by_action["y"]["user_agent"] == 'Mozilla/5.0 "quoted", and\r\nbroken'


@pytest.mark.parametrize(
    "args,message",
    [
        (("2026-02-01", "2026-01-01", "jsonl"), "before"),
        (("yesterday", "2026-01-01", "jsonl"), "not a date"),
        (("2026-01-01", "2026-02-01", "xml"), "format"),
        (("2026-01-01", "2026-02-01", "csv", "not-a-uuid"), "UUID"),
    ],
)
def test_bad_requests_are_refused(app_ctx, args, message):
    with pytest.raises(ex.ExportError, match=message):
        ex.build_params(*args)


@pytest.mark.usefixtures("jobs_env")
def test_page_flow_download_is_audited_and_permissions_hold(app, accounts, client):
    acc = accounts["Compliance"]
    login(client, acc.username, acc.password)
    token = csrf_token(client, "/compliance/exports/")
    bad = client.post("/compliance/exports/", data={"csrf_token": token, "start": "2026-02-01", "end": "2026-01-01",
                                                     "format": "csv"})  # fmt: skip
    assert bad.status_code == 400 and "before" in bad.get_data(as_text=True)
    assert client.post("/compliance/exports/", data={"start": "2026-01-01"}).status_code == 400  # no CSRF
    resp = client.post(
        "/compliance/exports/", data={"csrf_token": token, "start": "2000-01-01", "end": "2100-01-01", "format": "csv"}
    )
    assert resp.status_code == 302
    with app.app_context():
        run_id = db.session.scalar(select(JobRun.id).where(JobRun.kind == ex.KIND))
        execute_run(run_id)
    status = client.get(f"/compliance/exports/{run_id}/status").get_json()
    assert status["status"] == "succeeded" and status["done"] == status["total"]
    data = client.get(f"/compliance/exports/{run_id}/download/data")
    assert data.status_code == 200 and data.data.startswith(b"id,created_at")
    assert client.get(f"/compliance/exports/{run_id}/download/other").status_code == 404
    assert client.get("/compliance/exports/424242/download/data").status_code == 404
    with app.app_context():
        assert db.session.scalar(select(AuditLog).where(AuditLog.action == "export.download")) is not None
    client.post("/logout/", data={"csrf_token": csrf_token(client, "/")})
    coach = accounts["Coach"]
    login(client, coach.username, coach.password)
    assert client.get("/compliance/exports/").status_code == 403
    assert client.get(f"/compliance/exports/{run_id}/download/data").status_code == 403


@pytest.mark.usefixtures("jobs_env")
@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_a_time_range_exports_exactly_its_rows(app, fmt):
    """Batches walk only the id span the range matches; rows outside it, before or after, stay out."""
    days = [dt.datetime(1999, 12, d, 12, tzinfo=dt.UTC) for d in (29, 30, 31)] + [
        dt.datetime(2000, 1, d, 12, tzinfo=dt.UTC) for d in (1, 2, 3)
    ]
    with app.app_context():
        with db.engine.begin() as conn:
            audit.append(conn, [{"action": "dated", "resource_type": "r", "created_at": d} for d in days])
        ids = db.session.scalars(select(AuditLog.id).where(AuditLog.action == "dated").order_by(AuditLog.id)).all()
        run = _export(fmt, batch=2, start="1999-12-30", end="2000-01-02")
        manifest = _manifest(run)
        rows = ex.read_rows(app.config["EXPORTS_DIR"] / manifest["file"], fmt)
        assert [int(r["id"]) for r in rows] == ids[1:5]
        assert {r["created_at"][:10] for r in rows} == {"1999-12-30", "1999-12-31", "2000-01-01", "2000-01-02"}
        assert manifest["rows"] == 4 and manifest["chain_verified"] is True


def test_a_range_is_read_in_the_given_zone_and_a_to_date_includes_its_day(app_ctx):
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    params = ex.build_params("2026-03-01", "2026-03-01", "jsonl", zone=berlin)
    assert params["from"] == "2026-02-28T23:00:00+00:00" and params["to"] == "2026-03-01T23:00:00+00:00"
    # Summer time (and a pytz zone, as Flask-Babel hands it over); a time of day is an exact instant.
    params = ex.build_params("2026-07-01T08:30", "2026-07-01T12:00", "csv", zone=pytz.timezone("Europe/Berlin"))
    assert params["from"] == "2026-07-01T06:30:00+00:00" and params["to"] == "2026-07-01T10:00:00+00:00"
    # No zone (the CLI): UTC; an explicit offset wins over the zone.
    assert ex.build_params("2026-01-01", "2026-01-31", "csv")["to"] == "2026-02-01T00:00:00+00:00"
    assert ex.build_params("2026-01-01T00:00+05:00", "2026-01-02", "csv", zone=berlin)["from"] == (
        "2025-12-31T19:00:00+00:00"
    )


@pytest.mark.usefixtures("jobs_env")
def test_the_export_page_reads_and_shows_the_range_in_the_viewers_zone(app, accounts, client):
    acc = accounts["Compliance"]
    with app.app_context():
        account = db.session.scalar(select(ConsoleUser).where(ConsoleUser.username == acc.username))
        account.timezone = "America/New_York"
        db.session.commit()
    try:
        login(client, acc.username, acc.password)
        page = client.get("/compliance/exports/").get_data(as_text=True)
        assert "America/New_York" in page
        token = csrf_token(client, "/compliance/exports/")
        data = {"csrf_token": token, "start": "2026-01-10", "end": "2026-01-10", "format": "csv"}
        assert client.post("/compliance/exports/", data=data).status_code == 302
        with app.app_context():
            run = db.session.scalar(select(JobRun).where(JobRun.kind == ex.KIND).order_by(JobRun.id.desc()))
            assert run.params["from"] == "2026-01-10T05:00:00+00:00" and run.params["to"] == "2026-01-11T05:00:00+00:00"
        listed = client.get("/compliance/exports/").get_data(as_text=True)
        assert "2026-01-10T05:00:00+00:00" not in listed  # shown as local times, not the stored UTC text
    finally:
        with app.app_context():
            account = db.session.scalar(select(ConsoleUser).where(ConsoleUser.username == acc.username))
            account.timezone = None
            db.session.commit()


def test_cli_export(app, tmp_path):
    app.config["EXPORTS_DIR"] = tmp_path
    try:
        with app.app_context():
            _events(5)
        result = app.test_cli_runner().invoke(args=["audit", "export", "--from", "2000-01-01", "--to", "2100-01-01"])
        assert result.exit_code == 0, result.output
        manifest = next(tmp_path.glob("audit-*.manifest.json"))
        with app.app_context():
            assert ex.verify_export(manifest)["rows"] >= 5
        bad = app.test_cli_runner().invoke(args=["audit", "export", "--from", "2026-02-01", "--to", "2026-01-01"])
        assert bad.exit_code == 2 and "before" in bad.output
    finally:
        app.config["EXPORTS_DIR"] = app.config["INSTANCE_DIR"] / "exports"


@pytest.mark.usefixtures("jobs_env")
def test_sigkill_mid_export_then_rerun_finishes_exactly(app):
    instance = app.config["EXPORTS_DIR"].parent
    with app.app_context():
        _events(300)
        params = ex.build_params("2000-01-01", "2100-01-01", "jsonl")
        run = ex.request_export(params, None)
        run_id = run.id
        expected = list(
            db.session.scalars(select(AuditLog.id).where(AuditLog.id <= params["max_id"]).order_by(AuditLog.id))
        )
        final, part, manifest = ex.paths(run_id, "jsonl")
    worker = start_worker(app, app.config["REDIS_URL"], instance, "AUDIT_EXPORT_BATCH=10", "JOBS_TEST_BATCH_DELAY=0.05")

    def midway() -> bool:
        assert not final.exists() and not manifest.exists(), "a partial export became visible"
        with app.app_context():
            done = db.session.scalar(select(JobRun.progress_done).where(JobRun.id == run_id))
            db.session.rollback()
        return done >= 100

    wait_for(midway, what="export half-way")
    kill_hard(worker)
    with app.app_context():
        dead = db.session.get(JobRun, run_id)
        assert dead.status == "running" and 0 < dead.progress_done < len(expected)
    assert part.exists() and part.parent != final.parent and not final.exists() and not manifest.exists()
    app.config["JOBS_STALE_AFTER"] = 0
    try:
        with app.app_context():
            retry_run(run_id)
    finally:
        app.config.pop("JOBS_STALE_AFTER")
    finish(start_worker(app, app.config["REDIS_URL"], instance, "AUDIT_EXPORT_BATCH=10"))
    with app.app_context():
        done = db.session.get(JobRun, run_id)
        assert done.status == "succeeded" and done.attempts == 2, done.error
        key_file = app.config["AUDIT_SIGNING_KEY_FILE"]
        app.config["AUDIT_SIGNING_KEY_FILE"] = instance / "audit-signing-key.pem"  # the workers' key
        try:
            body = ex.verify_export(manifest)
        finally:
            app.config["AUDIT_SIGNING_KEY_FILE"] = key_file
    rows = ex.read_rows(final, "jsonl")
    assert [r["id"] for r in rows] == expected and body["rows"] == len(expected) and body["chain_verified"]
    assert not part.exists()


def _dated(days: list[dt.datetime], action: str = "dated") -> list[int]:
    with db.engine.begin() as conn:
        audit.append(conn, [{"action": action, "resource_type": "r", "created_at": d} for d in days])
    return list(db.session.scalars(select(AuditLog.id).where(AuditLog.action == action).order_by(AuditLog.id)))


def _backdated_chain() -> list[int]:
    """December rows with backdated rows (and one from the future: clock skew) between them, in id order."""
    dec = [dt.datetime(2026, 12, d, 12, tzinfo=dt.UTC) for d in range(1, 9)]
    old = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
    late = dt.datetime(2027, 1, 5, tzinfo=dt.UTC)
    return _dated([dec[0], dec[1], old, dec[2], old, old, dec[3], late, dec[4], dec[5], old, dec[6], dec[7]])


@pytest.mark.usefixtures("jobs_env")
@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_a_date_bounded_export_with_backdated_rows_verifies(app, fmt):
    """Ids and creation times are not in the same order: the chain is checked over the export's whole id span."""
    with app.app_context():
        ids = _backdated_chain()
        run = _export(fmt, batch=3, start="2026-12-01", end="2026-12-31")
        manifest = _manifest(run)
        rows = ex.read_rows(app.config["EXPORTS_DIR"] / manifest["file"], fmt)
        assert manifest["rows"] == len(rows) == 8 and {int(r["id"]) for r in rows} < set(ids)
        assert manifest["chain_verified"] is True, manifest["chain_problem"]
        assert run.result["chain_verified"] is True
        # Filtered by action too (a row of another action in the span does not break it).
        audit.record("other", "r")
        db.session.commit()
        _dated([dt.datetime(2026, 12, 20, tzinfo=dt.UTC)])
        assert _manifest(_export(fmt, start="2026-12-01", end="2026-12-31", action="dated"))["chain_verified"] is True


@pytest.mark.usefixtures("jobs_env")
def test_a_break_between_the_exported_rows_is_still_found(app):
    """A deleted backdated row is not in the file, but it is in the span: the export does not verify."""
    with app.app_context():
        ids = _backdated_chain()
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("SET LOCAL coachdesk.maintenance = 'on'")
            conn.execute(text("DELETE FROM audit_logs WHERE id = :id"), {"id": ids[4]})
        manifest = _manifest(_export("jsonl", batch=3, start="2026-12-01", end="2026-12-31"))
        assert manifest["chain_verified"] is False
        assert manifest["chain_problem"] == {
            "id": ids[5],
            "reason": "link broken: a row before it was deleted, or this row was inserted",
        }


@pytest.mark.usefixtures("jobs_env")
def test_the_page_shows_a_failed_verification_as_a_failure(app, accounts, client):
    with app.app_context():
        ids = _events(3)
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("SET LOCAL coachdesk.maintenance = 'on'")
            conn.execute(text("UPDATE audit_logs SET resource_id = 'forged' WHERE id = :id"), {"id": ids[1]})
        run_id = _export("csv").id
    acc = accounts["Compliance"]
    login(client, acc.username, acc.password)
    status = client.get(f"/compliance/exports/{run_id}/status").get_json()
    assert status["status"] != "succeeded" and f"row id {ids[1]}" in status["error"]
    page = client.get("/compliance/exports/").get_data(as_text=True)
    row = page[page.index(f"<td>{run_id}</td>") :].split("</tr>")[0]
    assert "verification failed" in row and "label-danger" in row and ">succeeded<" not in row
    assert f"Chain verification FAILED at row id {ids[1]}" in row
