"""FAB's own security views (accounts, roles, permissions), made to refuse bad URLs with a 4xx.

FAB's views answer 500 to input anyone can type: a file download with no upload folder,
an unknown bulk action, a non-integer page number, a filter value of the wrong type, a key
too large for the column. The subclasses below keep FAB's names (so endpoints and permission
names stay what ``roles.py``/``sync.py`` and the database know) and change only that:

* every key (URL pk, related key in a filter) is checked against its column type before a
  query sees it; a malformed key finds nothing, which FAB already turns into a 404;
* ``page_``/``psize_`` args must be whole numbers, ``_flt_`` args must name a searchable
  column and hold a value of its type (400 otherwise); the page and page size are clamped
  and an unknown sort column is ignored;
* bulk actions: permission first (anonymous to the login page, others 403), then an unknown
  action is a 404 (single) or 400 (list), and a selection with unknown rows changes nothing;
* no download route (this product stores no uploads); database errors are flashed as a
  fixed message, never as SQL with its parameters (which could hold a password hash);
* a relation key in a form that matches no row is a form error (FAB dropped it silently),
  and names on the own-details form fit their columns.

The checks these views share with the entity views (key and paging arguments, action
permissions, no download route) are ``app.web.views.base.hardening``'s. The security manager
installs the views through FAB's view attributes (``userdbmodelview`` ...).
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from flask import abort, flash, redirect, request
from flask_appbuilder import expose
from flask_appbuilder.exceptions import DatabaseException
from flask_appbuilder.fields import QuerySelectMultipleField
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security import views as fab_views
from flask_appbuilder.security.decorators import has_access
from flask_appbuilder.security.forms import UserInfoEdit
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import SQLAlchemyError
from wtforms import StringField
from wtforms.fields.core import UnboundField
from wtforms.validators import DataRequired, Length

from app.models.identity import ConsoleUser
from app.web.step_up import requires_recent_mfa
from app.web.views.base.hardening import HardenedViewMixin, bad_request, fits_column, key_fits, refuse_bad_paging

MAX_SELECTED_ROWS = 100

# One's own account (profile, own details, own password, settings): a resource every console role holds.
OWN_ACCOUNT = "AccountSettings"

# FAB's url tools search this anywhere in an argument's name (re.findall, not anchored).
FILTER_ARG = re.compile(r"_flt_(\d)_(.*)")


class SafeSQLAInterface(SQLAInterface):
    """FAB's interface, but a malformed key finds nothing and database errors carry no SQL."""

    def get(self, id: Any, filters: Any = None, select_columns: Any = None, outer_default_load: bool = False) -> Any:
        if not key_fits(self.obj, id):
            return None
        return super().get(id, filters, select_columns=select_columns, outer_default_load=outer_default_load)

    def get_related_obj(self, col_name: str, value: Any) -> Any:
        model = self.get_related_model(col_name)
        if not key_fits(model, value):
            return None
        return super().get_related_obj(col_name, value)

    def add(self, item: Any, commit: bool = True) -> None:
        try:
            super().add(item, commit=commit)
        except SQLAlchemyError:  # FAB flashes str(exc): the SQL and its parameters
            raise DatabaseException(_("Not saved: the database refused the change.")) from None

    def edit(self, item: Any, commit: bool = True) -> None:
        try:
            super().edit(item, commit=commit)
        except DatabaseException:
            raise DatabaseException(_("Not saved: the database refused the change.")) from None

    def delete(self, item: Any, commit: bool = True) -> None:
        try:
            super().delete(item, commit=commit)
        except DatabaseException:
            raise DatabaseException(_("Not deleted: other records still refer to this one.")) from None


class StrictQuerySelectMultipleField(QuerySelectMultipleField):
    """FAB's field notices unknown keys only after validating, so a role saved with a bad key silently lost it."""

    def pre_validate(self, form: Any) -> None:
        _ = self.data  # resolving the submitted keys is what marks unknown ones
        super().pre_validate(form)


def strict_relation_fields(form_class: Any) -> None:
    """Swap FAB's multiple-relation fields in a generated form class for the strict one (same order)."""
    for name, unbound in list(vars(form_class).items()):
        if isinstance(unbound, UnboundField) and unbound.field_class is QuerySelectMultipleField:
            strict = UnboundField(StrictQuerySelectMultipleField, *unbound.args, name=unbound.name, **unbound.kwargs)
            strict.creation_counter = unbound.creation_counter
            setattr(form_class, name, strict)


class SafeModelViewMixin(HardenedViewMixin):
    """Put before FAB's ModelView class: 4xx for malformed URLs, actions checked before they run."""

    datamodel: Any
    order_columns: list[str]

    def _init_forms(self) -> None:
        super()._init_forms()  # type: ignore[misc]
        for form_class in (self.add_form, self.edit_form):  # type: ignore[attr-defined]
            strict_relation_fields(form_class)

    # ---- request arguments: checked inside the routes, so permission checks come first

    def _searchable(self, column: str) -> list[Any]:
        return self._filters.get_search_filters().get(column, [])  # type: ignore[attr-defined]

    def _filter_value_fits(self, column: str, raw: str) -> bool:
        datamodel = self.datamodel
        if datamodel.is_relation(column):
            return key_fits(datamodel.get_related_model(column), raw)
        prop = datamodel.list_columns.get(column)
        return fits_column(prop.type if prop is not None else sa.String(), raw)

    def _refuse_bad_args(self) -> None:
        refuse_bad_paging()
        for key in request.args:
            match = FILTER_ARG.search(key)
            if match is None:
                continue
            index, column = int(match.group(1)), match.group(2)
            filters = self._searchable(column)
            values = request.args.getlist(key)
            if index >= len(filters) or not all(self._filter_value_fits(column, v) for v in values):
                abort(bad_request(_("Not a valid filter for this list.")))

    def _list(self, **kwargs: Any) -> Any:
        self._refuse_bad_args()
        return super()._list(**kwargs)  # type: ignore[misc]

    def _show(self, pk: Any) -> Any:
        self._refuse_bad_args()
        return super()._show(pk)  # type: ignore[misc]

    def _add(self) -> Any:
        self._refuse_bad_args()
        return super()._add()  # type: ignore[misc]

    def _edit(self, pk: Any) -> Any:
        self._refuse_bad_args()
        return super()._edit(pk)  # type: ignore[misc]

    def _get_list_widget(
        self,
        filters: Any,
        actions: Any = None,
        order_column: str = "",
        order_direction: str = "",
        page: Any = None,
        page_size: Any = None,
        widgets: Any = None,
        **kwargs: Any,
    ) -> Any:
        number, size = self._clamp_paging(page, page_size)
        if order_column not in (self.order_columns or []) or order_direction not in ("asc", "desc"):
            order_column, order_direction = "", ""
        return super()._get_list_widget(  # type: ignore[misc]
            filters,
            actions=actions,
            order_column=order_column,
            order_direction=order_direction,
            page=number,
            page_size=size,
            widgets=widgets,
            **kwargs,
        )

    # ---- bulk actions

    @expose("/action/<string:name>/<pk>", methods=["POST"])
    def action(self, name: str, pk: str) -> Any:
        """One record's action (from its show page): FAB calls it with the record."""
        self._require_action_permission(name)
        action = self.actions.get(name)
        if action is None or not action.single:
            abort(404)
        item = self.datamodel.get(pk)
        if item is None:
            abort(404)
        return action.func(item)

    @expose("/action_post", methods=["POST"])
    def action_post(self) -> Any:
        """Several records' action (from the list): all selected rows must exist, or nothing happens."""
        name = request.form.get("action", "")
        self._require_action_permission(name)
        action = self.actions.get(name)
        if action is None or not action.multiple:
            return bad_request(_("No such action here."))
        pks = request.form.getlist("rowid")
        if not pks or len(pks) > MAX_SELECTED_ROWS:
            flash(_("No records selected (or none you may change)."), "warning")
            return redirect(self.get_redirect())  # type: ignore[attr-defined]
        items = [self.datamodel.get(pk) for pk in pks]
        if any(item is None for item in items):
            flash(_("Some of the selected records do not exist; nothing was changed."), "warning")
            return redirect(self.get_redirect())  # type: ignore[attr-defined]
        return action.func(items)


class StepUpChangesMixin:
    """Adding, editing or deleting accounts and roles changes who may do what: a fresh second factor first."""

    @expose("/add", methods=["GET", "POST"])
    @has_access
    @requires_recent_mfa()
    def add(self) -> Any:
        return super().add()  # type: ignore[misc]

    @expose("/edit/<pk>", methods=["GET", "POST"])
    @has_access
    @requires_recent_mfa()
    def edit(self, pk: Any) -> Any:
        return super().edit(pk)  # type: ignore[misc]

    @expose("/delete/<pk>", methods=["GET", "POST"])
    @has_access
    @requires_recent_mfa()
    def delete(self, pk: Any) -> Any:
        return super().delete(pk)  # type: ignore[misc]


def _without_groups(columns: list[str]) -> list[str]:
    return [c for c in columns if c != "groups"]


class UserDBModelView(StepUpChangesMixin, SafeModelViewMixin, fab_views.UserDBModelView):
    """Console accounts, in the console's words: no OID/LDAP notes, no user groups (roles are granted directly)."""

    list_title = _l("Console users")
    show_title = _l("Console user")
    add_title = _l("Add a console user")
    edit_title = _l("Edit console user")
    label_columns = {
        **fab_views.UserDBModelView.label_columns,
        "username": _l("Username"),
        "active": _l("Active"),
        "roles": _l("Roles"),
    }
    description_columns = {
        "username": _l("The name this person signs in with."),
        "password": _l("At least the length and mix the password policy asks for."),
        "conf_password": _l("The same password again."),
        "active": _l("Clear to stop this account signing in; its history stays."),
        "email": _l("Where sign-in and security notices go."),
        "roles": _l("What this account may see and do."),
    }
    list_columns = _without_groups(fab_views.UserDBModelView.list_columns)
    search_columns = _without_groups(fab_views.UserDBModelView.search_columns)
    add_columns = _without_groups(fab_views.UserDBModelView.add_columns)
    edit_columns = _without_groups(fab_views.UserDBModelView.edit_columns)
    validators_columns = {"roles": [DataRequired()]}


class RoleModelView(StepUpChangesMixin, SafeModelViewMixin, fab_views.RoleModelView):
    list_title = _l("Console roles")
    show_title = _l("Console role")
    add_title = _l("Add a console role")
    edit_title = _l("Edit console role")
    label_columns = {"name": _l("Name"), "permissions": _l("Grants")}


class UserGroupModelView(SafeModelViewMixin, fab_views.UserGroupModelView):
    """FAB's user groups: not in the menu (unused), kept reachable for Admin only by URL."""


class PermissionModelView(SafeModelViewMixin, fab_views.PermissionModelView):
    list_title = _l("Actions")
    show_title = _l("Action")
    add_title = _l("Add an action")
    edit_title = _l("Edit action")
    label_columns = {"name": _l("Name")}


class ViewMenuModelView(SafeModelViewMixin, fab_views.ViewMenuModelView):
    list_title = _l("Resources")
    show_title = _l("Resource")
    add_title = _l("Add a resource")
    edit_title = _l("Edit resource")
    label_columns = {"name": _l("Name")}


class PermissionViewModelView(SafeModelViewMixin, fab_views.PermissionViewModelView):
    list_title = _l("Grants")
    show_title = _l("Grant")
    add_title = _l("Add a grant")
    edit_title = _l("Edit grant")
    label_columns = {"permission": _l("Action"), "view_menu": _l("Resource")}


class ResetPasswordView(fab_views.ResetPasswordView):
    """An administrator sets another account's password: the account (``?pk=``) must exist."""

    def _target(self) -> Any:
        sm = self.appbuilder.sm
        pk = request.args.get("pk", "")
        user = sm.get_user_by_id(int(pk)) if key_fits(sm.user_model, pk) else None
        if user is None:
            abort(404)
        return user

    def form_get(self, form: Any) -> None:
        self._target()

    def form_post(self, form: Any) -> None:
        self._target()
        super().form_post(form)


def _bounded(field: Any, column: str) -> Any:
    """FAB's field (same label, widget and help) with the column's length as its limit."""
    length = ConsoleUser.__table__.c[column].type.length
    return StringField(*field.args, **{**field.kwargs, "validators": [DataRequired(), Length(max=length)]})


class BoundedUserInfoEdit(UserInfoEdit):
    """FAB's own-details form with the column lengths as limits (a longer name failed the save silently)."""

    first_name = _bounded(UserInfoEdit.first_name, "first_name")
    last_name = _bounded(UserInfoEdit.last_name, "last_name")


class UserInfoEditView(fab_views.UserInfoEditView):
    """One's own names (FAB only ever loads and saves ``g.user``): a page of one's own account, every role."""

    class_permission_name = OWN_ACCOUNT
    method_permission_name = {"this_form_get": "read", "this_form_post": "write"}
    form = BoundedUserInfoEdit


#: SecurityManager attribute -> view class, applied by CoachdeskSecurityManager.
SECURITY_VIEWS: dict[str, type] = {
    "userdbmodelview": UserDBModelView,
    "rolemodelview": RoleModelView,
    "groupmodelview": UserGroupModelView,
    "permissionmodelview": PermissionModelView,
    "viewmenumodelview": ViewMenuModelView,
    "permissionviewmodelview": PermissionViewModelView,
    "resetpasswordview": ResetPasswordView,
    "userinfoeditview": UserInfoEditView,
}
