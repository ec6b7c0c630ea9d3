"""Customer profile and onboarding: profiles, assessments, coach assignments."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from app.models.customers import Assessment, CoachAssignment, CustomerProfile
from app.web.views.base.area import register_area
from app.web.views.base.datamodel import ScopedSQLAInterface
from app.web.views.base.model_view import CoachdeskModelView


class CustomerProfileView(CoachdeskModelView):
    route_base = "/customer-profiles"
    datamodel = ScopedSQLAInterface(CustomerProfile)
    class_permission_name = "CustomerProfiles"
    list_title = show_title = _l("Customer profiles")
    add_title = _l("Add customer profile")
    edit_title = _l("Edit customer profile")
    list_columns = ["user", "gender", "date_of_birth", "timezone", "risk_flags"]
    show_columns = ["user", "date_of_birth", "gender", "timezone", "goals_json", "risk_flags", "emergency_contact"]
    add_columns = ["user", "date_of_birth", "gender", "timezone", "goals_json", "risk_flags", "emergency_contact"]
    edit_columns = ["date_of_birth", "gender", "timezone", "goals_json", "risk_flags", "emergency_contact"]
    search_text_columns = ("user.full_name", "user.email", "risk_flags")
    filter_columns = ("user", "gender", "date_of_birth")
    base_order = ("user_id", "desc")
    label_columns = {
        "user": _l("Customer"),
        "date_of_birth": _l("Date of birth"),
        "gender": _l("Gender"),
        "timezone": _l("Time zone"),
        "goals_json": _l("Goals"),
        "risk_flags": _l("Risk flags"),
        "emergency_contact": _l("Emergency contact"),
    }


class AssessmentView(CoachdeskModelView):
    route_base = "/assessments"
    datamodel = ScopedSQLAInterface(Assessment)
    class_permission_name = "Assessments"
    list_title = show_title = _l("Assessments")
    add_title = _l("Add assessment")
    edit_title = _l("Edit assessment")
    list_columns = ["user", "questionnaire_version", "score", "created_at"]
    show_columns = ["user", "questionnaire_version", "score", "responses_json", "created_at"]
    add_columns = edit_columns = ["user", "questionnaire_version", "score", "responses_json"]
    search_text_columns = ("questionnaire_version",)
    filter_columns = ("user", "score", "created_at")
    base_order = ("created_at", "desc")
    label_columns = {
        "user": _l("Customer"),
        "questionnaire_version": _l("Questionnaire"),
        "score": _l("Score"),
        "responses_json": _l("Responses (JSON)"),
        "created_at": _l("Taken"),
    }


class CoachAssignmentView(CoachdeskModelView):
    route_base = "/coach-assignments"
    datamodel = ScopedSQLAInterface(CoachAssignment)
    class_permission_name = "CoachAssignments"
    list_title = show_title = _l("Coach assignments")
    add_title = _l("Assign a coach")
    edit_title = _l("Edit coach assignment")
    list_columns = ["customer", "coach", "is_primary", "assigned_at"]
    show_columns = list_columns
    add_columns = edit_columns = ["customer", "coach", "is_primary"]
    filter_columns = ("customer", "coach", "is_primary", "assigned_at")
    base_order = ("assigned_at", "desc")
    label_columns = {
        "customer": _l("Customer"),
        "coach": _l("Coach"),
        "is_primary": _l("Primary coach"),
        "assigned_at": _l("Assigned"),
    }


def register(appbuilder: Any) -> None:
    register_area(
        appbuilder,
        "Customers",
        _l("Customers"),
        "fa-users",
        [
            (CustomerProfileView, "Customer profiles", _l("Customer profiles"), "fa-address-card"),
            (AssessmentView, "Assessments", _l("Assessments"), "fa-clipboard"),
            (CoachAssignmentView, "Coach assignments", _l("Coach assignments"), "fa-handshake-o"),
        ],
    )
