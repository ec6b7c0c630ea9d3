"""The run log: every execution of every rule, read-only, with "run again" for the failed ones.

The engine writes this table; nobody adds or edits an execution here. Coaches see the
executions about their own customers (row scope).
"""

from __future__ import annotations

from typing import Any

from flask_appbuilder.actions import action
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.models.automation import AutomationExecution
from app.services.automation import run_log
from app.web.views.base.datamodel import ScopedSQLAInterface
from app.web.views.base.model_view import CoachdeskModelView


class AutomationExecutionView(CoachdeskModelView):
    route_base = "/automation-executions"
    datamodel = ScopedSQLAInterface(AutomationExecution)
    class_permission_name = "AutomationExecutions"
    list_title = show_title = _l("Run log")
    # Written by the engine only: no add, edit or delete; "run again" is the one action.
    exclude_route_methods = {"add", "edit", "delete"}
    list_columns = ["triggered_at", "rule", "rule_version", "customer", "status", "steps_done", "retry_count",
                    "finished_at"]  # fmt: skip
    show_columns = [*list_columns, "next_attempt_at", "idempotency_key", "result_details"]
    add_columns = edit_columns = ["status"]  # unreachable: the add and edit routes are excluded
    search_text_columns = ("result_details",)
    filter_columns = ("rule", "status", "customer", "triggered_at", "finished_at")
    base_order = ("triggered_at", "desc")
    truncate_columns = {"result_details": 200}
    label_columns = {
        "rule": _l("Rule"),
        "rule_version": _l("Version"),
        "customer": _l("Customer"),
        "triggered_at": _l("Triggered"),
        "status": _l("Status"),
        "steps_done": _l("Actions done"),
        "retry_count": _l("Retries"),
        "finished_at": _l("Finished"),
        "next_attempt_at": _l("Next attempt"),
        "idempotency_key": _l("Occurrence"),
        "result_details": _l("Result"),
    }

    @action("retry", _l("Run again"), _l("Run the selected failed executions again, from their next action?"),
            "fa-repeat")  # fmt: skip
    def retry(self, items: Any) -> Any:
        return self.run_bulk(items, run_log.retry_failed, _("%(count)s executions queued to run again."))
