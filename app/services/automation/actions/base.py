"""What every action of the closed catalogue is: its parameters, its check, its preview, its effect.

The engine knows actions only through ``ActionType``: ``check`` refuses bad parameters when a
rule is saved, ``preview`` says what the action would do for one subject without changing
anything (dry runs, template previews), ``perform`` does it inside the engine's transaction,
which commits the action's writes together with the execution's ``steps_done``. An action
signals a failure by raising ``TransientActionError`` (the engine retries with backoff: a
timeout, a lock) or ``PermanentActionError`` (the execution fails at once with the message: an
erased customer, a customer without a coach).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.orm import Session

# Parameter kinds the editor renders a widget for.
TEXT = "text"  # one line
TEMPLATE = "template"  # text with {placeholders}, previewed with a customer's data
ENUM = "enum"  # one of ``choices``
NUMBER = "number"  # with ``unit``
BADGE = "badge"  # a badge code
COACH = "coach"  # a coach's user id
SEGMENT = "segment"  # a segment name
URL = "url"  # an https address on the allow-list
PARAM_KINDS = (TEXT, TEMPLATE, ENUM, NUMBER, BADGE, COACH, SEGMENT, URL)


class ActionError(Exception):
    """An action could not be done; ``str(error)`` is the translated reason shown in the run log."""


class TransientActionError(ActionError):
    """Worth trying again later (timeout, lock, 5xx): the engine retries with exponential backoff."""


class PermanentActionError(ActionError):
    """Trying again cannot help (customer erased, no coach, 4xx): the execution fails at once."""


@dataclass(frozen=True)
class ActionParam:
    name: str
    kind: str
    label: Any  # a lazy string
    required: bool = True
    choices: tuple[tuple[str, Any], ...] = ()  # (code, lazy label) for ENUM
    unit: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    max_length: int | None = None
    default: Any = None
    help: Any = None

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "label": str(self.label),
            "required": self.required,
        }
        if self.choices:
            out["choices"] = [{"value": code, "label": str(label)} for code, label in self.choices]
        for key in ("unit", "minimum", "maximum", "max_length", "default"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.help is not None:
            out["help"] = str(self.help)
        return out


@dataclass(frozen=True)
class ActionContext:
    """Who and what an action acts on, and why (the rule, its version and the occurrence)."""

    rule_id: int
    rule_name: str
    rule_version: int
    execution_id: int | None  # None in a dry run
    idempotency_key: str
    step: int  # the action's index in the rule's list
    customer_id: uuid.UUID | None
    event_type: str | None = None
    event_id: int | None = None
    payload: Mapping[str, Any] = field(default_factory=dict)
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    @property
    def delivery_id(self) -> str:
        """Unique per execution and step: a webhook receiver drops a repeated delivery by it."""
        return f"{self.idempotency_key}#{self.step}"


@dataclass(frozen=True)
class ParamProblem:
    param: str  # the parameter's name ("" for the action as a whole)
    message: str  # translated


class ActionType(Protocol):
    name: str  # the code stored in action_json ("SEND_MESSAGE")
    label: Any
    description: Any
    params: tuple[ActionParam, ...]
    # Messages wait for the end of the customer's quiet hours; other actions run at once.
    sends_message: bool
    # Acts outside the database (a webhook): repeated after a crash between the call and the
    # commit, so it carries ``ctx.delivery_id`` for the receiver to drop the repeat.
    external: bool

    def check(self, params: Mapping[str, Any], db: Session | None = None) -> list[ParamProblem]: ...

    def preview(self, db: Session, ctx: ActionContext, params: Mapping[str, Any]) -> str: ...

    def perform(self, db: Session, ctx: ActionContext, params: Mapping[str, Any]) -> str: ...
