"""One row of every seed entity, shared by the console view tests; and a smoke test over all 45 views.

``make_world(owner_email)`` builds a customer assigned to the coach whose platform
user has ``owner_email``, with one row of every entity hanging off that customer.
"""

from __future__ import annotations

from typing import Any

from app.models import SEED_MODELS
from tests.support.web import login
from tests.support.world import make_world, pk_of

# Tables a retention policy may name (one policy per table, so each world picks by its tag).


def display_text(obj: Any, column: str) -> str:
    from markupsafe import escape

    from app.web.views.base.display import display_value

    return str(escape(display_value(obj, column)))


def views_by_model(app: Any) -> dict[type, Any]:
    from app.web.views.base.model_view import CoachdeskModelView

    return {v.datamodel.obj: v for v in app.appbuilder.baseviews if isinstance(v, CoachdeskModelView)}


def test_every_seed_entity_has_exactly_one_console_view(sqlite_app):
    views = views_by_model(sqlite_app)
    missing = [m.__name__ for m in SEED_MODELS if m not in views]
    assert not missing, f"entities without a console view: {missing}"
    assert len(views) == 46  # the 45 seed entities and the domain-event outbox


def test_admin_lists_shows_and_opens_every_entity(app, accounts):
    with app.test_request_context():
        rows = make_world("coach@coachdesk.test")
        ids = {model: pk_of(obj) for model, obj in rows.items()}
        first = {m: display_text(rows[m], v.show_columns[0]) for m, v in views_by_model(app).items()}
    client = app.test_client()
    login(client, "admin", "admin-Passw0rd!")
    # Audit logs first: every export below is itself audited and would push the world's row off page 1.
    views = sorted(views_by_model(app).items(), key=lambda item: item[0].__tablename__ != "audit_logs")
    for model, view in views:
        base = view.route_base
        listing = client.get(f"{base}/list/")
        assert listing.status_code == 200, (model.__name__, listing.status_code)
        assert ids[model] in listing.get_data(as_text=True), f"{model.__name__} row missing from its list"
        shown = client.get(f"{base}/show/{ids[model]}")
        assert shown.status_code == 200, (model.__name__, shown.status_code)
        assert first[model] and first[model] in shown.get_data(as_text=True), (model.__name__, first[model])
        excluded = set(view.exclude_route_methods or ())
        if not view.read_only:
            # Follow a redirect (rules open in their visual editor) to the page that answers.
            if "edit" not in excluded:
                edit = client.get(f"{base}/edit/{ids[model]}", follow_redirects=True)
                assert edit.status_code == 200, (model.__name__, edit.status_code)
            if "add" not in excluded:
                add = client.get(f"{base}/add", follow_redirects=True)
                assert add.status_code == 200, (model.__name__, add.status_code)
        export = client.get(f"{base}/export/")
        assert export.status_code == 200 and export.mimetype == "text/csv"
        body = export.get_data(as_text=True)
        assert "secret-" not in body
        assert "secret-" not in shown.get_data(as_text=True) + listing.get_data(as_text=True)
