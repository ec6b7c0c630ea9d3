"""Training content and plans: the catalogue, programs and their items, customer plans, badges."""

from __future__ import annotations

from typing import Any

from flask import g
from flask_appbuilder.actions import action
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import validators as wtv

from app.models.training import (
    Badge,
    CustomerBadge,
    CustomerPlan,
    Exercise,
    Habit,
    ItemType,
    Meal,
    PlanItem,
    Program,
    ProgramItem,
)
from app.services import console_actions
from app.services.training import item_refs
from app.web.views.base.area import register_area
from app.web.views.base.datamodel import ScopedSQLAInterface
from app.web.views.base.model_view import CoachdeskModelView
from app.web.views.corrections import ComputedRecordView
from app.web.views.json_api import current_actor

_ITEM_LABELS = {
    "item_type": _l("Item type"),
    "item_id": _l("Item id"),
    "order_index": _l("Order"),
}


class ExerciseView(CoachdeskModelView):
    route_base = "/exercises"
    datamodel = ScopedSQLAInterface(Exercise)
    class_permission_name = "Exercises"
    list_title = show_title = _l("Exercises")
    add_title = _l("Add exercise")
    edit_title = _l("Edit exercise")
    list_columns = ["name", "category", "difficulty", "equipment"]
    show_columns = [*list_columns, "video_url", "transcript_url", "thumbnail_url"]
    add_columns = edit_columns = show_columns
    validators_columns = {c: [wtv.Optional(), wtv.URL()] for c in ("video_url", "transcript_url", "thumbnail_url")}
    search_text_columns = ("name", "category", "equipment")
    filter_columns = ("difficulty", "category")
    label_columns = {
        "name": _l("Name"),
        "category": _l("Category"),
        "difficulty": _l("Difficulty"),
        "equipment": _l("Equipment"),
        "video_url": _l("Video URL"),
        "transcript_url": _l("Transcript URL"),
        "thumbnail_url": _l("Thumbnail URL"),
    }


class MealView(CoachdeskModelView):
    route_base = "/meals"
    datamodel = ScopedSQLAInterface(Meal)
    class_permission_name = "Meals"
    list_title = show_title = _l("Meals")
    add_title = _l("Add meal")
    edit_title = _l("Edit meal")
    list_columns = ["name", "allergens"]
    show_columns = ["name", "allergens", "macros_json", "instructions"]
    add_columns = edit_columns = show_columns
    search_text_columns = ("name", "allergens")
    label_columns = {
        "name": _l("Name"),
        "allergens": _l("Allergens"),
        "macros_json": _l("Macros"),
        "instructions": _l("Instructions"),
    }


class HabitView(CoachdeskModelView):
    route_base = "/habits"
    datamodel = ScopedSQLAInterface(Habit)
    class_permission_name = "Habits"
    list_title = show_title = _l("Habits")
    add_title = _l("Add habit")
    edit_title = _l("Edit habit")
    list_columns = ["name", "frequency"]
    show_columns = ["name", "frequency", "description"]
    add_columns = edit_columns = show_columns
    search_text_columns = ("name", "description")
    filter_columns = ("frequency",)
    label_columns = {"name": _l("Name"), "frequency": _l("Frequency"), "description": _l("Description")}


def _item_type_of(form: Any) -> ItemType | None:
    raw_type = getattr(form, "item_type", None) and form.item_type.data
    try:
        return ItemType(getattr(raw_type, "value", raw_type))
    except ValueError:
        return None  # the item_type field reports its own error


def _catalogue_item_exists(form: Any, field: Any) -> None:
    """item_id is a polymorphic reference: it must name an existing exercise, meal or habit of item_type."""
    item_type = _item_type_of(form)
    if item_type is None or field.data is None:
        return
    try:
        item_refs.require_item(current_actor(), item_type, field.data, field=field.name)
    except item_refs.ReferenceRefused as exc:
        raise wtv.ValidationError(exc.message) from None


class ProgramItemView(CoachdeskModelView):
    route_base = "/program-items"
    datamodel = ScopedSQLAInterface(ProgramItem)
    class_permission_name = "ProgramItems"
    list_title = show_title = _l("Program items")
    add_title = _l("Add program item")
    edit_title = _l("Edit program item")
    list_columns = ["program", "week_index", "day_index", "order_index", "item_type", "item_id"]
    show_columns = [*list_columns, "prescription_json"]
    add_columns = edit_columns = show_columns
    validators_columns = {
        "week_index": [wtv.NumberRange(min=0)],
        "day_index": [wtv.NumberRange(min=0, max=6)],
        "order_index": [wtv.NumberRange(min=0)],
        "item_id": [_catalogue_item_exists],
    }
    filter_columns = ("program", "item_type", "week_index")
    label_columns = {
        "program": _l("Program"),
        "week_index": _l("Week"),
        "day_index": _l("Day"),
        "prescription_json": _l("Prescription"),
        **_ITEM_LABELS,
    }


class PlanItemView(CoachdeskModelView):
    route_base = "/plan-items"
    datamodel = ScopedSQLAInterface(PlanItem)
    class_permission_name = "PlanItems"
    list_title = show_title = _l("Plan items")
    add_title = _l("Add plan item")
    edit_title = _l("Edit plan item")
    list_columns = ["plan", "scheduled_date", "item_type", "item_id", "completion_state", "completion_at"]
    show_columns = [*list_columns, "feedback_text", "substitution_item_id", "order_index"]
    add_columns = edit_columns = [
        "plan", "scheduled_date", "item_type", "item_id", "completion_state", "completion_at", "feedback_text",
        "substitution_item_id", "order_index",
    ]  # fmt: skip
    list_eager = ("plan", "plan.program", "plan.customer")
    search_text_columns = ("feedback_text",)
    filter_columns = ("plan", "completion_state", "item_type", "scheduled_date")
    validators_columns = {"item_id": [_catalogue_item_exists], "substitution_item_id": [_catalogue_item_exists]}
    base_order = ("scheduled_date", "desc")
    label_columns = {
        "plan": _l("Plan"),
        "scheduled_date": _l("Date"),
        "completion_state": _l("Completion"),
        "completion_at": _l("Completed"),
        "feedback_text": _l("Feedback"),
        "substitution_item_id": _l("Substituted by"),
        **_ITEM_LABELS,
    }


class CustomerPlanView(CoachdeskModelView):
    route_base = "/customer-plans"
    datamodel = ScopedSQLAInterface(CustomerPlan)
    class_permission_name = "CustomerPlans"
    list_title = show_title = _l("Customer plans")
    add_title = _l("Assign a plan")
    edit_title = _l("Edit customer plan")
    list_columns = ["customer", "program", "status", "start_date", "end_date", "updated_at"]
    show_columns = [*list_columns, "created_at"]
    add_columns = edit_columns = ["customer", "program", "status", "start_date", "end_date"]
    search_text_columns = ("customer.full_name", "program.title")
    filter_columns = ("customer", "program", "status", "start_date")
    base_order = ("created_at", "desc")  # indexed; updated_at is not
    related_views = [PlanItemView]

    @action("pause", _l("Pause"), _l("Pause the selected plans?"), "fa-pause")
    def pause(self, items: Any) -> Any:
        return self.run_bulk(items, console_actions.pause_plans, _("%(count)s plans paused."))

    label_columns = {
        "customer": _l("Customer"),
        "program": _l("Program"),
        "status": _l("Status"),
        "start_date": _l("Start"),
        "end_date": _l("End"),
        "created_at": _l("Created"),
        "updated_at": _l("Updated"),
    }


class ProgramView(CoachdeskModelView):
    route_base = "/programs"
    datamodel = ScopedSQLAInterface(Program)
    class_permission_name = "Programs"
    list_title = show_title = _l("Programs")
    add_title = _l("Add program")
    edit_title = _l("Edit program")
    list_columns = ["title", "level", "visibility", "author", "weeks", "updated_at"]
    show_columns = ["title", "description", "goal", "level", "visibility", "author", "weeks", "version", "updated_at"]
    add_columns = edit_columns = ["title", "description", "goal", "level", "visibility", "weeks"]
    validators_columns = {"weeks": [wtv.NumberRange(min=1, max=104)]}
    search_text_columns = ("title", "goal", "description")
    filter_columns = ("level", "visibility", "author", "updated_at")
    base_order = ("created_at", "desc")  # indexed; updated_at is not
    related_views = [ProgramItemView, CustomerPlanView]
    label_columns = {
        "title": _l("Title"),
        "description": _l("Description"),
        "goal": _l("Goal"),
        "level": _l("Level"),
        "visibility": _l("Visibility"),
        "author": _l("Author"),
        "weeks": _l("Weeks"),
        "version": _l("Version"),
        "updated_at": _l("Updated"),
    }

    def pre_add(self, item: Any) -> None:
        item.created_by = getattr(g.user, "platform_user_id", None)


class BadgeView(CoachdeskModelView):
    route_base = "/badges"
    datamodel = ScopedSQLAInterface(Badge)
    class_permission_name = "Badges"
    list_title = show_title = _l("Badges")
    add_title = _l("Add badge")
    edit_title = _l("Edit badge")
    list_columns = ["code", "name"]
    show_columns = ["code", "name", "description", "criteria_json"]
    add_columns = edit_columns = show_columns
    search_text_columns = ("code", "name")
    label_columns = {
        "code": _l("Code"),
        "name": _l("Name"),
        "description": _l("Description"),
        "criteria_json": _l("Criteria"),
    }


class CustomerBadgeView(ComputedRecordView, CoachdeskModelView):
    """Badges are awarded by evaluating their criteria: read-only (an Admin revokes one with a reason)."""

    route_base = "/customer-badges"
    datamodel = ScopedSQLAInterface(CustomerBadge)
    class_permission_name = "CustomerBadges"
    list_title = show_title = _l("Customer badges")
    list_columns = ["customer", "badge", "awarded_at"]
    show_columns = list_columns
    filter_columns = ("customer", "badge", "awarded_at")
    base_order = ("awarded_at", "desc")
    label_columns = {"customer": _l("Customer"), "badge": _l("Badge"), "awarded_at": _l("Awarded")}


def register(appbuilder: Any) -> None:
    register_area(
        appbuilder,
        "Training",
        _l("Training"),
        "fa-heartbeat",
        [
            (ExerciseView, "Exercises", _l("Exercises"), "fa-bicycle"),
            (MealView, "Meals", _l("Meals"), "fa-cutlery"),
            (HabitView, "Habits", _l("Habits"), "fa-repeat"),
            (ProgramView, "Programs", _l("Programs"), "fa-list-alt"),
            (ProgramItemView, "Program items", _l("Program items"), "fa-list-ol"),
            (CustomerPlanView, "Customer plans", _l("Customer plans"), "fa-calendar-check-o"),
            (PlanItemView, "Plan items", _l("Plan items"), "fa-check"),
            (BadgeView, "Badges", _l("Badges"), "fa-trophy"),
            (CustomerBadgeView, "Customer badges", _l("Customer badges"), "fa-star"),
        ],
    )
