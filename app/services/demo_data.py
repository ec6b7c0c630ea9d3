"""Demo data: fill every seed table with a coherent, realistic year of a coaching business.

Used by ``flask demo seed`` and by the embedded default's first start. Rows go
in through bulk ``insert()`` in batches, so 1,000 customers take seconds; the
whole run is one transaction, committed by the last console account, so a
failure leaves the database as it was.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy import func, select
from tqdm import tqdm

from app.extensions import db
from app.i18n import N_
from app.models import SEED_MODELS, AuditLog
from app.models.identity import ConsoleUser, PlatformRole, PlatformUser
from app.policy.roles import CONSOLE_ROLES
from app.services.accounts import AccountError, create_console_account, generate_password
from app.services.analytics.rollups import refresh_rollups
from app.services.audit import chain as audit
from app.services.audit import verify as audit_verify
from app.services.demo import automation as demo_automation
from app.services.demo import awards, commerce, engagement, people, scheduling, telemetry, training
from app.services.demo.base import Ctx

__all__ = ["DemoDataError", "DemoResult", "seed_demo_data", "PHASES"]

CONSOLE_USERNAMES = {
    "Admin": "admin",
    "Manager": "manager",
    "Coach": "coach",
    "Support": "support",
    "Compliance": "compliance",
}


class DemoDataError(ValueError):
    """Demo data cannot be seeded as asked; the message says why and what to do."""


@dataclass
class DemoResult:
    logins: list[dict[str, str]]
    counts: dict[str, int]
    customers: int
    seed: int
    seconds: float
    coach_user_id: Any = None
    timings: dict[str, float] = field(default_factory=dict)
    api_key: str | None = None  # the demo mobile backend's API key (every scope), shown once

    def summary_lines(self) -> list[str]:
        total = sum(self.counts.values())
        lines = [
            _(
                "Demo data seeded: %(customers)s customers, seed %(seed)s, %(rows)s rows in %(tables)s tables "
                "(%(seconds)s s).",
                customers=self.customers,
                seed=self.seed,
                rows=f"{total:,}",
                tables=len(self.counts),
                seconds=f"{self.seconds:.1f}",
            )
        ]
        width = max(len(name) for name in self.counts)
        lines += [f"  {name:<{width}}  {count:>9,}" for name, count in sorted(self.counts.items())]
        lines.append(_("Demo logins (one per console role):"))
        lines += [login_line(e) for e in self.logins]
        if self.api_key:
            lines.append(api_key_line(self.api_key))
        return lines


def login_line(entry: dict[str, str]) -> str:
    """One demo login, as printed by ``flask demo seed`` and the embedded default's start."""
    return "  " + _(
        "%(role)s username: %(username)s password: %(password)s",
        role=f"{entry['role']:<11}",
        username=f"{entry['username']:<12}",
        password=entry["password"],
    )


def api_key_line(key: str) -> str:
    """The demo API client's key, with where to try it (``/api/v1/docs``: Authorize, paste the key)."""
    return "  " + _(
        "API key of the demo client 'Mobile app backend' (every scope; documentation at /api/v1/docs): %(key)s", key=key
    )


# Phase names are shown on the progress bar (translated there) and key the timings (English).
PHASES: tuple[tuple[str, Callable[[Ctx], None]], ...] = (
    (N_("roles"), people.seed_roles),
    (N_("staff"), people.seed_staff),
    (N_("customers"), people.seed_customers),
    (N_("users"), people.insert_users),
    (N_("profiles"), people.seed_profiles),
    (N_("consents & assessments"), people.seed_consents_and_assessments),
    (N_("coach assignments"), people.seed_assignments),
    (N_("availability"), people.seed_availability),
    (N_("auth sessions"), people.seed_auth_sessions),
    (N_("products & promotions"), commerce.seed_catalogue),
    (N_("subscriptions & billing"), commerce.seed_billing),
    (N_("exercises, meals, habits"), training.seed_content),
    (N_("programs"), training.seed_programs),
    (N_("customer plans"), training.seed_plans),
    (N_("badges"), training.seed_badges),
    (N_("sessions & rosters"), scheduling.seed_sessions),
    (N_("threads & tickets"), engagement.seed_threads_and_tickets),
    (N_("announcements"), engagement.seed_announcements),
    (N_("community"), engagement.seed_community),
    (N_("challenges"), engagement.seed_challenges),
    (N_("engagement events"), telemetry.seed_events),
    (N_("progress metrics"), telemetry.seed_metrics),
    (N_("cohort snapshots"), telemetry.seed_cohorts),
    (N_("recommendations"), telemetry.seed_recommendations),
    (N_("automation"), demo_automation.seed_rules),
    (N_("API clients"), telemetry.seed_api),
    (N_("wearables"), telemetry.seed_wearables),
    (N_("retention policies"), telemetry.seed_retention),
    (N_("audit trail"), telemetry.seed_audit),
    # Last: its audit rows follow the bulk history, as the services' own rows do.
    (N_("badge awards & challenge rankings"), awards.seed_awards),
)


def _check_empty(sm: Any) -> None:
    """Refuse anything but an empty database: demo rows mixed into real ones cannot be told apart."""
    accounts = db.session.scalar(select(func.count()).select_from(ConsoleUser)) or 0
    # Setting up a database leaves its own traces: the audit trail of the role sync and
    # the system user that jobs act as. Those do not make a database "in use".
    setup_only = {
        PlatformUser: PlatformUser.email != audit.SYSTEM_EMAIL,
        AuditLog: ~AuditLog.resource_type.startswith("ab_", autoescape=True),
    }
    filled = {
        model.__tablename__: n
        for model in SEED_MODELS
        if model is not PlatformRole
        and (n := db.session.scalar(select(func.count()).select_from(model).where(setup_only.get(model, sa.true()))))
    }
    if accounts or filled:
        names = sorted(filled, key=lambda name: (-filled[name], name))
        detail = ", ".join(f"{name}: {filled[name]}" for name in names[:4]) or _("no other rows")
        if len(names) > 4:
            detail = _("%(tables)s and %(n)s more tables", tables=detail, n=len(names) - 4)
        raise DemoDataError(
            _(
                "the database already holds %(accounts)s console account(s) and data (%(detail)s); "
                "demo data only goes into an empty database (use a fresh database, or empty this one first)",
                accounts=accounts,
                detail=detail,
            )
        )
    missing = [role for role in CONSOLE_ROLES if sm.find_role(role) is None]
    if missing:
        raise DemoDataError(
            _("console roles missing (%(roles)s): run `flask roles sync` first", roles=", ".join(missing))
        )


def seed_demo_data(sm: Any, *, customers: int, seed: int, progress: bool, now: dt.datetime | None = None) -> DemoResult:
    """Seed every table and create one console account per role; return the logins and row counts.

    ``now`` anchors the generated year (default: the start of the current UTC hour), so a
    seed reproduces the same rows within that hour, and exactly when ``now`` is given.
    """
    if customers < 1:
        raise DemoDataError(_("--customers must be at least 1"))
    if now is None:
        now = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    elif now.tzinfo is None:
        raise DemoDataError("now must be timezone-aware")
    _check_empty(sm)
    started = time.perf_counter()
    ctx = Ctx(seed=seed, customers=customers, now=now.astimezone(dt.UTC))
    bar = tqdm(total=len(PHASES) + 1, desc=_("demo data"), unit="step", disable=not progress, leave=False)
    timings: dict[str, float] = {}
    try:
        for name, phase in PHASES:
            bar.set_postfix_str(_(name))
            t0 = time.perf_counter()
            phase(ctx)
            timings[name] = time.perf_counter() - t0
            bar.update()
        bar.set_postfix_str(_("console accounts"))
        logins = _console_accounts(sm, ctx)
        # The bulk-inserted audit history has no hashes yet: chain it with the rest.
        audit_verify.rechain()
        # Dashboards read rollups: build them over the whole generated year.
        telemetry.seed_promotion_redemptions(ctx)  # after billing, before the rollups that count events
        refresh_rollups(db.session, None)
        telemetry.seed_headline_snapshots(ctx)  # reads the rollups: "Headline trends" has a history
        # The rules act on the recent history through the engine itself (commits per action).
        bar.set_postfix_str(_("automation"))
        t0 = time.perf_counter()
        demo_automation.replay(ctx.extra.get("automation_author"), ctx.now)
        timings["automation replay"] = time.perf_counter() - t0
        bar.update()
    except Exception:
        db.session.rollback()
        raise
    finally:
        bar.close()
    counts = {
        model.__tablename__: db.session.scalar(select(func.count()).select_from(model)) or 0 for model in SEED_MODELS
    }
    return DemoResult(
        logins=logins,
        counts=counts,
        customers=customers,
        seed=seed,
        seconds=time.perf_counter() - started,
        coach_user_id=ctx.console_people["Coach"].id,
        timings=timings,
        api_key=ctx.extra.get("demo_api_key"),
    )


def _console_accounts(sm: Any, ctx: Ctx) -> list[dict[str, str]]:
    """One console account per role, each on an existing demo person; the first one commits everything."""
    logins = []
    for role in CONSOLE_ROLES:
        person = ctx.console_people[role]
        platform_user = db.session.get(PlatformUser, person.id)
        password = generate_password()
        try:
            account = create_console_account(
                sm,
                username=CONSOLE_USERNAMES[role],
                email=person.email,
                full_name=person.full_name,
                role=role,
                password=password,
                platform_user=platform_user,
            )
        except AccountError as exc:
            raise DemoDataError(
                _("could not create the %(role)s console account: %(error)s", role=role, error=exc)
            ) from exc
        logins.append({"role": role, "username": account.username, "password": account.password})
    return logins
