"""Issue 17's done-when: every list, show and form page, as each role, in Spanish and German, shows
no enum code and no string our catalogue leaves untranslated.

One SQLite app with one row of each entity (``make_world``) so show and edit pages exist; one client
per role and language. Every role fetches every list page it may open (its own navbar and buttons);
a show, add or edit page already scanned in that language by an earlier role (Admin comes first and
reaches nearly all) is not fetched again, which keeps the scan near a minute.

A page's visible text is its text outside ``<script>``/``<style>`` and outside attribute values;
``<pre>``, ``<code>``, ``<textarea>`` and JSON text (raw JSON stays one click away for Admin) are
code-only places. Failures name the page and the strings, so the list is a to-do list.
"""

from __future__ import annotations

import enum
import importlib
import json
import os
import pkgutil
import re
from collections import defaultdict
from html import unescape
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from flask import Flask
from flask_appbuilder import ModelView

import app.models
from app.models import labels
from tests.support.apps import make_accounts
from tests.support.routes import ROLES
from tests.support.web import login
from tests.support.world import make_world, pk_of

LANGUAGES = ("es", "de")
ROOT = Path(__file__).resolve().parents[1]
KEYWORDS = {"_": None, "_l": None, "lazy_gettext": None, "gettext": None, "N_": None, "ngettext": (1, 2),
            "lazy_ngettext": (1, 2), "pgettext": ((1, "c"), 2), "lazy_pgettext": ((1, "c"), 2)}  # fmt: skip
REPORT_LIMIT = 400  # lines of the failure message


def enum_codes() -> set[str]:
    """Values that can only be codes: enum members and stored codes of length >= 4 with '_' or all capitals."""
    values: set[str] = set()
    for info in pkgutil.iter_modules(app.models.__path__):
        module = importlib.import_module(f"app.models.{info.name}")
        for obj in vars(module).values():
            if isinstance(obj, type) and issubclass(obj, enum.Enum) and obj.__module__ == module.__name__:
                values.update(str(m.value) for m in obj)
    for codes in labels.CODE_LABELS.values():
        values.update(codes)
    return {v for v in values if len(v) >= 4 and re.fullmatch(r"[A-Z][A-Z0-9_]*", v) and ("_" in v or v.isupper())}


def source_msgids() -> set[str]:
    """Every msgid the code marks today (what ``make extract-messages`` would put in the template)."""
    with (ROOT / "babel.cfg").open() as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    found: set[str] = set()
    for folder in ("app", "reports"):
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT / folder), method_map, options_map, keywords=KEYWORDS
        ):
            found.update([message] if isinstance(message, str) else [m for m in message if m])
    return found


def untranslated(language: str, msgids: set[str]) -> set[str]:
    """English msgids (marked in the code) that the ``language`` catalogue does not translate yet."""
    with (ROOT / "translations" / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale=language)
    translated = set()
    for message in catalog:
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.id and all(strings) and not message.fuzzy:
            translated.update(message.id if isinstance(message.id, tuple) else (message.id,))
    return {m for m in msgids - translated if "%(" not in m and len(m) > 1}


CODE_ONLY = re.compile(r"<(script|style|pre|code|textarea|template)\b.*?</\1\s*>", re.S | re.I)
TAG = re.compile(r"<[^>]*>")  # attribute values go with their tag


def visible_fragments(html: str) -> list[str]:
    """Text nodes a person reads: not scripts, styles, attribute values, code-only elements or JSON."""
    fragments = []
    for node in TAG.split(CODE_ONLY.sub("<>", html)):
        text = " ".join(unescape(node).split())
        if text and not _is_json(text):
            fragments.append(text)
    return fragments


def _is_json(text: str) -> bool:
    if not text.startswith(("{", "[")):
        return False
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def scan_pages(app: Flask) -> list[tuple[str, str]]:
    """(page kind, URL) of every list, show, add and edit page of the console's model views and FAB's own."""
    from app.extensions import db
    from app.services.data_access import pk_column

    pages: list[tuple[str, str]] = []
    with app.app_context():
        ids = {model: pk_of(obj) for model, obj in make_world("coach@coachdesk.test").items()}
        db.session.commit()
        for view in app.appbuilder.baseviews:
            if not isinstance(view, ModelView):
                continue
            model = view.datamodel.obj
            pk = ids.get(model)
            if pk is None:
                pk = db.session.scalar(sa.select(pk_column(model)).limit(1))
            base = view.route_base
            pages.append(("list", f"{base}/list/"))
            if pk is not None:
                pages.append(("show", f"{base}/show/{pk}"))
            if not getattr(view, "read_only", False):
                pages.append(("add", f"{base}/add"))
                if pk is not None:
                    pages.append(("edit", f"{base}/edit/{pk}"))
        pages.extend(("page", url) for url in other_pages(app))
    return pages


SKIP_METHODS = re.compile(r"export|csv|json|download|feed|status|data|api|library|logout|lang|search|autocomplete")


def other_pages(app: Flask) -> list[str]:
    """The console's other pages without URL arguments (plan builder, jobs, dashboards, inbox...), HTML only."""
    views = {type(v).__name__: v for v in app.appbuilder.baseviews if not isinstance(v, ModelView)}
    urls = []
    for rule in app.url_map.iter_rules():
        view_name, _, method = rule.endpoint.partition(".")
        reachable = view_name in views and "GET" in (rule.methods or ()) and not rule.arguments
        if reachable and not SKIP_METHODS.search(method) and not SKIP_METHODS.search(rule.rule):
            urls.append(rule.rule)
    return sorted(set(urls))


def findings_for(html: str, codes_re: re.Pattern[str], missing: set[str]) -> tuple[set[str], set[str]]:
    codes, english = set(), set()
    for fragment in visible_fragments(html):
        codes.update(codes_re.findall(fragment))
        if fragment in missing:
            english.add(fragment)
        elif fragment.rstrip(":") in missing:
            english.add(fragment.rstrip(":"))
    return codes, english


@pytest.fixture
def scan_clients(sqlite_app: Flask) -> dict[tuple[str, str], Any]:
    make_accounts(sqlite_app)
    clients = {}
    for role in ROLES:
        for language in LANGUAGES:
            client = sqlite_app.test_client()
            login(client, role.lower(), f"{role.lower()}-Passw0rd!")
            with client.session_transaction() as session:
                session["locale"] = language
            clients[(role, language)] = client
    return clients


def test_no_enum_code_and_no_untranslated_string_on_any_page(sqlite_app: Flask, scan_clients: dict) -> None:
    pages = scan_pages(sqlite_app)
    codes = enum_codes()
    codes_re = re.compile(r"\b(" + "|".join(sorted(map(re.escape, codes), key=len, reverse=True)) + r")\b")
    msgids = source_msgids()
    missing = {language: untranslated(language, msgids) for language in LANGUAGES}
    code_hits: dict[str, set[str]] = defaultdict(set)  # code -> pages
    english_hits: dict[tuple[str, str], set[str]] = defaultdict(set)  # (language, msgid) -> pages
    errors: list[str] = []
    fetched = 0
    seen: set[tuple[str, str]] = set()  # (language, URL) already scanned by an earlier role
    for (role, language), client in scan_clients.items():
        for kind, url in pages:
            if kind != "list" and (language, url) in seen:
                continue  # same view and row: another role's copy differs only in buttons the list shows too
            resp = client.get(url)
            if resp.status_code in (302, 403, 404) or (kind == "page" and resp.mimetype != "text/html"):
                continue  # not this role's page (or no such row in its scope), or a JSON feed
            if kind == "page" and resp.status_code == 400:
                continue  # an endpoint that needs query arguments (a calendar's date range)
            fetched += 1
            seen.add((language, url))
            if resp.status_code != 200:
                errors.append(f"{role} {language} {url} -> {resp.status_code}")
                continue
            found_codes, english = findings_for(resp.get_data(as_text=True), codes_re, missing[language])
            for code in found_codes:
                code_hits[code].add(f"{kind} {url} ({role}, {language})")
            for msgid in english:
                english_hits[(language, msgid)].add(url)
    assert fetched > len(pages)  # the roles reach pages (Admin nearly all), so the scan saw something
    report = f"{fetched} pages fetched ({len(pages)} URLs x {len(scan_clients)} role-language clients)\n"
    report += scan_report(code_hits, english_hits, errors)
    if os.environ.get("COACHDESK_SCAN_REPORT"):  # the whole list, for whoever translates
        full = report.splitlines()[0] + "\n" + scan_report(code_hits, english_hits, errors, limit=None)
        Path(os.environ["COACHDESK_SCAN_REPORT"]).write_text(full + "\n")
    assert not (code_hits or english_hits or errors), report


def scan_report(code_hits: dict, english_hits: dict, errors: list[str], limit: int | None = REPORT_LIMIT) -> str:
    lines = [f"{len(errors)} pages failed to load:", *errors]
    lines.append(f"{len(code_hits)} enum codes shown on pages:")
    for code, where in sorted(code_hits.items()):
        lines.append(f"  {code}: {len(where)} pages, e.g. {sorted(where)[:3]}")
    lines.append(f"{len(english_hits)} (language, msgid) pairs shown untranslated:")
    for (language, msgid), where in sorted(english_hits.items()):
        lines.append(f"  [{language}] {msgid!r}: {len(where)} pages, e.g. {sorted(where)[:2]}")
    return "\n".join(lines[:limit])
