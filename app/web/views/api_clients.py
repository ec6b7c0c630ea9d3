"""API clients in the console: create, rotate, suspend, reactivate, revoke, and each client's traffic.

No free-form edit: the key columns change only through ``app.services.api_clients.lifecycle``.
A new key is rendered once, in the answer to the POST that made it, on a page marked
``Cache-Control: no-store``; it is never put in a flash message (the session cookie would carry it)
nor in a URL. Lists and record pages show the public key prefix, never a hash.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import expose
from flask_appbuilder.actions import action
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, DecimalField, IntegerField, SelectField, SelectMultipleField, StringField
from wtforms import validators as wtv
from wtforms.widgets import CheckboxInput, ListWidget

from app.extensions import db
from app.models.automation import APIAccessLog, APIClient
from app.models.identity import PlatformRole, PlatformUser, RoleCode, UserRole
from app.services import console_actions
from app.services.analytics import charting as ch
from app.services.api_clients import lifecycle, traffic
from app.services.api_clients.scopes import SCOPES
from app.web.views.base.datamodel import ScopedSQLAInterface
from app.web.views.base.model_view import CoachdeskModelView
from app.web.views.charts import current_locale, plotly_locale, plotly_locale_url, plotly_url

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
MAX_COACH_CHOICES = 500


class _Form(FlaskForm):
    class Meta:
        csrf = False  # CSRFProtect checks every POST app-wide; the templates carry the token


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class CreateClientForm(_Form):
    name = StringField(_l("Name"), [wtv.InputRequired(), wtv.Length(max=lifecycle.NAME_MAX)])
    scopes = MultiCheckboxField(_l("Scopes"), choices=[])
    rate_limit = IntegerField(
        _l("Requests per minute"),
        [wtv.InputRequired(), wtv.NumberRange(1, lifecycle.MAX_RATE_LIMIT)],
        default=lifecycle.DEFAULT_RATE_LIMIT,
    )
    coach = SelectField(_l("Acts for the customers of coach"), choices=[], default="", validate_choice=True)
    customer = StringField(_l("Acts for the customer (email)"), [wtv.Optional(), wtv.Length(max=320)])
    expires = DateField(_l("Key works through (UTC date)"), [wtv.Optional()])


class RotateForm(_Form):
    overlap = DecimalField(
        _l("Hours the current key keeps working"),
        [wtv.InputRequired(), wtv.NumberRange(0, lifecycle.MAX_OVERLAP.total_seconds() / 3600)],
        default=24,
        places=None,
    )


def _coach_choices() -> list[tuple[str, str]]:
    coaches = db.session.execute(
        sa.select(PlatformUser.id, PlatformUser.full_name, PlatformUser.email)
        .join(UserRole, UserRole.user_id == PlatformUser.id)
        .join(PlatformRole, PlatformRole.id == UserRole.role_id)
        .where(PlatformRole.code == RoleCode.COACH)
        .order_by(PlatformUser.full_name)
        .limit(MAX_COACH_CHOICES)
    ).all()
    return [("", _("nobody (no coach)"))] + [(str(c.id), f"{c.full_name} <{c.email}>") for c in coaches]


def _create_form() -> CreateClientForm:
    form = CreateClientForm()
    form.scopes.choices = [(name, f"{name}: {label}") for name, (_r, _w, label) in SCOPES.items()]
    form.coach.choices = _coach_choices()
    return form


class APIAccessLogView(CoachdeskModelView):
    route_base = "/api-access-logs"
    datamodel = ScopedSQLAInterface(APIAccessLog)
    class_permission_name = "APIAccessLogs"
    read_only = True
    list_title = show_title = _l("API access log")
    list_columns = ["client", "method", "endpoint", "status_code", "latency_ms", "occurred_at", "request_id"]
    show_columns = list_columns
    search_text_columns = ("endpoint", "request_id")
    filter_columns = ("client", "method", "status_code", "latency_ms", "occurred_at")
    base_order = ("occurred_at", "desc")
    label_columns = {
        "client": _l("Client"),
        "endpoint": _l("Endpoint"),
        "status_code": _l("Status"),
        "latency_ms": _l("Latency (ms)"),
        "occurred_at": _l("When"),
        "method": _l("Method"),
        "request_id": _l("Request id"),
    }


class APIClientView(CoachdeskModelView):
    route_base = "/api-clients"
    datamodel = ScopedSQLAInterface(APIClient)
    class_permission_name = "APIClients"
    list_title = show_title = _l("API clients")
    add_title = _l("Add API client")
    list_columns = ["name", "status", "key_prefix", "scopes", "coach", "customer", "rate_limit", "expires_at"]
    show_columns = [*list_columns, "previous_key_prefix", "previous_key_expires_at", "revoked_at", "created_at"]
    search_text_columns = ("name",)
    filter_columns = ("status", "created_at", "expires_at")
    base_order = ("created_at", "desc")
    exclude_route_methods = {"edit", "delete"}  # key columns change only through the lifecycle
    add_columns = edit_columns = ["name"]  # FAB's forms are not routed: ``add`` below is the lifecycle's form
    show_template = "api_clients/show.html"
    related_views = [APIAccessLogView]
    label_columns = {
        "name": _l("Name"),
        "status": _l("Status"),
        "key_prefix": _l("Key prefix"),
        "scopes": _l("Scopes"),
        "coach": _l("Coach"),
        "customer": _l("Customer"),
        "rate_limit": _l("Requests per minute"),
        "expires_at": _l("Expires"),
        "previous_key_prefix": _l("Previous key prefix"),
        "previous_key_expires_at": _l("Previous key works until"),
        "revoked_at": _l("Revoked"),
        "created_at": _l("Created"),
    }

    @classmethod
    def _action_permissions(cls) -> dict[str, str]:
        extra = {"rotate": "write", "suspend": "write", "reactivate": "write", "revoke_client": "write"}
        return {**super()._action_permissions(), **extra, "traffic": "read"}

    @action("revoke", _l("Revoke"), _l("Revoke the selected API clients? Their keys stop working."), "fa-ban")
    def revoke(self, items: Any) -> Any:
        return self.run_bulk(items, console_actions.revoke_api_clients, _("%(count)s API clients revoked."))

    # ---- create

    def _form_page(self, form: CreateClientForm, status: int = 200) -> Any:
        return self.render_template("api_clients/new.html", form=form, title=self.add_title), status

    @expose("/add", methods=["GET", "POST"])
    @has_access
    def add(self) -> Any:
        form = _create_form()
        if request.method == "GET":
            return self._form_page(form)
        if not form.validate():
            return self._form_page(form, 400)
        try:
            coach = db.session.get(PlatformUser, _uuid(form.coach.data)) if form.coach.data else None
            customer = (
                lifecycle.find_subject(db.session, form.customer.data, RoleCode.CUSTOMER)
                if form.customer.data
                else None
            )
            expires = form.expires.data
            issued = lifecycle.create(
                db.session,
                name=form.name.data or "",
                scopes=form.scopes.data or [],
                rate_limit=form.rate_limit.data,
                coach=coach,
                customer=customer,
                expires_at=(
                    dt.datetime.combine(expires + dt.timedelta(days=1), dt.time.min, dt.UTC) if expires else None
                ),
            )
            db.session.commit()
        except lifecycle.ClientRefused as exc:
            db.session.rollback()
            field = getattr(form, exc.field or "", None) or form.name
            field.errors = [*field.errors, str(exc)]
            return self._form_page(form, 400)
        return self._key_page(issued, created=True)

    def _key_page(self, issued: lifecycle.IssuedClientKey, *, created: bool) -> Any:
        body = self.render_template(
            "api_clients/key.html",
            title=_("API key for %(name)s", name=issued.client.name),
            client=issued.client,
            key=issued.key,
            created=created,
        )
        return body, 200, NO_STORE

    # ---- the record page and its actions

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk: str) -> Any:
        widgets = self._show(pk)
        return self.render_template(
            self.show_template, pk=pk, title=self.show_title, widgets=widgets,
            related_views=self.visible_related_views(), client=self._client(pk), rotate_form=RotateForm(),
        )  # fmt: skip

    def _client(self, pk: str) -> APIClient:
        item = self.datamodel.get(pk) if pk.isdigit() and len(pk) < 19 else None
        if item is None:
            abort(404)
        return item

    def _change(self, pk: str, change: Any, done: str, unchanged: str) -> Any:
        client = self._client(pk)
        try:
            changed = change(db.session, client)
            db.session.commit()
        except lifecycle.ClientRefused as exc:
            db.session.rollback()
            flash(str(exc), "danger")
        else:
            flash((done if changed else unchanged) % {"name": client.name}, "success" if changed else "info")
        return redirect(url_for(".show", pk=pk))

    @expose("/rotate/<pk>", methods=["POST"])
    @has_access
    def rotate(self, pk: str) -> Any:
        client = self._client(pk)
        form = RotateForm()
        if not form.validate():
            flash(_("The overlap must be from 0 to %(max)s hours.", max=720), "danger")
            return redirect(url_for(".show", pk=pk))
        try:
            issued = lifecycle.rotate(db.session, client, dt.timedelta(hours=float(form.overlap.data)))
            db.session.commit()
        except lifecycle.ClientRefused as exc:
            db.session.rollback()
            flash(str(exc), "danger")
            return redirect(url_for(".show", pk=pk))
        return self._key_page(issued, created=False)

    @expose("/suspend/<pk>", methods=["POST"])
    @has_access
    def suspend(self, pk: str) -> Any:
        return self._change(pk, lifecycle.suspend, _("%(name)s suspended."), _("%(name)s was already suspended."))

    @expose("/reactivate/<pk>", methods=["POST"])
    @has_access
    def reactivate(self, pk: str) -> Any:
        return self._change(pk, lifecycle.reactivate, _("%(name)s reactivated."), _("%(name)s was already active."))

    @expose("/revoke/<pk>", methods=["POST"])
    @has_access
    def revoke_client(self, pk: str) -> Any:
        return self._change(pk, lifecycle.revoke, _("%(name)s revoked."), _("%(name)s was already revoked."))

    # ---- traffic

    @expose("/traffic/<pk>", methods=["GET"])
    @has_access
    def traffic(self, pk: str) -> Any:
        client = self._client(pk)
        window = request.args.get("window", "day")
        try:
            data = traffic.client_traffic(db.session, client.id, window)
        except ch.ChartInputError as exc:
            return self._traffic_page(client, None, None, str(exc)), 400
        fig_json = ch.figure_json(traffic.figure(data, current_locale())) if data.periods else None
        return self._traffic_page(client, data, fig_json)

    def _traffic_page(self, client: APIClient, data: Any, fig_json: str | None, error: str = "") -> Any:
        return self.render_template(
            "api_clients/traffic.html",
            title=_("Traffic of %(name)s", name=client.name),
            client=client,
            data=data,
            fig_json=fig_json,
            error=error,
            windows=list(traffic.WINDOWS),
            plotly_url=plotly_url(),
            plotly_locale=plotly_locale(),
            plotly_locale_url=plotly_locale_url(),
            user=g.user,
        )


def _uuid(value: str) -> Any:
    import uuid

    try:
        return uuid.UUID(value)
    except ValueError:
        abort(400)
