"""The rule editor's JSON endpoints: catalogue, check, create, update, lifecycle, action preview, dry run.

Reads (catalogue, customers, check, preview, dry run: none of them changes anything) need
``AutomationRules`` read, so a coach may test a rule on their own customers; writes (create,
update, status) need write. Every body is read here first: malformed JSON, a value of the wrong
type, a number out of range is a 400 with a message naming the field; a draft the rule service
refuses is a 422 with every problem and the path of the widget it belongs to
(``condition.all[1].value``, ``actions[0].params.url``). CSRF: Flask-WTF checks the X-CSRFToken
header on every POST and PUT. Rows are loaded in the viewer's row scope, so another coach's rule is
a 404 like an unknown one.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from babel.dates import format_datetime
from croniter import croniter
from flask import jsonify, request
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access_api
from flask_babel import get_locale
from flask_babel import gettext as _

from app.extensions import committed, db
from app.models.automation import AutomationRule, RuleStatus, TriggerType
from app.models.base import JSONValidationError
from app.models.events import DomainEvent
from app.models.identity import PlatformUser
from app.models.json_schemas import MAX_RULE_ACTIONS
from app.policy.scope import Actor, is_unrestricted, scope_criteria
from app.services.automation import actions as action_catalogue
from app.services.automation import rules, triggers
from app.services.automation.actions.base import ActionContext, ActionError
from app.services.automation.conditions import InvalidCondition, Problem, describe
from app.services.people_search import users_matching
from app.services.scheduling.rules import is_customer
from app.services.timezones import is_valid_zone
from app.web.views.automation_editor import (
    DRY_RUN_DAYS,
    AutomationEditorView,
    catalogue,
    is_coach_option,
    load_rule,
    rule_document,
)
from app.web.views.json_api import current_actor
from app.web.views.schedule_input import InputError, answers_json, as_int, as_uuid, json_object

NEXT_FIRES = 3
MAX_STRING = 10_000  # longer than any rule text; the rule service names the real limits
DRAFT_TEXT = ("name", "trigger_type", "trigger_event", "schedule_cron", "schedule_timezone", "frequency",
              "quiet_start", "quiet_end", "coach_id")  # fmt: skip
DRAFT_INTEGERS = ("inactivity_days", "frequency_days")
DRAFT_KEYS = frozenset((*DRAFT_TEXT, *DRAFT_INTEGERS, "condition", "actions"))


class Unprocessable(Exception):
    """A well-formed request the rule service refuses: 422 with every problem (409 for a lifecycle step)."""

    def __init__(self, problems: list[Problem], status: int = 422) -> None:
        super().__init__(problems[0].message if problems else "")
        self.problems = problems
        self.status = status

    def reply(self) -> Any:
        body = {"error": str(self), "problems": problems_json(self.problems)}
        return jsonify(body), self.status


def problems_json(problems: list[Problem]) -> list[dict[str, str]]:
    return [{"path": p.path, "message": p.message} for p in problems]


def _text(raw: dict[str, Any], key: str) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError(_("%(field)s must be text.", field=key), key)
    if len(value) > MAX_STRING:
        raise InputError(_("%(field)s is too long (at most %(n)s characters).", field=key, n=MAX_STRING), key)
    return value


def _whole(raw: dict[str, Any], key: str) -> int | None:
    value = raw.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(_("%(field)s must be a whole number.", field=key), key)
    return value


def _action(index: int, raw: Any) -> dict[str, Any]:
    where = f"actions[{index}]"
    if not isinstance(raw, dict) or not set(raw) <= {"type", "params"}:
        raise InputError(_("Each action is an object with a type and its params."), where)
    if not isinstance(raw.get("type"), str):
        raise InputError(_("%(field)s must be text.", field=f"{where}.type"), f"{where}.type")
    params = raw.get("params")
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise InputError(_("%(field)s must be an object.", field=f"{where}.params"), f"{where}.params")
    return {"type": raw["type"], "params": params}


def read_draft(raw: Any) -> rules.RuleDraft:
    """A ``RuleDraft`` from the editor's JSON, every value of the type the rule service expects (else 400)."""
    if not isinstance(raw, dict):
        raise InputError(_("draft must be an object."), "draft")
    unknown = sorted(str(k) for k in raw if k not in DRAFT_KEYS)
    if unknown:
        raise InputError(_("%(field)s is not part of a rule.", field=unknown[0][:64]), unknown[0][:64])
    values: dict[str, Any] = {key: _text(raw, key) for key in DRAFT_TEXT}
    values.update({key: _whole(raw, key) for key in DRAFT_INTEGERS})
    condition = raw.get("condition")
    if condition is not None and not isinstance(condition, dict):
        raise InputError(_("%(field)s must be an object.", field="condition"), "condition")
    actions = raw.get("actions")
    if actions is None:
        actions = []
    if not isinstance(actions, list):
        raise InputError(_("%(field)s must be a list.", field="actions"), "actions")
    values["name"] = values["name"] or ""
    values["trigger_type"] = values["trigger_type"] or ""
    values["frequency"] = values["frequency"] or "EVERY_TIME"
    values["quiet_start"] = values["quiet_start"] or None
    values["quiet_end"] = values["quiet_end"] or None
    values["coach_id"] = values["coach_id"] or None
    checked = [_action(index, item) for index, item in enumerate(actions)]
    return rules.RuleDraft(**values, condition=condition or None, actions=checked)


def problems_of(actor: Actor, draft: rules.RuleDraft) -> list[Problem]:
    """The rule service's problems, and a coach scope that is not one of the coaches offered."""
    problems = rules.check(draft, db.session)
    scoped = draft.coach_id and not any(p.path == "coach_id" for p in problems)
    if scoped and not is_coach_option(actor, draft.coach_id):
        problems.append(Problem("coach_id", _("Choose a coach from the list.")))
    return problems


def next_fires(draft: rules.RuleDraft, now: dt.datetime | None = None) -> list[str]:
    """The next times a SCHEDULE draft would run, in its own zone (empty for any other draft or a bad schedule)."""
    cron, zone_name = (draft.schedule_cron or "").strip(), draft.schedule_timezone or ""
    if draft.trigger_type != TriggerType.SCHEDULE.value or not is_valid_zone(zone_name):
        return []
    if len(cron) > rules.MAX_CRON or len(cron.split()) != 5 or not croniter.is_valid(cron):
        return []
    zone = ZoneInfo(zone_name)
    moments = croniter(cron, (now or dt.datetime.now(dt.UTC)).astimezone(zone))
    locale = str(get_locale() or "en")
    out = []
    for _n in range(NEXT_FIRES):
        moment = moments.get_next(dt.datetime)
        out.append(f"{format_datetime(moment, 'EEE d MMM y, HH:mm', tzinfo=zone, locale=locale)} ({zone_name})")
    return out


def _condition_words(draft: rules.RuleDraft, problems: list[Problem]) -> str | None:
    if any(p.path.startswith(("condition", "trigger")) for p in problems):
        return None
    try:
        return describe(draft.condition, triggers.condition_fields(draft.trigger_type, draft.trigger_event))
    except (InvalidCondition, ValueError):
        return None


def _save(actor: Actor, draft: rules.RuleDraft, rule: AutomationRule | None) -> AutomationRule:
    problems = problems_of(actor, draft)
    if problems:
        raise Unprocessable(problems)
    try:
        with committed():
            return rules.save(db.session, draft, actor_id=actor.user_id, rule=rule)
    except rules.RuleInvalid as exc:
        raise Unprocessable(exc.problems) from None
    except JSONValidationError as exc:  # a shape the stored schema refuses (a group of more than 50, say)
        path = "condition" if exc.field == "condition_json" else "actions"
        raise Unprocessable([Problem(path, _("%(field)s: %(problem)s", field=path, problem=exc.problem))]) from None


def _preview_customer(actor: Actor, raw: Any) -> uuid.UUID:
    customer_id = as_uuid(raw, "customer_id")
    criteria = sa.and_(PlatformUser.id == customer_id, is_customer(), scope_criteria(PlatformUser, actor))
    if db.session.scalar(sa.select(PlatformUser.id).where(criteria)) is None:
        raise InputError(_("Choose a customer from the list."), "customer_id")
    assert customer_id is not None
    return customer_id


def _latest_event(customer_id: uuid.UUID, event_type: str | None) -> DomainEvent | None:
    """The customer's latest event of the rule's kind: a preview reads what a real occurrence carried."""
    if not event_type:
        return None
    stmt = (
        sa.select(DomainEvent)
        .where(DomainEvent.customer_id == customer_id, DomainEvent.event_type == event_type)
        .order_by(DomainEvent.occurred_at.desc(), DomainEvent.id.desc())
        .limit(1)
    )
    return db.session.scalars(stmt).first()


def preview_action(actor: Actor, body: dict[str, Any]) -> dict[str, Any]:
    """What one action would do for one customer, without doing it (anything it wrote is rolled back)."""
    step = as_int(body.get("step", 0), "step", lo=0, hi=MAX_RULE_ACTIONS)
    spec = _action(step or 0, body.get("action"))
    action = action_catalogue.get(spec["type"])
    if action is None:
        raise Unprocessable([Problem(f"actions[{step}]", _("Choose an action from the list."))])
    problems = action.check(spec["params"], db.session)
    if problems:
        raise Unprocessable([Problem(f"actions[{step}].params.{p.param}" if p.param else f"actions[{step}]",
                                     p.message) for p in problems])  # fmt: skip
    customer_id = _preview_customer(actor, body.get("customer_id"))
    event_type = body.get("trigger_event") if isinstance(body.get("trigger_event"), str) else None
    event = _latest_event(customer_id, event_type)
    ctx = ActionContext(
        rule_id=0, rule_name=str(body.get("name") or "")[:200], rule_version=0, execution_id=None,
        idempotency_key="preview", step=step or 0, customer_id=customer_id, event_type=event_type,
        event_id=event.id if event is not None else None, payload=dict(event.payload or {}) if event else {},
    )  # fmt: skip
    try:
        return {"preview": action.preview(db.session, ctx, spec["params"]), "problem": None}
    except ActionError as exc:
        return {"preview": None, "problem": str(exc)}
    finally:
        db.session.rollback()


def _no_such_rule() -> Any:
    db.session.rollback()
    return jsonify({"error": _("There is no such rule."), "code": "not_found"}), 404


class AutomationRuleApiView(BaseView):
    """The editor's JSON endpoints on the ``AutomationRules`` resource."""

    route_base = "/automation/rules/api"
    class_permission_name = "AutomationRules"
    method_permission_name = {
        "catalogue": "read",
        "customers": "read",
        "check": "read",
        "preview_action": "read",
        "dry_run": "read",
        "create": "write",
        "update": "write",
        "status": "write",
    }

    @expose("/catalogue")
    @has_access_api
    def catalogue(self) -> Any:
        return jsonify(catalogue(current_actor()))

    @expose("/customers")
    @has_access_api
    def customers(self) -> Any:
        """Customers to preview with: the viewer's own scope (a coach: their customers), by name or email."""
        actor = current_actor()
        criteria = sa.and_(is_customer(), scope_criteria(PlatformUser, actor))
        return jsonify(users_matching(db.session, criteria, request.args.get("q", ""), limit=20))

    @expose("/check", methods=["POST"])
    @has_access_api
    @answers_json
    def check(self) -> Any:
        body = json_object()
        draft = read_draft(body.get("draft"))
        problems = problems_of(current_actor(), draft)
        return jsonify({"problems": problems_json(problems), "next_fires": next_fires(draft),
                        "condition_text": _condition_words(draft, problems)})  # fmt: skip

    @expose("/", methods=["POST"])
    @has_access_api
    @answers_json
    def create(self) -> Any:
        actor = current_actor()
        draft = read_draft(json_object().get("draft"))
        try:
            rule = _save(actor, draft, None)
        except Unprocessable as exc:
            return exc.reply()
        return jsonify({"ok": True, "rule": rule_document(rule)}), 201

    @expose("/<int:rule_id>", methods=["PUT", "POST"])
    @has_access_api
    @answers_json
    def update(self, rule_id: int) -> Any:
        actor = current_actor()
        body = json_object()
        draft = read_draft(body.get("draft"))
        version = as_int(body.get("version"), "version", lo=0, hi=2**31 - 1, required=False)
        rule = load_rule(actor, rule_id, for_write=True)
        if rule is None:
            return _no_such_rule()
        if version is not None and version != rule.version:
            db.session.rollback()
            message = _("Someone else saved this rule meanwhile (now version %(v)s).", v=rule.version)
            return jsonify({"error": message, "code": "stale", "version": rule.version}), 409
        try:
            rule = _save(actor, draft, rule)
        except Unprocessable as exc:
            db.session.rollback()
            return exc.reply()
        return jsonify({"ok": True, "rule": rule_document(rule)})

    @expose("/<int:rule_id>/status", methods=["POST"])
    @has_access_api
    @answers_json
    def status(self, rule_id: int) -> Any:
        body = json_object()
        target = body.get("to")
        if not isinstance(target, str) or target not in RuleStatus.__members__:
            raise InputError(_("%(field)s must be one of: %(allowed)s.", field="to",
                               allowed=", ".join(RuleStatus.__members__)), "to")  # fmt: skip
        rule = load_rule(current_actor(), rule_id, for_write=True)
        if rule is None:
            return _no_such_rule()
        try:
            with committed():
                rules.transition(db.session, rule, target)
        except rules.RuleInvalid as exc:
            lifecycle = all(p.path == "status" for p in exc.problems)
            return Unprocessable(exc.problems, 409 if lifecycle else 422).reply()
        return jsonify({"ok": True, "rule": rule_document(rule)})

    @expose("/preview-action", methods=["POST"])
    @has_access_api
    @answers_json
    def preview_action(self) -> Any:
        try:
            return jsonify(preview_action(current_actor(), json_object()))
        except Unprocessable as exc:
            return exc.reply()

    @expose("/dry-run", methods=["POST"])
    @has_access_api
    @answers_json
    def dry_run(self) -> Any:
        """The current draft (saved or not) replayed on real data: no side effect, nothing sent."""
        actor = current_actor()
        body = json_object()
        low, high, default = DRY_RUN_DAYS
        days = as_int(body.get("days", default), "days", lo=low, hi=high)
        draft = read_draft(body.get("draft"))
        rule_id = as_int(body.get("rule_id"), "rule_id", lo=1, hi=2**63 - 1, required=False)
        if rule_id is not None and load_rule(actor, rule_id) is None:
            return _no_such_rule()
        problems = problems_of(actor, draft)  # the service refuses a draft it could not save, too
        if problems:
            return Unprocessable(problems).reply()
        customers = None
        if not is_unrestricted(actor):
            customers = sa.select(PlatformUser.id).where(is_customer(), scope_criteria(PlatformUser, actor))
        from app.services.automation import dry_run  # written beside this editor; loaded when first used

        try:
            result = dry_run.run(db.session, draft, days=days, sample=20, customers=customers, rule_id=rule_id)
            return jsonify(result.as_dict())
        except rules.RuleInvalid as exc:
            return Unprocessable(exc.problems).reply()
        except InvalidCondition as exc:
            return Unprocessable([Problem(f"condition.{p.path}" if p.path else "condition", p.message)
                                  for p in exc.problems]).reply()  # fmt: skip
        finally:
            db.session.rollback()


def register_hidden(appbuilder: Any) -> None:
    """The editor page and its endpoints, without menu entries (the rule list's Add and names lead there)."""
    appbuilder.add_view_no_menu(AutomationEditorView)
    appbuilder.add_view_no_menu(AutomationRuleApiView)
