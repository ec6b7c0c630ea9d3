"""Bulk grids for the catalogue: inline editing, CSV/XLSX export, search and filters.

Flask-Admin does here what FAB does poorly (x-editable inline edits, tablib
exports). Every grid sits behind ``FabPermissionMixin`` with the entity's own
resource from ``roles.py`` plus the ``CatalogueGrids`` area resource.

Bad input gets a message and changes nothing: form validators mirror the
database's CHECK constraints, ``on_model_change`` checks cross-field rules, and
whatever the database still refuses is reported by constraint name, never as a
raw SQL error (which would echo row values) and never as a 500.
"""

from __future__ import annotations

import decimal
import math
import re
from typing import Any, ClassVar

from flask import flash, request
from flask_admin import expose
from flask_admin.contrib.sqla import ModelView
from flask_admin.form import JSONField
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from wtforms.validators import NumberRange, Regexp, ValidationError

from app.models.base import JSONValidationError
from app.models.commerce import DiscountType, Product, Promotion
from app.models.training import Badge, Exercise, Habit, Meal
from app.services.audit import download_events
from app.services.data_access import coerce_pk
from app.services.spreadsheet_safety import numeric_column, safe_cell
from app.web.admin.guard import FabWritableFlagsMixin

CATALOGUE_AREA = "CatalogueGrids"
SEARCH_MAX_LENGTH = 200  # longer LIKE patterns are refused by SQLite ("pattern too complex")
MAX_PAGE = 1_000_000
KEY_MAX = 2**63 - 1
_CONSTRAINT_NAME = re.compile(r'constraint(?: failed:)? "?([\w.]+)"?', re.IGNORECASE)


def constraint_name(exc: DBAPIError) -> str:
    """The name of the database rule an error broke, from psycopg's diagnostics or SQLite's message."""
    diag = getattr(getattr(exc, "orig", None), "diag", None)
    name = getattr(diag, "constraint_name", None)
    if name:
        return str(name)
    match = _CONSTRAINT_NAME.search(str(getattr(exc, "orig", exc)))
    return match.group(1) if match else _("a database rule")


class CatalogueGrid(FabWritableFlagsMixin, ModelView):
    """Base for every catalogue grid: permissions, limits, clear errors."""

    fab_area_resource: ClassVar[str | None] = CATALOGUE_AREA

    list_template = "admin/model/coachdesk_list.html"  # the console's pager
    can_export = True
    export_types: ClassVar[list[str]] = ["csv", "xlsx"]
    export_max_rows = 50_000
    can_view_details = True
    can_set_page_size = True
    page_size = 50
    page_size_options = (20, 50, 100)
    column_display_pk = False
    # x-editable posts one field at a time; the list form carries only validators from form_args.
    column_editable_list: ClassVar[list[str]] = []

    def handle_view_exception(self, exc: Exception) -> bool:
        if isinstance(exc, JSONValidationError):
            flash(_("Invalid %(field)s: %(problem)s", field=exc.field, problem=exc.problem), "error")
            return True
        if isinstance(exc, ValidationError):
            flash(str(exc), "error")
            return True
        if isinstance(exc, IntegrityError):
            flash(_("Not saved: the change breaks the rule %(rule)s.", rule=constraint_name(exc)), "error")
            return True
        if isinstance(exc, DataError):
            flash(_("Not saved: a value is too long or too large for its field."), "error")
            return True
        return super().handle_view_exception(exc)

    def _get_list_filter_args(self) -> Any:
        """Flask-Admin's own parsing, except that a value a filter cannot use is flashed and ignored.

        Its enum filters raise KeyError on an unknown name, and a whole number beyond 64 bits or
        an infinite one passes its check but overflows in the database.
        """
        if not self._filters:
            return None
        filters = []
        for arg, value in request.args.items():
            if not arg.startswith("flt") or "_" not in arg:
                continue
            pos, key = arg[3:].split("_", 1)
            if key not in self._filter_args:
                continue
            idx, flt = self._filter_args[key]
            if _filter_value_usable(flt, value):
                filters.append((pos, (idx, str(flt.name), value)))
            else:
                flash(self.get_invalid_value_msg(value, flt), "error")
        return [v[1] for v in sorted(filters, key=lambda n: n[0])]

    def get_one(self, id: Any) -> Any:  # noqa: A002 - Flask-Admin's signature
        """A key that cannot be this table's (text, NaN, beyond 64 bits) is no record, not a database error."""
        return None if coerce_pk(self.model, id) is None else super().get_one(id)

    def _get_list_extra_args(self) -> Any:
        """Page, page size and search limited to what the grid can show (no OFFSET overflow)."""
        args = super()._get_list_extra_args()
        args.page = min(max(args.page or 0, 0), MAX_PAGE)
        if args.page_size not in self.page_size_options:
            args.page_size = 0  # Flask-Admin's default
        if args.search:
            args.search = args.search[:SEARCH_MAX_LENGTH]
        return args

    @expose("/export/<export_type>/")
    def export(self, export_type: str) -> Any:
        """Exports are recorded (who, which grid, which format, which search and filters) before they stream."""
        if export_type in self.export_types:
            download_events.grid_exported(
                user_id=getattr(current_user, "id", None),
                grid=self.endpoint,
                export_type=export_type,
                query={k: v for k, v in request.args.items() if k != "url"},
                ip=request.remote_addr,
            )
        return super().export(export_type)

    def get_export_value(self, model: Any, name: str) -> Any:
        """CSV and XLSX cells are spreadsheet-safe: text that would start a formula gets a leading quote,
        so tablib's XLSX writes it as a string, never a formula; numeric columns keep their numbers."""
        value = super().get_export_value(model, name)
        return safe_cell(value, numeric=numeric_column(self.model, name))

    @expose("/ajax/update/", methods=("POST",))
    def ajax_update(self) -> Any:
        """Inline edit: a refused value is the client's fault, so answer 400, not Flask-Admin's 500."""
        if self.column_editable_list and coerce_pk(self.model, request.form.get("list_form_pk")) is None:
            return _("Record does not exist."), 400
        result = super().ajax_update()
        if isinstance(result, tuple) and len(result) == 2 and result[1] == 500:
            return result[0], 400
        return result


def _filter_value_usable(flt: Any, value: str) -> bool:
    try:
        if not flt.validate(value):
            return False
        cleaned = flt.clean(value)
    except (KeyError, ValueError, TypeError, ArithmeticError):
        return False
    for item in cleaned if isinstance(cleaned, list | tuple) else [cleaned]:
        if isinstance(item, int) and not isinstance(item, bool) and abs(item) > KEY_MAX:
            return False
        if isinstance(item, float | decimal.Decimal) and not (
            item.is_finite() if isinstance(item, decimal.Decimal) else math.isfinite(item)
        ):
            return False
    return True


MONEY_MAX = decimal.Decimal("9999999999.99")  # Numeric(12, 2)
INT_MAX = 2**31 - 1


def _non_negative(maximum: Any = INT_MAX) -> dict[str, Any]:
    return {
        "validators": [
            NumberRange(min=0, message=_l("Must be zero or more.")),
            NumberRange(max=maximum, message=_l("Too large.")),
        ]
    }


_CURRENCY = {"validators": [Regexp(r"^[A-Z]{3}$", message=_l("Use a three-letter ISO 4217 code, e.g. EUR."))]}


class ExerciseGrid(CatalogueGrid):
    fab_resource = "Exercises"
    column_list = ("name", "category", "difficulty", "equipment")
    column_editable_list: ClassVar[list[str]] = ["name", "category", "difficulty", "equipment"]
    column_searchable_list = ("name", "category", "equipment")
    column_filters = ("category", "difficulty", "equipment")
    column_default_sort = [("name", False), ("id", False)]
    column_labels: ClassVar[dict[str, Any]] = {
        "name": _l("Name"),
        "category": _l("Category"),
        "difficulty": _l("Difficulty"),
        "equipment": _l("Equipment"),
        "video_url": _l("Video URL"),
        "transcript_url": _l("Transcript URL"),
        "thumbnail_url": _l("Thumbnail URL"),
    }


class MealGrid(CatalogueGrid):
    fab_resource = "Meals"
    column_list = ("name", "allergens")
    column_editable_list: ClassVar[list[str]] = ["name", "allergens"]
    column_searchable_list = ("name", "allergens", "instructions")
    column_filters = ("name", "allergens")
    column_default_sort = [("name", False), ("id", False)]
    column_labels: ClassVar[dict[str, Any]] = {
        "name": _l("Name"),
        "allergens": _l("Allergens"),
        "instructions": _l("Instructions"),
        "macros_json": _l("Macros (JSON)"),
    }
    form_overrides: ClassVar[dict[str, Any]] = {"macros_json": JSONField}


class HabitGrid(CatalogueGrid):
    fab_resource = "Habits"
    column_list = ("name", "frequency", "description")
    column_editable_list: ClassVar[list[str]] = ["name", "frequency"]
    column_searchable_list = ("name", "description")
    column_filters = ("frequency",)
    column_default_sort = [("name", False), ("id", False)]
    column_labels: ClassVar[dict[str, Any]] = {
        "name": _l("Name"),
        "frequency": _l("Frequency"),
        "description": _l("Description"),
    }


class ProductGrid(CatalogueGrid):
    fab_resource = "Products"
    column_list = ("name", "category", "price", "currency", "duration_weeks")
    column_editable_list: ClassVar[list[str]] = ["name", "category", "price", "currency", "duration_weeks"]
    column_searchable_list = ("name", "description")
    column_filters = ("category", "price", "currency", "duration_weeks")
    column_default_sort = [("name", False), ("id", False)]
    column_labels: ClassVar[dict[str, Any]] = {
        "name": _l("Name"),
        "category": _l("Category"),
        "description": _l("Description"),
        "price": _l("Price"),
        "currency": _l("Currency"),
        "duration_weeks": _l("Duration (weeks)"),
        "metadata_json": _l("Metadata (JSON)"),
    }
    form_overrides: ClassVar[dict[str, Any]] = {"metadata_json": JSONField}
    form_args: ClassVar[dict[str, Any]] = {
        "price": _non_negative(MONEY_MAX),
        "currency": _CURRENCY,
        "duration_weeks": {
            "validators": [
                NumberRange(min=1, message=_l("Must be at least one week.")),
                NumberRange(max=520, message=_l("Too large.")),
            ]
        },
    }


class PromotionGrid(CatalogueGrid):
    fab_resource = "Promotions"
    column_list = ("code", "discount_type", "value", "start_date", "end_date", "usage_limit")
    column_editable_list: ClassVar[list[str]] = ["discount_type", "value", "start_date", "end_date", "usage_limit"]
    column_searchable_list = ("code",)
    column_filters = ("discount_type", "value", "start_date", "end_date", "usage_limit")
    column_default_sort = [("start_date", True), ("id", True)]
    column_labels: ClassVar[dict[str, Any]] = {
        "code": _l("Code"),
        "discount_type": _l("Discount type"),
        "value": _l("Value"),
        "start_date": _l("Starts"),
        "end_date": _l("Ends"),
        "usage_limit": _l("Usage limit"),
    }
    form_args: ClassVar[dict[str, Any]] = {"value": _non_negative(MONEY_MAX), "usage_limit": _non_negative()}

    def on_model_change(self, form: Any, model: Promotion, is_created: bool) -> None:
        # Cross-field rules the single-field inline form cannot see.
        if model.end_date is not None and model.start_date is not None and model.end_date < model.start_date:
            raise ValidationError(_("The end date must be on or after the start date."))
        if model.discount_type == DiscountType.PERCENT and model.value is not None and model.value > 100:
            raise ValidationError(_("A percentage discount cannot exceed 100."))


class BadgeGrid(CatalogueGrid):
    fab_resource = "Badges"
    column_list = ("code", "name", "description")
    column_editable_list: ClassVar[list[str]] = ["name", "description"]
    column_searchable_list = ("code", "name", "description")
    column_filters = ("code", "name")
    column_default_sort = [("code", False), ("id", False)]
    column_labels: ClassVar[dict[str, Any]] = {
        "code": _l("Code"),
        "name": _l("Name"),
        "description": _l("Description"),
        "criteria_json": _l("Criteria (JSON)"),
    }
    form_overrides: ClassVar[dict[str, Any]] = {"criteria_json": JSONField}


# (view class, model, endpoint suffix, menu label)
GRIDS: tuple[tuple[type[CatalogueGrid], type, str, Any], ...] = (
    (ExerciseGrid, Exercise, "exercises", _l("Exercises")),
    (MealGrid, Meal, "meals", _l("Meals")),
    (HabitGrid, Habit, "habits", _l("Habits")),
    (ProductGrid, Product, "products", _l("Products")),
    (PromotionGrid, Promotion, "promotions", _l("Promotions")),
    (BadgeGrid, Badge, "badges", _l("Badges")),
)
