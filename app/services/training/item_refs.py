"""Polymorphic references checked against the table they point to, for every path that writes one.

A program item and a plan item name their exercise, meal or habit by ``item_type`` + ``item_id``, and a
thread its coach assignment or support ticket by ``context_type`` + ``context_id``: no foreign key can hold
such a pair, so the console forms, the plan builder's save, the plan calendar and the services all ask here
before writing. A reference counts only when the row exists and the actor's row scope reaches it, so a
coach cannot point at a row they could not open; the error names the field and is a 400, nothing written.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import sqlalchemy as sa

from app.extensions import db
from app.i18n import service_gettext as _
from app.models.customers import CoachAssignment
from app.models.engagement import NOTES_CONTEXT, SupportTicket, ThreadContext
from app.models.training import ItemType
from app.policy.scope import Actor, scope_criteria
from app.services.training.access import MAX_ID
from app.services.training.catalogue import CATALOGUE


class ReferenceRefused(ValueError):
    """A reference to a row that does not exist (or is out of the actor's reach); ``status`` is the HTTP one."""

    status = 400

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def as_dict(self) -> dict[str, str]:
        return {"error": self.message, "field": self.field}


def known_item_ids(actor: Actor, wanted: dict[ItemType, set[int]]) -> dict[ItemType, set[int]]:
    """Which of these catalogue ids exist within the actor's scope: one query per item type."""
    known: dict[ItemType, set[int]] = {}
    for item_type, ids in wanted.items():
        usable = {i for i in ids if isinstance(i, int) and not isinstance(i, bool) and 1 <= i <= MAX_ID}
        if not usable:
            known[item_type] = set()
            continue
        model = CATALOGUE[item_type]
        stmt = sa.select(model.id).where(model.id.in_(usable), scope_criteria(model, actor))
        known[item_type] = set(db.session.scalars(stmt))
    return known


def missing_item_refs(actor: Actor, refs: Iterable[tuple[ItemType, int]]) -> list[tuple[ItemType, int]]:
    """The (type, id) pairs, in the order given, that name no catalogue row the actor may use."""
    pairs = list(refs)
    wanted: dict[ItemType, set[int]] = {}
    for item_type, item_id in pairs:
        wanted.setdefault(item_type, set()).add(item_id)
    known = known_item_ids(actor, wanted)
    return [(t, i) for t, i in pairs if i not in known[t]]


def no_such_item(item_type: ItemType, item_id: object) -> str:
    return _("There is no %(type)s with id %(id)s.", type=item_label(item_type), id=item_id)


def item_label(item_type: ItemType) -> str:
    labels = {ItemType.EXERCISE: _("exercise"), ItemType.MEAL: _("meal"), ItemType.HABIT: _("habit")}
    return labels[item_type]


def require_item(actor: Actor, item_type: ItemType, item_id: object, *, field: str = "item_id") -> None:
    """Refuse an ``item_type`` + ``item_id`` pair that names no usable exercise, meal or habit."""
    if not isinstance(item_id, int) or missing_item_refs(actor, [(item_type, item_id)]):
        raise ReferenceRefused(no_such_item(item_type, item_id), field=field)


def require_thread_context(
    actor: Actor, context_type: ThreadContext, context_id: str | None, *, customer_id: uuid.UUID | None = None
) -> None:
    """Refuse a thread context naming no coach assignment (CUSTOMER_COACH) or support ticket (SUPPORT),
    or one of another customer than the thread's (``customer_id``, when the thread names one).

    No context id is allowed (a thread about nothing in particular), and so is automation's notes marker."""
    if context_id is None or context_id == "":
        return
    if context_type == ThreadContext.CUSTOMER_COACH and context_id == NOTES_CONTEXT:
        return
    coaching = context_type == ThreadContext.CUSTOMER_COACH
    model = CoachAssignment if coaching else SupportTicket
    whose = CoachAssignment.customer_id if coaching else SupportTicket.requester_id
    text = str(context_id).strip()
    row_id = int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else None
    found = (
        db.session.execute(sa.select(whose).where(model.id == row_id, scope_criteria(model, actor))).first()
        if row_id is not None and 1 <= row_id <= MAX_ID
        else None
    )
    if not found:
        if coaching:
            message = _("There is no coach assignment with id %(id)s.", id=text[:64])
        else:
            message = _("There is no support ticket with id %(id)s.", id=text[:64])
        raise ReferenceRefused(message, field="context_id")
    if customer_id is not None and found[0] != customer_id:
        if coaching:
            message = _("Coach assignment %(id)s is another customer's.", id=row_id)
        else:
            message = _("Support ticket %(id)s was raised by another customer.", id=row_id)
        raise ReferenceRefused(message, field="context_id")
