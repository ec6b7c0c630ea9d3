"""Error pages: inside the console layout, translated, with a way back; JSON for JSON clients; no traceback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask, abort

from tests.support import databases
from tests.support.apps import build_app, make_accounts
from tests.support.web import csrf_token, login

BOOM = "secret-internal-detail-42"


@pytest.fixture(scope="module")
def error_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """An app with routes that fail on purpose, and exceptions handled as in production."""
    app = build_app(databases.create_sqlite_database(tmp_path_factory.mktemp("errors")), PROPAGATE_EXCEPTIONS=False)

    def forbidden() -> None:
        abort(403)

    def boom() -> None:
        raise RuntimeError(BOOM)

    app.add_url_rule("/_test/forbidden", "test_forbidden", forbidden)
    app.add_url_rule("/_test/boom", "test_boom", boom)
    app.add_url_rule("/api/_test/boom", "test_api_boom", boom)
    make_accounts(app)
    yield app


@pytest.fixture
def signed_in(error_app: Flask):
    client = error_app.test_client()
    login(client, "admin", "admin-Passw0rd!")
    return client


def _request(client, code: int):
    if code == 400:
        return client.get("/", query_string={"q": "a\x00b"})
    if code == 403:
        return client.get("/_test/forbidden")
    if code == 404:
        return client.get("/no-such-page/")
    if code == 405:
        return client.get("/lang/de")
    return client.get("/_test/boom")


@pytest.mark.parametrize("code", [400, 403, 404, 405, 500])
def test_error_pages_render_inside_the_console_layout_with_a_way_back(signed_in, code):
    response = _request(signed_in, code)
    page = response.get_data(as_text=True)
    assert response.status_code == code
    assert response.mimetype == "text/html"
    assert f'data-page="error" data-status="{code}"' in page
    assert 'class="navbar' in page and 'action="/logout/"' in page  # the console's menu, signed in
    assert 'class="btn btn-primary cd-error-back" href="/"' in page
    assert "Traceback" not in page and BOOM not in page


def test_anonymous_error_page_leads_back_to_sign_in(error_app):
    page = error_app.test_client().get("/no-such-page/").get_data(as_text=True)
    assert 'data-status="404"' in page and 'cd-error-back" href="/login/"' in page


def test_a_500_never_shows_the_exception(error_app, caplog):
    response = error_app.test_client().get("/_test/boom")
    body = response.get_data(as_text=True)
    assert response.status_code == 500 and 'data-status="500"' in body
    assert BOOM not in body and "RuntimeError" not in body and "Traceback" not in body
    assert any(BOOM in (r.exc_text or "") or r.exc_info for r in caplog.records)  # it went to the log


@pytest.mark.parametrize(
    ("language", "back"), [("es", "Volver a la consola"), ("de", "Zurück zur Konsole")], ids=["es", "de"]
)
@pytest.mark.parametrize("code", [400, 403, 404, 405, 500])
def test_error_pages_speak_the_chosen_language(signed_in, language, back, code):
    signed_in.post(f"/lang/{language}", data={"csrf_token": csrf_token(signed_in, "/")})
    page = _request(signed_in, code).get_data(as_text=True)
    assert back in page


TITLES = {
    "es": {404: "Página no encontrada", 403: "Acceso denegado", 500: "Algo ha ido mal"},
    "de": {404: "Seite nicht gefunden", 403: "Zugriff verweigert", 500: "Etwas ist schiefgelaufen"},
}


@pytest.mark.parametrize("language", ["es", "de"])
def test_error_titles_are_translated(signed_in, language):
    signed_in.post(f"/lang/{language}", data={"csrf_token": csrf_token(signed_in, "/")})
    for code, title in TITLES[language].items():
        assert title in _request(signed_in, code).get_data(as_text=True)


@pytest.mark.parametrize(
    ("path", "headers", "code"),
    [
        ("/planbuilder/api/no-such-thing", {}, 404),
        ("/api/_test/boom", {}, 500),
        ("/no-such-page/", {"Accept": "application/json"}, 404),
        ("/lang/de", {"Accept": "application/json"}, 405),
    ],
)
def test_json_clients_get_json_errors(signed_in, path, headers, code):
    response = signed_in.get(path, headers=headers)
    assert response.status_code == code and response.is_json
    assert response.get_json()["status"] == code and response.get_json()["error"]
    assert BOOM not in response.get_data(as_text=True)


def test_a_browser_asking_for_anything_gets_the_page(signed_in):
    response = signed_in.get("/no-such-page/", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert response.status_code == 404 and response.mimetype == "text/html"
