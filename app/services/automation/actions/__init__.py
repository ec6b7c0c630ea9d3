"""The closed catalogue of actions a rule may take (the registry; each action lives in its module)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from app.i18n import service_gettext as _
from app.services.automation.actions.base import ActionType, ParamProblem

ACTIONS: dict[str, ActionType] = {}


def get(code: str) -> ActionType | None:
    return ACTIONS.get(code)


def describe_all() -> list[dict[str, Any]]:
    return []


def check_actions(actions: list[Mapping[str, Any]], db: Session | None = None) -> list[tuple[int, ParamProblem]]:
    out: list[tuple[int, ParamProblem]] = []
    for index, spec in enumerate(actions):
        action = ACTIONS.get(str(spec.get("type", ""))) if isinstance(spec, Mapping) else None
        if action is None:
            out.append((index, ParamProblem("", _("Choose an action from the list."))))
            continue
        out.extend((index, problem) for problem in action.check(spec.get("params") or {}, db))
    return out
