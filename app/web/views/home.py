"""The landing page: tells each role where its work is."""

from __future__ import annotations

from typing import Any

from flask import g, redirect, url_for
from flask_appbuilder import IndexView, expose
from flask_babel import lazy_gettext as _l

from app.policy.roles import ADMIN, COACH, COMPLIANCE, MANAGER, SUPPORT

ROLE_GUIDE = {
    ADMIN: (_l("Administrator"), _l("Everything: console accounts, roles, API clients and automation rules.")),
    SUPPORT: (_l("Support"), _l("Customer records: users, consents, subscriptions, invoices, payments and tickets.")),
    COACH: (_l("Coach"), _l("Build programs, assign plans, follow adherence and run your schedule.")),
    MANAGER: (_l("Manager"), _l("Cohort, revenue, adherence and attendance dashboards; products and promotions.")),
    COMPLIANCE: (_l("Compliance"), _l("Audit trail, audit exports, retention policies and data-subject requests.")),
}


class HomeView(IndexView):
    index_template = "coachdesk/home.html"

    @expose("/")
    def index(self) -> Any:
        user = g.user
        if user is None or user.is_anonymous:
            return redirect(url_for(self.appbuilder.sm.auth_view.endpoint + ".login"))
        roles = [r.name for r in user.roles]
        guides = [(name, *ROLE_GUIDE[name]) for name in roles if name in ROLE_GUIDE]
        return self.render_template(self.index_template, guides=guides, menu=self.appbuilder.menu)


def register(appbuilder: Any) -> None:
    """The index view is installed by FAB itself from FAB_INDEX_VIEW."""
