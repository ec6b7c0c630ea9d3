"""Entity charts (``/charts/<entity>/``) and the locally served plotly.js.

``EntityChartMixin`` adds ``chart`` and ``chart_csv`` endpoints to any FAB view that
names a chart entity; the method names map to ``can_read`` through
READ_WRITE_METHOD_MAP, so whoever may read the list may chart it. One standalone
view per entity is generated here; each list page links to its chart with its filters, which the
chart applies the way the list does, and each bar links back to the list rows it counts.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Response, abort, current_app, g, redirect, request, send_file, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import orm

from app.extensions import db
from app.models.labels import choices as label_choices
from app.policy.roles import READ, READ_WRITE_METHOD_MAP
from app.policy.scope import scoped_select
from app.services.analytics import charting as ch
from app.services.analytics import entity_charts as ec
from app.services.spreadsheet_safety import safe_cell
from app.web.views.base import record_links as links

# plotly.js's cartesian partial bundle (every chart here is cartesian: bar, scatter, heatmap): 1.5 MB
# instead of the full 4.8 MB bundle of the Python package, which dominated a dashboard's first load.
# Vendored from npm (plotly.js-cartesian-dist-min, and dist/plotly-locale-*.js of plotly.js) at the
# version the Python package bundles, so figures and library agree. One edit: the logo link's
# href="https://plotly.com/" is "#" (charts.js hides the logo; nothing here points off the server).
PLOTLY_VERSION = "4.1.1"
PLOTLY_DIR = Path(__file__).resolve().parents[2] / "static" / "vendor" / f"plotly-{PLOTLY_VERSION}"
PLOTLY_FILE = PLOTLY_DIR / "plotly-cartesian.min.js"
PLOTLY_LOCALES = ("es", "de")  # the console's languages besides English (plotly's own)
ONE_YEAR = 365 * 24 * 3600

plotly_assets = Blueprint("coachdesk_plotly", __name__)


def _immutable(path: Path) -> Any:
    resp = send_file(path, mimetype="text/javascript", max_age=ONE_YEAR, etag=True, conditional=True)
    resp.cache_control.public = True
    resp.cache_control.immutable = True
    return resp


@plotly_assets.route("/static/vendor/plotly/<version>/plotly.min.js")
def plotly_js(version: str) -> Any:
    """plotly.js (the cartesian bundle): versioned URL, cached for a year, with an ETag."""
    if version != PLOTLY_VERSION:
        return redirect(url_for("coachdesk_plotly.plotly_js", version=PLOTLY_VERSION), code=302)
    return _immutable(PLOTLY_FILE)


@plotly_assets.route("/static/vendor/plotly/<version>/plotly-locale-<lang>.js")
def plotly_locale_js(version: str, lang: str) -> Any:
    """plotly.js's month and day names, number marks and toolbar texts for one language."""
    if lang not in PLOTLY_LOCALES:
        abort(404)
    if version != PLOTLY_VERSION:
        return redirect(url_for("coachdesk_plotly.plotly_locale_js", version=PLOTLY_VERSION, lang=lang), code=302)
    return _immutable(PLOTLY_DIR / f"plotly-locale-{lang}.js")


def plotly_url() -> str:
    return url_for("coachdesk_plotly.plotly_js", version=PLOTLY_VERSION)


def plotly_locale(locale: str | None = None) -> str | None:
    """The plotly locale for the request's language (``es_MX`` -> ``es``); None for English."""
    lang = (locale or current_locale()).split("_")[0].split("-")[0].lower()
    return lang if lang in PLOTLY_LOCALES else None


def plotly_locale_url(locale: str | None = None) -> str | None:
    lang = plotly_locale(locale)
    return url_for("coachdesk_plotly.plotly_locale_js", version=PLOTLY_VERSION, lang=lang) if lang else None


def current_locale() -> str:
    locale = get_locale()
    return str(locale) if locale is not None else "en"


def read_method_map(*methods: str) -> dict[str, str]:
    """FAB method -> collapsed permission name (without FAB's ``can_`` prefix)."""
    return {name: READ_WRITE_METHOD_MAP.get(name, READ).removeprefix("can_") for name in methods}


def csv_response(columns: list[str], rows: list[tuple[Any, ...]], filename: str) -> Response:
    """A chart's or a report's table as CSV; cells are spreadsheet-safe (numbers by their type stay numbers)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([safe_cell(c) for c in columns])
    for row in rows:
        writer.writerow([_csv_cell(v) for v in row])
    resp = Response(buf.getvalue(), mimetype="text/csv")
    resp.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _csv_cell(value: Any) -> Any:
    return safe_cell(
        value.isoformat() if hasattr(value, "isoformat") else ch.number(value) if value is not None else ""
    )


class EntityChartMixin:
    """Chart endpoints for a view; set ``chart_entity_key`` (a key of entity_charts.REGISTRY)."""

    chart_entity_key: str = ""
    chart_template = "dashboards/entity_chart.html"

    def chart_entity(self) -> ec.EntityChart:
        return ec.get_entity(self.chart_entity_key)

    def chart_base_select(self, entity: ec.EntityChart, warn: bool = False) -> Any:
        """The scoped select the chart aggregates, narrowed by the list's search and filters if carried."""
        select = scoped_select(entity.model, g.user)
        view = links.list_view(entity.resource)
        if view is not None and links.list_filter_args(request.args):
            select = select.where(*view.list_criteria(warn=warn))
        return select

    def _chart_data(self, warn: bool = False) -> tuple[ec.EntityChart, ec.ChartRequest, ec.ChartData]:
        entity = self.chart_entity()
        req = ec.parse_request(entity, request.args)
        data = ec.entity_chart(db.session, entity, self.chart_base_select(entity, warn), req)
        return entity, req, data

    @expose("/")
    @has_access
    def chart(self) -> Any:
        entity = self.chart_entity()
        try:
            entity, req, data = self._chart_data(warn=True)
        except ch.ChartInputError as exc:
            return self._render_chart(entity, None, None, error=str(exc)), 400
        opts = ch.FigureOptions(locale=current_locale())
        fig_json = None if data.empty else ch.figure_json(ec.figure(entity, data, opts))
        return self._render_chart(entity, req, data, fig_json=fig_json)

    @expose("/data.csv")
    @has_access
    def chart_csv(self) -> Any:
        try:
            entity, _req, data = self._chart_data()
        except ch.ChartInputError as exc:
            return Response(str(exc), status=400, mimetype="text/plain")
        return csv_response(data.columns, data.rows, f"{entity.key}-chart.csv")

    def _render_chart(self, entity: ec.EntityChart, req: Any, data: Any, fig_json: str | None = None, error: str = ""):
        args = request.args.to_dict()
        carried = links.list_filter_args(request.args)
        records, bars = None, []
        if req is not None:
            records = links.records_url(ec.records_query(entity, req), carried)
        if req is not None and data is not None:
            bars = [(b, b.records and links.records_url(b.records, carried)) for b in ec.buckets(entity, req, data)]
        view = links.list_view(entity.resource)
        return self.render_template(
            self.chart_template,
            entity=entity,
            req=req,
            data=data,
            fig_json=fig_json,
            error=error,
            args=args,
            csv_url=url_for(f"{self.__class__.__name__}.chart_csv", **args),
            records_url=records,
            buckets=bars,
            carried=carried,
            labels=chart_labels(entity, view),
            plotly_url=plotly_url(),
            plotly_locale=plotly_locale(),
            plotly_locale_url=plotly_locale_url(),
            enum_choices=_enum_choices(entity),
        )


def _enum_choices(entity: ec.EntityChart) -> dict[str, list[tuple[str, str]]]:
    out = {}
    for name in entity.categories:
        enum_cls = getattr(entity.column(name).type, "enum_class", None)
        if enum_cls is not None:
            out[name] = label_choices(enum_cls)
    return out


def column_label(view: Any, name: str) -> str:
    """A column's label as its list shows it; a foreign key takes its relation's label."""
    if view is None:
        return name
    mapper = sa.inspect(view.datamodel.obj)
    for relation in view.filter_columns or ():
        prop = mapper.attrs.get(relation)
        if isinstance(prop, orm.RelationshipProperty) and [c.key for c in prop.local_columns] == [name]:
            return str(view._label(relation))
    return str(view._label(name))


def chart_labels(entity: ec.EntityChart, view: Any) -> dict[str, str]:
    """Human labels of the entity (its list's title) and of every column its chart offers."""
    names = [entity.time, *entity.categories, *entity.numbers]
    labels = {name: column_label(view, name) for name in names if name}
    labels[""] = str(view.list_title) if view is not None and view.list_title else entity.resource
    return labels


class EntityChartView(EntityChartMixin, BaseView):
    """Base of the generated per-entity chart views."""

    default_view = "chart"
    method_permission_name = read_method_map("chart", "chart_csv")


def make_chart_view(entity: ec.EntityChart) -> type[EntityChartView]:
    return type(
        f"{entity.resource}ChartView",
        (EntityChartView,),
        {
            "route_base": f"/charts/{entity.key}",
            "class_permission_name": entity.resource,
            "chart_entity_key": entity.key,
        },
    )


class ChartsIndexView(BaseView):
    """``/charts/``: the entities this account may chart; unknown names get a clear 404."""

    route_base = "/charts"
    default_view = "index"
    # Only for its menu entry: every console role holds AccountSettings, so sync shows the index to
    # all of them; access is checked here, per entity.
    class_permission_name = "AccountSettings"

    def _chartable(self) -> list[Any] | Any:
        """The entities this account may read, or the response refusing it (login / 403)."""
        if g.user is None or g.user.is_anonymous:
            return redirect(url_for(self.appbuilder.sm.auth_view.endpoint + ".login", next=request.path))
        sm = self.appbuilder.sm
        entities = [e for e in ec.ENTITIES if sm.has_access(READ, e.resource)]
        if not entities:  # an account without a console role (a customer) reaches nothing here
            abort(403)
        return entities

    @expose("/")
    def index(self) -> Any:
        entities = self._chartable()
        if not isinstance(entities, list):
            return entities
        labelled = [(e, chart_labels(e, links.list_view(e.resource))) for e in entities]
        charts = [(e, lb, [lb[c] for c in e.categories]) for e, lb in labelled]
        charts.sort(key=lambda chart: chart[1][""].casefold())
        return self.render_template("dashboards/charts_index.html", charts=charts)

    @expose("/<entity>/")
    def unknown(self, entity: str) -> Any:
        refused = self._chartable()
        if not isinstance(refused, list):
            return refused
        message = _("There is no chart for %(name)s.", name=entity[:60])
        return self.render_template("dashboards/error.html", message=message), 404


CHARTS_LABEL = _l("Charts")
DASHBOARDS_LABEL = _l("Dashboards")


def register(appbuilder: Any) -> None:
    current_app.register_blueprint(plotly_assets)  # register_views runs inside the app context
    appbuilder.add_view(
        ChartsIndexView, "Charts", label=CHARTS_LABEL, category="Dashboards", category_label=DASHBOARDS_LABEL
    )
    for entity in ec.ENTITIES:
        appbuilder.add_view_no_menu(make_chart_view(entity))
