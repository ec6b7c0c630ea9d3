"""Identity and access: platform users, seed roles, user roles, auth sessions, consents."""

from __future__ import annotations

from typing import Any

from flask_appbuilder.actions import action
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.models.identity import AuthSession, Consent, PlatformRole, PlatformUser, UserRole
from app.services import console_actions
from app.services.signin import auth_sessions
from app.web.views import customer360
from app.web.views.base.area import register_area
from app.web.views.base.datamodel import ScopedSQLAInterface
from app.web.views.base.model_view import CoachdeskModelView


class UserRoleView(CoachdeskModelView):
    route_base = "/platform-user-roles"
    datamodel = ScopedSQLAInterface(UserRole)
    class_permission_name = "UserRoles"
    list_title = show_title = _l("User roles")
    add_title = _l("Add user role")
    edit_title = _l("Edit user role")
    list_columns = ["user", "role"]
    show_columns = ["user", "role"]
    add_columns = edit_columns = ["user", "role"]
    filter_columns = ("user", "role")
    label_columns = {"user": _l("User"), "role": _l("Role")}


class AuthSessionView(CoachdeskModelView):
    """Sign-in sessions, one row per console sign-in: read-only (rows come from signing in).

    An Admin (write on ``AuthSessions``) ends selected sessions; that browser is signed out on
    its next request.
    """

    route_base = "/auth-sessions"
    datamodel = ScopedSQLAInterface(AuthSession)
    class_permission_name = "AuthSessions"
    # Written by signing in only: no add, edit or delete; "end session" is the one action.
    exclude_route_methods = {"add", "edit", "delete"}
    add_columns = edit_columns = ["mfa_verified"]  # unreachable: the add and edit routes are excluded
    list_title = show_title = _l("Sign-in sessions")
    list_columns = ["user", "issued_at", "last_seen_at", "ip_address", "mfa_verified", "revoked_at"]
    show_columns = [
        "user", "console_user_id", "issued_at", "expires_at", "last_seen_at", "ip_address", "user_agent",
        "device_fingerprint", "mfa_verified", "mfa_verified_at", "revoked_at", "revoked_reason",
    ]  # fmt: skip
    search_text_columns = ("device_fingerprint",)
    filter_columns = ("user", "issued_at", "mfa_verified")
    base_order = ("issued_at", "desc")
    label_columns = {
        "user": _l("User"),
        "console_user_id": _l("Console account"),
        "issued_at": _l("Issued"),
        "expires_at": _l("Expires"),
        "last_seen_at": _l("Last seen"),
        "ip_address": _l("Address"),
        "user_agent": _l("Browser"),
        "device_fingerprint": _l("Device"),
        "mfa_verified": _l("MFA verified"),
        "mfa_verified_at": _l("MFA checked"),
        "revoked_at": _l("Ended"),
        "revoked_reason": _l("Why it ended"),
    }

    @action("end_sessions", _l("End session"), _l("End the selected sign-in sessions?"), "fa-sign-out")
    def end_sessions(self, items: Any) -> Any:
        return self.run_bulk(items, auth_sessions.end_selected, _("%(count)s sessions ended."))


class ConsentView(CoachdeskModelView):
    route_base = "/consents"
    datamodel = ScopedSQLAInterface(Consent)
    class_permission_name = "Consents"
    list_title = show_title = _l("Consents")
    add_title = _l("Add consent")
    edit_title = _l("Edit consent")
    list_columns = ["user", "consent_type", "granted_at", "revoked_at"]
    show_columns = ["user", "consent_type", "granted_at", "revoked_at", "metadata_json"]
    add_columns = edit_columns = ["user", "consent_type", "granted_at", "revoked_at", "metadata_json"]
    search_text_columns = ("consent_type",)
    filter_columns = ("user", "consent_type", "granted_at", "revoked_at")
    base_order = ("granted_at", "desc")
    label_columns = {
        "user": _l("User"),
        "consent_type": _l("Consent type"),
        "granted_at": _l("Granted"),
        "revoked_at": _l("Revoked"),
        "metadata_json": _l("Metadata"),
    }


class PlatformRoleView(CoachdeskModelView):
    route_base = "/platform-roles"
    datamodel = ScopedSQLAInterface(PlatformRole)
    class_permission_name = "Roles"
    list_title = show_title = _l("Platform roles")
    add_title = _l("Add platform role")
    edit_title = _l("Edit platform role")
    list_columns = ["code", "description"]
    show_columns = ["code", "description"]
    add_columns = edit_columns = ["code", "description"]
    search_text_columns = ("description",)
    filter_columns = ("code",)
    related_views = [UserRoleView]
    label_columns = {"code": _l("Code"), "description": _l("Description")}


def _user_related_views() -> list[type]:
    from app.web.views.analytics import EngagementEventView, ProgressMetricView
    from app.web.views.commerce import SubscriptionView
    from app.web.views.compliance import AuditLogView
    from app.web.views.customers import CustomerProfileView
    from app.web.views.engagement import SupportTicketView, ThreadView
    from app.web.views.training import CustomerBadgeView, CustomerPlanView

    return [
        CustomerProfileView, UserRoleView, ConsentView, AuthSessionView, SubscriptionView, CustomerPlanView,
        CustomerBadgeView, ThreadView, SupportTicketView, ProgressMetricView, EngagementEventView, AuditLogView,
    ]  # fmt: skip


class PlatformUserView(CoachdeskModelView):
    # FAB's own console-account views own /users/; platform users live here.
    route_base = "/platform-users"
    datamodel = ScopedSQLAInterface(PlatformUser)
    class_permission_name = "Users"
    list_title = show_title = _l("Platform users")
    show_template = "customer360/user_show.html"  # the show page with a link to the customer 360 page
    add_title = _l("Add platform user")
    edit_title = _l("Edit platform user")
    list_columns = ["full_name", "email", "status", "locale", "legal_hold", "created_at"]
    show_columns = [
        "full_name", "email", "phone", "status", "locale", "legal_hold", "roles", "created_at", "updated_at",
    ]  # fmt: skip
    add_columns = edit_columns = ["full_name", "email", "phone", "locale", "status", "legal_hold"]
    search_text_columns = ("full_name", "email", "phone")
    filter_columns = ("status", "legal_hold", "created_at")
    base_order = ("created_at", "desc")
    label_columns = {
        "full_name": _l("Name"),
        "email": _l("Email"),
        "phone": _l("Phone"),
        "status": _l("Status"),
        "locale": _l("Language"),
        "legal_hold": _l("Legal hold"),
        "roles": _l("Roles"),
        "created_at": _l("Created"),
        "updated_at": _l("Updated"),
    }

    def __init__(self, **kwargs: Any) -> None:
        self.related_views = _user_related_views()
        super().__init__(**kwargs)

    def _cell(self, row: Any, column: str) -> str:
        text = super()._cell(row, column)
        return customer360.name_link(row.id, text) if column == "full_name" else text  # the name opens the 360 page

    @action("suspend", _l("Suspend"), _l("Suspend the selected users?"), "fa-ban")
    def suspend(self, items: Any) -> Any:
        return self.run_bulk(items, console_actions.suspend_users, _("%(count)s users suspended."))


def register(appbuilder: Any) -> None:
    register_area(
        appbuilder,
        "Identity",
        _l("Identity"),
        "fa-id-card",
        [
            (PlatformUserView, "Platform users", _l("Platform users"), "fa-user"),
            (PlatformRoleView, "Platform roles", _l("Platform roles"), "fa-tags"),
            (UserRoleView, "User roles", _l("User roles"), "fa-user-tag"),
            (AuthSessionView, "Sign-in sessions", _l("Sign-in sessions"), "fa-key"),
            (ConsentView, "Consents", _l("Consents"), "fa-check-square"),
        ],
    )
