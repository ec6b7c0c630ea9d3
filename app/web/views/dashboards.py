"""Cohort dashboards for managers: ``/dashboards/<name>/`` with filters, CSV per chart, links to records.

Access is the ``Dashboards`` resource (roles.py); a coach's dashboards cover only the
customers assigned to them and the sessions they run (``ReportContext.scope_coach_id``).
"""

from __future__ import annotations

from typing import Any

from flask import Response, g, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.extensions import db
from app.policy.roles import READ
from app.policy.scope import scoped_coach_id
from app.services.analytics import charting as ch
from app.services.analytics import reports as rp
from app.services.analytics.dashboard_filters import filter_options
from app.web.views.base.record_links import records_url as list_records_url
from app.web.views.charts import (
    csv_response,
    current_locale,
    plotly_locale,
    plotly_locale_url,
    plotly_url,
    read_method_map,
)


def records_url(report: rp.Report, filters: rp.ReportFilters) -> str | None:
    """The list page of the records behind a report, in the list's own filters (None if it cannot show them)."""
    if report.records is None:
        return None
    return list_records_url(report.records.query(filters))


class DashboardsView(BaseView):
    route_base = "/dashboards"
    default_view = "index"
    class_permission_name = "Dashboards"
    method_permission_name = read_method_map("index", "dashboard", "download")

    def _context(self) -> rp.ReportContext:
        filters = rp.parse_filters(request.args)
        scope_coach = scoped_coach_id(g.user)
        return rp.ReportContext(db.session, filters, scope_coach_id=scope_coach, locale=current_locale())

    def _can_read(self, resource: str) -> bool:
        return bool(self.appbuilder.sm.has_access(READ, resource))

    def _error(self, message: str, status: int = 400) -> Any:
        return self.render_template("dashboards/error.html", message=message), status

    @expose("/")
    @has_access
    def index(self) -> Any:
        return self.render_template("dashboards/index.html", dashboards=rp.readable_dashboards(self._can_read))

    @expose("/<name>/")
    @has_access
    def dashboard(self, name: str) -> Any:
        if name not in rp.DASHBOARDS:
            return self._error(_("There is no dashboard called %(name)s.", name=name[:60]), 404)
        if not rp.readable_reports(name, self._can_read):
            return self._error(_("Your role may not see the records this dashboard is made of."), 403)
        try:
            ctx = self._context()
        except ch.ChartInputError as exc:
            return self._error(str(exc))
        except PermissionError:
            return self._error(_("Your account has no data scope."), 403)
        panels = []
        for rendered in rp.render_dashboard(name, ctx, self._can_read):
            report = rendered.report
            panels.append(
                {
                    "key": report.key,
                    "title": report.title,
                    "figure_json": rendered.figure_json,
                    "error": rendered.error,
                    "csv_url": url_for(".download", name=name, report=report.key, **ctx.filters.as_args()),
                    "records_url": records_url(report, ctx.filters),
                }
            )
        return self.render_template(
            "dashboards/dashboard.html",
            name=name,
            title=rp.DASHBOARDS[name],
            dashboards=rp.readable_dashboards(self._can_read),
            panels=panels,
            filters=ctx.filters,
            args=ctx.filters.as_args(),
            options=filter_options(db.session, g.user),
            plotly_url=plotly_url(),
            plotly_locale=plotly_locale(),
            plotly_locale_url=plotly_locale_url(),
        )

    @expose("/<name>/<report>.csv")
    @has_access
    def download(self, name: str, report: str) -> Any:
        try:
            definition = rp.get_report(name, report)
        except rp.ReportInputError as exc:
            return Response(str(exc), status=404, mimetype="text/plain")
        if not definition.readable(self._can_read):
            message = _("Your role may not see the records this report is made of.")
            return Response(message, status=403, mimetype="text/plain")
        try:
            ctx = self._context()
        except ch.ChartInputError as exc:
            return Response(str(exc), status=400, mimetype="text/plain")
        except PermissionError:
            return Response(_("Your account has no data scope."), status=403, mimetype="text/plain")
        data = definition.query(ctx)
        return csv_response(data.columns, data.rows, f"{definition.key}.csv")


DASHBOARDS_LABEL = _l("Dashboards")


def register(appbuilder: Any) -> None:
    appbuilder.add_view(
        DashboardsView, "Overview", label=_l("Overview"), category="Dashboards", category_label=DASHBOARDS_LABEL
    )
