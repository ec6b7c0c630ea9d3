"""Console accounts: each person's own account pages, and FAB's account admin with the time zone added.

One's own account is the resource ``AccountSettings``, which every console role holds: the
settings page (``/account/settings/``), the profile (``/users/userinfo/``, FAB's URL), the
own-details form and the own-password form (``/resetmypassword/form``). They only ever show
or change the signed-in account (``g.user``); no key in the URL or form is read.

Changing one's password asks for the current one, checked under the sign-in limits
(``login_limits.check_own_password``); the security manager's ``reset_password`` then ends
the account's other sessions and keeps this one. The ORM change is audited like any other
(the hash itself is a secret column, never recorded).

Admin sets another account's zone on FAB's user edit form (``UserDBModelView`` below
replaces FAB's, same name so its endpoints and permissions stay). Both zone paths go
through ``app.services.timezones``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import current_app, flash, g, redirect, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget
from flask_appbuilder.forms import DynamicForm
from flask_appbuilder.security import views as fab_views
from flask_appbuilder.security.decorators import has_access
from flask_appbuilder.validators import PasswordComplexityValidator
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms.validators import DataRequired, EqualTo

from app.extensions import db
from app.models.identity import ConsoleUser
from app.services import timezones
from app.web.security import login_limits
from app.web.security.mfa_views import MfaView
from app.web.security.session_views import SessionsView
from app.web.security.views import OWN_ACCOUNT
from app.web.security.views import UserDBModelView as FabUserDBModelView  # FAB's, refusing malformed URLs
from app.web.views.fields import TimezoneField

READ, WRITE = "read", "write"
TIMEZONE_LABEL = _l("Time zone")
TIMEZONE_HELP = _l("Dates and times in the console are shown in this zone. Files you export stay in UTC.")


class TimezoneForm(FlaskForm):
    class Meta:
        csrf = False  # CSRFProtect checks every POST app-wide; the template carries the token

    timezone = TimezoneField(TIMEZONE_LABEL, description=TIMEZONE_HELP)


class AccountSettingsView(BaseView):
    """The signed-in person's own settings (today: the time zone)."""

    route_base = "/account"
    class_permission_name = OWN_ACCOUNT
    method_permission_name = {"index": READ, "save": WRITE}
    default_view = "index"
    template = "coachdesk/account_settings.html"

    def _page(self, form: TimezoneForm, status: int = 200) -> Any:
        return self.render_template(self.template, form=form, title=_("Your settings")), status

    @expose("/settings/")
    @has_access
    def index(self) -> Any:
        account = db.session.get(ConsoleUser, g.user.id)
        return self._page(TimezoneForm(data={"timezone": account.timezone if account else None}))

    @expose("/settings/", methods=["POST"])
    @has_access
    def save(self) -> Any:
        form = TimezoneForm()
        if not form.validate():
            return self._page(form, 400)
        account = db.session.get(ConsoleUser, g.user.id)
        try:
            zone = timezones.set_account_timezone(db.session, account, form.timezone.raw_data[0])
        except timezones.TimezoneError as exc:  # validated above; kept for a racing change of the list
            db.session.rollback()
            form.timezone.errors = [str(exc)]
            return self._page(form, 400)
        db.session.commit()
        if zone:
            flash(_("Times are now shown in %(zone)s.", zone=zone), "success")
        else:
            flash(_("Times are now shown in the default time zone."), "success")
        return redirect(url_for(".index"))


def _server_local(column: str) -> Any:
    """FAB stamps its own account columns with the server's naive local time; show them in the viewer's zone."""

    def formatter(value: Any) -> str:
        if not isinstance(value, dt.datetime):
            return "" if value is None else str(value)
        return format_datetime(value.astimezone(dt.UTC) if value.tzinfo is None else value, "medium")

    formatter.__name__ = f"format_{column}"
    return formatter


class ProfileView(BaseView):
    """The signed-in person's own account, at FAB's profile URL; FAB's page was Admin-only.

    FAB's profile is a route of the account admin (resource ``UserDBModelView``), so it had
    that view's permission; here it is a page of one's own account, and it links to the
    pages that change it instead of FAB's actions (which run on the account admin).
    """

    route_base = "/users"
    class_permission_name = OWN_ACCOUNT
    method_permission_name = {"userinfo": READ}
    default_view = "userinfo"
    template = "security/profile.html"

    @expose("/userinfo/")
    @has_access
    def userinfo(self) -> Any:
        account = db.session.get(ConsoleUser, g.user.id)
        languages = current_app.config.get("LANGUAGES") or {}
        return self.render_template(
            self.template,
            title=_("Your profile"),
            account=account,
            roles=sorted(role.name for role in account.roles),
            last_login=_server_local("last_login")(account.last_login) if account.last_login else "",
            created_on=_server_local("created_on")(account.created_on) if account.created_on else "",
            language_names={code: spec.get("name", code) for code, spec in languages.items()},
        )


class ChangeOwnPasswordForm(DynamicForm):
    """FAB's reset form asked only for the new password; a stolen session could take the account."""

    current_password = PasswordField(
        _l("Current password"),
        validators=[DataRequired()],
        widget=BS3PasswordFieldWidget(),
        render_kw={"autocomplete": "current-password"},
    )
    password = PasswordField(
        _l("New password"),
        description=_l("A few words make a good password; common passwords are refused."),
        validators=[DataRequired(), PasswordComplexityValidator()],
        widget=BS3PasswordFieldWidget(),
        render_kw={"autocomplete": "new-password"},
    )
    conf_password = PasswordField(
        _l("Confirm new password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The two new passwords differ."))],
        widget=BS3PasswordFieldWidget(),
        render_kw={"autocomplete": "new-password"},
    )


class ResetMyPasswordView(fab_views.ResetMyPasswordView):
    """Change one's own password (FAB's URL and name): every console role, current password required."""

    class_permission_name = OWN_ACCOUNT
    method_permission_name = {"this_form_get": READ, "this_form_post": WRITE}
    form = ChangeOwnPasswordForm
    form_title = _l("Change password")

    def form_post(self, form: Any) -> Any:
        sm = self.appbuilder.sm
        user = sm.get_user_by_id(g.user.id)
        if not login_limits.check_own_password(sm, user, form.current_password.data):
            form.current_password.errors = [_("This is not your current password.")]
            return self.render_template(
                self.form_template,
                title=self.form_title,
                widgets=self._get_edit_widget(form=form),
                appbuilder=self.appbuilder,
            )
        sm.reset_password(user.id, form.password.data)  # ends the other sessions, keeps this one
        flash(_("Your password has been changed. You were signed out everywhere else."), "success")
        return redirect(url_for(f"{ProfileView.__name__}.userinfo"))


class UserDBModelView(FabUserDBModelView):
    """FAB's console-account admin (Admin only) with the account's time zone on the forms and pages."""

    # The profile FAB serves here is ProfileView's (same URL, one's own account's permission).
    exclude_route_methods = {*FabUserDBModelView.exclude_route_methods, "userinfo"}

    edit_columns = [*FabUserDBModelView.edit_columns, "timezone"]
    add_columns = [*FabUserDBModelView.add_columns, "timezone"]
    edit_form_extra_fields = {"timezone": TimezoneField(TIMEZONE_LABEL, description=TIMEZONE_HELP)}
    add_form_extra_fields = {
        **FabUserDBModelView.add_form_extra_fields,
        "timezone": TimezoneField(TIMEZONE_LABEL, description=TIMEZONE_HELP),
    }
    label_columns = {**FabUserDBModelView.label_columns, "timezone": TIMEZONE_LABEL}
    show_fieldsets = [
        (name, {**spec, "fields": [*spec["fields"], "timezone"]} if i == 1 else spec)
        for i, (name, spec) in enumerate(FabUserDBModelView.show_fieldsets)
    ]
    user_show_fieldsets = [
        (name, {**spec, "fields": [*spec["fields"], "timezone"]} if i == 1 else spec)
        for i, (name, spec) in enumerate(FabUserDBModelView.user_show_fieldsets)
    ]
    formatters_columns = {c: _server_local(c) for c in ("last_login", "created_on", "changed_on")}


def register(appbuilder: Any) -> None:
    appbuilder.add_view_no_menu(AccountSettingsView)
    appbuilder.add_view_no_menu(ProfileView)
    appbuilder.add_view_no_menu(MfaView)
    appbuilder.add_view_no_menu(SessionsView)
