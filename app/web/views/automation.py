"""Automation and integrations: the area's menu, API clients and logs, wearable authorizations, the outbox.

Rules (``automation_rules``) and their run log (``automation_runs``) have their own modules."""

from __future__ import annotations

from typing import Any

from flask_appbuilder.actions import action
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.models.automation import WearableAuthorization
from app.models.events import DomainEvent
from app.services import console_actions
from app.web.views import automation_editor_api
from app.web.views.api_clients import APIAccessLogView, APIClientView
from app.web.views.automation_rules import AutomationRuleView
from app.web.views.automation_runs import AutomationExecutionView
from app.web.views.base.area import register_area
from app.web.views.base.datamodel import ScopedSQLAInterface
from app.web.views.base.model_view import CoachdeskModelView


class WearableAuthorizationView(CoachdeskModelView):
    route_base = "/wearable-authorizations"
    datamodel = ScopedSQLAInterface(WearableAuthorization)
    class_permission_name = "WearableAuthorizations"
    list_title = show_title = _l("Wearable authorizations")
    add_title = _l("Add wearable authorization")
    edit_title = _l("Edit wearable authorization")
    list_columns = ["customer", "provider", "expires_at", "revoked_at"]
    show_columns = list_columns
    add_columns = edit_columns = ["customer", "provider", "expires_at"]
    search_text_columns = ("provider",)
    filter_columns = ("customer", "expires_at", "revoked_at")
    base_order = ("expires_at", "desc")
    label_columns = {
        "customer": _l("Customer"),
        "provider": _l("Provider"),
        "expires_at": _l("Expires"),
        "revoked_at": _l("Revoked"),
    }

    @action("revoke", _l("Revoke"), _l("Revoke the selected authorizations?"), "fa-ban")
    def revoke(self, items: Any) -> Any:
        return self.run_bulk(items, console_actions.revoke_wearables, _("%(count)s authorizations revoked."))


class DomainEventView(CoachdeskModelView):
    """The outbox, read-only for every role: services write it, the dispatcher stamps it, nobody edits it."""

    route_base = "/domain-events"
    datamodel = ScopedSQLAInterface(DomainEvent)
    class_permission_name = "DomainEvents"
    read_only = True
    list_title = show_title = _l("Domain events")
    list_columns = ["occurred_at", "event_type", "customer", "dispatched_at"]
    show_columns = [*list_columns, "payload", "dedupe_key"]
    search_text_columns = ("event_type",)
    filter_columns = ("event_type", "customer", "occurred_at", "dispatched_at")
    base_order = ("occurred_at", "desc")
    label_columns = {
        "occurred_at": _l("When"),
        "event_type": _l("Event"),
        "customer": _l("Customer"),
        "dispatched_at": _l("Dispatched"),
        "payload": _l("Payload (JSON)"),
        "dedupe_key": _l("Detected as"),
    }


def register(appbuilder: Any) -> None:
    register_area(
        appbuilder,
        "Automation",
        _l("Automation"),
        "fa-cogs",
        [
            (AutomationRuleView, "Automation rules", _l("Automation rules"), "fa-sitemap"),
            (AutomationExecutionView, "Rule executions", _l("Rule executions"), "fa-play"),
            (APIClientView, "API clients", _l("API clients"), "fa-plug"),
            (APIAccessLogView, "API access log", _l("API access log"), "fa-list"),
            (WearableAuthorizationView, "Wearable authorizations", _l("Wearable authorizations"), "fa-link"),
            (DomainEventView, "Domain events", _l("Domain events"), "fa-bolt"),
        ],
    )
    automation_editor_api.register_hidden(appbuilder)
