"""Per-client rate limits on the API, in Redis: one budget across every operation and every process;
a 429 problem with Retry-After; RateLimit-* headers; a per-address limit without a valid key; and a key
revoked in the database refused by every worker on its very next request."""

from __future__ import annotations

import json
import uuid

import pytest
import redis
from flask import Flask

from app.extensions import db
from app.models.automation import APIClient
from app.services.api_clients import lifecycle
from tests.support.gunicorn import Server, sibling_app, start_gunicorn


@pytest.fixture(scope="module")
def limited(redis_url: str, sqlite_app: Flask) -> Flask:
    return sibling_app(
        sqlite_app,
        REDIS_URL=redis_url,
        RATELIMIT_STORAGE_URI=None,
        RATELIMIT_ENABLED=True,
        RATELIMIT_KEY_PREFIX=f"test-{uuid.uuid4().hex[:8]}",
        API_ANONYMOUS_RATE_LIMIT="3 per minute",
    )


def new_key(app: Flask, rate_limit: int) -> tuple[int, str]:
    with app.app_context():
        issued = lifecycle.create(
            db.session, name=f"c-{uuid.uuid4().hex[:8]}", scopes="customers:read", rate_limit=rate_limit
        )
        db.session.commit()
        return issued.client.id, issued.key


def call(app: Flask, key: str | None, path: str = "/api/v1/me", ip: str = "10.0.0.1"):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return app.test_client().get(path, headers=headers, environ_base={"REMOTE_ADDR": ip})


def test_a_client_gets_its_rate_limit_then_a_429_problem_with_headers(limited, redis_url):
    _id, key = new_key(limited, 3)
    answers = [call(limited, key) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["RateLimit-Remaining"] for a in answers] == ["2", "1", "0", "0"]
    for answer in answers:
        assert answer.headers["RateLimit-Limit"] == "3"
        assert 0 <= int(answer.headers["RateLimit-Reset"]) <= 60
    assert "Retry-After" not in answers[0].headers
    refused = answers[-1]
    assert refused.mimetype == "application/problem+json"
    # The wait is the moving window's: the oldest of the three requests was made moments ago, so
    # nearly the whole minute, and the same figure as the answer's own RateLimit-Reset.
    wait = int(refused.headers["Retry-After"])
    assert 45 <= wait <= 60
    assert abs(wait - int(refused.headers["RateLimit-Reset"])) <= 1
    body = refused.json
    assert body["status"] == 429 and body["type"].endswith("/rate-limited") and "3" in body["detail"]
    prefix = limited.config["RATELIMIT_KEY_PREFIX"]
    assert redis.Redis.from_url(redis_url).keys(f"*{prefix}-api*client:*")  # the counter lives in Redis


def test_the_public_document_is_not_limited(limited):
    for _ in range(5):
        answer = call(limited, None, "/api/v1/openapi.json", ip="10.0.0.9")
        assert answer.status_code == 200 and "RateLimit-Limit" not in answer.headers


def test_requests_without_a_valid_key_are_limited_per_address(limited):
    statuses = [call(limited, "cdk_0123456789_guess", ip="10.0.0.2").status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    assert call(limited, None, ip="10.0.0.2").status_code == 429  # no key at all counts too
    assert call(limited, "cdk_0123456789_guess", ip="10.0.0.3").status_code == 401  # another address
    _id, key = new_key(limited, 5)
    assert call(limited, key, ip="10.0.0.2").status_code == 200  # a valid key has its own budget


def test_redis_down_fails_open_to_per_process_limits(limited, tmp_path_factory):
    dead = tmp_path_factory.mktemp("dead") / "no-redis.sock"
    app = sibling_app(
        limited,
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI=f"redis+unix://{dead}",
    )
    _id, key = new_key(app, 2)
    assert [call(app, key).status_code for _ in range(3)] == [200, 200, 429]


# ---- several gunicorn workers sharing Redis


@pytest.fixture(scope="module")
def served(limited: Flask, redis_url: str, tmp_path_factory: pytest.TempPathFactory):
    server = start_gunicorn(
        limited.config["SQLALCHEMY_DATABASE_URI"],
        redis_url,
        tmp_path_factory.mktemp("gunicorn-instance"),
        CD_TEST_LIMIT_PREFIX=f"gu-{uuid.uuid4().hex[:8]}",
    )
    yield server
    server.kill()


def until_both_workers(server: Server, key: str, want: int, tries: int = 2000) -> list:
    """Requests until both workers have answered with ``want`` at least once (or ``tries`` run out).

    A worker still starting on a loaded machine takes no connection for a while: many tries, early exit."""
    answers = []
    for _ in range(tries):
        answers.append(server.get("/api/v1/me", key))
        if len({a.worker for a in answers if a.status == want}) >= 2:
            break
    return answers


def test_two_gunicorn_workers_hold_one_limit(limited, served):
    _id, key = new_key(limited, 10)
    answers = until_both_workers(served, key, 429)
    assert len({a.worker for a in answers}) == 2, "both workers should have answered"
    ok = [a for a in answers if a.status == 200]
    assert len(ok) == 10  # one budget, not ten per worker
    assert all(a.status == 429 for a in answers[10:])
    assert answers[10].headers["ratelimit-remaining"] == "0" and json.loads(answers[10].body)["status"] == 429


def test_a_key_revoked_in_the_database_is_refused_by_every_worker_at_once(limited, served):
    client_id, key = new_key(limited, 1000)
    before = until_both_workers(served, key, 200)
    assert {a.status for a in before} == {200} and len({a.worker for a in before}) == 2
    with limited.app_context():
        lifecycle.revoke(db.session, db.session.get(APIClient, client_id))
        db.session.commit()
    after = until_both_workers(served, key, 401)
    assert {a.status for a in after} == {401}  # the very next request, whichever worker takes it
    assert len({a.worker for a in after}) == 2
