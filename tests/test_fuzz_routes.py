"""A deterministic crawler over ``app.url_map``: bad input to every route, as every role, finds no 5xx.

Every rule and every method it allows is requested, on SQLite and PostgreSQL, by each
console role the matrix in ``roles.py`` lets through (and anonymously on public routes)
with classes of input nobody should send: unknown ids, text or a UUID where an id
belongs, 20-digit ids, dates at and past the ends of the calendar, huge numbers, NUL
bytes, malformed and deep JSON, 100 kB of text, and filter/sort/page arguments the page
does not know (FAB's ``_flt_*``, the console's ``f_*``, Flask-Admin's ``flt0_0``).
Refusals by role are test_permissions_matrix's job: a refused role never reaches the
input. To stay under two minutes the variants rotate: Admin gets a few per route and
every other role one, each starting at a different variant, so every class meets
every kind of route. Writes with bad input must change no row count in any table
unless the response says it saved.

Nothing is skipped: routes that start jobs (compliance exports, subject requests,
retention runs, plan assignment) get a real Redis, and file uploads are refused for
every role (the file browsers are read-only). Only ``/logout/`` is left out: it takes
no input and would sign the client out.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy import orm
from werkzeug.routing import IntegerConverter, PathConverter

from app.extensions import db
from app.services.data_access import pk_column
from app.web.views.base.filters import filter_kind
from app.web.views.base.model_view import CoachdeskModelView
from tests.support.apps import ROLE_ACCOUNTS
from tests.support.routes import classify_routes, expected_allowed
from tests.support.web import login, session_csrf
from tests.support.world import make_world, pk_of

ID20 = "98765432109876543210"
NO_SUCH_INT = "987654321"
BIG = str(10**30)
LONG_TEXT = "x" * 100_000
DATES = ("9999-12-31", "0001-01-01", "99999-01-01")
NUMBERS = ("1e309", BIG, "-" + BIG, "NaN")
JSON_ENDPOINTS = {
    "ProgramDataView.save",
    "PlanAssignView.assign",
    "SecurityApi.login",
    "SecurityApi.refresh",
    "ScheduleView.rotate_feed",
    *(f"SessionApiView.{m}" for m in ("create", "update", "cancel", "capacity")),
    *(f"RosterApiView.{m}" for m in ("book", "cancel_booking", "attendance", "feedback")),
    *(f"AvailabilityApiView.{m}" for m in ("add_slot", "update_slot", "delete_slot")),
    *(f"AvailabilityApiView.{m}" for m in ("add_exception", "delete_exception")),
}
FIELD_RE = re.compile(r'<(?:input|select|textarea)\b[^>]*\bname="([^"]+)"')
SKIP_FIELDS = {"csrf_token"}

# Each query variant: the value for date, number, relation and text filters, plus fixed extra args.
UNKNOWN_ARGS = {
    "_flt_0_name": "x",
    "_flt_99_nosuch": ID20,
    "_oc_list": "nosuch",
    "_od_list": "sideways",
    "_psize_list": BIG,
    "_page_list": "-3",
    "f_nosuch": "1",
    "f_nosuch_from": DATES[0],
    "flt0_0": "x",
    "flt99_99": ID20,
    "flt0_nosuch": "1",
    "sort": "nosuch",
    "desc": "maybe",
    "page": "abc",
    "page_size": BIG,
    "psize": "1e309",
    "search": LONG_TEXT[:5000],
    "by": "nosuch",
    "measure": "nosuch",
    "bucket": "century",
}


def _query_variants() -> list[tuple[str, dict[str, Any]]]:
    """Combined variants: each list filter is parsed on its own, so one request tries several classes."""
    plain = {"date": "", "number": "", "relation": "", "text": "", "cohort": "", "extra": {}}
    return [
        ("far future", {**plain, "date": DATES[0], "number": "1e309", "relation": ID20, "cohort": "9999-12"}),
        ("year one", {**plain, "date": DATES[1], "number": BIG, "relation": str(uuid.uuid4()), "text": ID20}),
        ("five-digit year", {**plain, "date": DATES[2], "number": "-" + BIG, "relation": "abc", "text": LONG_TEXT}),
        ("numbers and ids", {**plain, "number": "NaN", "relation": "-1", "text": BIG, "extra": UNKNOWN_ARGS}),
        ("nul", {**plain, "date": "2024-01-01\x00", "text": "a\x00b"}),
    ]


QUERY_VARIANTS = _query_variants()


def query_args(view: Any, spec: dict[str, Any]) -> dict[str, str]:
    """The args of one query variant for this view: its own filters plus generic date/id/search names."""
    args: dict[str, str] = {}
    date, number, relation, text = spec["date"], spec["number"], spec["relation"], spec["text"]
    if date:
        args.update({"from": date, "to": date, "at": date, "day": date})
    if spec["cohort"]:
        args["cohort"] = spec["cohort"]
    if relation:
        args.update({"customer": relation, "coach": relation, "program": relation, "product": relation})
    if text:
        args.update({"q": text, "search": text, "status": text, "category": text})
    if number:
        args.update({"id": number, "amount": number, "page": number, "week": number})
    model = getattr(getattr(view, "datamodel", None), "obj", None)
    if isinstance(view, CoachdeskModelView) and model is not None:
        mapper = sa.inspect(model)
        for name in view.filter_columns:
            kind = filter_kind(mapper.attrs.get(name))
            if kind in ("date", "datetime") and date:
                args[f"f_{name}_from"] = args[f"f_{name}_to"] = date
            elif kind == "number" and number:
                args[f"f_{name}_min"], args[f"f_{name}_max"] = number, number
            elif kind == "relation" and relation:
                args[f"f_{name}"] = relation
            elif kind in ("text", "enum", "bool") and text:
                args[f"f_{name}"] = text
            if date or number or text:
                args.setdefault(name, date or number or text)  # entity charts filter on bare column names
    args.update(spec["extra"])
    return args


# Each form variant: every discovered field gets this value.
FORM_VARIANTS = [
    ("date max", "9999-12-31"),
    ("date 5 digits", "99999-01-01"),
    ("inf", "1e309"),
    ("id20", ID20),
    ("100 kB", LONG_TEXT),
    ("-10**30", "-" + BIG),
    ("date min", "0001-01-01"),
    ("uuid", "00000000-0000-4000-8000-000000000000"),
    ("nul", "a\x00b"),
]
ADMIN_FORM_VARIANTS = 3  # per write route; the start rotates, so every variant meets every kind of form

JSON_VARIANTS = [
    ("malformed", "{not json"),
    ("deep", "[" * 5000 + "]" * 5000),
    ("deep object", '{"a":' * 3000 + "1" + "}" * 3000),
    ("nul", '{"program_id": "a\\u0000b"}'),
    ("wrong types", json.dumps({"version": "x", "weeks": [], "items": {}, "program_id": "x", "customer_ids": 1})),
    ("huge numbers", '{"version": 1e309, "weeks": 1e309, "program_id": 1e309, "items": [], "customer_ids": []}'),
    (
        "big ids",
        json.dumps(
            {
                "version": 10**30,
                "program_id": int(ID20),
                "customer_ids": [ID20],
                "start_date": "99999-01-01",
                "items": [{"item_type": "EXERCISE", "item_id": int(ID20), "week": 0, "day": 0}],
            }
        ),
    ),
    (
        "unknown ids",
        json.dumps({"version": 1, "items": [{"item_type": "HABIT", "item_id": 999999, "week": 0, "day": 0}]}),
    ),
    ("dates", json.dumps({"program_id": 1, "customer_ids": [], "start_date": "9999-12-31", "start_week": 10**30})),
    ("long", json.dumps({"username": LONG_TEXT, "password": LONG_TEXT, "provider": "db"})),
]


def path_variants(rule: Any, view: Any, ids: dict[type, str]) -> list[dict[str, str]]:
    """Bad values for the URL parts: unknown, wrong type, 20 digits; paths that escape or are absurd."""
    variants: list[dict[str, str]] = []
    if not rule.arguments:
        return variants
    model = getattr(getattr(view, "datamodel", None), "obj", None)
    is_uuid = model is not None and "Uuid" in type(pk_column(model).type).__name__ if model is not None else False
    for bad in (ID20, "abc", NO_SUCH_INT, str(uuid.uuid4()), "-1"):
        values = {}
        for arg in rule.arguments:
            conv = rule._converters.get(arg)
            if isinstance(conv, PathConverter):
                values[arg] = {NO_SUCH_INT: "..%2F..%2Fetc%2Fpasswd", ID20: "/etc/passwd", "abc": "a" * 5000}.get(
                    bad, "../" + bad
                )
            elif arg == "pk" and bad == "abc" and is_uuid:
                values[arg] = NO_SUCH_INT  # an int where a UUID is expected
            else:
                values[arg] = bad
        variants.append(values)
    del ids
    return variants


def base_values(rule: Any, view: Any, ids: dict[type, str]) -> dict[str, str]:
    """URL parts that reach the view: an existing row where there is one, else something harmless."""
    values: dict[str, str] = {}
    model = getattr(getattr(view, "datamodel", None), "obj", None)
    for arg in rule.arguments:
        conv = rule._converters.get(arg)
        if arg == "pk" and model in ids:
            values[arg] = ids[model]
        elif arg == "column" and model is not None:
            mapper = orm.class_mapper(model)
            relations = [c for c in view.filter_columns if isinstance(mapper.attrs.get(c), orm.RelationshipProperty)]
            values[arg] = relations[0] if relations else "none"
        elif arg == "name":
            values[arg] = next(iter(getattr(view, "actions", {}) or {}), "none")
        elif arg == "program_id":
            values[arg] = ids.get("program", NO_SUCH_INT)
        elif arg == "plan_id":
            values[arg] = ids.get("plan", NO_SUCH_INT)
        elif arg == "export_type":
            values[arg] = "csv"
        elif arg == "name" or arg == "entity":
            values[arg] = "x"
        elif isinstance(conv, IntegerConverter):
            values[arg] = NO_SUCH_INT
        elif isinstance(conv, PathConverter):
            values[arg] = "no-such-file.txt"
        else:
            values[arg] = "x"
    if rule.endpoint.startswith("DashboardsView.") and "name" in rule.arguments:
        values["name"] = "revenue"
    return values


def build(rule: Any, values: dict[str, str]) -> str:
    url = rule.rule
    for key, value in values.items():
        url = re.sub(rf"<(?:[a-z]+:)?{key}>", lambda _m, v=value: v, url)
    return url


def table_counts(app: Flask) -> dict[str, int]:
    with app.app_context():
        db.session.remove()
        tables = [t for t in db.metadata.sorted_tables]
        query = sa.select(*[sa.select(sa.func.count()).select_from(t).scalar_subquery().label(t.name) for t in tables])
        row = db.session.execute(query).one()
        db.session.remove()
        return dict(row._mapping)


def only_auth_events_since(app: Flask, count_before: int) -> bool:
    """The audit rows after the first ``count_before`` are all sign-in security events (``auth.*``), or the
    pending TOTP secret the setup page keeps for an account on its first showing (so a reload shows the same QR)."""
    from app.models.compliance import AuditLog

    with app.app_context():
        rows = db.session.execute(
            sa.select(AuditLog.action, AuditLog.resource_type, AuditLog.metadata_json)
            .order_by(AuditLog.id)
            .offset(count_before)
        ).all()
        db.session.remove()

    def security_event(action: str, resource: str | None, meta: Any) -> bool:
        if action.startswith("auth."):
            return True
        fields = set((meta or {}).get("fields") or ())
        return action == "update" and resource == "ab_user" and bool(fields) and fields <= PENDING_SECRET_FIELDS

    return bool(rows) and all(security_event(*row) for row in rows)


PENDING_SECRET_FIELDS = {"mfa_secret", "mfa_last_step"}


def audit_actions_since(app: Flask, count_before: int) -> list[str]:
    """The actions of the audit rows after the first ``count_before`` (what a refused write left behind)."""
    from app.models.compliance import AuditLog

    with app.app_context():
        rows = db.session.execute(
            sa.select(AuditLog.action, AuditLog.resource_type).order_by(AuditLog.id).offset(count_before)
        ).all()
        db.session.remove()
    return [f"{action} {resource}" for action, resource in rows]


def discover_fields(client: Any, url: str) -> list[str]:
    resp = client.get(url)
    names = [] if resp.status_code != 200 else FIELD_RE.findall(resp.get_data(as_text=True))
    resp.close()
    return [n for n in dict.fromkeys(names) if n not in SKIP_FIELDS]


def saved(resp: Any) -> bool:
    """A response that says the write happened (so the row counts may change)."""
    location = resp.headers.get("Location", "")
    if resp.status_code in (301, 302, 303) and "/login" not in location:
        return True
    return resp.status_code in (200, 201, 202) and resp.is_json


def refused(resp: Any) -> bool:
    location = resp.headers.get("Location", "")
    return resp.status_code in (401, 403) or (resp.status_code in (301, 302) and "/login" in location)


@pytest.fixture
def world(app: Flask, accounts: dict) -> dict[Any, str]:
    from app.models.training import CustomerPlan, Program

    with app.app_context():
        rows = make_world("coach@coachdesk.test")
        ids: dict[Any, str] = {model: pk_of(obj) for model, obj in rows.items()}
        ids["program"] = ids.get(Program, NO_SUCH_INT)
        ids["plan"] = ids.get(CustomerPlan, NO_SUCH_INT)
    return ids


def clients_for(app: Flask) -> dict[str | None, Any]:
    result: dict[str | None, Any] = {None: app.test_client()}
    for role, username in ROLE_ACCOUNTS.items():
        client = app.test_client()
        login(client, username, f"{username}-Passw0rd!")
        result[role] = client
    return result


def rotating(role: str | None, n: int, variants: list, admin_gets: int = 2) -> Iterator:
    """Admin (and anonymous, on public routes) gets ``admin_gets`` variants, the other roles one,
    each starting at a different place for each route so that every variant meets every kind of route."""
    if not variants:
        return
    count = admin_gets if role in ("Admin", None) else 1
    start = (list(ROLE_ACCOUNTS).index(role) if role else 0) + n * count
    for k in range(min(count, len(variants))):
        yield variants[(start + k) % len(variants)]


def test_no_route_answers_bad_input_with_a_server_error(
    app: Flask, world: dict, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "REDIS_URL", redis_url)
    monkeypatch.setitem(app.config, "RATELIMIT_ENABLED", False)
    clients = clients_for(app)
    tokens = {role: session_csrf(app, c) for role, c in clients.items()}
    admin = clients["Admin"]
    failures: list[str] = []
    changed: list[str] = []
    sent = 0
    field_cache: dict[str, list[str]] = {}
    table, _undeclared = classify_routes(app)
    segment_fields: dict[str, set[str]] = {}

    def send(client: Any, method: str, url: str, label: str = "base", **kw: Any) -> Any:
        nonlocal sent
        sent += 1
        shown = url if len(url) < 120 else url[:120] + "..."
        try:
            resp = client.open(url, method=method, **kw)
        except Exception as exc:  # the test app propagates exceptions: each is a 500 in production
            failures.append(f"500 {method} {shown} [{label}]: {type(exc).__name__}: {str(exc)[:160]}")
            with app.app_context():
                db.session.rollback()
                db.session.remove()
            return app.response_class(status=500)
        if resp.status_code >= 500:
            failures.append(f"{resp.status_code} {method} {shown} [{label}]")
        resp.close()
        return resp

    for n, (rule, view, method_name, permission, resource, public) in enumerate(table):
        if rule.endpoint == "AuthDBView.logout":
            continue  # would sign the client out; it takes no input
        view_name = rule.endpoint.partition(".")[0]
        methods = sorted(set(rule.methods or ()) - {"HEAD", "OPTIONS"})
        write_only = "GET" not in methods or method_name in ("delete", "action")
        base = build(rule, base_values(rule, view, {} if write_only else world))
        bad_paths = [build(rule, v) for v in path_variants(rule, view, world)]
        roles = [r for r in clients if public or (r and expected_allowed(r, resource, permission, view_name))]
        for method in methods:
            fields: list[str] = []
            is_json = rule.endpoint in JSON_ENDPOINTS
            if method == "POST" and not is_json:
                segment = base.split("/")[1]
                if "GET" in methods:
                    fields = field_cache.setdefault(base, discover_fields(admin, base))
                    segment_fields.setdefault(segment, set()).update(fields)
                else:
                    fields = sorted(segment_fields.get(segment, set()) | {"rowid", "action", "name", "list_form_pk"})
            before = table_counts(app) if method != "GET" else None
            any_saved = False
            for role in roles:
                client, token = clients[role], tokens[role]

                def call(
                    url: str,
                    label: str,
                    client: Any = client,
                    token: str = token,
                    method: str = method,
                    is_json: bool = is_json,
                    **kw: Any,
                ) -> Any:
                    if method == "GET":
                        return send(client, "GET", url, label, **kw)
                    if is_json:
                        return send(client, method, url, label, headers={"X-CSRFToken": token}, **kw)
                    data = {**kw.pop("data", {}), "csrf_token": token}
                    return send(client, method, url, label, data=data, **kw)

                requests: list[tuple[str, str, dict[str, Any]]] = []
                if role == "Admin" or role is None:
                    requests.append(("base", base, {}))
                if role in ("Admin", None) or n % 2:
                    requests += [("bad path", url, {}) for url in rotating(role, n, bad_paths, admin_gets=1)]
                if method == "GET":
                    requests += [
                        (name, base, {"query_string": query_args(view, spec)})
                        for name, spec in rotating(role, n, QUERY_VARIANTS, admin_gets=2)
                    ]
                elif is_json:
                    requests += [
                        (name, base, {"data": body, "content_type": "application/json"})
                        for name, body in rotating(role, n, JSON_VARIANTS, admin_gets=len(JSON_VARIANTS))
                    ]
                else:
                    action = next(iter(getattr(view, "actions", {}) or {}), "none")
                    for name, value in rotating(role, n, FORM_VARIANTS, admin_gets=ADMIN_FORM_VARIANTS):
                        data = {f: value for f in fields}
                        if "action" in data:
                            data["action"] = action
                        requests.append((name, base, {"data": data}))
                for label, url, kw in requests:
                    resp = call(url, label, **kw)
                    if method != "GET" and saved(resp) and not (is_json and resp.status_code >= 300):
                        any_saved = True
            if before is not None and not any_saved:
                after = table_counts(app)
                diff = {t: (before[t], after[t]) for t in before if before[t] != after[t]}
                if "audit_logs" in diff and only_auth_events_since(app, before["audit_logs"]):
                    del diff["audit_logs"]  # a refused sign-in or MFA code is itself a security event, kept
                if diff:
                    changed.append(f"{method} {rule.rule}: {diff} {audit_actions_since(app, before['audit_logs'])}")
    print(f"fuzz: {sent} requests")
    report = sorted(set(failures))
    assert not report, f"{len(failures)} server errors of {sent} requests:\n" + "\n".join(report[:150])
    assert not changed, "refused writes changed rows:\n" + "\n".join(changed)
    assert sent > 2000, sent
