"""Assigning to many customers runs as an RQ job on a real Redis, run by a real (burst) worker."""

from __future__ import annotations

import sqlalchemy as sa
from redis import Redis

from app.extensions import db
from app.models.customers import CoachAssignment
from app.models.training import CustomerPlan, PlanItem
from tests.support.jobworker import _run_worker
from tests.support.plan_views import _login, _post_json
from tests.support.web import csrf_token


def test_many_customers_assign_in_a_job_with_progress(client, world, redis_url, monkeypatch):  # noqa: F811
    app = world["app"]
    monkeypatch.setitem(app.config, "REDIS_URL", redis_url)
    Redis.from_url(redis_url).flushdb()
    with app.app_context():
        from tests.support.plan_support import make_customer

        extra = [str(make_customer(f"Bulk {n}", "America/Los_Angeles", world["coach_a"].user_id)) for n in range(4)]
    token = _login(client, world["accounts"], "Coach")
    customers = [str(world["mine"]), *extra]
    body = {"program_id": world["program"], "customers": customers, "start_date": "2027-10-04"}
    resp = _post_json(client, "/plans/assign/", body, token)
    assert resp.status_code == 202, resp.get_data(as_text=True)
    status_url = resp.get_json()["status_url"]
    queued = client.get(status_url).get_json()
    assert (queued["status"], queued["done"], queued["total"]) == ("queued", 0, 5)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CustomerPlan)) == 0

    _run_worker(app, redis_url)

    done = client.get(status_url).get_json()
    assert done["status"] == "finished", done
    assert (done["done"], done["total"]) == (5, 5)
    assert done["result"] == {"created": 5, "existing": 0, "items": 10}
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CustomerPlan)) == 5
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PlanItem)) == 10

    # Someone else's job is not visible; unknown ids answer 404, not 500.
    client.post("/logout/", data={"csrf_token": csrf_token(client, "/")})
    _login(client, world["accounts"], "Coach2")
    assert client.get(status_url).status_code == 404
    assert client.get("/plans/assign/job/no-such-job").status_code == 404


def test_job_rechecks_scope_when_it_runs(client, world, redis_url, monkeypatch):  # noqa: F811
    """A customer unassigned from the coach between enqueue and run makes the job fail, creating nothing."""
    app = world["app"]
    monkeypatch.setitem(app.config, "REDIS_URL", redis_url)
    Redis.from_url(redis_url).flushdb()
    with app.app_context():
        from tests.support.plan_support import make_customer

        second = make_customer("Leaving", "UTC", world["coach_a"].user_id)
    token = _login(client, world["accounts"], "Coach")
    body = {"program_id": world["program"], "customers": [str(world["mine"]), str(second)]}
    resp = _post_json(client, "/plans/assign/", body, token)
    assert resp.status_code == 202
    with app.app_context():
        db.session.execute(sa.delete(CoachAssignment).where(CoachAssignment.customer_id == second))
        db.session.commit()
    _run_worker(app, redis_url)
    status = client.get(resp.get_json()["status_url"]).get_json()
    assert status["status"] == "failed" and "not one of your customers" in status["error"]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CustomerPlan)) == 0


def test_without_redis_many_customers_assign_inline(client, world, monkeypatch):  # noqa: F811
    app = world["app"]
    monkeypatch.setitem(app.config, "REDIS_URL", None)
    with app.app_context():
        from tests.support.plan_support import make_customer

        second = make_customer("Inline", "UTC", world["coach_a"].user_id)
    token = _login(client, world["accounts"], "Coach")
    body = {"program_id": world["program"], "customers": [str(world["mine"]), str(second)]}
    resp = _post_json(client, "/plans/assign/", body, token)
    assert resp.status_code == 200 and resp.get_json()["created"] == 2
