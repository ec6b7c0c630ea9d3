"""Analytics and operations: metrics, engagement events, cohorts, recommendations, automation, API, audit."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import secrets
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal

import sqlalchemy as sa

from app.extensions import db
from app.models.analytics import CohortSnapshot, EngagementEvent, ProgressMetric, RecommendationLog
from app.models.automation import APIAccessLog, APIClient, WearableAuthorization
from app.models.commerce import Promotion, PromotionRedemption
from app.models.compliance import AuditLog, DataRetentionPolicy
from app.services.analytics.snapshots import headline_metrics
from app.services.api_clients.keys import issue_key
from app.services.api_clients.scopes import SCOPES
from app.services.demo import catalogue as cat
from app.services.demo.base import Ctx, insert_returning_ids, insert_rows
from app.services.retention.policies import RetentionError, validate_policy

EVENT_TYPES = {
    "app_open": 30,
    "workout_completed": 18,
    "meal_logged": 14,
    "habit_checked": 14,
    "plan_viewed": 8,
    "message_sent": 5,
    "session_booked": 4,
    "video_watched": 5,
    "community_post_viewed": 2,
}
DEVICES = ("ios", "android", "web")


def _weekly_rate(ctx: Ctx, weeks_in: float, base: float) -> float:
    # Strong first weeks, then a plateau: the shape cohort charts expect.
    return base * (0.55 + 0.45 * math.exp(-weeks_in / 6))


def _gone_quiet(ctx: Ctx) -> dict[object, dt.datetime]:
    """Customers who stopped using the app 15-34 days ago while still on a plan (not cancelled yet):
    every fourth such long-standing customer, so even a small demo has someone for an inactivity
    check-in to reach. Chosen without drawing from the random stream."""
    candidates = sorted(
        (
            c
            for c in ctx.customers
            if c.churned_at is None and c.plan_ids and ctx.now - c.signup > dt.timedelta(days=60)
        ),
        key=lambda c: c.signup,
    )
    return {c.id: ctx.now - dt.timedelta(days=15 + i % 20) for i, c in enumerate(candidates) if i % 4 == 1}


def seed_events(ctx: Ctx) -> None:
    rng = ctx.rng
    types = list(EVENT_TYPES)
    weights = list(EVENT_TYPES.values())
    quiet = _gone_quiet(ctx)

    def rows() -> Iterator[dict]:
        for c in ctx.customers:
            base = rng.uniform(3.0, 7.5) * (0.6 + c.adherence * 0.6)
            device = rng.choice(DEVICES)
            end = min(c.active_until, ctx.now, quiet.get(c.id, ctx.now))
            week_start = c.signup
            weeks_in = 0
            while week_start < end:
                week_end = min(end, week_start + dt.timedelta(days=7))
                mean = _weekly_rate(ctx, weeks_in, base) * ((week_end - week_start) / dt.timedelta(days=7))
                count = max(0, round(rng.gauss(mean, math.sqrt(mean))))
                for kind in rng.choices(types, weights=weights, k=count):
                    payload: dict = {"device": device, "app_version": rng.choice(("4.0.2", "4.1.0", "4.2.1"))}
                    if kind == "workout_completed":
                        payload["duration_min"] = rng.randint(15, 75)
                    elif kind == "video_watched":
                        payload["exercise_id"] = rng.choice(ctx.ids["exercise"])
                        payload["seconds"] = rng.randint(20, 600)
                    elif kind == "meal_logged":
                        payload["meal_id"] = rng.choice(ctx.ids["meal"])
                    yield {
                        "customer_id": c.id,
                        "event_type": kind,
                        "payload_json": payload,
                        "occurred_at": ctx.between(week_start, week_end),
                    }
                week_start = week_end
                weeks_in += 1
            # The first thing every customer does.
            yield {
                "customer_id": c.id,
                "event_type": "signup",
                "payload_json": {"device": device},
                "occurred_at": c.signup,
            }

    insert_rows(EngagementEvent, rows())


def seed_metrics(ctx: Ctx) -> None:
    rng = ctx.rng

    def rows() -> Iterator[dict]:
        for c in ctx.customers:
            end = min(c.active_until, ctx.now)
            weight = rng.uniform(55, 115)
            trend = {"LOSE_WEIGHT": -0.45, "BUILD_MUSCLE": 0.12}.get(c.goal, -0.08) * c.adherence
            t = c.signup + dt.timedelta(hours=rng.randint(1, 48))
            while t < end:
                yield {
                    "customer_id": c.id,
                    "metric_type": "weight",
                    "value": Decimal(f"{weight:.1f}"),
                    "unit": "kg",
                    "recorded_at": t,
                    "source": "MANUAL",
                }
                if ctx.chance(0.25):
                    yield {
                        "customer_id": c.id,
                        "metric_type": "body_fat",
                        "unit": "%",
                        "recorded_at": t,
                        "value": Decimal(f"{rng.uniform(14, 35):.1f}"),
                        "source": "MANUAL",
                    }
                weight = max(40.0, weight + trend + rng.gauss(0, 0.4))
                t += dt.timedelta(days=rng.randint(6, 14))
            if not c.wearable:
                continue
            resting = rng.randint(52, 78)
            t = c.signup + dt.timedelta(days=rng.randint(1, 20))
            while t < end:
                yield {
                    "customer_id": c.id,
                    "metric_type": "steps",
                    "unit": "steps",
                    "recorded_at": t,
                    "value": Decimal(max(800, int(rng.gauss(8500 * (0.7 + c.adherence * 0.4), 2500)))),
                    "source": "WEARABLE",
                }
                if ctx.chance(0.35):
                    yield {
                        "customer_id": c.id,
                        "metric_type": "resting_heart_rate",
                        "unit": "bpm",
                        "recorded_at": t,
                        "value": Decimal(resting + rng.randint(-3, 3)),
                        "source": "WEARABLE",
                    }
                    yield {
                        "customer_id": c.id,
                        "metric_type": "sleep_hours",
                        "unit": "h",
                        "recorded_at": t,
                        "value": Decimal(f"{rng.uniform(5.2, 8.8):.2f}"),
                        "source": "WEARABLE",
                    }
                t += dt.timedelta(days=rng.randint(2, 4))

    insert_rows(ProgressMetric, rows())


def seed_cohorts(ctx: Ctx) -> None:
    """Monthly sign-up cohorts: size and the share still active at the end of each later month."""
    cohorts: dict[str, list] = defaultdict(list)
    for c in ctx.customers:
        cohorts[f"{c.signup:%Y-%m}"].append(c)
    rows = []
    first_of_month = dt.datetime(ctx.today.year, ctx.today.month, 1, tzinfo=dt.UTC)
    for key in sorted(cohorts):
        members = cohorts[key]
        year, month = map(int, key.split("-"))
        moment = dt.datetime(year, month, 1, tzinfo=dt.UTC)
        age = 0
        while moment < first_of_month:
            moment = dt.datetime(moment.year + (moment.month == 12), moment.month % 12 + 1, 1, tzinfo=dt.UTC)
            active = sum(1 for c in members if c.is_active_on(moment - dt.timedelta(seconds=1)))
            rows.append(
                {"cohort_key": key, "metric_name": "customers", "value": Decimal(len(members)), "captured_at": moment}
            )
            rows.append(
                {
                    "cohort_key": key,
                    "metric_name": f"retention_m{age}",
                    "captured_at": moment,
                    "value": (Decimal(active) / len(members)).quantize(Decimal("0.0001")),
                }
            )
            age += 1
    insert_rows(CohortSnapshot, rows)


def seed_promotion_redemptions(ctx: Ctx) -> None:
    """A ``promotion_redeemed`` engagement event (the code in its payload) for each subscription the
    billing history redeemed a promotion for, when it did: "Promotion use" counts these."""
    r, p = PromotionRedemption, Promotion
    found = db.session.execute(sa.select(r.customer_id, p.code, r.redeemed_at).join(p, p.id == r.promotion_id)).all()
    rows = [
        {
            "customer_id": customer_id,
            "event_type": "promotion_redeemed",
            "payload_json": {"code": code},
            "occurred_at": redeemed_at,
        }
        for customer_id, code, redeemed_at in found
    ]
    insert_rows(EngagementEvent, rows)


HEADLINE_WEEKS = 52


def seed_headline_snapshots(ctx: Ctx) -> None:
    """The headline metrics the daily capture would have recorded, once a week back over the generated
    year, so "Headline trends" has a history from the first start. Computed by the capture's own
    ``headline_metrics`` as of each day; run after the rollups are built (it reads them)."""
    rows = []
    for weeks_back in range(HEADLINE_WEEKS, -1, -1):
        day = ctx.today - dt.timedelta(weeks=weeks_back)
        captured_at = dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)
        rows += [
            {"cohort_key": key, "metric_name": name, "value": value, "captured_at": captured_at}
            for key, name, value in headline_metrics(db.session, day)
        ]
    insert_rows(CohortSnapshot, rows)


def seed_recommendations(ctx: Ctx) -> None:
    rng = ctx.rng
    kinds = {
        "PROGRAM": ("program", ctx.ids["program"]),
        "MEAL": ("meal", ctx.ids["meal"]),
        "HABIT": ("habit", ctx.ids["habit"]),
        "EXERCISE": ("exercise", ctx.ids["exercise"]),
    }

    def rows() -> Iterator[dict]:
        for c in ctx.customers:
            t = c.signup + dt.timedelta(days=rng.randint(1, 10))
            end = min(c.active_until, ctx.now)
            while t < end:
                kind = rng.choice(list(kinds))
                name, ids = kinds[kind]
                accepted = t + dt.timedelta(minutes=rng.randint(1, 3000)) if ctx.chance(0.3) else None
                yield {
                    "customer_id": c.id,
                    "recommendation_type": kind,
                    "shown_at": t,
                    "accepted_at": accepted if accepted and accepted <= ctx.now else None,
                    "payload_json": {
                        "item_type": name,
                        "item_id": rng.choice(ids),
                        "model": "rules-v2",
                        "score": round(rng.uniform(0.4, 0.99), 3),
                        "reason": rng.choice(("goal_match", "similar_customers", "adherence_dip", "new_content")),
                    },
                }
                t += dt.timedelta(days=rng.randint(10, 35))

    insert_rows(RecommendationLog, rows())


READ_SCOPES = "customers:read plans:read metrics:read sessions:read tickets:read messages:read"
ALL_SCOPES = " ".join(sorted(SCOPES))
# name, requests per minute, status, scopes: the first one's key is printed at the first start.
API_CLIENTS = (
    ("Mobile app backend", 600, "ACTIVE", ALL_SCOPES),
    ("BI warehouse export", 60, "ACTIVE", READ_SCOPES),
    ("Garmin bridge", 300, "ACTIVE", "customers:read metrics:read metrics:write"),
    ("Legacy CRM sync", 30, "REVOKED", "customers:read customers:write"),
    ("Partner gym kiosk", 120, "SUSPENDED", "sessions:read bookings:write"),
)
# (method, URL rule as the access log records it, weight) by the scope family that reaches it.
ENDPOINTS = {
    "customers": [("GET", "/api/v1/customers", 3), ("GET", "/api/v1/customers/<uuid:key>", 4),
                  ("PATCH", "/api/v1/customers/<uuid:key>", 1)],
    "plans": [("GET", "/api/v1/plan-items", 6), ("GET", "/api/v1/plans", 2),
              ("POST", "/api/v1/plan-items/<int:key>/complete", 3),
              ("PUT", "/api/v1/plan-items/<int:key>/feedback", 1)],
    "metrics": [("POST", "/api/v1/metrics/batch", 4), ("GET", "/api/v1/metrics", 2), ("POST", "/api/v1/metrics", 1)],
    "sessions": [("GET", "/api/v1/sessions", 4), ("GET", "/api/v1/bookings", 2)],
    "bookings": [("POST", "/api/v1/bookings", 2), ("DELETE", "/api/v1/bookings/<int:key>", 1)],
    "tickets": [("GET", "/api/v1/tickets", 1), ("POST", "/api/v1/tickets", 1)],
    "messages": [("GET", "/api/v1/threads", 2), ("POST", "/api/v1/threads/<int:key>/messages", 1)],
}  # fmt: skip


def hash_secret(raw: str) -> str:
    """SHA-256 of a high-entropy random key: what API-key and token columns store."""
    return hashlib.sha256(raw.encode()).hexdigest()


def _endpoints(scopes: str) -> list[tuple[str, str, int]]:
    families = {scope.split(":")[0] for scope in scopes.split()}
    return [entry for family in sorted(families) for entry in ENDPOINTS.get(family, ())]


def seed_api(ctx: Ctx) -> None:
    rng = ctx.rng
    rows, keys = [], []
    for i, (name, limit, status, scopes) in enumerate(API_CLIENTS):
        key = issue_key()
        keys.append(key.key)
        created = ctx.days_ago(300 - i * 40)
        rows.append(
            {
                "name": name,
                "rate_limit": limit,
                "status": status,
                "scopes": scopes,
                "created_at": created,
                "api_key_hash": key.key_hash,
                "key_prefix": key.prefix,
                "revoked_at": ctx.days_ago(45) if status == "REVOKED" else None,
            }
        )
    # Only the mobile backend's key is kept (printed once by the embedded default's first start);
    # the others are thrown away: they work only after a rotation in the console.
    ctx.extra["demo_api_key"] = keys[0]
    client_ids = insert_returning_ids(APIClient, rows)

    def logs() -> Iterator[dict]:
        for cid, client in zip(client_ids, rows, strict=True):
            endpoints = _endpoints(client["scopes"])
            weights = [w for _m, _r, w in endpoints]
            until = ctx.now if client["status"] == "ACTIVE" else ctx.days_ago(45)
            per_day = max(2, min(40, client["rate_limit"] // 15))
            day = max(client["created_at"], ctx.days_ago(90))
            while day < until:
                for _ in range(rng.randint(per_day // 2, per_day)):
                    method, rule, _w = rng.choices(endpoints, weights)[0]
                    ok = "201" if method == "POST" else "200"
                    code = int(ctx.weighted({ok: 90, "400": 1, "401": 1, "404": 2, "422": 2, "429": 1.5, "500": 0.5}))
                    latency = int(rng.lognormvariate(3.6, 0.6)) + (400 if code == 500 else 0)
                    yield {
                        "client_id": cid,
                        "endpoint": rule,
                        "method": method,
                        "request_id": str(ctx.uuid()),
                        "status_code": code,
                        "latency_ms": latency,
                        "occurred_at": ctx.between(day, min(until, day + dt.timedelta(days=1))),
                    }
                day += dt.timedelta(days=1)

    insert_rows(APIAccessLog, logs())


def seed_wearables(ctx: Ctx) -> None:
    rng = ctx.rng
    rows = []
    for c in ctx.customers:
        if not c.wearable:
            continue
        for provider in rng.sample(cat.WEARABLE_PROVIDERS, 1 if ctx.chance(0.85) else 2):
            linked = c.signup + dt.timedelta(days=rng.randint(1, 20))
            revoked = max(c.churned_at, linked) if c.churned_at and ctx.chance(0.6) else None
            rows.append(
                {
                    "customer_id": c.id,
                    "provider": provider,
                    "access_token_hash": None if revoked else hash_secret(secrets.token_urlsafe(32)),
                    "refresh_token_hash": None if revoked else hash_secret(secrets.token_urlsafe(32)),
                    "expires_at": (revoked or ctx.now) + dt.timedelta(hours=rng.randint(1, 24 * 30)),
                    "revoked_at": revoked,
                }
            )
    insert_rows(WearableAuthorization, rows)


def seed_retention(ctx: Ctx) -> None:
    """The catalogue's policies, disabled; checked like a form's, since bulk inserts skip the model's validator."""
    for entity, days, strategy in cat.RETENTION_POLICIES:
        errors = validate_policy(entity, strategy, days)
        if errors:
            raise RetentionError("; ".join(errors))
    insert_rows(
        DataRetentionPolicy,
        (
            {
                "entity": entity,
                "retention_period_days": days,
                "deletion_strategy": strategy,
                "enabled": False,
                "last_run_at": None,
            }
            for entity, days, strategy in cat.RETENTION_POLICIES
        ),
    )


USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Safari/605",
    "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
)
AUDIT_ACTIONS = (
    # action, resource type, changed fields, weight
    ("login", "ConsoleUser", (), 30),
    ("update", "Subscription", ("status", "pause_until"), 10),
    ("update", "CustomerProfile", ("timezone", "goals_json"), 8),
    ("create", "Program", ("title", "level", "weeks"), 4),
    ("update", "Program", ("description", "visibility"), 5),
    ("create", "CustomerPlan", ("program_id", "start_date"), 8),
    ("update", "SupportTicket", ("status", "assigned_to"), 12),
    ("update", "Invoice", ("status",), 4),
    ("create", "Promotion", ("code", "value"), 1),
    ("update", "CoachAssignment", ("coach_id",), 3),
    ("update", "CommunityPost", ("status",), 4),
    ("export", "AuditLog", (), 1),
    ("export", "Payment", (), 2),
    ("login_failed", "ConsoleUser", (), 4),
    ("permission_change", "Role", ("permissions",), 1),
    ("update", "AutomationRule", ("status",), 1),
)


RESOURCE_IDS = {
    "Subscription": "subscription",
    "Program": "program",
    "CustomerPlan": "plan",
    "SupportTicket": "ticket",
    "Invoice": "invoice",
    "Promotion": "promotion",
    "CoachAssignment": "assignment",
    "CommunityPost": "post",
    "AutomationRule": "rule",
}


def seed_audit(ctx: Ctx) -> None:
    """A plausible year of console activity; prev_hash/row_hash stay NULL for the audit chain to fill."""
    rng = ctx.rng
    staff = ctx.admins + ctx.support + ctx.coaches
    actions = [a[:3] for a in AUDIT_ACTIONS]
    weights = [a[3] for a in AUDIT_ACTIONS]
    ips = {p.id: f"10.{rng.randint(0, 20)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}" for p in staff}
    agents = {p.id: rng.choice(USER_AGENTS) for p in staff}
    n = max(100, len(ctx.customers) * 3)
    rows = []
    for _ in range(n):
        actor = rng.choice(staff)
        action, resource, fields = rng.choices(actions, weights=weights)[0]
        created = ctx.between(max(actor.created_at, ctx.days_ago(365)), ctx.now)
        resource_id = None
        if resource == "CustomerProfile":
            resource_id = str(rng.choice(ctx.customers).id)
        elif ctx.ids.get(RESOURCE_IDS.get(resource, "")):
            resource_id = str(rng.choice(ctx.ids[RESOURCE_IDS[resource]]))
        meta: dict = {"fields": list(fields)} if fields else {}
        if action == "export":
            meta.update({"format": rng.choice(("csv", "xlsx")), "rows": rng.randint(50, 50_000)})
        if action == "login_failed":
            meta["reason"] = "bad password"
        if resource == "Role":
            resource_id = rng.choice(("Coach", "Support", "Manager"))
        rows.append(
            {
                "actor_id": actor.id,
                "action": action,
                "resource_type": resource,
                "resource_id": resource_id,
                "metadata_json": meta,
                "created_at": created,
                "ip_address": ips[actor.id],
                "user_agent": agents[actor.id],
                "prev_hash": None,
                "row_hash": None,
            }
        )
    rows.sort(key=lambda r: r["created_at"])
    insert_rows(AuditLog, rows)
