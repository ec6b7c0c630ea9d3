"""The customer 360 page: ``/customers/<uuid>/360`` (header and one tab) and ``/customers/<uuid>/360/<tab>``.

The page renders the header and the first tab (or ``?tab=``); the other tabs are HTML fragments
that ``customer360.js`` fetches on click from their own route, and each tab link works without JS
(it opens the page with that tab). Reading needs the ``Customer360`` feature; each tab also needs
read on its entity resources (``customer360.tabs``), and the customer must be in the viewer's row
scope: anything else is a 404 (a 403 for a tab the role may not read, about a customer it may see).
"""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, g, render_template, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from app.models.labels import enum_label
from app.services import customer360
from app.services.customer360.tabs import needed_resources
from app.web.views.base.display import format_money
from app.web.views.json_api import current_actor

TAB_TITLES = {
    "plan": _l("Plan"),
    "sessions": _l("Sessions"),
    "billing": _l("Billing"),
    "messages": _l("Messages"),
    "tickets": _l("Tickets"),
    "consents": _l("Consents"),
    "badges": _l("Badges"),
    "metrics": _l("Metrics"),
    "audit": _l("Audit history"),
}


class Customer360View(BaseView):
    route_base = "/customers"
    default_view = "page"
    class_permission_name = "Customer360"
    method_permission_name = {"page": "read", "tab": "read"}

    def _readable(self) -> frozenset[str]:
        sm = self.appbuilder.sm
        return frozenset(r for r in needed_resources() if sm.has_access("can_read", r))

    def _customer(self, customer_id: str) -> Any:
        customer = customer360.find_customer(current_actor(), customer_id)
        if customer is None:
            abort(404)
        return customer

    def _context(self, customer: Any, readable: frozenset[str]) -> dict[str, Any]:
        return {
            "customer": customer,
            "readable": readable,
            "label": enum_label,
            "money": format_money,
            "tab_titles": TAB_TITLES,
        }

    @expose("/<customer_id>/360")
    @has_access
    def page(self, customer_id: str) -> Any:
        readable = self._readable()
        customer = self._customer(customer_id)
        tabs = customer360.visible_tabs(readable)
        chosen = request.args.get("tab") or (tabs[0] if tabs else None)
        if chosen is not None and chosen not in tabs:
            abort(404)
        actor = current_actor()
        data = customer360.tab_data(chosen, actor, customer.id, readable) if chosen else None
        return self.render_template(
            "customer360/page.html",
            header=customer360.header(actor, customer, readable),
            tabs=tabs,
            active=chosen,
            data=data,
            tab_url=lambda name: url_for("Customer360View.tab", customer_id=str(customer.id), tab=name),
            page_url=lambda name: url_for("Customer360View.page", customer_id=str(customer.id), tab=name),
            **self._context(customer, readable),
        )

    @expose("/<customer_id>/360/<tab>")
    @has_access
    def tab(self, customer_id: str, tab: str) -> Any:
        readable = self._readable()
        if tab not in TAB_TITLES:
            abort(404)
        customer = self._customer(customer_id)  # out of scope: 404 whatever the tab
        if tab not in customer360.visible_tabs(readable):
            abort(403)
        data = customer360.tab_data(tab, current_actor(), customer.id, readable)
        return render_template(f"customer360/tab_{tab}.html", data=data, **self._context(customer, readable))


def register(appbuilder: Any) -> None:
    appbuilder.add_view_no_menu(Customer360View)


def name_link(user_id: Any, text: str) -> str:
    """A platform user's name in a list, linked to their 360 page when the viewer may open it."""
    allowed = g.__dict__.get("cd_c360_allowed")
    if allowed is None:
        allowed = g.cd_c360_allowed = bool(current_app.appbuilder.sm.has_access("can_read", "Customer360"))
    if not allowed or user_id is None:
        return text
    url = url_for("Customer360View.page", customer_id=str(user_id))
    return Markup('<a class="cd-c360-name-link" href="{}">{}</a>').format(url, text)
