"""Console views. Only ``create_app`` imports this package."""

from __future__ import annotations

from typing import Any

from flask import current_app


def register_views(appbuilder: Any) -> None:
    """Register every view with FAB; each area module adds its own."""
    from app.web.views import home
    from app.web.views.base.display import format_value

    # Templates show values (datetimes in the viewer's time zone) the way list pages do.
    current_app.add_template_filter(format_value, "cd_format")

    home.register(appbuilder)
    from app.web.views import plan_builder, plans

    plan_builder.register(appbuilder)
    plans.register(appbuilder)
    from app.web.views import compliance_tools

    compliance_tools.register(appbuilder)
    from app.web.views import charts, dashboards

    charts.register(appbuilder)
    dashboards.register(appbuilder)
    from app.web.views import entities

    entities.register(appbuilder)
    from app.web.security import accounts

    accounts.register(appbuilder)
