"""One look on every console form: every select is the searchable widget, every date, time and number a typed
input (the browser's own picker), FAB's other date picker nowhere. Crawls each model view's add and edit pages."""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask import Flask

from app.extensions import db
from app.web.views.base.columns import column_type
from app.web.views.base.model_view import CoachdeskModelView
from tests.support.apps import make_accounts
from tests.support.web import login
from tests.support.world import make_world, pk_of

SELECT_RE = re.compile(r"<select\b[^>]*>", re.S)
SEARCHABLE = ("cd-select2", "cd-autocomplete", "my_select2")


def _input_tag(page: str, column: str) -> str:
    match = re.search(rf'<(?:input|select|textarea)\b[^>]*\bid="{re.escape(column)}"[^>]*>', page)
    assert match, f"no input for {column}"
    return match.group(0)


def _expected_type(model: type, column: str) -> str | None:
    prop = sa.inspect(model).attrs.get(column)
    if prop is None or not hasattr(prop, "columns"):
        return None
    ctype = column_type(prop.columns[0])
    if isinstance(ctype, (sa.Enum, sa.Boolean)) or "json_schema" in prop.columns[0].info:
        return None
    if isinstance(ctype, sa.DateTime):
        return "datetime-local"
    if isinstance(ctype, sa.Date):
        return "date"
    if isinstance(ctype, sa.Time):
        return "time"
    if isinstance(ctype, (sa.Integer, sa.Numeric)):
        return "number"
    return None


def test_every_add_and_edit_form_uses_the_same_widgets(sqlite_app: Flask) -> None:
    accounts = make_accounts(sqlite_app)
    with sqlite_app.app_context():
        ids = {model: str(pk_of(row)) for model, row in make_world("coach@coachdesk.test", tag="w").items()}
        db.session.commit()
    client = sqlite_app.test_client()
    login(client, "admin", accounts["Admin"].password)
    views = [v for v in sqlite_app.appbuilder.baseviews if isinstance(v, CoachdeskModelView) and not v.read_only]
    checked: dict[str, int] = {"pages": 0, "selects": 0, "typed": 0}
    for view in views:
        model = view.datamodel.obj
        pages = [("add", view.add_columns, f"{view.route_base}/add")]
        if model in ids:
            pages.append(("edit", view.edit_columns, f"{view.route_base}/edit/{ids[model]}"))
        for kind, columns, url in pages:
            if f"{type(view).__name__}.{kind}" not in sqlite_app.view_functions:
                continue
            resp = client.get(url)
            if resp.status_code != 200:  # an excluded route, or a record the view redirects away from
                continue
            page = resp.get_data(as_text=True)
            form = page.split('id="model_form"', 1)[-1]
            checked["pages"] += 1
            assert "appbuilder_date" not in form, f"{url}: FAB's datepicker instead of the browser's"
            for tag in SELECT_RE.findall(form):
                checked["selects"] += 1
                assert any(c in tag for c in SEARCHABLE), f"{url}: a select without the search widget: {tag}"
            for column in columns or []:
                expected = _expected_type(model, column)
                if expected is None:
                    continue
                tag = _input_tag(form, column)
                checked["typed"] += 1
                assert f'type="{expected}"' in tag, f"{url}: {column} should be type={expected}: {tag}"
    # The crawl really saw forms with selects and typed inputs (a broken crawl would pass vacuously).
    assert checked["pages"] > 40 and checked["selects"] > 30 and checked["typed"] > 30, checked
