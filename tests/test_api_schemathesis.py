"""The API against its own OpenAPI document (schemathesis, through the WSGI app): no 5xx, every
response conforming to its documented schema, status and content type, on SQLite and PostgreSQL.

A partner key holding every scope calls each operation, with valid (positive) and invalid
(negative) input, over a small seeded world. The examples are few and derandomized, so the run is
short and the same on every machine. (The operations are driven with hypothesis directly:
schemathesis's pytest plugin does not run under this project's pytest 9.)
"""

from __future__ import annotations

import datetime as dt

import hypothesis
import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis import checks
from schemathesis.generation.modes import GenerationMode

from tests.support.api_support import bearer, make_api_world

CHECKS = [
    checks.not_a_server_error,
    checks.response_schema_conformance,
    checks.status_code_conformance,
    checks.content_type_conformance,
]
SETTINGS = hypothesis.settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=False,
    suppress_health_check=list(hypothesis.HealthCheck),
)


def with_real_keys(strategy, operation, known: dict[str, list[str]]):
    """Half the cases name a row that exists (random keys almost never do), so reads and writes get past 404."""
    resource = operation.path.split("/")[1]
    if "{key}" not in operation.path or not known.get(resource):
        return strategy

    def name_a_row(pair):
        case, key = pair
        case.path_parameters = {**(case.path_parameters or {}), "key": key}
        return case

    real = st.tuples(strategy, st.sampled_from(known[resource])).map(name_a_row)
    return st.one_of(strategy, real)


def run_operation(
    operation, mode: GenerationMode, headers: dict[str, str], known: dict[str, list[str]]
) -> dict[int, int]:
    """Exercise one operation; the statuses it answered (status -> count)."""
    statuses: dict[int, int] = {}
    strategy = operation.as_strategy(generation_mode=mode)
    if mode == GenerationMode.POSITIVE:
        strategy = with_real_keys(strategy, operation, known)

    @SETTINGS
    @hypothesis.given(case=strategy)
    def exercise(case) -> None:
        response = case.call_and_validate(headers=headers, checks=CHECKS)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

    exercise()
    return statuses


def seed_through_the_api(app, headers: dict[str, str], customer) -> dict[str, list[str]]:
    """A reading, a ticket and its support thread, made through the API itself, for the reads to find."""
    client = app.test_client()
    when = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat()
    reading = {"customer_id": str(customer), "metric_type": "weight", "value": 71.5, "unit": "kg",
               "recorded_at": when, "client_key": "st-1"}  # fmt: skip
    metric = client.post("/api/v1/metrics", json=reading, headers=headers)
    ticket = client.post("/api/v1/tickets", json={"subject": "Sync", "body": "Since Monday.",
                                                  "requester_id": str(customer)}, headers=headers)  # fmt: skip
    threads = client.get("/api/v1/threads", headers=headers)
    assert metric.status_code == 201 and ticket.status_code == 201 and threads.status_code == 200, (
        metric.get_data(as_text=True), ticket.get_data(as_text=True))  # fmt: skip
    return {
        "metrics": [str(metric.get_json()["id"])],
        "tickets": [str(ticket.get_json()["id"])],
        "threads": [str(t["id"]) for t in threads.get_json()["data"]],
    }


def seed_billing(customer) -> dict[str, list[str]]:
    """A subscription of the customer with its first invoice, through the billing service."""
    from app.extensions import db
    from app.models.base import utcnow
    from app.services.billing import subscriptions
    from tests.support.billing_support import product

    sub, invoice = subscriptions.create_subscription(db.session, customer, product("30.00").id, now=utcnow())
    db.session.commit()
    return {"subscriptions": [str(sub.id)], "invoices": [str(invoice.id)]}


def test_api_conforms_to_its_document(app) -> None:
    with app.app_context():
        world = make_api_world()
        billing = seed_billing(world.a1)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    headers = bearer(world.keys["partner"])
    ingest = seed_through_the_api(app, headers, world.a1)
    known = {
        "customers": [str(world.a1), str(world.a2), str(world.b1)],
        "plans": [str(i) for i in world.plans.values()],
        "plan-items": [str(i) for items in world.items.values() for i in items],
        "sessions": [str(i) for i in world.sessions.values()],
        "bookings": [str(i) for i in world.bookings.values()],
        **ingest,
        **billing,
    }
    failures: list[str] = []
    answered: dict[str, dict[int, int]] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                answered[f"{operation.label} [{mode.value}]"] = run_operation(operation, mode, headers, known)
            except Exception as error:  # noqa: BLE001 - every operation runs; all failures are reported
                failures.append(f"{operation.label} [{mode.value}]: {error}")
    assert not failures, "\n\n".join(failures)
    positive = {label: statuses for label, statuses in answered.items() if label.endswith("[positive]")}
    assert len(positive) >= 12 and all(positive.values()), answered
    # Valid input reaches the data: every read answers 200 for some examples, not only refusals.
    reads = {label: statuses for label, statuses in positive.items() if label.startswith("GET ")}
    assert all(200 in statuses for statuses in reads.values()), {k: v for k, v in reads.items() if 200 not in v}


pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
