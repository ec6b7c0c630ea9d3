"""The automation rule editor's page (/automation/rules/new, /automation/rules/<id>) and what it is drawn from.

A rule is built with selects, inputs and buttons; nobody types JSON. The page carries the whole
catalogue the editor offers (triggers, events and the condition fields of each, operators per field
kind, actions with their parameters, frequencies, lifecycle, zones, coaches), every string its
script shows, and the rule as ``rules.definition`` stores it. Reading needs ``AutomationRules`` read
(a coach sees, read-only, the rules that can touch their customers: ``app.policy.scope``); a new rule
needs write. The JSON endpoints the page calls are in ``automation_editor_api``.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from flask import abort, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _

from app.extensions import db
from app.models.automation import AutomationRule, RuleFrequency, RuleStatus, SegmentMembership, TriggerType
from app.models.identity import PlatformRole, PlatformUser, RoleCode, UserRole
from app.models.json_schemas import MAX_RULE_ACTIONS
from app.models.training import Badge
from app.policy.roles import WRITE, allowed
from app.policy.scope import Actor, is_unrestricted, scope_criteria, scoped_select
from app.services.automation import actions as action_catalogue
from app.services.automation import rules, triggers
from app.services.automation.condition_tree import (
    MAX_DEPTH,
    MAX_LEAVES,
    OPERATORS,
    OPERATORS_BY_KIND,
    Field,
    operator_word,
)
from app.services.events import catalogue as event_catalogue
from app.services.timezones import available_zones
from app.web.views import automation_strings as words
from app.web.views.base.display import format_value
from app.web.views.json_api import current_actor
from app.web.views.schedule_input import viewer_zone_name

RESOURCE = "AutomationRules"
MAX_OPTIONS = 500
DRY_RUN_DAYS = (1, 90, 30)  # smallest, largest, default window of a dry run


def can_write(actor: Actor) -> bool:
    """Whether one of the actor's roles may change rules (Admin, Manager); coaches read only."""
    return any(allowed(role, RESOURCE, WRITE) for role in actor.roles)


def load_rule(actor: Actor, rule_id: int, *, for_write: bool = False) -> AutomationRule | None:
    """The rule if it is in the actor's row scope (None for an unknown id and one out of scope alike).

    For a write the row is locked, so two saves of one rule run one after the other."""
    stmt = scoped_select(AutomationRule, actor, AutomationRule.id == rule_id, for_write=for_write)
    if for_write:
        stmt = stmt.with_for_update(of=AutomationRule)
    return db.session.scalars(stmt).first()


def _coaches(actor: Actor, *columns: Any) -> sa.Select:
    """Platform users with the COACH role a rule may be limited to (a coach, who reads only: themselves)."""
    coach_ids = sa.select(UserRole.user_id).join(PlatformRole).where(PlatformRole.code == RoleCode.COACH)
    stmt = sa.select(*columns).where(PlatformUser.id.in_(coach_ids))
    return stmt if is_unrestricted(actor) else stmt.where(PlatformUser.id == actor.user_id)


def coach_options(actor: Actor) -> list[dict[str, str]]:
    """The coach scope's choices, by name."""
    stmt = _coaches(actor, PlatformUser.id, PlatformUser.full_name, PlatformUser.email)
    rows = db.session.execute(stmt.order_by(PlatformUser.full_name, PlatformUser.id).limit(MAX_OPTIONS))
    return [{"value": str(uid), "label": name or email} for uid, name, email in rows]


def is_coach_option(actor: Actor, raw: str | None) -> bool:
    """Whether ``raw`` names a coach the actor may limit a rule to (a rule's coach scope must be a real coach)."""
    try:
        wanted = uuid.UUID(str(raw))
    except ValueError:
        return False
    return db.session.scalar(_coaches(actor, PlatformUser.id).where(PlatformUser.id == wanted)) is not None


def _field_json(item: Field) -> dict[str, Any]:
    out: dict[str, Any] = {"name": item.name, "kind": item.kind, "label": item.title()}
    if item.choices:
        out["choices"] = [{"value": code, "label": item.choice_title(code)} for code in item.choices]
    if item.unit:
        out["unit"] = item.unit
    return out


def _fields(kind: TriggerType, event: str | None) -> list[dict[str, Any]]:
    return [_field_json(f) for f in triggers.condition_fields(kind, event).values()]


def _trigger_source(kind: TriggerType) -> str:
    if kind in triggers.EVENT_TRIGGERS:
        return "event"
    return "schedule" if kind == TriggerType.SCHEDULE else "inactivity"


def _options(actor: Actor) -> dict[str, list[dict[str, str]]]:
    """Values some action parameters pick from: badges (the shared catalogue) and known segments."""
    badges = db.session.execute(sa.select(Badge.code, Badge.name).order_by(Badge.name).limit(MAX_OPTIONS))
    segment_stmt = (
        sa.select(SegmentMembership.segment)
        .where(scope_criteria(SegmentMembership, actor))
        .distinct()
        .order_by(SegmentMembership.segment)
        .limit(MAX_OPTIONS)
    )
    return {
        "badge": [{"value": code, "label": f"{name} ({code})"} for code, name in badges],
        "segment": [{"value": name, "label": name} for name in db.session.scalars(segment_stmt)],
        "coach": coach_options(actor),
    }


def _transitions(current: RuleStatus) -> list[dict[str, str]]:
    """The lifecycle steps open from ``current``, with their button labels, in a fixed order."""
    return [{"to": t.value, "label": words.transition_label(current, t)} for t in RuleStatus
            if t in rules.TRANSITIONS[current]]  # fmt: skip


def catalogue(actor: Actor) -> dict[str, Any]:
    """Everything the editor offers, labels in the reader's language."""
    events = []
    for spec in event_catalogue.describe_all():
        fields = _fields(TriggerType.EVENT, spec["name"])
        events.append({"name": spec["name"], "label": spec["label"], "description": spec["description"],
                       "fields": fields})  # fmt: skip
    trigger_list = [
        {
            "value": kind.value,
            "label": str(words.TRIGGER_LABELS[kind]),
            "help": str(words.TRIGGER_HELP[kind]),
            "source": _trigger_source(kind),
            "events": list(triggers.event_choices(kind)),
            "fixed_event": triggers.fixed_event(kind),
        }
        for kind in TriggerType
    ]
    return {
        "triggers": trigger_list,
        "events": events,
        "segment_fields": _fields(TriggerType.SCHEDULE, None),
        "operators": {
            "labels": {op: operator_word(op) for op in OPERATORS},
            "date_labels": {op: str(label) for op, label in words.DATE_OPERATOR_LABELS.items()},
            "by_kind": {kind: list(ops) for kind, ops in OPERATORS_BY_KIND.items()},
        },
        "actions": action_catalogue.describe_all(),
        "options": _options(actor),
        "frequencies": [{"value": f.value, "label": str(words.FREQUENCY_LABELS[f])} for f in RuleFrequency],
        "statuses": {s.value: rules.status_label(s) for s in RuleStatus},
        "transitions": {current.value: _transitions(current) for current in RuleStatus},
        "zones": list(available_zones()),
        "cron_presets": [{"value": cron, "label": str(label)} for cron, label in words.CRON_PRESETS],
        "limits": {
            "max_depth": MAX_DEPTH,
            "max_leaves": MAX_LEAVES,
            "max_actions": MAX_RULE_ACTIONS,
            "max_name": rules.MAX_NAME,
            "max_cron": rules.MAX_CRON,
            "dry_run_days": {"min": DRY_RUN_DAYS[0], "max": DRY_RUN_DAYS[1], "default": DRY_RUN_DAYS[2]},
        },
    }


def rule_document(rule: AutomationRule) -> dict[str, Any]:
    """A saved rule as the editor shows it: its draft, its place in the lifecycle, and why it paused."""
    status = RuleStatus(rule.status)
    return {
        "id": rule.id,
        "url": url_for("AutomationEditorView.rule", rule_id=rule.id),
        "runs_url": url_for("AutomationExecutionView.list", f_rule=rule.id),
        "status": status.value,
        "status_label": rules.status_label(status),
        "version": rule.version,
        "failure_streak": rule.failure_streak or 0,
        "paused_reason": rule.paused_reason,
        "updated_at": format_value(rule.updated_at),
        "last_fired_at": format_value(rule.last_fired_at),
        "transitions": _transitions(status),
        "draft": rules.definition(rule),
    }


def new_draft() -> dict[str, Any]:
    """What a new rule starts from: an event rule on the first event, acting every time."""
    return rules.RuleDraft(
        name="", trigger_type=TriggerType.EVENT.value, schedule_timezone=viewer_zone_name()
    ).as_dict()


def page_config(actor: Actor, rule: AutomationRule | None) -> dict[str, Any]:
    """What the script needs besides its strings and the catalogue: the rule, the URLs, what the viewer may do."""
    api = "AutomationRuleApiView"
    return {
        "rule": rule_document(rule) if rule is not None else None,
        "draft": rules.definition(rule) if rule is not None else new_draft(),
        "can_write": can_write(actor),
        "zone": viewer_zone_name(),
        "urls": {
            "list": url_for("AutomationRuleView.list"),
            "check": url_for(f"{api}.check"),
            "create": url_for(f"{api}.create"),
            "update": url_for(f"{api}.update", rule_id=0),
            "status": url_for(f"{api}.status", rule_id=0),
            "customers": url_for(f"{api}.customers"),
            "preview": url_for(f"{api}.preview_action"),
            "dry_run": url_for(f"{api}.dry_run"),
        },
    }


class AutomationEditorView(BaseView):
    """The editor page: a new rule (write), or a saved one (read; read-only without write)."""

    route_base = "/automation/rules"
    default_view = "new"
    class_permission_name = RESOURCE
    method_permission_name = {"new": "write", "rule": "read"}

    def _render(self, rule: AutomationRule | None) -> Any:
        actor = current_actor()
        title = rule.name if rule is not None else _("New automation rule")
        return self.render_template(
            "automation/editor.html",
            title=title,
            strings=words.js_strings(),
            catalogue=catalogue(actor),
            config=page_config(actor, rule),
        )

    @expose("/new")
    @has_access
    def new(self) -> Any:
        return self._render(None)

    @expose("/<int:rule_id>")
    @has_access
    def rule(self, rule_id: int) -> Any:
        found = load_rule(current_actor(), rule_id)
        if found is None:
            abort(404)
        return self._render(found)
