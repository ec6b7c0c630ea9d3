"""FAB security manager: the console-account model, login hardening hooks, views we switch off.

Kept deliberately small: each concern lives in its own module (row scope in
``scope``, roles in ``roles``, password policy in ``passwords``, login limits in
``login_limits``, session lifetime in ``sessions``) and this class only wires
them into FAB's extension points.
"""

from __future__ import annotations

from typing import Any

from flask import g, has_request_context
from flask_appbuilder.api import BaseApi
from flask_appbuilder.security.sqla.manager import SecurityManager

from app.models.identity import ConsoleUser
from app.services.audit import auth_events
from app.web.audit_context import client_address, client_agent
from app.web.security import login_limits, sessions
from app.web.security.accounts import ResetMyPasswordView, UserDBModelView
from app.web.security.permission_cache import PermissionCacheMixin
from app.web.security.post_only import AuthDBView
from app.web.security.views import SECURITY_VIEWS, SafeSQLAInterface


class NoSecurityApi(BaseApi):
    """Stands in for FAB's JSON security API (``/api/v1/security/login`` and ``/refresh``).

    The console signs in through its form only; a second, JSON sign-in path would sit
    outside the sign-in limits. No routes: FAB registers this class where it would
    register its own.
    """

    resource_name = "security"


class CoachdeskSecurityManager(PermissionCacheMixin, SecurityManager):
    user_model = ConsoleUser
    security_api = NoSecurityApi
    # FAB's user-statistics chart loads Google's CDN and aggregates in Python.
    userstatschartview = None
    authdbview = AuthDBView  # signs out on POST only (app/web/security/post_only.py)
    # FAB's account/role/permission views, refusing malformed URLs with a 4xx (app/web/security/views.py).
    userdbmodelview = SECURITY_VIEWS["userdbmodelview"]
    rolemodelview = SECURITY_VIEWS["rolemodelview"]
    groupmodelview = SECURITY_VIEWS["groupmodelview"]
    permissionmodelview = SECURITY_VIEWS["permissionmodelview"]
    viewmenumodelview = SECURITY_VIEWS["viewmenumodelview"]
    permissionviewmodelview = SECURITY_VIEWS["permissionviewmodelview"]
    resetpasswordview = SECURITY_VIEWS["resetpasswordview"]
    userinfoeditview = SECURITY_VIEWS["userinfoeditview"]
    # One's own password: every console role, the current password asked (app/web/security/accounts.py).
    resetmypasswordview = ResetMyPasswordView

    def __init__(self, appbuilder: Any) -> None:
        super().__init__(appbuilder)
        # FAB gives each security view a plain SQLAInterface here; ours refuses malformed keys.
        for attr in SECURITY_VIEWS:
            view = getattr(self, attr)
            if getattr(view, "datamodel", None) is not None:
                view.datamodel = SafeSQLAInterface(view.datamodel.obj)

    def register_views(self) -> None:
        # FAB's account admin with the account's time zone on it (same class name, so the
        # endpoints and Admin's permissions stay), built on the safe one of app/web/security/views.py
        # (so it inherits the checked data layer set in __init__).
        self.userdbmodelview = UserDBModelView
        super().register_views()
        login_limits.install_login_limits(self)

    def auth_user_db(self, username: str, password: str) -> Any:
        g.pop("_cd_login_failure_recorded", None)
        with login_limits.hashing_slot():
            user = super().auth_user_db(username, password)
        if user is None and not g.pop("_cd_login_failure_recorded", False):
            # Unknown or inactive account: FAB calls no hook, but it is a failed login too.
            self._auth_event(auth_events.LOGIN_FAILED, attempted_name=username)
        return user

    def on_user_login(self, user: Any) -> None:
        if has_request_context():
            sessions.mark_login(user)
        self._auth_event(auth_events.LOGIN_SUCCEEDED, user=user)

    def on_user_login_failed(self, user: Any) -> None:
        g._cd_login_failure_recorded = True
        self._auth_event(auth_events.LOGIN_FAILED, user=user)

    def on_user_logout(self, user: Any) -> None:
        # End this browser's sign-in session row: a copied cookie names the same row and dies with it.
        # The account's other sessions (other devices) stay; /account/sessions/ ends those.
        if has_request_context():
            sessions.end_current_session()
        self.update_user(user)
        self._auth_event(auth_events.LOGOUT, user=user)

    def reset_password(self, userid: int, password: str) -> None:
        super().reset_password(userid, password)
        user = self.get_user_by_id(userid)
        own = has_request_context() and getattr(g, "user", None) is not None and g.user.get_id() == str(userid)
        sessions.end_all_sessions(user, keep_current=bool(own))
        self.update_user(user)
        if own:
            sessions.keep_current_session(user)

    @staticmethod
    def _auth_event(event: str, **kwargs: Any) -> None:
        if has_request_context():
            kwargs.update(ip=client_address(), user_agent=client_agent())
        auth_events.record_auth_event(event, **kwargs)
