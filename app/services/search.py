"""Global search: customers, programs, tickets and invoices matching a few typed characters, row-scoped.

One query per kind, each with a LIMIT, written so PostgreSQL answers it from the GIN trigram
indexes of migration 0017 (``col ILIKE '%text%'`` on the indexed column itself, never
``lower(col)``): three characters or more match anywhere; two characters match the start of the
value or of a word (a trigram index answers those too, with its word-start padding); one is
refused with a hint. SQLite runs the same statements as a plain LIKE. Kinds the reader may not
read (``KIND_RESOURCES``) are never queried; the rows of the others are limited by
:func:`app.policy.scope.scope_criteria`, exactly as the console lists are.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask_babel import ngettext
from sqlalchemy.orm import Session

from app.models.commerce import Invoice
from app.models.engagement import SupportTicket
from app.models.identity import PlatformRole, PlatformUser, RoleCode, UserRole
from app.models.labels import enum_label
from app.models.training import Program
from app.policy.scope import scope_criteria
from app.services.people_search import contains_pattern

MAX_QUERY = 100  # the view refuses longer text (people_search cuts at the same length)
MIN_CHARS = 2  # fewer is refused with a hint: one character matches half the database
CONTAINS_CHARS = 3  # a trigram index needs three characters for "contains anywhere"
BOX_LIMIT = 5  # per kind, in the navbar box
PAGE_LIMIT = 25  # per kind, on the full results page
CANDIDATES = 200  # customers: matches ranked by name (see _customers)
MAX_INVOICE_NUMBER = 2**63 - 1

# Each kind and the entity resource a reader needs ``can_read`` on to see any of it.
KIND_RESOURCES: dict[str, str] = {
    "customers": "Users",
    "programs": "Programs",
    "tickets": "SupportTickets",
    "invoices": "Invoices",
}
KINDS = tuple(KIND_RESOURCES)

_INVOICE_NUMBER = re.compile(r"#?\s*(\d{1,19})")


@dataclass(frozen=True)
class Hit:
    """One found record: its kind, primary key (as text), a title and a line of detail."""

    kind: str
    key: str
    title: str
    detail: str


@dataclass
class SearchResults:
    query: str
    hits: dict[str, list[Hit]] = field(default_factory=dict)
    too_short: bool = False

    @property
    def total(self) -> int:
        return sum(len(rows) for rows in self.hits.values())


def readable_kinds(can_read: Callable[[str], bool]) -> list[str]:
    """The kinds whose resource ``can_read(resource)`` allows, in display order."""
    return [kind for kind, resource in KIND_RESOURCES.items() if can_read(resource)]


def _escaped(text: str) -> str:
    # people_search's pattern is "%<escaped>%": its middle is the text with \, % and _ escaped.
    return contains_pattern(text)[1:-1]


def text_match(column: Any, text: str) -> Any:
    """``column`` contains ``text`` (3+ characters) or has a word starting with it (2): both trigram-indexable."""
    if len(text) >= CONTAINS_CHARS:
        return column.ilike(contains_pattern(text), escape="\\")
    escaped = _escaped(text)
    return sa.or_(column.ilike(f"{escaped}%", escape="\\"), column.ilike(f"% {escaped}%", escape="\\"))


Match = Callable[[Any, str], Any]


def _customers(actor: Any, text: str, limit: int, match: Match) -> sa.Select:
    # The role's id as a scalar subquery (one lookup before the scan), not a join the planner would
    # have to estimate: the trigram bitmap on users stays the driving side.
    customer_role = sa.select(PlatformRole.id).where(PlatformRole.code == RoleCode.CUSTOMER).scalar_subquery()
    is_customer = (
        sa.select(UserRole.id).where(UserRole.user_id == PlatformUser.id, UserRole.role_id == customer_role).exists()
    )
    # Only the columns the text can match (each is one more index scan): names hold no digits, phones
    # no letters; a phone is matched as stored (formats vary), so digits as they appear there: "4567".
    has_digit, has_letter = any(c.isdigit() for c in text), any(c.isalpha() for c in text)
    columns = [PlatformUser.email]
    if not has_digit:
        columns.append(PlatformUser.full_name)
    if has_digit and not has_letter:
        columns.append(PlatformUser.phone)
    # No index orders by name, so sorting every match of a common fragment ("mar") would cost the
    # most; the first CANDIDATES matches found are sorted instead (typing more narrows past that).
    found = (
        sa.select(PlatformUser.id, PlatformUser.full_name, PlatformUser.email, PlatformUser.phone)
        .where(scope_criteria(PlatformUser, actor), is_customer, sa.or_(*[match(c, text) for c in columns]))
        .limit(max(CANDIDATES, limit))
        .subquery()
    )
    return sa.select(found).order_by(found.c.full_name, found.c.id).limit(limit)


def _customer_hit(uid: Any, name: str, email: str, phone: str | None) -> Hit:
    return Hit("customers", str(uid), name or email, " · ".join(v for v in (email, phone) if v))


def _programs(actor: Any, text: str, limit: int, match: Match) -> sa.Select:
    return (
        sa.select(Program.id, Program.title, Program.level, Program.weeks)
        .where(scope_criteria(Program, actor), match(Program.title, text))
        .order_by(Program.title, Program.id)
        .limit(limit)
    )


def _program_hit(pid: int, title: str, level: Any, weeks: int) -> Hit:
    return Hit("programs", str(pid), title, f"{enum_label(level)} · {ngettext('%(num)d week', '%(num)d weeks', weeks)}")


def _tickets(actor: Any, text: str, limit: int, match: Match) -> sa.Select:
    return (
        sa.select(SupportTicket.id, SupportTicket.subject, SupportTicket.status, PlatformUser.full_name)
        .join(PlatformUser, PlatformUser.id == SupportTicket.requester_id)
        .where(scope_criteria(SupportTicket, actor), match(SupportTicket.subject, text))
        .order_by(SupportTicket.id.desc())
        .limit(limit)
    )


def _ticket_hit(tid: int, subject: str, status: Any, requester: str) -> Hit:
    return Hit("tickets", str(tid), subject, f"#{tid} · {enum_label(status)} · {requester}")


def _invoices(actor: Any, text: str, limit: int, match: Match) -> sa.Select:
    matches = [match(Invoice.external_reference, text)]
    number = _INVOICE_NUMBER.fullmatch(text)
    if number and int(number.group(1)) <= MAX_INVOICE_NUMBER:
        matches.append(Invoice.id == int(number.group(1)))
    return (
        sa.select(Invoice.id, Invoice.external_reference, Invoice.amount, Invoice.currency, Invoice.status)
        .where(scope_criteria(Invoice, actor), sa.or_(*matches))
        .order_by(Invoice.id.desc())
        .limit(limit)
    )


def _invoice_hit(iid: int, ref: str | None, amount: Any, currency: str, status: Any) -> Hit:
    return Hit("invoices", str(iid), ref or f"#{iid}", f"#{iid} · {amount} {currency} · {enum_label(status)}")


# kind -> (its statement, its row as a Hit)
SEARCHES: dict[str, tuple[Callable[[Any, str, int, Match], sa.Select], Callable[..., Hit]]] = {
    "customers": (_customers, _customer_hit),
    "programs": (_programs, _program_hit),
    "tickets": (_tickets, _ticket_hit),
    "invoices": (_invoices, _invoice_hit),
}


def statement(kind: str, actor: Any, query: str, *, limit: int = BOX_LIMIT, match: Match = text_match) -> sa.Select:
    """The one query of ``kind`` (for :func:`search`, and for EXPLAIN in tests and the benchmark)."""
    return SEARCHES[kind][0](actor, " ".join(query.split()), limit, match)


def search(
    db: Session, actor: Any, query: str, kinds: Iterable[str], *, limit: int = BOX_LIMIT, match: Match = text_match
) -> SearchResults:
    """Up to ``limit`` hits per kind in ``kinds`` that ``actor`` may read; nothing (``too_short``) under 2 characters.

    ``query`` is expected validated by the caller (at most ``MAX_QUERY`` characters, no control characters);
    ``match`` is :func:`text_match` except in the benchmark's naive comparison.
    """
    text = " ".join(query.split())
    results = SearchResults(text)
    if len(text) < MIN_CHARS:
        results.too_short = bool(text)
        return results
    for kind in kinds:
        build, hit = SEARCHES[kind]
        results.hits[kind] = [hit(*row) for row in db.execute(build(actor, text, limit, match))]
    return results
