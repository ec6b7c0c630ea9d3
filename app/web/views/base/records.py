"""One record: show (with the related lists the viewer may read), add, edit and delete.

A constraint violation becomes a message naming the broken rule, never SQL or values (which
could hold personal data), with the transaction rolled back; a write that would leave the
viewer's write scope (a coach's own rows) is refused the same way.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import sqlalchemy as sa
from flask import abort, flash, request
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError, StatementError

from app.extensions import db
from app.models.base import JSONValidationError
from app.services.data_access import pk_column
from app.services.events import console_writes
from app.web.views.base.display import display_value
from app.web.views.base.json_form_field import render_json_value

log = logging.getLogger(__name__)


def _humanise(constraint: str | None) -> str:
    if not constraint:
        return _("value")
    name = constraint.split(".")[-1]
    name = re.sub(r"^(ck|uq|fk|ix|pk)_", "", name)
    return name.replace("_", " ")


class RecordMixin:
    """FAB's show/add/edit/delete with the row scope, clean errors and permission-filtered related lists."""

    datamodel: Any
    money_columns: dict[str, str]

    def _get_show_widget(
        self, pk: Any, item: Any, widgets: Any = None, actions: Any = None, show_fieldsets: Any = None
    ) -> dict[str, Any]:
        widgets = widgets or {}
        widgets["show"] = self.show_widget(
            pk=pk,
            label_columns=self.label_columns,
            include_columns=self.show_columns,
            value_columns=[self._show_value(item, c) for c in self.show_columns],
            formatters_columns={},
            actions=actions or self.actions,
            fieldsets=show_fieldsets or self.show_fieldsets,
            modelview_name=type(self).__name__,
        )
        return widgets

    def _show_value(self, item: Any, column: str) -> Any:
        """A JSON column as labelled fields (its schema names them); any other column as ``display_value``."""
        prop = sa.inspect(self.datamodel.obj).attrs.get(column)
        columns = getattr(prop, "columns", None) or []
        if columns and "json_schema" in columns[0].info:
            return render_json_value(getattr(item, column), columns[0].info["json_schema"])
        return display_value(item, column, self.money_columns)

    def visible_related_views(self) -> list[Any]:
        sm = self.appbuilder.sm
        return [v for v in self._related_views if sm.has_access("can_read", v.class_permission_name)]

    def _get_related_views_widgets(self, item, orders=None, pages=None, page_sizes=None, widgets=None, **args):
        widgets = widgets or {}
        widgets["related_views"] = []
        for view in self.visible_related_views():
            name = type(view).__name__
            order_column, order_direction = (orders or {}).get(name, ("", ""))
            widgets["related_views"].append(
                self._get_related_view_widget(
                    item,
                    view,
                    order_column,
                    order_direction,
                    page=(pages or {}).get(name),
                    page_size=(page_sizes or {}).get(name),
                )
            )
        return widgets

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk: str) -> Any:
        widgets = self._show(pk)
        return self.render_template(
            self.show_template, pk=pk, title=self.show_title, widgets=widgets,
            related_views=self.visible_related_views(),
        )  # fmt: skip

    @expose("/edit/<pk>", methods=["GET", "POST"])
    @has_access
    def edit(self, pk: str) -> Any:
        widgets = self._edit(pk)
        if not widgets:
            return self.post_edit_redirect()
        return self.render_template(
            self.edit_template, title=self.edit_title, widgets=widgets, related_views=self.visible_related_views()
        )

    @expose("/delete/<pk>", methods=["POST"])
    @has_access
    def delete(self, pk: str) -> Any:
        self._delete(pk)
        return self.post_delete_redirect()

    # ---- writes with clean errors

    def describe_db_error(self, exc: Exception) -> str:
        """Name the broken rule without echoing SQL or values (which could hold personal data)."""
        orig = getattr(exc, "orig", None)
        constraint = getattr(getattr(orig, "diag", None), "constraint_name", None)
        text = str(orig or "")
        if constraint is None:
            match = re.search(r"(?:CHECK|UNIQUE|NOT NULL|FOREIGN KEY) constraint failed: ?([\w.,\s]*)", text)
            constraint = match.group(1).strip() if match else None
        lowered = text.lower()
        if "unique" in lowered or "duplicate key" in lowered:
            return _("Not saved: a record with the same %(what)s already exists.", what=_humanise(constraint))
        if "foreign key" in lowered:
            return _("Not saved: a related record is missing or still refers to this one.")
        if "not null" in lowered or "null value" in lowered:
            return _("Not saved: %(what)s is required.", what=_humanise(constraint))
        if "check" in lowered:
            return _("Not saved: the rule “%(what)s” is not met.", what=_humanise(constraint))
        if isinstance(exc, DataError) or "too long" in lowered:
            return _("Not saved: a value is too long or of the wrong type.")
        return _("Not saved: the database refused the change.")

    def _within_write_scope(self, item: Any) -> bool:
        """After the flush, is the new or changed row still one this user may change (a coach's own)?"""
        model = self.datamodel.obj
        key = pk_column(model)
        stmt = sa.select(key).where(key == getattr(item, key.key), self.datamodel.scope(for_write=True))
        return self.datamodel.session.execute(stmt).first() is not None

    def _save(self, item: Any, *, is_new: bool) -> bool:
        session = self.datamodel.session
        try:
            if is_new:
                self.pre_add(item)
                session.add(item)
            else:
                self.pre_update(item)
            before = console_writes.previous(session, item)
            session.flush()
            if not self._within_write_scope(item):
                session.rollback()
                flash(_("Not saved: that record would be outside the records you may change."), "danger")
                return False
            console_writes.announce(session, item, is_new=is_new, before=before)  # domain events, same commit
            session.commit()
        except (IntegrityError, DataError) as exc:
            session.rollback()
            flash(self.describe_db_error(exc), "danger")
            return False
        except JSONValidationError as exc:
            session.rollback()
            flash(_("%(field)s: %(problem)s", field=exc.field, problem=exc.problem), "danger")
            return False
        except (StatementError, SQLAlchemyError, ValueError) as exc:
            session.rollback()
            log.warning("console save refused: %s", type(exc).__name__)
            flash(_("Not saved: a value is not valid here."), "danger")
            return False
        if is_new:
            self.post_add(item)
        else:
            self.post_update(item)
        return True

    def _add(self) -> Any:
        form = self.add_form.refresh()
        if request.method == "POST" and form.validate():
            self.process_form(form, True)
            item = self.datamodel.obj()
            try:
                form.populate_obj(item)
            except (JSONValidationError, ValueError, TypeError) as exc:
                db.session.rollback()
                flash(str(exc) if isinstance(exc, JSONValidationError) else _("A value is not valid."), "danger")
                return self._get_add_widget(form=form)
            if self._save(item, is_new=True):
                flash(self.add_row_message, "success")
                return None
        self.update_redirect()
        return self._get_add_widget(form=form)

    def _edit(self, pk: Any) -> Any:
        item = self.datamodel.get(pk, self._base_filters)
        if not item:
            abort(404)
        if request.method == "POST":
            form = self.edit_form.refresh(request.form)
            form._id = self.datamodel.get_pk_value(item)
            if form.validate():
                self.process_form(form, False)
                try:
                    form.populate_obj(item)
                except (JSONValidationError, ValueError, TypeError) as exc:
                    db.session.rollback()
                    flash(str(exc) if isinstance(exc, JSONValidationError) else _("A value is not valid."), "danger")
                else:
                    if self._save(item, is_new=False):
                        flash(self.edit_row_message, "success")
                        return None
                    item = self.datamodel.get(pk, self._base_filters)
                    if item is None:
                        abort(404)
        else:
            form = self.edit_form.refresh(obj=item)
            self.prefill_form(form, pk)
        widgets = self._get_edit_widget(form=form)
        widgets = self._get_related_views_widgets(item, orders={}, pages={}, page_sizes={}, widgets=widgets)
        self.update_redirect()
        return widgets

    def _delete(self, pk: Any) -> None:
        item = self.datamodel.get(pk, self._base_filters)
        if not item:
            abort(404)
        session = self.datamodel.session
        try:
            self.pre_delete(item)
            session.delete(item)
            session.commit()
        except (IntegrityError, DataError) as exc:
            session.rollback()
            flash(self.describe_db_error(exc).replace(_("Not saved"), _("Not deleted")), "danger")
            return
        except ValueError as exc:
            session.rollback()
            flash(str(exc), "danger")
            return
        self.post_delete(item)
        flash(self.delete_row_message, "success")
        self.update_redirect()
