"""Global search: ``/search/?q=`` (the full results page, works without JS) and ``/search/suggest?q=`` (the box's JSON).

Reading needs ``GlobalSearch`` (every console role); each kind of result also needs read on its
entity resource (``app.services.search.KIND_RESOURCES``), and its rows are row-scoped by the
service. Both routes are GET only; the query is validated here: 400 with a message, never a 500.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import abort, current_app, jsonify, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException

from app.extensions import db
from app.services import search as search_service
from app.web.views.json_api import current_actor, json_error

KIND_LABELS = {
    "customers": _l("Customers"),
    "programs": _l("Programs"),
    "tickets": _l("Support tickets"),
    "invoices": _l("Invoices"),
}
SHOW_ENDPOINTS = {
    "customers": "PlatformUserView.show",
    "programs": "ProgramView.show",
    "tickets": "SupportTicketView.show",
    "invoices": "InvoiceView.show",
}
CUSTOMER_360_PATH = "/customers/{key}/360"


def query_problem(query: str) -> str | None:
    """Why ``query`` cannot be searched (too long, control characters), or None."""
    if len(query) > search_service.MAX_QUERY:
        return _("The search text is too long (at most %(n)s characters).", n=search_service.MAX_QUERY)
    if any((ord(ch) < 32 and ch not in "\t\r\n") or ord(ch) == 127 for ch in query):
        return _("The search text contains control characters; type plain text.")
    return None


def _customer_360() -> tuple[str, str] | None:
    """The customer 360 page's (endpoint, argument name), when that page is installed in this app."""
    probe = CUSTOMER_360_PATH.format(key=uuid.UUID(int=1))
    try:
        endpoint, args = current_app.url_map.bind("localhost").match(probe, method="GET")
    except HTTPException:
        return None
    if endpoint not in current_app.view_functions or len(args) != 1:
        return None
    return endpoint, next(iter(args))


def link_for(hit: search_service.Hit, customer_page: tuple[str, str] | None) -> str:
    """The record's page: a customer's 360 page when it exists, otherwise the record's show page."""
    if hit.kind == "customers" and customer_page is not None:
        endpoint, arg = customer_page
        return url_for(endpoint, **{arg: hit.key})
    return url_for(SHOW_ENDPOINTS[hit.kind], pk=hit.key)


class GlobalSearchView(BaseView):
    route_base = "/search"
    default_view = "index"
    class_permission_name = "GlobalSearch"
    method_permission_name = {"index": "read", "suggest": "read"}

    def _run(self, limit: int) -> tuple[search_service.SearchResults, list[dict[str, Any]]]:
        query = request.args.get("q", "")
        problem = query_problem(query)
        if problem:
            abort(400, description=problem)
        kinds = search_service.readable_kinds(lambda resource: self.appbuilder.sm.has_access("can_read", resource))
        results = search_service.search(db.session, current_actor(), query, kinds, limit=limit)
        customer_page = _customer_360()
        groups = [
            {
                "kind": kind,
                "label": str(KIND_LABELS[kind]),
                "items": [
                    {"title": hit.title, "detail": hit.detail, "url": link_for(hit, customer_page)} for hit in hits
                ],
            }
            for kind, hits in results.hits.items()
            if hits
        ]
        return results, groups

    @expose("/")
    @has_access
    def index(self) -> Any:
        results, groups = self._run(search_service.PAGE_LIMIT)
        return self.render_template(
            "search/results.html", results=results, groups=groups, min_chars=search_service.MIN_CHARS
        )

    @expose("/suggest")
    @has_access
    def suggest(self) -> Any:
        problem = query_problem(request.args.get("q", ""))
        if problem:
            return json_error(problem)
        results, groups = self._run(search_service.BOX_LIMIT)
        hint = _("Type at least %(n)s characters.", n=search_service.MIN_CHARS) if results.too_short else None
        return jsonify(
            {
                "query": results.query,
                "hint": hint,
                "groups": groups,
                "all_url": url_for("GlobalSearchView.index", q=results.query),
            }
        )


def register(appbuilder: Any) -> None:
    appbuilder.add_view_no_menu(GlobalSearchView)
