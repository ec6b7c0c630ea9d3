"""Console views: one module per page or seed area, registered with FAB by ``register_views``.

``base`` is the shared machinery of the entity views (FAB's security views reuse its hardening).
"""

from __future__ import annotations

from typing import Any

from flask import current_app

from app.web import fab_strings
from app.web.views import (
    announcements,
    charts,
    compliance_tools,
    corrections,
    customer360,
    dashboards,
    deliveries,
    entities,
    home,
    imports,
    leaderboard,
    plan_builder,
    plans,
    saved_views,
)
from app.web.views import inbox as inbox_view
from app.web.views import search as search_view
from app.web.views.base.display import format_value


def register_views(appbuilder: Any) -> None:
    """Register every view with FAB, in menu order; each area module adds its own."""
    # Templates show values (datetimes in the viewer's time zone) the way list pages do.
    current_app.add_template_filter(format_value, "cd_format")
    fab_strings.install(current_app)  # Flask-Admin's pages ask our catalogue first (issue 17)
    for module in (
        home,
        plan_builder,
        plans,
        compliance_tools,
        charts,
        dashboards,
        entities,
        deliveries,
        corrections,
        leaderboard,
        announcements,
        customer360,
        imports,
        saved_views,
    ):
        module.register(appbuilder)
    inbox_view.register(appbuilder)  # the staff inbox (issue 16): a top-level menu entry
    search_view.register(appbuilder)  # global search (issue 17): the navbar box and /search/
