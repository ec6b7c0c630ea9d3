"""Computed records and telemetry are read-only in the console, for every role.

Engagement events, cohort snapshots, challenge results, customer badges, recommendations, the
API access log and the domain-event outbox: list, show and export stay (for the roles that read
them); add, edit, delete and actions have no route at all (404 on GET and on a POST with a valid
CSRF token), and no page links to one. Progress metrics stay editable: people record them.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask

from app.extensions import db
from app.models.analytics import CohortSnapshot, EngagementEvent, ProgressMetric, RecommendationLog
from app.models.engagement import ChallengeResult
from app.models.events import DomainEvent
from app.models.identity import PlatformUser
from app.models.training import CustomerBadge
from app.web.views.base.model_view import CoachdeskModelView
from tests.support.routes import NO_SUCH_INT, ROLES, expected_allowed
from tests.support.web import login, session_csrf
from tests.test_corrections import computed_world

# view class -> (route base, model); None: no row of it in the world (its show is a 404).
READ_ONLY_VIEWS: dict[str, tuple[str, type | None]] = {
    "EngagementEventView": ("/engagement-events", EngagementEvent),
    "CohortSnapshotView": ("/cohort-snapshots", CohortSnapshot),
    "ChallengeResultView": ("/challenge-results", ChallengeResult),
    "CustomerBadgeView": ("/customer-badges", CustomerBadge),
    "RecommendationLogView": ("/recommendation-logs", RecommendationLog),
    "DomainEventView": ("/domain-events", DomainEvent),
    "APIAccessLogView": ("/api-access-logs", None),
}
CORRECTABLE_VIEWS = {"EngagementEventView", "CohortSnapshotView", "ChallengeResultView", "CustomerBadgeView",
                     "RecommendationLogView"}  # fmt: skip
READ_ENDPOINTS = {"list", "show", "export", "autocomplete"}
WRITE_LINK = re.compile(
    r'(?:href|action|data-cd-delete)="[^"]*/(?:{})/(?:add|edit|delete|action|action_post)\b'.format(
        "|".join(base.lstrip("/") for base, _ in READ_ONLY_VIEWS.values())
    )
)


def _views(app: Flask) -> dict[str, CoachdeskModelView]:
    return {type(v).__name__: v for v in app.appbuilder.baseviews if type(v).__name__ in READ_ONLY_VIEWS}


def test_computed_views_have_read_routes_only(sqlite_app: Flask) -> None:
    views = _views(sqlite_app)
    assert set(views) == set(READ_ONLY_VIEWS)
    for name, view in views.items():
        endpoints = {
            r.endpoint.split(".", 1)[1] for r in sqlite_app.url_map.iter_rules() if r.endpoint.startswith(f"{name}.")
        }
        assert endpoints == READ_ENDPOINTS, name
        assert view.read_only and not view.actions and view.base_permissions == ["can_read"], name
    metrics = next(v for v in sqlite_app.appbuilder.baseviews if type(v).__name__ == "ProgressMetricView")
    assert not metrics.read_only and "add" in {r.endpoint.split(".")[1] for r in sqlite_app.url_map.iter_rules()
                                                if r.endpoint.startswith("ProgressMetricView.")}  # fmt: skip


@pytest.fixture
def clients(app: Flask, accounts: dict) -> dict[str | None, Any]:
    result: dict[str | None, Any] = {None: app.test_client()}
    for role in ROLES:
        client = app.test_client()
        login(client, role.lower(), f"{role.lower()}-Passw0rd!")
        result[role] = client
    return result


def _write_urls(base: str, row_id: str) -> list[str]:
    return [
        f"{base}/add",
        f"{base}/edit/{row_id}",
        f"{base}/delete/{row_id}",
        f"{base}/action/muldelete/{row_id}",
        f"{base}/action_post",
    ]


def test_every_role_reads_but_never_writes_computed_records(app: Flask, clients: dict) -> None:
    with app.app_context():
        rows = computed_world("coach@coachdesk.test")
        event = DomainEvent(event_type="plan.assigned", customer_id=rows[PlatformUser].id, payload={"plan_id": 1})
        db.session.add(event)
        db.session.commit()
        keys = {model: row.id for model, row in {**rows, DomainEvent: event}.items()}
        ids = {model: str(key) for model, key in keys.items()}
        challenge_id = str(rows[ChallengeResult].challenge_id)
    problems: list[str] = []
    for role, client in clients.items():
        token = session_csrf(app, client)
        pages = [f"/challenges/show/{challenge_id}", f"/platform-users/show/{ids[PlatformUser]}"]
        for name, (base, model) in READ_ONLY_VIEWS.items():
            resource = _views(app)[name].class_permission_name
            may_read = expected_allowed(role, resource, "can_read", name)
            row_id = ids[model] if model else NO_SUCH_INT
            for url in (f"{base}/list/", f"{base}/show/{row_id}"):
                resp = client.get(url)
                body = resp.get_data(as_text=True)
                pages.append(url)
                if role is None:
                    ok = resp.status_code == 302 and "/login" in resp.headers["Location"]
                elif not may_read:
                    ok = resp.status_code == 403
                else:
                    ok = resp.status_code == (404 if model is None and "/show/" in url else 200)
                if not ok:
                    problems.append(f"{role} GET {url} -> {resp.status_code}")
                correct_link = "/corrections/" in body
                if correct_link != (role == "Admin" and name in CORRECTABLE_VIEWS and "/show/" in url):
                    problems.append(f"{role} GET {url}: correction link {'shown' if correct_link else 'missing'}")
            for url in _write_urls(base, row_id):
                for method in ("GET", "POST"):
                    data = {"csrf_token": token, "action": "muldelete", "rowid": row_id} if method == "POST" else None
                    resp = client.open(url, method=method, data=data)
                    if resp.status_code != 404:
                        problems.append(f"{role} {method} {url} -> {resp.status_code}")
        for url in pages:
            body = client.get(url).get_data(as_text=True)
            for match in WRITE_LINK.finditer(body):
                problems.append(f"{role} GET {url}: links to {match.group(0)}")
            if 'class="action_check"' in body and "/show/" not in url:
                problems.append(f"{role} GET {url}: offers bulk actions")
    assert not problems, "\n".join(problems)
    with app.app_context():
        for model, key in keys.items():
            assert db.session.get(model, key) is not None, model


def test_a_coach_still_records_and_edits_progress_metrics(app: Flask, accounts: dict) -> None:
    with app.app_context():
        metric = computed_world("coach@coachdesk.test")[ProgressMetric].id
    coach = app.test_client()
    login(coach, "coach", "coach-Passw0rd!")
    assert coach.get(f"/progress-metrics/edit/{metric}").status_code == 200
    assert coach.get("/progress-metrics/add").status_code == 200
    listing = coach.get("/progress-metrics/list/").get_data(as_text=True)
    assert f"/progress-metrics/edit/{metric}" in listing
