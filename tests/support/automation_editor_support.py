"""What the rule editor's tests share: a valid draft, signed-in clients per role, a saved rule."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import Flask

from app.extensions import db
from app.models.automation import AutomationRule
from app.models.identity import ConsoleUser
from app.services.automation import rules
from tests.support.apps import ROLE_ACCOUNTS
from tests.support.web import login, session_csrf


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
        "actions": [{"type": "ADD_TO_SEGMENT", "params": {"segment": "booked"}}],
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
