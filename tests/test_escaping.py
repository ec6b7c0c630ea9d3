"""Stored HTML and script in community posts, messages and ticket notes render escaped everywhere."""

from __future__ import annotations

from flask import Flask

from app.models.engagement import CommunityPost, Message, SupportTicket
from app.models.identity import PlatformUser
from tests.support.web import login, session_csrf
from tests.support.world import make_world, pk_of

PAYLOAD = '<script>alert("x")</script><img src=x onerror=alert(1)>'
ESCAPED = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"

VIEWS = {CommunityPost: "/community-posts", Message: "/messages", SupportTicket: "/support-tickets"}


def test_stored_markup_is_escaped_on_list_show_edit_and_export(app: Flask, accounts: dict) -> None:
    with app.app_context():
        ids = {m: pk_of(o) for m, o in make_world("coach@coachdesk.test", tag="x", text=PAYLOAD).items()}
    client = app.test_client()
    login(client, "support", "support-Passw0rd!")
    for model, base in VIEWS.items():
        pages = [f"{base}/list/", f"{base}/show/{ids[model]}"]
        if model is not Message:  # messages are read-only records (replies go through the inbox)
            pages.append(f"{base}/edit/{ids[model]}")
        for url in pages:
            resp = client.get(url)
            assert resp.status_code == 200, url
            page = resp.get_data(as_text=True)
            assert "<script>alert" not in page and "<img src=x" not in page, url
            assert "&lt;script&gt;alert(" in page, f"{url} should show the text, escaped"
        export = client.get(f"{base}/export/")
        assert export.mimetype == "text/csv"
        assert export.headers["Content-Disposition"].startswith("attachment;")
        assert export.headers["X-Content-Type-Options"] == "nosniff"
    # the post also shows (escaped) in the user's related tabs and in relation pickers
    page = client.get(f"/platform-users/show/{ids[PlatformUser]}").get_data(as_text=True)
    assert "<script>alert" not in page
    found = client.get("/community-reactions/autocomplete/post?q=script").get_json()
    assert found["results"] and found["results"][0]["text"].startswith("<script>")  # JSON; Select2 escapes on render


def test_spreadsheet_formulas_in_exports_are_neutralised(app: Flask, accounts: dict) -> None:
    with app.app_context():
        make_world("coach@coachdesk.test", tag="f", text='=HYPERLINK("http://evil.test","click")')
    client = app.test_client()
    login(client, "support", "support-Passw0rd!")
    body = client.get("/community-posts/export/").get_data(as_text=True)
    assert "'=HYPERLINK" in body
    assert "\n=HYPERLINK" not in body and ",=HYPERLINK" not in body


def test_user_input_echoed_in_form_errors_is_escaped(app: Flask, accounts: dict) -> None:
    with app.app_context():
        ids = {m: pk_of(o) for m, o in make_world(None, tag="e").items()}
    client = app.test_client()
    login(client, "admin", "admin-Passw0rd!")
    token = session_csrf(app, client)
    bad_json = '{"channel": "<script>alert(1)</script>"}'
    page = client.post(
        "/consents/add",
        data={"csrf_token": token, "user": ids[PlatformUser], "consent_type": "x", "metadata_json": bad_json},
    ).get_data(as_text=True)
    assert "Not one of the choices." in page
    # The typed value comes back (in the channel select and the Admin's raw JSON), escaped.
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    page = client.post(
        "/products/add",
        data={"csrf_token": token, "name": "n", "category": "<b>bold</b>", "price": "1", "currency": "EUR"},
    ).get_data(as_text=True)
    assert "<b>bold</b>" not in page and "&lt;b&gt;bold&lt;/b&gt;" in page
