"""What the rule editor's tests share: an action to save rules with, signed-in clients per role, a saved rule.

A rule needs at least one action to be saved. While the closed action catalogue
(``app.services.automation.actions``) is still empty on a branch, ``segment_action`` puts a real
implementation of ``ADD_TO_SEGMENT`` in it (the same code and parameters as the catalogue's own),
so the editor can be tested end to end; once the catalogue has its own ``ADD_TO_SEGMENT``, that one
is used and nothing is replaced.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from app.extensions import db
from app.models.automation import AutomationRule, SegmentMembership
from app.models.identity import ConsoleUser
from app.services.automation import actions, rules
from app.services.automation.actions.base import SEGMENT, ActionContext, ActionParam, ParamProblem
from tests.support.apps import ROLE_ACCOUNTS
from tests.support.web import login, session_csrf

SEGMENT_CODE = "ADD_TO_SEGMENT"


class SegmentAction:
    """``ADD_TO_SEGMENT`` as the catalogue declares it: one required segment name."""

    name = SEGMENT_CODE
    label = _l("Add to a segment")
    description = _l("Adds the customer to a named announcement segment, unless they are in it already.")
    params = (ActionParam("segment", SEGMENT, _l("Segment"), max_length=100),)
    sends_message = False
    external = False

    def check(self, params: Mapping[str, Any], db: Session | None = None) -> list[ParamProblem]:
        value = params.get("segment") if isinstance(params, Mapping) else None
        if not isinstance(value, str) or not value.strip() or len(value) > 100:
            return [ParamProblem("segment", "Segment is required.")]
        return [ParamProblem(str(k), "Unknown parameter.") for k in params if k != "segment"]

    def preview(self, db: Session, ctx: ActionContext, params: Mapping[str, Any]) -> str:
        return f"Add the customer to the segment {params['segment']}."

    def perform(self, db: Session, ctx: ActionContext, params: Mapping[str, Any]) -> str:
        db.add(SegmentMembership(segment=params["segment"], customer_id=ctx.customer_id, rule_id=ctx.rule_id))
        db.flush()
        return "added"

    def describe(self) -> dict[str, Any]:
        return {"code": self.name, "label": str(self.label), "description": str(self.description),
                "params": [p.describe() for p in self.params], "sends_message": False, "external": False,
                "placeholders": []}  # fmt: skip


@contextmanager
def segment_action() -> Iterator[None]:
    """The catalogue with an ``ADD_TO_SEGMENT`` action for the duration of the block (its own, if it has one)."""
    if SEGMENT_CODE in actions.ACTIONS:
        yield
        return
    stand_in = SegmentAction()
    original = actions.describe_all
    actions.ACTIONS[SEGMENT_CODE] = stand_in
    actions.describe_all = lambda: [*original(), stand_in.describe()]  # type: ignore[assignment]
    try:
        yield
    finally:
        actions.ACTIONS.pop(SEGMENT_CODE, None)
        actions.describe_all = original  # type: ignore[assignment]


def draft_json(name: str = "Failed card payment", **changes: Any) -> dict[str, Any]:
    """A valid draft as the editor sends it: payment.failed, a nested condition, one segment action."""
    body: dict[str, Any] = {
        "name": name,
        "trigger_type": "EVENT",
        "trigger_event": "payment.failed",
        "condition": {
            "all": [
                {"field": "amount", "op": "gt", "value": 100},
                {
                    "any": [
                        {"field": "method", "op": "eq", "value": "CARD"},
                        {"field": "currency", "op": "in", "value": ["EUR", "USD"]},
                    ]
                },
            ]
        },
        "actions": [{"type": SEGMENT_CODE, "params": {"segment": "booked"}}],
        "frequency": "EVERY_TIME",
    }
    body.update(changes)
    return body


def save_rule(**changes: Any) -> int:
    """A rule saved through the rule service (as a Manager would), committed; its id."""
    rule = rules.save(db.session, rules.RuleDraft(**draft_json(**changes)), actor_id=None)
    db.session.commit()
    return rule.id


def rule_row(rule_id: int) -> AutomationRule:
    db.session.expire_all()
    found = db.session.get(AutomationRule, rule_id)
    assert found is not None
    return found


def platform_id(username: str) -> uuid.UUID:
    return db.session.scalar(sa.select(ConsoleUser.platform_user_id).where(ConsoleUser.username == username))


@dataclass
class Clients:
    """One signed-in client per console role (and ``None``: anonymous), each with its CSRF token."""

    app: Flask
    clients: dict[str | None, Any] = field(default_factory=dict)
    tokens: dict[str | None, str] = field(default_factory=dict)

    def get(self, role: str | None, url: str, **kw: Any) -> Any:
        return self.clients[role].get(url, headers={"Accept": "application/json"}, **kw)

    def send(self, role: str | None, method: str, url: str, body: Any = None, *, csrf: bool = True,
             raw: str | None = None) -> Any:  # fmt: skip
        headers = {"Accept": "application/json", **({"X-CSRFToken": self.tokens[role]} if csrf else {})}
        if raw is not None:
            headers["Content-Type"] = "application/json"
            return self.clients[role].open(url, method=method, data=raw, headers=headers)
        return self.clients[role].open(url, method=method, json=body if body is not None else {}, headers=headers)

    def post(self, role: str | None, url: str, body: Any = None, **kw: Any) -> Any:
        return self.send(role, "POST", url, body, **kw)


def signed_in(app: Flask) -> Clients:
    """A client per role, signed in with the accounts ``make_accounts`` created."""
    out = Clients(app)
    out.clients[None] = app.test_client()
    out.tokens[None] = session_csrf(app, out.clients[None])
    for role, username in ROLE_ACCOUNTS.items():
        client = app.test_client()
        login(client, username, f"{username}-Passw0rd!")
        out.clients[role] = client
        out.tokens[role] = session_csrf(app, client)
    return out
