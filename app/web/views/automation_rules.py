"""Automation rules in the console: the list, and each rule's read-only summary; building one is the editor's job.

Nobody types a rule's JSON here: "Add" and the edit button open the visual editor
(``automation_editor``), each name links to the rule's editor page, and the show page says the
rule in words (its trigger, its condition as a sentence, its actions by label).
"""

from __future__ import annotations

from typing import Any

from flask import abort, redirect, url_for
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from app.models.automation import AutomationRule, RuleFrequency
from app.services.automation import rules
from app.web.views import automation_strings as words
from app.web.views.base.datamodel import ScopedSQLAInterface
from app.web.views.base.display import display_value
from app.web.views.base.model_view import CoachdeskModelView


def _editor_url(rule_id: int) -> str:
    return url_for("AutomationEditorView.rule", rule_id=rule_id)


def _frequency(rule: AutomationRule) -> str:
    frequency = RuleFrequency(rule.frequency or RuleFrequency.EVERY_TIME)
    if frequency == RuleFrequency.ONCE_PER_PERIOD:
        return _("Once per customer every %(n)s days", n=rule.frequency_days or 0)
    return str(words.FREQUENCY_LABELS[frequency])


def _quiet_hours(rule: AutomationRule) -> str:
    if rule.quiet_start is None or rule.quiet_end is None:
        return ""
    return f"{rule.quiet_start:%H:%M}–{rule.quiet_end:%H:%M}"


class AutomationRuleView(CoachdeskModelView):
    route_base = "/automation-rules"
    datamodel = ScopedSQLAInterface(AutomationRule)
    class_permission_name = "AutomationRules"
    list_title = show_title = _l("Automation rules")
    add_title = _l("Add rule")
    edit_title = _l("Edit rule")
    list_columns = ["name", "trigger_type", "status", "version", "failure_streak", "updated_at"]
    show_columns = ["name", "trigger_type", "status", "version", "failure_streak", "paused_reason",
                    "condition_json", "action_json", "frequency", "quiet_start", "coach", "author", "created_at",
                    "updated_at"]  # fmt: skip
    # Unreachable: "add" and "edit" open the visual editor instead of a form of raw JSON.
    add_columns = edit_columns = ["name"]
    search_text_columns = ("name",)
    filter_columns = ("trigger_type", "status", "created_at")
    base_order = ("created_at", "desc")
    # No related list of executions: the editor links to the run log filtered by the rule instead.
    # No delete: it would take the rule's run log with it; a rule is archived instead (its lifecycle).
    exclude_route_methods = {"delete"}
    label_columns = {
        "name": _l("Name"),
        "trigger_type": _l("Trigger"),
        "status": _l("Status"),
        "version": _l("Version"),
        "failure_streak": _l("Failures in a row"),
        "paused_reason": _l("Why it is paused"),
        "condition_json": _l("Condition"),
        "action_json": _l("Actions"),
        "frequency": _l("How often"),
        "quiet_start": _l("Quiet hours"),
        "coach": _l("Only the customers of"),
        "author": _l("Author"),
        "created_at": _l("Created"),
        "updated_at": _l("Updated"),
    }

    def _words(self, rule: AutomationRule, column: str) -> str | None:
        """The columns a person reads in words rather than as stored (None: shown as stored)."""
        if column == "trigger_type":
            return words.trigger_text(rule)
        if column == "status":
            return rules.status_label(rule.status)
        if column == "condition_json":
            return words.condition_text(rule)
        if column == "action_json":
            return "; ".join(f"{n}. {label}" for n, label in enumerate(words.action_labels(rule), start=1))
        if column == "frequency":
            return _frequency(rule)
        if column == "quiet_start":
            return _quiet_hours(rule)
        return None

    def _cell(self, row: Any, column: str) -> str:
        if column == "name":
            return Markup('<a href="{}">{}</a>').format(_editor_url(row.id), row.name)
        text = self._words(row, column)
        return text if text is not None else super()._cell(row, column)

    def _get_show_widget(self, pk: Any, item: Any, widgets: Any = None, actions: Any = None,
                         show_fieldsets: Any = None) -> dict[str, Any]:  # fmt: skip
        widgets = widgets or {}
        values = []
        for column in self.show_columns:
            text = self._words(item, column)
            values.append(text if text is not None else display_value(item, column, self.money_columns))
        widgets["show"] = self.show_widget(
            pk=pk,
            label_columns=self.label_columns,
            include_columns=self.show_columns,
            value_columns=values,
            formatters_columns={},
            actions=actions or self.actions,
            fieldsets=show_fieldsets or self.show_fieldsets,
            modelview_name=type(self).__name__,
        )
        return widgets

    @expose("/add", methods=["GET", "POST"])
    @has_access
    def add(self) -> Any:
        return redirect(url_for("AutomationEditorView.new"))

    @expose("/edit/<pk>", methods=["GET", "POST"])
    @has_access
    def edit(self, pk: str) -> Any:
        if not (pk.isascii() and pk.isdigit()) or len(pk) > 18:
            abort(404)
        return redirect(_editor_url(int(pk)))
