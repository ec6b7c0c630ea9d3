"""Message templates: a closed list of placeholders, a renderer that only substitutes, built-in texts.

A template is text with ``{name}`` placeholders; ``{{`` and ``}}`` write literal braces. The
renderer is a single regex pass, not ``str.format``: ``{x.__class__}``, ``{0}``, ``{a[b]}`` or
``{name!r:>10}`` are refused by ``problems`` when a rule is saved (and by ``parse`` again when it
runs), so a template can reach nothing but the values below. A value is never re-scanned, so a
customer named ``{coach_name}`` stays literally that.

Each placeholder reads the rows the event names (``session_id`` -> the session, ``invoice_id`` ->
the invoice...), formatted in the reader's language and the customer's time zone. A placeholder
whose data is missing (the trigger has no session) renders as an empty string; one that is not
in the list is refused at save. Built-in texts (``BUILTIN``) are translated messages rendered in
the recipient's language.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from babel.dates import format_date, format_time
from babel.numbers import format_currency, format_decimal
from flask_babel import force_locale, gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from app.i18n import N_
from app.i18n import service_gettext as _
from app.models.commerce import Invoice, Subscription
from app.models.identity import PlatformUser
from app.models.scheduling import ScheduledSession
from app.models.training import Badge, CustomerPlan
from app.services.automation.actions.base import ActionContext

_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")


class TemplateError(ValueError):
    """A template that is not one: ``str(error)`` is the translated reason."""


@dataclass(frozen=True)
class Scope:
    """What placeholders are resolved from: the occurrence, the customer and coach, the reader's language."""

    db: Session
    ctx: ActionContext
    customer: PlatformUser | None
    coach: PlatformUser | None
    locale: str
    zone: ZoneInfo
    _rows: dict[str, Any] = field(default_factory=dict, compare=False)

    def row(self, key: str, load: Callable[[Scope], Any]) -> Any:
        """Each row is read once per rendering, however many placeholders use it."""
        if key not in self._rows:
            self._rows[key] = load(self)
        return self._rows[key]


@dataclass(frozen=True)
class Placeholder:
    name: str
    label: Any
    resolve: Callable[[Scope], str | None]


# --- parsing and rendering ---------------------------------------------------------------------


def parse(text: str) -> list[tuple[bool, str]]:
    """The template as (is_placeholder, literal text or placeholder name) parts; TemplateError if malformed."""
    parts: list[tuple[bool, str]] = []
    pos = 0
    for match in _TOKEN.finditer(text):
        if match.start() > pos:
            parts.append((False, text[pos : match.start()]))
        token = match.group(0)
        if token in ("{{", "}}"):
            parts.append((False, token[0]))
        elif match.group(1) is not None:
            if not _NAME.fullmatch(match.group(1)):
                raise TemplateError(
                    _(
                        "%(token)s is not a placeholder: write a name from the list between braces, such as "
                        "{first_name}, and {{ or }} for a brace.",
                        token=token[:60],
                    )
                )
            parts.append((True, match.group(1)))
        else:
            raise TemplateError(_("A single %(brace)s: write {{ or }} for a brace.", brace=token))
        pos = match.end()
    if pos < len(text):
        parts.append((False, text[pos:]))
    return parts


def placeholders_in(text: str) -> list[str]:
    """The placeholder names a (well-formed) template uses, in order, without repeats."""
    return list(dict.fromkeys(name for is_name, name in parse(text) if is_name))


def problems(text: str) -> list[str]:
    """Why the template cannot be saved (empty: it can): malformed braces, unknown placeholders."""
    try:
        names = placeholders_in(text)
    except TemplateError as error:
        return [error.args[0]]
    unknown = [name for name in names if name not in PLACEHOLDERS]
    if not unknown:
        return []
    return [
        _(
            "Unknown placeholder %(names)s. Available: %(available)s.",
            names=", ".join("{" + n + "}" for n in unknown),
            available=", ".join("{" + n + "}" for n in PLACEHOLDERS),
        )
    ]


def render(text: str, scope: Scope) -> str:
    """The template with each placeholder's value (dates, numbers, money in ``scope.locale``); missing data is ""."""
    parts = parse(text)
    values: dict[str, str] = {}
    out = []
    for is_name, value in parts:
        if not is_name:
            out.append(value)
            continue
        if value not in values:
            placeholder = PLACEHOLDERS.get(value)
            resolved = placeholder.resolve(scope) if placeholder is not None else None
            values[value] = resolved or ""
        out.append(values[value])
    return "".join(out)


# --- reading the rows an event names -----------------------------------------------------------


def _payload_id(scope: Scope, key: str) -> int | None:
    value = scope.ctx.payload.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63 else None


def _payload_date(scope: Scope, key: str) -> dt.date | None:
    value = scope.ctx.payload.get(key)
    if not isinstance(value, str):
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


def _session(scope: Scope) -> ScheduledSession | None:
    sid = _payload_id(scope, "session_id")
    return scope.db.get(ScheduledSession, sid) if sid else None


def _plan(scope: Scope) -> CustomerPlan | None:
    pid = _payload_id(scope, "plan_id")
    plan = scope.db.get(CustomerPlan, pid) if pid else None
    # Only the customer's own plan: a payload never shows one customer another's data.
    return plan if plan is not None and scope.customer is not None and plan.customer_id == scope.customer.id else None


def _invoice(scope: Scope) -> Invoice | None:
    iid = _payload_id(scope, "invoice_id")
    if not iid or scope.customer is None:
        return None
    stmt = (
        sa.select(Invoice)
        .join(Subscription, Subscription.id == Invoice.subscription_id)
        .where(Invoice.id == iid, Subscription.customer_id == scope.customer.id)
    )
    return scope.db.scalars(stmt).first()


def _badge(scope: Scope) -> Badge | None:
    bid = _payload_id(scope, "badge_id")
    if bid:
        return scope.db.get(Badge, bid)
    code = scope.ctx.payload.get("badge_code")
    return scope.db.scalar(sa.select(Badge).where(Badge.code == code)) if isinstance(code, str) and code else None


def _money(scope: Scope) -> tuple[decimal.Decimal | None, str | None]:
    amount, currency = scope.ctx.payload.get("amount"), scope.ctx.payload.get("currency")
    if isinstance(amount, (int, float, decimal.Decimal)) and not isinstance(amount, bool):
        return decimal.Decimal(str(amount)), currency if isinstance(currency, str) and currency else None
    invoice = scope.row("invoice", _invoice)
    return (invoice.amount, invoice.currency) if invoice is not None else (None, None)


def _day(scope: Scope, day: dt.date | None) -> str | None:
    return format_date(day, "long", locale=scope.locale) if day else None


def _moment(scope: Scope, at: dt.datetime | None) -> str | None:
    if at is None:
        return None
    local = at.astimezone(scope.zone)
    return (
        f"{format_date(local.date(), 'full', locale=scope.locale)}, {format_time(local, 'short', locale=scope.locale)}"
    )


def _first_name(scope: Scope) -> str | None:
    name = (scope.customer.full_name or "").split() if scope.customer is not None else []
    return name[0] if name else None


def _amount(scope: Scope) -> str | None:
    amount, currency = _money(scope)
    if amount is None:
        return None
    if currency:
        return format_currency(amount, currency, locale=scope.locale)
    return format_decimal(amount, locale=scope.locale)


def _due_date(scope: Scope) -> str | None:
    day = _payload_date(scope, "due_date")
    if day is None:
        invoice = scope.row("invoice", _invoice)
        day = invoice.due_date if invoice is not None else None
    return _day(scope, day)


def _metric_value(scope: Scope) -> str | None:
    value, unit = scope.ctx.payload.get("value"), scope.ctx.payload.get("unit")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = format_decimal(value, locale=scope.locale)
    return f"{number} {unit}" if isinstance(unit, str) and unit else number


def _session_start(scope: Scope) -> str | None:
    session = scope.row("session", _session)
    return _moment(scope, session.start_time) if session is not None else None


def _session_title(scope: Scope) -> str | None:
    session = scope.row("session", _session)
    return session.title if session is not None else None


def _plan_name(scope: Scope) -> str | None:
    plan = scope.row("plan", _plan)
    return plan.program.title if plan is not None and plan.program is not None else None


def _badge_name(scope: Scope) -> str | None:
    badge = scope.row("badge", _badge)
    return badge.name if badge is not None else None


def _currency(scope: Scope) -> str | None:
    return _money(scope)[1]


_PLACEHOLDERS = (
    Placeholder("first_name", _l("Customer's first name"), _first_name),
    Placeholder("coach_name", _l("Coach's name"), lambda s: s.coach.full_name if s.coach is not None else None),
    Placeholder("rule_name", _l("Rule name"), lambda s: s.ctx.rule_name),
    Placeholder("session_title", _l("Session title"), _session_title),
    Placeholder("session_start", _l("Session start (customer's time)"), _session_start),
    Placeholder("plan_name", _l("Plan (program title)"), _plan_name),
    Placeholder("planned_date", _l("Planned day"), lambda s: _day(s, _payload_date(s, "scheduled_date"))),
    Placeholder("amount", _l("Amount with currency"), _amount),
    Placeholder("currency", _l("Currency code"), _currency),
    Placeholder("due_date", _l("Invoice due date"), _due_date),
    Placeholder("badge_name", _l("Badge name"), _badge_name),
    Placeholder("metric_value", _l("Measured value with unit"), _metric_value),
)
PLACEHOLDERS: Mapping[str, Placeholder] = {p.name: p for p in _PLACEHOLDERS}


def describe_placeholders() -> list[dict[str, str]]:
    """The placeholder list for the editor's template fields (labels in the current language)."""
    return [{"name": p.name, "token": "{" + p.name + "}", "label": str(p.label)} for p in _PLACEHOLDERS]


# --- built-in texts ----------------------------------------------------------------------------

# (key, label, text): the text is a message id, translated in the recipient's language when sent.
_BUILTIN = (
    (
        "welcome",
        _l("Welcome"),
        N_(
            "Hi {first_name}, welcome aboard! I'm {coach_name}, your coach. "
            "Write to me here whenever you have a question."
        ),
    ),
    (
        "missed_workout",
        _l("Missed workout"),
        N_(
            "Hi {first_name}, I noticed the workout planned for {planned_date} did not happen. "
            "No worries: shall we find a better time for it this week?"
        ),
    ),
    (
        "payment_failed",
        _l("Payment failed"),
        N_(
            "Hi {first_name}, your payment of {amount} did not go through. "
            "Please check your payment details so your coaching continues without a break."
        ),
    ),
    (
        "checkin",
        _l("Check-in"),
        N_(
            "Hi {first_name}, it has been a while! How are you getting on? "
            "Tell me if something is in the way and we will adjust your plan."
        ),
    ),
    (
        "waitlist_promoted",
        _l("Promoted from the waitlist"),
        N_("Good news, {first_name}: a seat came free and you are now booked for the session on {session_start}."),
    ),
    (
        "no_show",
        _l("No-show follow-up"),
        N_(
            "Hi {first_name}, we missed you at the session on {session_start}. "
            "Is everything all right? Tell me if you would like to book another one."
        ),
    ),
    (
        "streak_badge",
        _l("Badge earned"),
        N_("Congratulations, {first_name}! You earned the {badge_name} badge. Keep it up!"),
    ),
)
BUILTIN_CHOICES: tuple[tuple[str, Any], ...] = tuple((key, label) for key, label, _text in _BUILTIN)
BUILTIN_TEXTS: Mapping[str, str] = {key: text for key, _label, text in _BUILTIN}


def builtin_text(key: str, locale: str) -> str:
    """A built-in text in ``locale``: the English one should a translation break the template syntax."""
    source = BUILTIN_TEXTS[key]
    with force_locale(locale):
        translated = gettext(source)
    try:
        parse(translated)
    except TemplateError:
        return source
    return translated


def describe_builtins() -> list[dict[str, str]]:
    """The built-in texts in the current language, for the editor to show what each one says."""
    return [{"key": key, "label": str(label), "text": gettext(text)} for key, label, text in _BUILTIN]
