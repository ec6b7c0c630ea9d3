"""Signing out and switching language change state, so they take a POST with a CSRF token.

FAB does both on GET (``AuthDBView.logout``, ``LocaleView.index`` at /lang/<locale>): any page,
image or prefetch could sign a user out or switch their language. Flask-WTF's CSRFProtect
checks every POST, so a POST route is all these need. GET /logout/ shows a page with a
sign-out button (a bookmarked link still works); GET on a language URL answers 405.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_appbuilder import BaseView, expose
from flask_appbuilder.babel.views import LocaleView
from flask_appbuilder.security.views import AuthDBView as FabAuthDBView
from werkzeug.exceptions import MethodNotAllowed


class AuthDBView(FabAuthDBView):
    """FAB's password login; GET /logout/ only asks (same class name, so the endpoints stay)."""

    @expose("/logout/")
    def logout(self) -> Any:
        return self.render_template("security/sign_out.html", appbuilder=self.appbuilder)


class SignOutView(BaseView):
    """POST /logout/ signs out. A blueprint of its own: the login limits sit on the auth view's
    blueprint and count every POST there, and signing out is not a sign-in attempt."""

    route_base = ""
    default_view = "logout"

    @expose("/logout/", methods=["POST"])
    def logout(self) -> Any:
        return FabAuthDBView.logout(self.appbuilder.sm.auth_view)


class LanguageSwitchView(LocaleView):
    """FAB's language switch at /lang/<locale>, on POST only."""

    @expose("/<string:locale>", methods=["POST"])
    def index(self, locale: str) -> Any:
        return super().index(locale)


def _language_switch_needs_post(**_kwargs: Any) -> Any:
    raise MethodNotAllowed(valid_methods=["POST"])


def install(app: Flask, appbuilder: Any) -> None:
    """Add the POST routes; FAB's GET language route (registered unconditionally) answers 405."""
    appbuilder.add_view_no_menu(SignOutView())
    view = appbuilder.add_view_no_menu(LanguageSwitchView())
    appbuilder.bm.locale_view = view  # appbuilder.get_url_for_locale now names the POST route
    app.view_functions["LocaleView.index"] = _language_switch_needs_post
