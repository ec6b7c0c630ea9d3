"""Console accounts: each person's own settings page, and FAB's account admin with the time zone added.

``/account/settings/`` is open to every console role (resource ``AccountSettings``) and only
ever changes the signed-in account. Admin sets another account's zone on FAB's user edit
form (``UserDBModelView`` below replaces FAB's, same name so its endpoints and permissions
stay). Both go through ``app.services.timezones``; the ORM change is audited like any other.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import flash, g, redirect, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm

from app.extensions import db
from app.models.identity import ConsoleUser
from app.services import timezones
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
    class_permission_name = "AccountSettings"
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


class UserDBModelView(FabUserDBModelView):
    """FAB's console-account admin (Admin only) with the account's time zone on the forms and pages."""

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
