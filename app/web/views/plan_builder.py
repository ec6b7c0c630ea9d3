"""The program builder page and its JSON endpoints (library search, program load and save)."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, jsonify, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access, has_access_api
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.extensions import committed
from app.models import labels
from app.models.training import Difficulty, ItemType, ProgramLevel, Visibility
from app.services.training import catalogue, errors, programs
from app.web.views.json_api import current_actor, json_error, read_json_body

MENU_CATEGORY = "Training"


# Display names for the codes the builder shows (the codes themselves stay in data and JSON): from the one
# label table in app.models.labels.
ENUM_LABELS: dict[str, Any] = {
    **{
        str(m.value): label
        for m, label in labels.LABELS.items()
        if isinstance(m, (ProgramLevel, Visibility, Difficulty))
    },
    **labels.CODE_LABELS["time_of_day"],
    **labels.CODE_LABELS["frequency"],
}


def js_strings() -> dict[str, Any]:
    """Every string the builder's script shows, translated for the current locale."""
    return {
        "day_names": [_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")],
        "week": _("Week %(n)s"),
        "copy_week": _("Copy week"),
        "remove_week": _("Remove week"),
        "copy_day": _("Copy day"),
        "paste_day": _("Paste day here"),
        "remove": _("Remove"),
        "drag_handle": _("Drag by this handle to move"),
        "empty_day": _("Drop items here"),
        "saved": _("Saved (version %(v)s)."),
        "version": _("Version %(v)s"),
        "saving": _("Saving…"),
        "unsaved": _("Unsaved changes"),
        "conflict_reload": _("Reload the latest version (your unsaved changes will be lost)"),
        "moved_to": _("%(name)s moved to week %(week)s, %(day)s, position %(pos)s."),
        "added_to": _("%(name)s added to week %(week)s, %(day)s."),
        "removed": _("%(name)s removed."),
        "week_copied": _("Week %(from)s copied to new week %(to)s."),
        "week_removed": _("Week %(n)s removed."),
        "day_copied": _("Day copied. Choose a day and press “Paste day here”."),
        "day_pasted": _("Day pasted into week %(week)s, %(day)s."),
        "no_results": _("No matching items."),
        "page_of": _("Page %(page)s of %(pages)s"),
        "add_to_selected": _("Add to the selected day"),
        "item_help": _("Arrow keys move, Enter edits, Delete removes."),
        "card_label": _("%(name)s, %(type)s, week %(week)s, %(day)s, position %(pos)s"),
        "superset": _("Superset %(label)s"),
        "EXERCISE": _("Exercise"),
        "MEAL": _("Meal"),
        "HABIT": _("Habit"),
        "error": _("Error"),
        "network_error": _("The server could not be reached; your changes are kept in this page."),
        "confirm_remove_week": _("Remove week %(n)s and its items?"),
        "min_one_week": _("A program needs at least one week."),
        "assign_running": _("Assigning: %(done)s of %(total)s customers…"),
        "assign_done": _("Assigned: %(created)s new plans, %(existing)s already had it."),
        "assign_failed": _("The assignment failed: %(error)s"),
        "plan_link": _("Open plan"),
        "select_day_first": _("Select a day in the grid first (click it or focus it)."),
        "codes": {code: str(label) for code, label in ENUM_LABELS.items()},  # codes in prescriptions and the library
    }


class PlanBuilderView(BaseView):
    """Program list, "new program" and the builder page itself."""

    route_base = "/planbuilder"
    default_view = "index"
    class_permission_name = "PlanBuilder"
    method_permission_name = {"index": "read", "edit": "read", "library": "read", "create": "write"}

    @expose("/")
    @has_access
    def index(self) -> Any:
        actor = current_actor()
        return self.render_template(
            "plan_builder/index.html",
            programs=programs.list_programs(actor),
            levels=list(ProgramLevel),
            visibilities=list(Visibility),
            labels=ENUM_LABELS,
            can_create=actor.is_admin or actor.is_coach,
        )

    @expose("/new", methods=["POST"])
    @has_access
    def create(self) -> Any:
        try:
            weeks = int(request.form.get("weeks", "4"))
        except ValueError:
            weeks = 0
        try:
            with committed():
                program = programs.create_program(
                    current_actor(),
                    title=request.form.get("title", ""),
                    level=request.form.get("level", ""),
                    visibility=request.form.get("visibility", ""),
                    weeks=weeks,
                )
        except errors.ProgramError as exc:
            flash(exc.message, "danger")
            return redirect(url_for("PlanBuilderView.index"))
        return redirect(url_for("PlanBuilderView.edit", program_id=program.id))

    @expose("/<int:program_id>")
    @has_access
    def edit(self, program_id: int) -> Any:
        actor = current_actor()
        try:
            program, editable = programs.open_program(actor, program_id)
        except errors.ProgramNotFound:
            abort(404)
        document = programs.program_document(actor, program, editable=editable)
        return self.render_template(
            "plan_builder/builder.html",
            program=program,
            document=document,
            facets=catalogue.library_facets(actor),
            item_types=[t.value for t in ItemType],
            difficulties=[(d.value, ENUM_LABELS[d.value]) for d in Difficulty],
            strings=js_strings(),
            time_of_day=[
                (t, ENUM_LABELS[t]) for t in ("BREAKFAST", "LUNCH", "DINNER", "SNACK", "PRE_WORKOUT", "POST_WORKOUT")
            ],
            frequencies=[(f, ENUM_LABELS[f]) for f in ("DAILY", "WEEKDAYS", "WEEKLY", "TWICE_WEEKLY")],
            can_assign=actor.is_admin or actor.is_coach,
        )

    @expose("/library")
    @has_access_api
    def library(self) -> Any:
        args = request.args
        try:
            item_type = ItemType(args.get("type", "EXERCISE"))
        except ValueError:
            return json_error(_("type must be EXERCISE, MEAL or HABIT."))
        page = args.get("page", "1")
        size = args.get("page_size", "20")
        if not page.isdigit() or not size.isdigit():
            return json_error(_("page and page_size must be whole numbers."))
        query = catalogue.LibraryQuery(
            item_type=item_type,
            q=args.get("q", "")[:100],
            category=args.get("category", "")[:50],
            difficulty=args.get("difficulty", "")[:20],
            equipment=args.get("equipment", "")[:100],
            exclude_allergen=args.get("exclude_allergen", "")[:100],
            page=min(int(page), 100_000),
            page_size=int(size),
        )
        try:
            return jsonify(catalogue.search_library(current_actor(), query))
        except errors.ProgramError as exc:
            return json_error(exc.message)


class ProgramDataView(BaseView):
    """The builder's data: one program as JSON, and the one endpoint that saves it."""

    route_base = "/planbuilder/api/programs"
    class_permission_name = "Programs"
    method_permission_name = {"document": "read", "save": "write"}

    @expose("/<int:program_id>")
    @has_access_api
    def document(self, program_id: int) -> Any:
        actor = current_actor()
        try:
            program, editable = programs.open_program(actor, program_id)
        except errors.ProgramNotFound as exc:
            return json_error(exc.message, 404)
        return jsonify(programs.program_document(actor, program, editable=editable))

    @expose("/<int:program_id>/items", methods=["POST"])
    @has_access_api
    def save(self, program_id: int) -> Any:
        payload, error = read_json_body()
        if error is not None:
            return error
        actor = current_actor()
        try:
            with committed():
                result = programs.save_program(actor, program_id, payload)
        except errors.ProgramError as exc:
            return jsonify(exc.as_dict()), exc.status
        program, editable = programs.open_program(actor, program_id)
        document = programs.program_document(actor, program, editable=editable)
        return jsonify(
            {
                "ok": True,
                "version": result.version,
                "created": result.created,
                "updated": result.updated,
                "deleted": result.deleted,
                "plans_followed": result.plans_followed,
                "program": document,
            }
        )


def register(appbuilder: Any) -> None:
    appbuilder.add_view(
        PlanBuilderView,
        "Program builder",
        label=_l("Program builder"),
        icon="fa-th",
        category=MENU_CATEGORY,
        category_label=_l("Training"),
    )
    appbuilder.add_view_no_menu(ProgramDataView)
