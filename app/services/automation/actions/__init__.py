"""The closed catalogue of automation actions: one ``ActionType`` per code of ``ACTION_TYPES``.

``ACTIONS`` maps each code stored in ``automation_rules.action_json`` to its action;
``check_actions`` is what a rule's save runs over its list of actions (every problem, with the
action's index, so the editor can point at the field); ``describe_all`` is the catalogue as the
editor draws it. Interface and errors: ``base.py``; one module per family of actions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from app.i18n import service_gettext as _
from app.models.json_schemas import ACTION_TYPES, MAX_RULE_ACTIONS
from app.services.automation.actions.badges import AWARD_BADGE
from app.services.automation.actions.base import ActionType, ParamProblem
from app.services.automation.actions.coaching import ASSIGN_COACH
from app.services.automation.actions.messages import NOTIFY_COACH, SEND_MESSAGE
from app.services.automation.actions.plans import PAUSE_PLAN, RESUME_PLAN
from app.services.automation.actions.segments import ADD_TO_SEGMENT
from app.services.automation.actions.tickets import CREATE_TICKET
from app.services.automation.actions.webhook import WEBHOOK

ACTIONS: dict[str, ActionType] = {
    action.name: action
    for action in (
        SEND_MESSAGE,
        NOTIFY_COACH,
        CREATE_TICKET,
        AWARD_BADGE,
        ASSIGN_COACH,
        ADD_TO_SEGMENT,
        PAUSE_PLAN,
        RESUME_PLAN,
        WEBHOOK,
    )
}
if tuple(ACTIONS) != tuple(ACTION_TYPES):  # the schema's enum and the catalogue are one list
    raise RuntimeError(f"action catalogue {tuple(ACTIONS)} does not match ACTION_TYPES {ACTION_TYPES}")


def get(code: str) -> ActionType | None:
    return ACTIONS.get(code) if isinstance(code, str) else None


def describe_all() -> list[dict[str, Any]]:
    """Every action for the rule editor, in catalogue order, labels in the current language.

    Each: ``code``, ``label``, ``description``, ``params`` (``ActionParam.describe()``: name, kind,
    label, required, and choices / unit / minimum / maximum / max_length / default / help when
    set), ``sends_message``, ``external``, ``placeholders`` (``[{name, token, label}]`` for actions
    with a template, else empty); SEND_MESSAGE adds ``builtin_texts`` (``[{key, label, text}]``).
    """
    out = []
    for action in ACTIONS.values():
        describe = getattr(action, "describe", None)
        if describe is not None:
            out.append(describe())
        else:
            out.append(
                {
                    "code": action.name,
                    "label": str(action.label),
                    "description": str(action.description),
                    "params": [p.describe() for p in action.params],
                    "sends_message": action.sends_message,
                    "external": action.external,
                    "placeholders": [],
                }
            )
    return out


def check_actions(actions: Any, db: Session | None = None) -> list[tuple[int, ParamProblem]]:
    """Every problem of a rule's action list, as (index in the list, problem); empty when it can be saved.

    Unknown types, keys other than ``type`` and ``params``, unknown, missing or wrongly typed
    parameters, then each action's own check (with ``db``: badges and coaches that exist, hosts
    that resolve to allowed addresses).
    """
    if not isinstance(actions, list):
        return [(0, ParamProblem("", _("The actions must be a list.")))]
    if not actions:
        return [(0, ParamProblem("", _("Add at least one action.")))]
    found: list[tuple[int, ParamProblem]] = []
    if len(actions) > MAX_RULE_ACTIONS:
        found.append((MAX_RULE_ACTIONS, ParamProblem("", _("A rule has at most %(n)s actions.", n=MAX_RULE_ACTIONS))))
    for index, item in enumerate(actions[:MAX_RULE_ACTIONS]):
        if not isinstance(item, Mapping):
            found.append((index, ParamProblem("", _("Each action must be an object with a type and parameters."))))
            continue
        extra = sorted(str(key)[:64] for key in item if key not in ("type", "params"))
        if extra:
            found.append((index, ParamProblem("", _("Unexpected keys: %(keys)s.", keys=", ".join(extra)))))
        action = get(item.get("type"))
        if action is None:
            code = str(item.get("type"))[:64]
            found.append((index, ParamProblem("", _("Unknown action type %(code)s.", code=code))))
            continue
        params = item.get("params", {})
        found.extend((index, problem) for problem in action.check(params if params is not None else {}, db))
    return found
