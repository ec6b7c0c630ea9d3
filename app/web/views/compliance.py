"""Audit and compliance: the read-only audit trail and data-retention policies."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import validators as wtv

from app.models.compliance import AuditLog, DataRetentionPolicy
from app.web.views.base.area import register_area
from app.web.views.base.datamodel import ScopedSQLAInterface
from app.web.views.base.model_view import CoachdeskModelView


class AuditLogView(CoachdeskModelView):
    """Append-only for every role: no add, edit, delete or action routes exist at all."""

    route_base = "/audit-logs"
    datamodel = ScopedSQLAInterface(AuditLog)
    class_permission_name = "AuditLogs"
    read_only = True
    list_title = show_title = _l("Audit trail")
    list_columns = ["created_at", "actor", "action", "resource_type", "resource_id", "ip_address"]
    show_columns = [*list_columns, "user_agent", "metadata_json", "prev_hash", "row_hash"]
    search_text_columns = ("resource_type", "resource_id", "ip_address")
    filter_columns = ("action", "actor", "created_at")
    base_order = ("created_at", "desc")
    label_columns = {
        "created_at": _l("When"),
        "actor": _l("Actor"),
        "action": _l("Action"),
        "resource_type": _l("Resource"),
        "resource_id": _l("Resource id"),
        "ip_address": _l("IP address"),
        "user_agent": _l("User agent"),
        "metadata_json": _l("Details"),
        "prev_hash": _l("Previous hash"),
        "row_hash": _l("Row hash"),
    }


class DataRetentionPolicyView(CoachdeskModelView):
    route_base = "/retention-policies"
    datamodel = ScopedSQLAInterface(DataRetentionPolicy)
    class_permission_name = "DataRetentionPolicies"
    list_title = show_title = _l("Retention policies")
    add_title = _l("Add retention policy")
    edit_title = _l("Edit retention policy")
    list_columns = ["entity", "retention_period_days", "deletion_strategy", "enabled", "last_run_at"]
    show_columns = list_columns
    add_columns = edit_columns = ["entity", "retention_period_days", "deletion_strategy", "enabled"]
    validators_columns = {"retention_period_days": [wtv.NumberRange(min=1)]}
    search_text_columns = ("entity",)
    filter_columns = ("deletion_strategy", "enabled")
    label_columns = {
        "entity": _l("Entity"),
        "retention_period_days": _l("Keep (days)"),
        "deletion_strategy": _l("Strategy"),
        "enabled": _l("Enabled"),
        "last_run_at": _l("Last run"),
    }


def register(appbuilder: Any) -> None:
    register_area(
        appbuilder,
        "Compliance",
        _l("Compliance"),
        "fa-balance-scale",
        [
            (AuditLogView, "Audit trail", _l("Audit trail"), "fa-history"),
            (DataRetentionPolicyView, "Retention policies", _l("Retention policies"), "fa-archive"),
        ],
    )
