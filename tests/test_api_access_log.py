"""The API access log: one row per authenticated request with the right fields, written in batches
(one INSERT for many requests, none on the request path), every row kept through a clean gunicorn
shutdown, and the console's traffic figures equal to the rows behind them."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
import sqlalchemy as sa
from flask import Flask

from app.extensions import db
from app.models.automation import APIAccessLog, APIClient
from app.services.api_clients import lifecycle, traffic
from app.services.api_clients.access_log import AccessLogWriter, AccessRecord
from app.web.api.traffic import WRITER_KEY, flush_access_log
from tests.support.gunicorn import sibling_app, start_gunicorn
from tests.support.jobworker import wait_for
from tests.support.web import login


def new_key(app: Flask, name: str = "crm") -> tuple[int, str]:
    with app.app_context():
        issued = lifecycle.create(db.session, name=name, scopes="customers:read")
        db.session.commit()
        return issued.client.id, issued.key


def rows(app: Flask) -> list[APIAccessLog]:
    with app.app_context():
        return db.session.scalars(sa.select(APIAccessLog).order_by(APIAccessLog.id)).all()


@pytest.fixture
def quiet_writer(app: Flask, monkeypatch: pytest.MonkeyPatch) -> AccessLogWriter:
    """The app's writer swapped for one that only writes when told to (or when a batch fills)."""
    flush_access_log(app)
    with app.app_context():
        db.session.execute(sa.delete(APIAccessLog))
        db.session.commit()
        writer = AccessLogWriter(db.engine, batch_size=500, interval=3600)
    monkeypatch.setitem(app.extensions, WRITER_KEY, writer)
    yield writer
    writer.close()


def test_each_authenticated_request_is_one_row_written_in_one_batch(app, quiet_writer):
    client_id, key = new_key(app)
    web = app.test_client()
    auth = {"Authorization": f"Bearer {key}"}
    given = web.get("/api/v1/me", headers={**auth, "X-Request-ID": "partner-req-42"})
    made = web.get("/api/v1/me", headers={**auth, "X-Request-ID": "bad id with spaces"})
    wrong = web.get("/api/v1/me", headers={"Authorization": "Bearer cdk_0123456789_nope"})
    web.post("/api/v1/me", headers=auth)
    assert given.headers["X-Request-ID"] == "partner-req-42"
    assert re.fullmatch(r"[0-9a-f-]{36}", made.headers["X-Request-ID"])
    assert wrong.status_code == 401 and wrong.headers["X-Request-ID"]  # echoed, but no client: no row
    assert rows(app) == [] and quiet_writer.pending() == 3  # nothing written on the request path

    inserts = []

    def count(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        if statement.lstrip().upper().startswith("INSERT INTO API_ACCESS_LOGS"):
            inserts.append(executemany)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        assert flush_access_log(app) == 3
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert inserts == [True]  # one executemany for the three rows
    logged = rows(app)
    assert [(r.client_id, r.endpoint, r.method, r.status_code) for r in logged] == [
        (client_id, "/api/v1/me", "GET", 200),
        (client_id, "/api/v1/me", "GET", 200),
        (client_id, "/api/v1/me", "POST", 405),
    ]
    assert logged[0].request_id == "partner-req-42" and logged[1].request_id == made.headers["X-Request-ID"]
    assert all(r.latency_ms >= 0 and r.occurred_at is not None for r in logged)


def test_a_full_batch_wakes_the_writer(app):
    client_id, _key = new_key(app)
    with app.app_context():
        writer = AccessLogWriter(db.engine, batch_size=2, interval=3600)
    now = dt.datetime.now(dt.UTC)
    for _ in range(2):
        writer.record(AccessRecord(client_id, "/api/v1/me", "GET", 200, 3, now, str(uuid.uuid4())))
    wait_for(lambda: len(rows(app)) == 2, what="the writer thread to write a full batch")
    writer.close()


def test_rows_of_a_client_deleted_meanwhile_are_dropped_and_the_others_kept(app):
    client_id, _key = new_key(app)
    gone_id, _ = new_key(app, "gone")
    with app.app_context():
        writer = AccessLogWriter(db.engine, batch_size=100, interval=3600)
        now = dt.datetime.now(dt.UTC)
        for cid in (client_id, gone_id, client_id):
            writer.record(AccessRecord(cid, "/api/v1/me", "GET", 200, 3, now, str(uuid.uuid4())))
        db.session.delete(db.session.get(APIClient, gone_id))
        db.session.commit()
    writer.close()
    assert sorted(r.client_id for r in rows(app)) == [client_id, client_id]
    assert writer.dropped == 1 and writer.pending() == 0


def test_logging_can_be_switched_off(sqlite_app):
    app = sibling_app(sqlite_app, API_ACCESS_LOG_ENABLED=False)
    _id, key = new_key(app)
    answer = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 200 and answer.headers["X-Request-ID"]
    assert WRITER_KEY not in app.extensions and flush_access_log(app) == 0 and rows(app) == []


def test_a_clean_gunicorn_shutdown_writes_every_row(sqlite_app, redis_url, tmp_path_factory):
    app = sqlite_app
    client_id, key = new_key(app)
    server = start_gunicorn(
        app.config["SQLALCHEMY_DATABASE_URI"],
        redis_url,
        tmp_path_factory.mktemp("shutdown-instance"),
        CD_TEST_LIMIT_PREFIX=f"sd-{uuid.uuid4().hex[:8]}",
        CD_TEST_LOG_INTERVAL="3600",  # nothing is written before the shutdown
    )
    try:
        answers = [server.get("/api/v1/me", key, {"X-Request-ID": f"req-{n}"}) for n in range(25)]
        assert {a.status for a in answers} == {200}
        assert rows(app) == []
        output = server.stop()
    finally:
        server.kill()
    assert server.proc.returncode == 0, output
    logged = rows(app)
    assert len(logged) == 25, output
    assert sorted(r.request_id for r in logged) == sorted(f"req-{n}" for n in range(25))
    assert {(r.client_id, r.endpoint, r.method, r.status_code) for r in logged} == {
        (client_id, "/api/v1/me", "GET", 200)
    }


def _expected(entries: list[tuple[dt.datetime, int, int]]) -> dict[str, tuple[dict[str, int], int]]:
    """Per hour: counts by status class and the nearest-rank p95 latency, computed in Python."""
    hours: dict[str, list[tuple[int, int]]] = {}
    for when, status, latency in entries:
        hours.setdefault(when.strftime("%Y-%m-%dT%H:00"), []).append((status, latency))
    out = {}
    for hour, items in hours.items():
        counts = {c: 0 for c in traffic.CLASSES}
        for status, _latency in items:
            counts[f"{status // 100}xx"] += 1
        latencies = sorted(latency for _status, latency in items)
        rank = -(-95 * len(latencies) // 100)
        out[hour] = (counts, latencies[rank - 1])
    return out


def test_traffic_figures_equal_the_rows_behind_them(app, accounts):
    client_id, _key = new_key(app)
    other_id, _ = new_key(app, "other")
    now = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(seconds=1)
    entries = []
    for n in range(60):
        when = now - dt.timedelta(hours=n % 3, minutes=n % 25)
        status = (200, 201, 404, 429, 500, 302)[n % 6]
        entries.append((when, status, (n * 37) % 250))
    with app.app_context():
        table = APIAccessLog.__table__
        records = [
            {"client_id": client_id, "endpoint": "/api/v1/me", "method": "GET", "status_code": s,
             "latency_ms": lat, "occurred_at": w, "request_id": str(uuid.uuid4())}
            for w, s, lat in entries
        ]  # fmt: skip
        old = {**records[0], "occurred_at": now - dt.timedelta(days=3)}  # outside the day window
        others = {**records[0], "client_id": other_id}  # another client's traffic
        db.session.execute(sa.insert(table), [*records, old, others])
        db.session.commit()
        data = traffic.client_traffic(db.session, client_id, "day")
    expected = _expected(entries)
    assert {p.start: (p.counts, p.p95_ms) for p in data.periods} == expected
    assert data.total == 60

    web = app.test_client()
    login(web, accounts["Admin"].username, accounts["Admin"].password)
    page = web.get(f"/api-clients/traffic/{client_id}?window=day")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and 'class="cd-chart"' in text
    for hour, (counts, p95) in expected.items():
        cells = [hour, *(str(counts[c]) for c in traffic.CLASSES), str(p95)]
        assert "<td>" + "</td><td>".join(cells) + "</td>" in text
    assert "data-plotly-locale" not in text
    spanish = web.get(f"/api-clients/traffic/{client_id}?window=day", headers={"Accept-Language": "es"})
    script = re.search(r'<script src="([^"]+)"[^>]*data-plotly-locale="es"', spanish.get_data(as_text=True))
    assert script, "the Spanish traffic page draws its axes in English"
    assert 'name:"es"' in web.get(script.group(1)).get_data(as_text=True)
    assert web.get(f"/api-clients/traffic/{client_id}?window=year").status_code == 400
    assert web.get("/api-clients/traffic/999999").status_code == 404
    assert web.get("/api-clients/traffic/not-a-number").status_code == 404
