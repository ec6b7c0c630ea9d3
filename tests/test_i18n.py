"""The console speaks the user's language: switcher, then account setting, then browser, then English."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from app.extensions import db
from app.models.identity import ConsoleUser
from tests.support.web import csrf_token, login

TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"


def test_browser_language_is_used_when_nothing_else_is_set(app, client):
    page = client.get("/login/", headers={"Accept-Language": "de-DE,de;q=0.9"}).get_data(as_text=True)
    assert 'value="Anmelden"' in page


def test_unknown_browser_language_falls_back_to_english(app, client):
    page = client.get("/login/", headers={"Accept-Language": "fi"}).get_data(as_text=True)
    assert 'value="Sign In"' in page


def test_switcher_choice_beats_the_browser(app, client):
    client.post("/lang/es", data={"csrf_token": csrf_token(client)}, headers={"Referer": "/login/"})
    page = client.get("/login/", headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert 'value="Iniciar sesión"' in page  # our Spanish catalogue (FAB's own says "Registrarse", i.e. sign up)


def test_unknown_switcher_language_is_a_404(app, client):
    assert client.post("/lang/xx", data={"csrf_token": csrf_token(client)}).status_code == 404


def test_account_setting_beats_the_browser(app, client, accounts):
    with app.app_context():
        user = db.session.query(ConsoleUser).filter_by(username="support").one()
        user.locale = "de"
        db.session.commit()
    login(client, "support", accounts["Support"].password)
    page = client.get("/", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert re.search(r"<html[^>]*>", page)
    assert "Willkommen bei Coachdesk" in page


@pytest.mark.parametrize("lang", ["es", "de"])
def test_catalogues_are_complete(lang):
    """Every message in the template has a non-empty, non-fuzzy translation."""
    with (TRANSLATIONS / "messages.pot").open("rb") as fh:
        template = read_po(fh)
    with (TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = read_po(fh)
    missing = []
    for message in template:
        if not message.id:
            continue
        translated = catalog.get(message.id, context=message.context)
        if (
            translated is None
            or not translated.string
            or translated.fuzzy
            or isinstance(translated.string, tuple)
            and not all(translated.string)
        ):
            missing.append(message.id)
    assert missing == [], f"{len(missing)} untranslated in {lang}: {missing[:10]}"


def test_catalogue_template_is_current():
    """Every marked string in the code is in messages.pot (re-run `make extract-messages`)."""
    import subprocess
    import sys
    import tempfile

    root = TRANSLATIONS.parent
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "fresh.pot"
        subprocess.run(
            [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg", "-k", "_l",
             "-k", "lazy_gettext", "-k", "_", "-k", "lazy_pgettext:1c,2", "-o", str(out),
             "app", "reports", "config.py"],
            cwd=root, check=True, capture_output=True,
        )  # fmt: skip
        with out.open("rb") as fh:
            fresh = {m.id for m in read_po(fh) if m.id}
    with (TRANSLATIONS / "messages.pot").open("rb") as fh:
        current = {m.id for m in read_po(fh) if m.id}
    assert fresh - current == set()


def test_language_menu_shows_the_language_in_use(app, client):
    page = client.get("/login/", headers={"Accept-Language": "de"}).get_data(as_text=True)
    menu = page.split("cd-language-menu", 1)[1].split("</li>", 1)[0]
    assert "Deutsch" in menu
    assert 'action="/lang/es"' in page and 'action="/lang/en"' in page
