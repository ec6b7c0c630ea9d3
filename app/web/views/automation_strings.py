"""Every word the automation rule editor and the rule list show, translated on the server for the current locale.

The editor's script (app/static/coachdesk/automation_editor.js) holds no text of its own: it reads
``js_strings()`` and the catalogue from the page. The rule list and show pages say a rule in words
with ``trigger_text``, ``condition_text`` and ``action_labels``, built from the same catalogues the
engine checks rules against, so the list never shows a rule's JSON.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.models.automation import AutomationRule, RuleFrequency, RuleStatus, TriggerType
from app.services.automation import actions as action_catalogue
from app.services.automation import triggers
from app.services.automation.conditions import InvalidCondition, describe
from app.services.events import catalogue as event_catalogue

TRIGGER_LABELS = {
    TriggerType.EVENT: _l("When an event happens"),
    TriggerType.METRIC_THRESHOLD: _l("When a progress metric is recorded"),
    TriggerType.PAYMENT_FAILED: _l("When a payment fails"),
    TriggerType.SCHEDULE: _l("On a schedule"),
    TriggerType.INACTIVITY: _l("When a customer has been inactive"),
}
TRIGGER_HELP = {
    TriggerType.EVENT: _l("The rule wakes up for each event of the chosen kind, for the customer it is about."),
    TriggerType.METRIC_THRESHOLD: _l("The rule wakes up each time a progress metric is recorded: compare its value."),
    TriggerType.PAYMENT_FAILED: _l("The rule wakes up each time a customer's payment fails."),
    TriggerType.SCHEDULE: _l("At each time of the schedule, the rule acts for every customer its condition matches."),
    TriggerType.INACTIVITY: _l("The rule acts for customers with no activity for the given number of days."),
}
FREQUENCY_LABELS = {
    RuleFrequency.EVERY_TIME: _l("Every time"),
    RuleFrequency.ONCE_PER_CUSTOMER: _l("Once per customer"),
    RuleFrequency.ONCE_PER_PERIOD: _l("Once per customer every N days"),
}
# The lifecycle buttons, by (from, to); any status may be archived.
TRANSITION_LABELS = {
    (RuleStatus.DRAFT, RuleStatus.ACTIVE): _l("Activate"),
    (RuleStatus.ACTIVE, RuleStatus.PAUSED): _l("Pause"),
    (RuleStatus.PAUSED, RuleStatus.ACTIVE): _l("Resume"),
    (RuleStatus.ARCHIVED, RuleStatus.DRAFT): _l("Restore as draft"),
}
ARCHIVE_LABEL = _l("Archive")
CRON_PRESETS = (
    ("0 9 * * *", _l("Every day at 09:00")),
    ("0 8 * * 1", _l("Every Monday at 08:00")),
    ("0 9 * * 1-5", _l("Every weekday at 09:00")),
    ("0 18 * * 0", _l("Every Sunday at 18:00")),
    ("0 9 1 * *", _l("On the first day of each month at 09:00")),
    ("0 * * * *", _l("Every hour, on the hour")),
)
# Units the catalogues name in English codes, as the editor shows them.
UNIT_LABELS = {
    "minutes": _l("minutes"),
    "hours": _l("hours"),
    "days": _l("days"),
    "weeks": _l("weeks"),
    "years": _l("years"),
}
# Comparisons on dates read better as "after" and "before" (the same words the rule list uses).
DATE_OPERATOR_LABELS = {"gt": _l("after"), "gte": _l("on or after"), "lt": _l("before"), "lte": _l("on or before")}


def transition_label(current: RuleStatus | str, target: RuleStatus | str) -> str:
    if RuleStatus(target) == RuleStatus.ARCHIVED:
        return str(ARCHIVE_LABEL)
    return str(TRANSITION_LABELS.get((RuleStatus(current), RuleStatus(target)), target))


def event_label(name: str | None) -> str:
    spec = event_catalogue.get(name or "")
    return str(spec.label) if spec is not None else (name or "")


def trigger_text(rule: AutomationRule) -> str:
    """The trigger in words: "When an event happens: Session booked", "On a schedule: 0 9 * * * (Europe/Madrid)"."""
    kind = TriggerType(rule.trigger_type)
    label = str(TRIGGER_LABELS[kind])
    if kind in triggers.EVENT_TRIGGERS:
        return _("%(trigger)s: %(event)s", trigger=label, event=event_label(rule.trigger_event))
    if kind == TriggerType.SCHEDULE:
        return _("%(trigger)s: %(cron)s (%(zone)s)", trigger=label, cron=rule.schedule_cron or "",
                 zone=rule.schedule_timezone or "UTC")  # fmt: skip
    return _("%(trigger)s for %(n)s days", trigger=label, n=rule.inactivity_days or 0)


def condition_text(rule: AutomationRule) -> str:
    """The condition in one sentence ("always" with none); a condition its trigger no longer fits says so."""
    fields = triggers.condition_fields(rule.trigger_type, rule.trigger_event)
    try:
        return describe(rule.condition_json, fields)
    except InvalidCondition as exc:
        return _("This condition no longer fits its trigger: %(problem)s", problem=exc.problems[0].message)


def action_labels(rule: AutomationRule) -> list[str]:
    """The rule's actions by their catalogue labels, in order (an unknown code as it is stored)."""
    out = []
    for spec in rule.action_json or []:
        code = str(spec.get("type", "")) if isinstance(spec, dict) else ""
        action = action_catalogue.get(code)
        out.append(str(action.label) if action is not None else code)
    return out


def js_strings() -> dict[str, Any]:
    """Every string the editor's script shows."""
    return {
        "units": {code: str(label) for code, label in UNIT_LABELS.items()},
        "saving": _("Saving…"),
        "saved": _("Saved (version %(v)s)."),
        "unchanged": _("Nothing changed since the last save."),
        "unsaved": _("Unsaved changes"),
        "error": _("Error"),
        "network_error": _("The server could not be reached. Nothing was changed."),
        "problems_title": _("This rule cannot be saved yet:"),
        "problem_in_action": _("Action %(n)s: %(message)s"),
        "problem_in_condition": _("Condition: %(message)s"),
        "choose": _("Choose…"),
        "choose_field": _("Choose a field"),
        "field": _("Field"),
        "operator": _("Comparison"),
        "value": _("Value"),
        "values_help": _("Separate several values with commas."),
        "yes": _("yes"),
        "no": _("no"),
        "utc": _("UTC"),
        "all_of": _("All of these (AND)"),
        "any_of": _("Any of these (OR)"),
        "none_of": _("Not (NOT)"),
        "group_kind": _("Group type"),
        "add_comparison": _("Add comparison"),
        "add_group": _("Add group"),
        "remove": _("Remove"),
        "remove_group": _("Remove group"),
        "always": _("No condition: the rule acts every time it is triggered."),
        "condition_in_words": _("In words: %(text)s"),
        "move_up": _("Move up"),
        "move_down": _("Move down"),
        "action_n": _("Action %(n)s"),
        "no_actions": _("No actions yet: add one from the list."),
        "no_catalogue": _("No actions are available yet."),
        "placeholders": _("Placeholders (click to insert):"),
        "inserted": _("%(token)s inserted."),
        "preview": _("Preview"),
        "preview_with": _("Preview with a customer"),
        "pick_customer": _("Pick a customer above to see a preview."),
        "search_customers": _("Type a name or email"),
        "no_customers": _("No matching customers."),
        "previewing": _("Preparing the preview…"),
        "preview_failed": _("This action could not run for this customer: %(reason)s"),
        "next_runs": _("Next runs:"),
        "no_next_runs": _("Fix the schedule to see its next runs."),
        "dry_running": _("Testing on real data…"),
        "scanned_events": _("events scanned"),
        "scanned_customers": _("customers scanned"),
        "matched": _("matched"),
        "customers": _("customers"),
        "would_run": _("times the rule would act"),
        "dry_event_intro": _("Replaying the events of the last %(days)s days: nothing is sent or changed."),
        "dry_segment_intro": _("Who matches now: nothing is sent or changed."),
        "truncated": _("Only a sample is shown."),
        "no_matches": _("Nobody would have matched."),
        "col_customer": _("Customer"),
        "col_when": _("When"),
        "col_why": _("Why it matched"),
        "col_actions": _("What would happen"),
        "version": _("Version %(v)s"),
        "streak": _("Failures in a row: %(n)s"),
        "updated": _("Updated %(when)s"),
        "save_first": _("Save the changes first."),
        "all_customers": _("All customers"),
        "new_rule": _("New rule (not saved yet)"),
        "confirm_archive": _("Archive this rule? It stops acting until it is restored as a draft."),
        "status_changed": _("The rule is now %(status)s."),
        "stale": _("Someone else saved this rule meanwhile: reload the page to see their version."),
        "days": _("days"),
    }
