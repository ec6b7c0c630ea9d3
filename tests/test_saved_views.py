"""Saved list views: save from a list, find it in the list's menu and on /saved-views/, open it, own only."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models.console import SavedView
from app.models.training import Exercise
from tests.support.apps import make_accounts
from tests.support.web import CSRF_RE, login

QUERY = "f_difficulty=ADVANCED&_oc_ExerciseView=name&_od_ExerciseView=asc&psize_ExerciseView=25"


@pytest.fixture
def catalogue(sqlite_app):
    accounts = make_accounts(sqlite_app)
    with sqlite_app.app_context():
        for name, level in (("Snatch", "ADVANCED"), ("Muscle-up", "ADVANCED"), ("Squat", "BEGINNER")):
            db.session.add(Exercise(name=name, category="strength", difficulty=level))
        db.session.commit()
    return accounts


def _signed_in(app, accounts, role):
    client = app.test_client()
    login(client, accounts[role].username, accounts[role].password)
    return client


def _token(page: str) -> str:
    return CSRF_RE.search(page).group(1)


def _rows(page: str) -> list[str]:
    return sorted(n for n in ("Snatch", "Muscle-up", "Squat") if f">{n}<" in page)


def _save(client, name: str, query: str = QUERY, view: str = "ExerciseView"):
    page = client.get(f"/exercises/list/?{query}" if view == "ExerciseView" else "/exercises/list/")
    token = _token(page.get_data(as_text=True))
    return client.post("/saved-views/save", data={"csrf_token": token, "view": view, "name": name, "query": query})


def test_save_list_open_and_see_the_filtered_rows(sqlite_app, catalogue):
    coach = _signed_in(sqlite_app, catalogue, "Coach")
    listing = coach.get(f"/exercises/list/?{QUERY}").get_data(as_text=True)
    assert (
        'class="form-inline cd-save-view"' in listing
        and f'name="query" value="{QUERY.replace("&", "&amp;")}"' in listing
    )
    resp = _save(coach, "  Hard   moves ")
    assert resp.status_code == 302
    landing = coach.get(resp.headers["Location"]).get_data(as_text=True)
    assert "View \u201cHard moves\u201d saved." in landing and _rows(landing) == ["Muscle-up", "Snatch"]

    # The list's menu links to the view; following the link opens the list filtered, sorted and sized.
    plain = coach.get("/exercises/list/").get_data(as_text=True)
    assert _rows(plain) == ["Muscle-up", "Snatch", "Squat"]
    link = re.search(r'class="cd-open-view" href="([^"]+)">Hard moves<', plain).group(1)
    opened = coach.get(link)
    assert opened.status_code == 302
    page = coach.get(opened.headers["Location"]).get_data(as_text=True)
    assert _rows(page) == ["Muscle-up", "Snatch"]
    assert page.index(">Muscle-up<") < page.index(">Snatch<")  # sorted by name, ascending

    # "My views" in the user menu lists it; saving again under the same name replaces the query.
    mine = coach.get("/saved-views/").get_data(as_text=True)
    assert "Hard moves" in mine and "Exercises" in mine and 'href="/saved-views/"' in plain
    assert _save(coach, "Hard moves", "f_difficulty=BEGINNER").status_code == 302
    page = coach.get(coach.get(link).headers["Location"]).get_data(as_text=True)
    assert _rows(page) == ["Squat"]
    with sqlite_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SavedView)) == 1


def test_another_person_cannot_see_open_or_delete_mine(sqlite_app, catalogue):
    coach = _signed_in(sqlite_app, catalogue, "Coach")
    _save(coach, "Mine")
    with sqlite_app.app_context():
        view_id = db.session.scalar(sa.select(SavedView.id))
    other = _signed_in(sqlite_app, catalogue, "Support")
    assert "Mine" not in other.get("/saved-views/").get_data(as_text=True)
    assert "Mine" not in other.get("/exercises/list/").get_data(as_text=True)
    assert other.get(f"/saved-views/{view_id}/open").status_code == 404
    token = _token(other.get("/exercises/list/").get_data(as_text=True))
    assert other.post(f"/saved-views/{view_id}/delete", data={"csrf_token": token}).status_code == 404
    with sqlite_app.app_context():
        assert db.session.get(SavedView, view_id) is not None
    # The owner deletes it.
    token = _token(coach.get("/saved-views/").get_data(as_text=True))
    assert coach.post(f"/saved-views/{view_id}/delete", data={"csrf_token": token}).status_code == 302
    with sqlite_app.app_context():
        assert db.session.get(SavedView, view_id) is None


def _headers(page: str) -> list[str]:
    table = page[page.index("<table") : page.index("</thead>")]
    return [h for h in re.findall(r"<th[^>]*>\s*(?:<a[^>]*>)?\s*([^<]+?)\s*<", table) if h.strip()]


def test_choose_columns_then_save_and_reopen_them(sqlite_app, catalogue):
    """The person ticks two columns in the chooser (a GET form keeping the filters), sees only those,
    saves the view from that page and reopens it with the same columns."""
    coach = _signed_in(sqlite_app, catalogue, "Coach")
    listing = coach.get("/exercises/list/?f_difficulty=ADVANCED").get_data(as_text=True)
    assert _headers(listing) == ["Name", "Category", "Difficulty", "Equipment"]
    chooser = re.search(r'<form method="get" class="cd-columns-form">(.*?)</form>', listing, re.S).group(1)
    kept = dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', chooser))
    boxes = re.findall(r'name="cols" value="([^"]+)"', chooser)
    assert kept == {"f_difficulty": "ADVANCED"} and boxes == ["name", "category", "difficulty", "equipment"]

    chosen = coach.get("/exercises/list/", query_string=[*kept.items(), ("cols", "difficulty"), ("cols", "name")])
    assert chosen.status_code == 302  # to one joined cols, which FAB's sort and page links carry on
    page = coach.get(chosen.headers["Location"]).get_data(as_text=True)
    assert _headers(page) == ["Name", "Difficulty"] and _rows(page) == ["Muscle-up", "Snatch"]
    sort_link = re.search(r"<th><a href=([^>\s]+)>Name", page).group(1).replace("&amp;", "&")  # FAB's, unquoted
    assert _headers(coach.get(sort_link).get_data(as_text=True)) == ["Name", "Difficulty"]
    query = re.search(r'name="query" value="([^"]*)"', page).group(1).replace("&amp;", "&")
    token = _token(page)
    saved = coach.post(
        "/saved-views/save", data={"csrf_token": token, "view": "ExerciseView", "name": "Two", "query": query}
    )
    assert saved.status_code == 302
    with sqlite_app.app_context():
        assert db.session.scalar(sa.select(SavedView.query)) == "f_difficulty=ADVANCED&cols=difficulty%2Cname"
    menu = coach.get("/exercises/list/").get_data(as_text=True)
    link = re.search(r'class="cd-open-view" href="([^"]+)">Two<', menu).group(1)
    reopened = coach.get(coach.get(link).headers["Location"]).get_data(as_text=True)
    assert _headers(reopened) == ["Name", "Difficulty"] and _rows(reopened) == ["Muscle-up", "Snatch"]

    # A column the list does not have: said, and every column shown.
    odd = coach.get("/exercises/list/?cols=name&cols=password_hash", follow_redirects=True).get_data(as_text=True)
    assert "This list has no column password_hash" in odd
    assert _headers(odd) == ["Name", "Category", "Difficulty", "Equipment"]


@pytest.mark.parametrize(
    ("name", "query", "message"),
    [
        ("", QUERY, "Give the view a name."),
        ("x" * 101, QUERY, "at most 100 characters"),
        ("Bad", "f_password_hash=x", "does not know the parameter f_password_hash"),
        ("Bad", "_oc_ExerciseView=video_url", "does not know the parameter _oc_ExerciseView"),
        ("Bad", "psize_ExerciseView=100000", "does not know the parameter psize_ExerciseView"),
        ("Bad", "f_difficulty=A&f_difficulty=B", "given twice"),
        ("Bad", "cols=name,secret", "does not know the parameter cols"),
        ("Bad", "f_category=" + "x" * 300, "too long"),
    ],
)
def test_bad_names_and_queries_are_refused(sqlite_app, catalogue, name, query, message):
    coach = _signed_in(sqlite_app, catalogue, "Coach")
    resp = _save(coach, name, query)
    assert resp.status_code == 400 and message in resp.get_data(as_text=True)
    with sqlite_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SavedView)) == 0


def test_page_position_is_dropped_and_unknown_lists_refused(sqlite_app, catalogue):
    coach = _signed_in(sqlite_app, catalogue, "Coach")
    assert _save(coach, "Paged", "page_ExerciseView=3&f_category=strength").status_code == 302
    with sqlite_app.app_context():
        assert db.session.scalar(sa.select(SavedView.query)) == "f_category=strength"
    # A list the person may not read, or no list at all: 404, nothing saved.
    assert _save(coach, "Audit", "", view="AuditLogView").status_code == 404
    assert _save(coach, "None", "", view="NoSuchView").status_code == 404


def test_saving_needs_the_csrf_token(sqlite_app, catalogue):
    coach = _signed_in(sqlite_app, catalogue, "Coach")
    resp = coach.post("/saved-views/save", data={"view": "ExerciseView", "name": "No token", "query": QUERY})
    assert resp.status_code == 400
    with sqlite_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SavedView)) == 0
