"""Customer plans: assigning a program (inline or as a background job), the plan calendar and its edits."""

from __future__ import annotations

import calendar
import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

from flask import abort, current_app, flash, g, jsonify, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access, has_access_api
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.extensions import committed, db
from app.models.training import CompletionState
from app.services.training import assignment as plan_jobs
from app.services.training import errors, plan_calendar, plans, schedule
from app.web.views.base.hardening import bad_request
from app.web.views.json_api import current_actor, json_error, read_json_body
from app.web.views.plan_builder import MENU_CATEGORY

PLANS_PAGE_SIZE = 25  # rows per page of /plans/
INLINE_ASSIGN_MAX = 1  # more customers than this run as a job (when Redis is configured)


def _commit(done: int, total: int) -> None:
    """An inline assignment commits each batch, as the job does."""
    db.session.commit()


def _parse_date(value: Any, field: str) -> dt.date:
    if not isinstance(value, str):
        raise errors.PlanError(_("%(field)s must be a date (YYYY-MM-DD).", field=field), field=field)
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise errors.PlanError(_("%(field)s must be a date (YYYY-MM-DD).", field=field), field=field) from None


def _parse_assignment(payload: Any) -> tuple[int, list[uuid.UUID], dt.date | None, int]:
    if not isinstance(payload, dict):
        raise errors.PlanError(_("The request body must be a JSON object."))
    program_id = payload.get("program_id")
    if not isinstance(program_id, int) or isinstance(program_id, bool):
        raise errors.PlanError(_("program_id must be a whole number."), field="program_id")
    raw_customers = payload.get("customers")
    if not isinstance(raw_customers, list) or not all(isinstance(c, str) for c in raw_customers):
        raise errors.PlanError(_("customers must be a list of customer ids."), field="customers")
    try:
        customers = [uuid.UUID(c) for c in raw_customers]
    except ValueError:
        raise errors.PlanError(_("customers must be a list of customer ids."), field="customers") from None
    start = payload.get("start_date")
    start_date = _parse_date(start, "start_date") if start not in (None, "") else None
    start_week = payload.get("start_week", 1)
    if not isinstance(start_week, int) or isinstance(start_week, bool):
        raise errors.PlanError(_("start_week must be a whole number."), field="start_week")
    return program_id, customers, start_date, start_week


class PlanAssignView(BaseView):
    """Customer autocomplete, the assign endpoint and job progress."""

    route_base = "/plans/assign"
    class_permission_name = "CustomerPlans"
    method_permission_name = {"customers": "read", "assign": "write", "job": "read"}

    @expose("/customers")
    @has_access_api
    def customers(self) -> Any:
        return jsonify({"results": plans.customer_choices(current_actor(), request.args.get("q", ""))})

    @expose("/", methods=["POST"])
    @has_access_api
    def assign(self) -> Any:
        payload, error = read_json_body(64 * 1024 * 4)
        if error is not None:
            return error
        actor = current_actor()
        try:
            program_id, customers, start_date, start_week = _parse_assignment(payload)
            plans.check_assignment(actor, program_id, start_week)
            customers = plans.check_customers(actor, customers)
            if len(customers) > INLINE_ASSIGN_MAX and plan_jobs.jobs_available():
                job_id = plan_jobs.enqueue_assignment(
                    console_user_id=g.user.id,
                    requested_by=g.user.platform_user_id,
                    program_id=program_id,
                    customer_ids=customers,
                    start_date=start_date,
                    start_week=start_week,
                )
                return jsonify({"job_id": job_id, "status_url": url_for("PlanAssignView.job", job_id=job_id)}), 202
            with committed():
                result = plans.assign_program(
                    actor, program_id, customers, start_date=start_date, start_week=start_week, commit_batch=_commit
                )
        except (errors.PlanError, errors.ProgramError) as exc:
            return jsonify(exc.as_dict()), exc.status
        return jsonify(
            {
                "created": result.created,
                "existing": result.existing,
                "items": result.items,
                "plans": [url_for("PlansView.show", plan_id=pid) for pid in result.plan_ids],
            }
        )

    @expose("/job/<job_id>")
    @has_access_api
    def job(self, job_id: str) -> Any:
        if len(job_id) > 64:
            return json_error(_("Unknown job."), 404)
        status = plan_jobs.job_status(job_id, console_user_id=g.user.id, is_admin=current_actor().is_admin)
        if status is None:
            return json_error(_("Unknown job."), 404)
        return jsonify(status)


class PlansView(BaseView):
    """Plans in scope and one plan as a month or week calendar."""

    route_base = "/plans"
    default_view = "index"
    class_permission_name = "CustomerPlans"
    method_permission_name = {"index": "read", "show": "read"}

    @expose("/")
    @has_access
    def index(self) -> Any:
        raw = request.args.get("page", "1")
        if not raw.isdigit() or len(raw) > 6 or int(raw) < 1:
            return bad_request(_("page must be a whole number from 1."))
        page = int(raw) - 1
        rows, total = plan_calendar.plans_page(current_actor(), page, PLANS_PAGE_SIZE)
        pages = max(1, -(-total // PLANS_PAGE_SIZE))
        if page >= pages:
            return redirect(url_for("PlansView.index", page=pages))
        return self.render_template("plan_builder/plans.html", plans=rows, page=page + 1, pages=pages, total=total)

    @expose("/<int:plan_id>")
    @has_access
    def show(self, plan_id: int) -> Any:
        actor = current_actor()
        try:
            plan = plan_calendar.get_plan(actor, plan_id)
        except errors.PlanNotFound:
            abort(404)
        mode = "week" if request.args.get("view") == "week" else "month"
        tz = plan_calendar.plan_zone(actor, plan)
        try:
            anchor = dt.date.fromisoformat(request.args["at"]) if request.args.get("at") else None
        except ValueError:
            anchor = None
        anchor = anchor or max(plan.start_date, min(schedule.local_today(tz), plan.end_date or plan.start_date))
        anchor = min(max(anchor, dt.date(1970, 1, 1)), dt.date(2200, 12, 31))  # no date overflow at the edges
        if mode == "week":
            first = anchor - dt.timedelta(days=anchor.weekday())
            last = first + dt.timedelta(days=6)
            prev_at, next_at = first - dt.timedelta(days=7), first + dt.timedelta(days=7)
        else:
            first = anchor.replace(day=1)
            last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
            prev_at = (first - dt.timedelta(days=1)).replace(day=1)
            next_at = last + dt.timedelta(days=1)
        grid_first = first - dt.timedelta(days=first.weekday())
        grid_last = last + dt.timedelta(days=6 - last.weekday())
        items = plan_calendar.plan_items_between(actor, plan, grid_first, grid_last)
        by_day: dict[dt.date, list[dict[str, Any]]] = {}
        for item in items:
            by_day.setdefault(item["date"], []).append(item)
        days = [grid_first + dt.timedelta(days=n) for n in range((grid_last - grid_first).days + 1)]
        can_edit = self.appbuilder.sm.has_access("can_write", "PlanItems") and (actor.is_admin or actor.is_coach)
        return self.render_template(
            "plan_builder/plan.html",
            plan=plan,
            mode=mode,
            first=first,
            last=last,
            weeks=[days[n : n + 7] for n in range(0, len(days), 7)],
            by_day=by_day,
            today=schedule.local_today(tz),
            tz=tz.key,
            prev_at=prev_at,
            next_at=next_at,
            adherence=plan_calendar.adherence(actor, plan.customer_id),
            can_edit=can_edit,
            states=CompletionState,
        )


class PlanItemActionsView(BaseView):
    """Coach edits on a plan: substitute an item, move or skip a day. Forms post here and come back."""

    route_base = "/plans/edit"
    class_permission_name = "PlanItems"
    method_permission_name = {"substitute": "write", "move_day": "write", "skip_day": "write"}

    def _back(self, plan_id: int) -> Any:
        at = request.form.get("at", "")
        view = request.form.get("view", "")
        args: dict[str, str] = {}
        if len(at) == 10:
            args["at"] = at
        if view in ("week", "month"):
            args["view"] = view
        return redirect(url_for("PlansView.show", plan_id=plan_id, **args))

    def _again(self, plan_id: int) -> Any:
        # Bad input answers 400 with the plan page (and the flashed reason), not a redirect.
        return current_app.view_functions["PlansView.show"](plan_id=plan_id), 400

    def _edit(self, plan_id: int, change: Callable[[], str]) -> Any:
        """Run one calendar edit: its message on success, 404 for a plan out of reach, 400 with the reason."""
        try:
            with committed():
                message = change()
            flash(message, "success")
        except errors.PlanNotFound:
            abort(404)
        except errors.PlanError as exc:
            flash(exc.message, "danger")
            return self._again(plan_id)
        return self._back(plan_id)

    @expose("/<int:plan_id>/substitute", methods=["POST"])
    @has_access
    def substitute(self, plan_id: int) -> Any:
        actor = current_actor()

        def change() -> str:
            plan_calendar.get_plan(actor, plan_id)
            item_id = _form_int("plan_item_id")
            raw = request.form.get("substitute_id", "").strip()
            substitute = int(raw) if raw.isdigit() else None
            if raw and substitute is None:
                raise errors.PlanError(_("Choose an item to substitute."), field="substitute_id")
            plan_calendar.substitute_item(actor, item_id, substitute, plan_id=plan_id)
            return _("Substitution saved.")

        return self._edit(plan_id, change)

    @expose("/<int:plan_id>/move", methods=["POST"])
    @has_access
    def move_day(self, plan_id: int) -> Any:
        actor = current_actor()

        def change() -> str:
            from_date = _parse_date(request.form.get("from_date"), "from_date")
            to_date = _parse_date(request.form.get("to_date"), "to_date")
            return _("%(n)s items moved.", n=plan_calendar.move_day(actor, plan_id, from_date, to_date))

        return self._edit(plan_id, change)

    @expose("/<int:plan_id>/skip", methods=["POST"])
    @has_access
    def skip_day(self, plan_id: int) -> Any:
        actor = current_actor()

        def change() -> str:
            day = _parse_date(request.form.get("day"), "day")
            return _("%(n)s items skipped.", n=plan_calendar.skip_day(actor, plan_id, day))

        return self._edit(plan_id, change)


def _form_int(name: str) -> int:
    raw = request.form.get(name, "")
    if not raw.isdigit() or len(raw) > 12:
        raise errors.PlanError(_("%(field)s must be a whole number.", field=name), field=name)
    return int(raw)


def register(appbuilder: Any) -> None:
    appbuilder.add_view(
        PlansView,
        "Plan calendar",
        label=_l("Plan calendar"),
        icon="fa-calendar-check",
        category=MENU_CATEGORY,
        category_label=_l("Training"),
    )
    appbuilder.add_view_no_menu(PlanAssignView)
    appbuilder.add_view_no_menu(PlanItemActionsView)
