"""Commerce: products and promotions, then a year of billing produced by the billing services themselves.

``seed_billing`` replays the demo's history day by day: customers sign up (some with a promotion
code), churn (now or at the period's end), pause and resume; each day the billing jobs' steps run
as the cron would (resume, end, renew, charge, dunning retries) against a sandbox gateway whose
outcomes come from the seeded RNG; a few payments are refunded in full or in part. So every invariant
the services keep (paid totals, currencies, promotion limits, amount = subtotal - discount) holds on
the demo. The services' outbox events are dropped afterwards: the automation demo derives its own
from this history (``demo.automation``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal

import sqlalchemy as sa

from app.extensions import db
from app.models.commerce import Invoice, InvoiceStatus, Payment, PaymentStatus, Product, Promotion, Subscription
from app.models.compliance import AuditLog
from app.models.events import DomainEvent
from app.services.audit import hooks as audit_hooks
from app.services.billing import lifecycle, money
from app.services.billing.errors import BillingError
from app.services.billing.gateway import Charge, SandboxGateway
from app.services.billing.payments import charge_invoice, refund_payment
from app.services.billing.promotions import find_promotion
from app.services.billing.renewals import renew_due
from app.services.billing.retries import run_due_retries
from app.services.billing.subscriptions import cancel, create_subscription, pause
from app.services.demo import catalogue as cat
from app.services.demo.base import Ctx, Customer, insert_returning_ids

# Billing periods each catalogue promotion discounts (None: every period), and a small launch offer
# whose usage limit the demo's sign-ups reach, so a used-up code is seen.
PROMOTION_PERIODS = {"NEWYEAR25": 3, "SPRING15": 2, "CORPORATE50": None, "COMEBACK": 2}
LAUNCH_OFFER = ("FOUNDERS30", "PERCENT", "30.00", 365, None, 5)


def seed_catalogue(ctx: Ctx) -> None:
    rows = [
        {
            "name": name,
            "category": category,
            "description": f"{name}: " + ", ".join(meta.get("features", [])) + ".",
            "price": Decimal(price),
            "currency": currency,
            "duration_weeks": weeks,
            "interval_months": 1 if recurring else None,
            "trial_days": meta.get("trial_days", 0),
            "metadata_json": meta,
        }
        for name, category, price, currency, weeks, recurring, meta in cat.PRODUCTS
    ]
    ctx.ids["product"] = insert_returning_ids(Product, rows)
    promos = []
    for code, kind, value, start_ago, duration, limit in (*cat.PROMOTIONS, LAUNCH_OFFER):
        start = ctx.today - dt.timedelta(days=start_ago)
        promos.append(
            {
                "code": code,
                "discount_type": kind,
                "value": Decimal(value),
                "start_date": start,
                "end_date": start + dt.timedelta(days=duration) if duration else None,
                "usage_limit": limit,
                "duration_periods": PROMOTION_PERIODS.get(code, 1),
                "currency": "EUR" if kind == "FIXED" else None,
            }
        )
    ctx.ids["promotion"] = insert_returning_ids(Promotion, promos)
    # (code, valid from, valid to, currency): what a sign-up may type in.
    ctx.extra["promotions"] = [(p["code"], p["start_date"], p["end_date"], p["currency"]) for p in promos]


def _product_for(ctx: Ctx, locale: str, timezone: str) -> int:
    """Index into cat.PRODUCTS: customers are billed in their own currency where we sell in it."""
    rng = ctx.rng
    if locale == "en" and timezone == "Europe/London":
        return 2 if ctx.chance(0.7) else rng.choice((6, 8))
    if timezone.startswith("America/") and locale == "en":
        return 3
    return int(ctx.weighted({"0": 34, "1": 14, "4": 10, "5": 16, "6": 9, "7": 9, "8": 5, "9": 3}))


def seed_billing(ctx: Ctx) -> None:
    """A year of subscriptions, invoices, payments, dunning and refunds, through the billing services.

    Billing draws from its own generator (seeded from the demo's state, which it leaves untouched), so
    the phases after it get the same random stream whatever the simulation consumes.
    """
    outer = ctx.rng
    ctx.rng = ctx.branch()
    try:
        _seed_billing(ctx)
    finally:
        ctx.rng = outer


def _seed_billing(ctx: Ctx) -> None:
    session = db.session
    first_event = session.scalar(sa.select(sa.func.max(DomainEvent.id))) or 0
    first_audit = session.scalar(sa.select(sa.func.max(AuditLog.id))) or 0
    queued = len(session().info.get(audit_hooks.QUEUE_KEY) or [])
    plans = [_plan(ctx, c) for c in ctx.customers]
    agenda: dict[dt.date, list[tuple[str, _Plan]]] = defaultdict(list)
    for plan in plans:
        agenda[plan.start].append(("signup", plan))
        if plan.pause is not None:
            agenda[plan.pause[0]].append(("pause", plan))
        if plan.churn is not None:
            agenda[plan.churn].append(("churn", plan))
    gateway = SandboxGateway(_outcomes(ctx), seed=f"demo-{ctx.rng.getrandbits(32)}")
    day = min(agenda, default=ctx.today)
    with session.no_autoflush:  # the services flush what they write; reads need not flush each change first
        _simulate(ctx, agenda, gateway, day)
    session.flush()
    _refunds(ctx)
    session.flush()
    # The automation demo writes its own outbox from this history (``demo.automation``), and the demo's
    # audit trail is the dated history of ``telemetry.seed_audit``: the simulation's rows, stamped with
    # today's clock, would sit out of order in it, so they go (the data they describe stays).
    queue = session().info.get(audit_hooks.QUEUE_KEY)
    if queue is not None:
        del queue[queued:]
    postgres = session.connection().dialect.name == "postgresql"
    if postgres:  # the append-only guard, lifted as ``audit.verify.rechain`` lifts it, for this statement only
        session.execute(sa.text("SET LOCAL coachdesk.maintenance = 'on'"))
    session.execute(sa.delete(AuditLog).where(AuditLog.id > first_audit))
    if postgres:
        session.execute(sa.text("SET LOCAL coachdesk.maintenance = 'off'"))
    session.execute(sa.delete(DomainEvent).where(DomainEvent.id > first_event))
    ctx.ids["subscription"] = list(session.scalars(sa.select(Subscription.id).order_by(Subscription.id)))
    ctx.ids["invoice"] = list(session.scalars(sa.select(Invoice.id).order_by(Invoice.id)))
    failed = sa.select(sa.func.count()).select_from(Payment).where(Payment.status == PaymentStatus.FAILED)
    ctx.extra["failed_payments"] = session.scalar(failed)


def _simulate(ctx: Ctx, agenda: dict[dt.date, list[tuple[str, _Plan]]], gateway: SandboxGateway, day: dt.date) -> None:
    """Each day: its sign-ups, pauses and churns, then the billing jobs' steps as the cron runs them."""
    session = db.session
    while day <= ctx.today:
        now = min(dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC), ctx.now)
        for action, plan in agenda.get(day, ()):
            _ACTIONS[action](ctx, plan, gateway, now)
        lifecycle.resume_due(session, now)
        lifecycle.end_due(session, now)
        renew_due(session, now)
        lifecycle.collect_due(session, gateway, now)
        run_due_retries(session, gateway, now)
        if day.day == 1:
            session.flush()
            session.expunge_all()  # keep the identity map small; everything is flushed
        day += dt.timedelta(days=1)


@dataclasses.dataclass
class _Plan:
    customer: uuid.UUID
    product_id: int
    currency: str
    start: dt.date
    method: str
    code: str | None
    churn: dt.date | None
    churn_at_period_end: bool
    pause: tuple[dt.date, dt.date] | None
    sub_id: int | None = None


def _plan(ctx: Ctx, c: Customer) -> _Plan:
    idx = _product_for(ctx, c.locale, c.timezone)
    _, _, _, currency, _, recurring, _ = cat.PRODUCTS[idx]
    start = min(c.signup.date(), ctx.today)
    method = ctx.weighted({"CARD": 55, "SEPA_DEBIT": 18, "PAYPAL": 14, "APPLE_PAY": 7, "GOOGLE_PAY": 4,
                           "BANK_TRANSFER": 2})  # fmt: skip
    code = None
    if ctx.chance(0.25):
        valid = [p for p in ctx.extra["promotions"] if p[1] <= start and (p[2] is None or start <= p[2])
                 and (p[3] is None or p[3] == currency)]  # fmt: skip
        code = ctx.rng.choice(valid)[0] if valid else None
    churn = c.churned_at.date() if c.churned_at is not None and c.churned_at.date() > start else None
    pause = None
    if recurring and churn is None and ctx.chance(0.08):
        begin = start + dt.timedelta(days=ctx.rng.randint(20, max(21, (ctx.today - start).days)))
        if begin <= ctx.today:
            pause = (begin, begin + dt.timedelta(days=ctx.rng.randint(14, 45)))
    return _Plan(c.id, ctx.ids["product"][idx], currency, start, method, code, churn, ctx.chance(0.25), pause)


def _signup(ctx: Ctx, plan: _Plan, gateway: SandboxGateway, now: dt.datetime) -> None:
    session = db.session
    code = plan.code
    if code is not None:
        try:  # the code may be used up by now: the customer then signs up without it
            find_promotion(session, code, on=plan.start, currency=plan.currency)
        except BillingError:
            code = None
    sub, invoice = create_subscription(
        session, plan.customer, plan.product_id, now=now, start_date=plan.start, promotion_code=code
    )
    plan.sub_id = sub.id
    if invoice is not None and invoice.status == InvoiceStatus.OPEN:
        charge_invoice(session, invoice, gateway, now=now, method=plan.method)


def _pause(ctx: Ctx, plan: _Plan, gateway: SandboxGateway, now: dt.datetime) -> None:
    sub = _live(plan)
    if sub is not None and sub.status == "ACTIVE" and not sub.cancel_at_period_end and plan.pause:
        pause(db.session, sub, until=plan.pause[1], now=now)


def _churn(ctx: Ctx, plan: _Plan, gateway: SandboxGateway, now: dt.datetime) -> None:
    sub = _live(plan)
    if sub is None or sub.status in ("CANCELLED", "EXPIRED"):
        return
    at_end = plan.churn_at_period_end and sub.status in ("ACTIVE", "TRIAL") and sub.product.interval_months
    if not (at_end and sub.cancel_at_period_end):
        cancel(db.session, sub, now=now, at_period_end=bool(at_end))


def _live(plan: _Plan) -> Subscription | None:
    return db.session.get(Subscription, plan.sub_id) if plan.sub_id is not None else None


_ACTIONS = {"signup": _signup, "pause": _pause, "churn": _churn}


def _outcomes(ctx: Ctx) -> Callable[[Charge], bool | str]:
    """Sandbox outcomes: 6 % of first attempts fail, half the retries recover."""

    def outcome(charge: Charge) -> bool | str:
        p = 0.06 if charge.attempt == 1 else 0.5
        return ctx.rng.choice(cat.FAILURE_REASONS) if ctx.rng.random() < p else True

    return outcome


def _refunds(ctx: Ctx) -> None:
    """Refund about 3 % of paid payments in full and 3 % in part, a few days after they were made."""
    session = db.session
    rows = session.execute(
        sa.select(Payment.id, Payment.amount, Payment.currency, Payment.created_at)
        .join(Invoice, Invoice.id == Payment.invoice_id)
        .where(Payment.status == PaymentStatus.SUCCEEDED, Invoice.status == InvoiceStatus.PAID, Payment.amount > 0)
        .order_by(Payment.id)
    ).all()  # fmt: skip
    picks = [(r, ctx.rng.random()) for r in rows]
    chosen = [(r, x < 0.03) for r, x in picks if x < 0.06]
    if rows and not any(full for _, full in chosen):
        chosen.append((rows[-1], True))
    if rows and all(full for _, full in chosen):
        chosen.append((rows[0], False))
    for row, full in chosen:
        when = min(ctx.now, row.created_at + dt.timedelta(days=ctx.rng.randint(1, 20)))
        part = None if full else money.quantize(row.amount * Decimal(ctx.rng.choice((25, 50, 40))) / 100, row.currency)
        payment = session.get(Payment, row.id)
        if payment.status == PaymentStatus.SUCCEEDED:
            refund_payment(session, payment, now=when, amount=part, reason="demo")
