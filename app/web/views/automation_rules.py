"""Automation rules in the console: the list, and each rule's page."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from app.models.automation import AutomationRule
from app.web.views.automation_runs import AutomationExecutionView
from app.web.views.base.datamodel import ScopedSQLAInterface
from app.web.views.base.model_view import CoachdeskModelView


class AutomationRuleView(CoachdeskModelView):
    route_base = "/automation-rules"
    datamodel = ScopedSQLAInterface(AutomationRule)
    class_permission_name = "AutomationRules"
    list_title = show_title = _l("Automation rules")
    add_title = _l("Add rule")
    edit_title = _l("Edit rule")
    list_columns = ["name", "trigger_type", "status", "author", "created_at"]
    show_columns = [*list_columns, "condition_json", "action_json"]
    add_columns = edit_columns = ["name", "trigger_type", "status", "condition_json", "action_json"]
    search_text_columns = ("name",)
    filter_columns = ("trigger_type", "status", "created_at")
    base_order = ("created_at", "desc")
    related_views = [AutomationExecutionView]
    label_columns = {
        "name": _l("Name"),
        "trigger_type": _l("Trigger"),
        "status": _l("Status"),
        "author": _l("Author"),
        "condition_json": _l("Condition (JSON)"),
        "action_json": _l("Action (JSON)"),
        "created_at": _l("Created"),
    }
