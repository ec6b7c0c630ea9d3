"""Saved list views (issue 17): a person's own named filters, sort, page size and columns for one list.

Only the list's own parameters are kept (``ListParams`` says which: its filter columns with their
``_from/_to/_min/_max`` forms, the search box, its sort and page-size arguments, a ``cols`` subset
of its list columns), each value short and free of NUL bytes. The query is checked again when a
view is opened, so a list whose filters changed since never receives a parameter it does not know.
A person lists, opens and deletes only their own views.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from app.models.console import SavedView

MAX_NAME = 100
MAX_QUERY = 4000
MAX_VALUE = 200
MAX_PAGE_SIZE = 100
MAX_VIEWS_PER_LIST = 50
FILTER_SUFFIXES = ("", "_from", "_to", "_min", "_max")
WHOLE = re.compile(r"\d{1,4}")


class SavedViewError(ValueError):
    """A name or query that cannot be saved or opened; the message says why."""


@dataclass(frozen=True)
class ListParams:
    """What one console list accepts in its query string."""

    endpoint: str  # e.g. "PlatformUserView.list"
    view_name: str  # the view's class name: FAB suffixes its sort and page-size arguments with it
    filters: tuple[str, ...]
    order_columns: tuple[str, ...]
    list_columns: tuple[str, ...]
    searchable: bool

    def navigation(self, key: str) -> bool:
        """Where the person was in the list (page number, cursor): not part of a view, dropped when saving."""
        return key in (f"page_{self.view_name}", f"cursor_{self.view_name}")

    def check(self, key: str, value: str) -> bool:
        """Whether ``key=value`` belongs to this list's own parameters with a value it can take."""
        if key == "q":
            return self.searchable
        if key.startswith("f_"):
            return any(key == f"f_{name}{suffix}" for name in self.filters for suffix in FILTER_SUFFIXES)
        if key == f"_oc_{self.view_name}":
            return value in self.order_columns
        if key == f"_od_{self.view_name}":
            return value in ("asc", "desc")
        if key == f"psize_{self.view_name}":
            return bool(WHOLE.fullmatch(value)) and 1 <= int(value) <= MAX_PAGE_SIZE
        if key == "cols":
            names = value.split(",")
            return bool(names) and all(n in self.list_columns for n in names) and len(set(names)) == len(names)
        return False


def clean_query(params: ListParams, raw: str) -> str:
    """The query string re-encoded with only this list's parameters, or ``SavedViewError``."""
    raw = (raw or "").lstrip("?")
    if len(raw) > MAX_QUERY:
        raise SavedViewError(_("The list's query is too long to save."))
    try:
        pairs = parse_qsl(raw, keep_blank_values=False, strict_parsing=False, max_num_fields=200)
    except ValueError:
        raise SavedViewError(_("The list's query cannot be read.")) from None
    columns = [value for key, value in pairs if key == "cols"]
    if len(columns) > 1:  # the column chooser's checkboxes, one ``cols`` each: kept as one list
        at = next(i for i, (key, _value) in enumerate(pairs) if key == "cols")
        pairs = [pair for pair in pairs if pair[0] != "cols"]
        pairs.insert(at, ("cols", ",".join(columns)))
    seen: set[str] = set()
    kept = []
    for key, value in pairs:
        if params.navigation(key):
            continue
        if len(value) > MAX_VALUE or "\x00" in value or "\x00" in key:
            raise SavedViewError(_("A value in the list's query is too long or unreadable."))
        if not params.check(key, value):
            raise SavedViewError(_("The list does not know the parameter %(name)s.", name=key[:50]))
        if key in seen:
            raise SavedViewError(_("The parameter %(name)s is given twice.", name=key[:50]))
        seen.add(key)
        kept.append((key, value))
    return urlencode(kept)


def clean_name(raw: str) -> str:
    name = " ".join((raw or "").split())
    if not name:
        raise SavedViewError(_("Give the view a name."))
    if len(name) > MAX_NAME:
        raise SavedViewError(_("A view's name has at most %(n)s characters.", n=MAX_NAME))
    if "\x00" in name:
        raise SavedViewError(_("A view's name cannot hold a NUL character."))
    return name


def save(session: Session, console_user_id: int, params: ListParams, name: str, query: str) -> SavedView:
    """Save (or replace, under the same name) a view of ``params``' list; flushes."""
    name = clean_name(name)
    query = clean_query(params, query)
    existing = session.scalar(
        sa.select(SavedView).where(
            SavedView.console_user_id == console_user_id,
            SavedView.endpoint == params.endpoint,
            SavedView.name == name,
        )
    )
    if existing is not None:
        existing.query = query
        session.flush()
        return existing
    if len(list_for(session, console_user_id, params.endpoint)) >= MAX_VIEWS_PER_LIST:
        raise SavedViewError(_("At most %(n)s saved views per list.", n=MAX_VIEWS_PER_LIST))
    view = SavedView(console_user_id=console_user_id, endpoint=params.endpoint, name=name, query=query)
    session.add(view)
    session.flush()
    return view


def list_for(session: Session, console_user_id: int, endpoint: str | None = None) -> list[SavedView]:
    """The person's views, of one list or of all, by list then name."""
    stmt = sa.select(SavedView).where(SavedView.console_user_id == console_user_id)
    if endpoint is not None:
        stmt = stmt.where(SavedView.endpoint == endpoint)
    return list(session.scalars(stmt.order_by(SavedView.endpoint, SavedView.name)))


def get_own(session: Session, console_user_id: int, view_id: int) -> SavedView | None:
    """The view if it is this person's; None for another's or an unknown id (the same answer)."""
    view = session.get(SavedView, view_id)
    return view if view is not None and view.console_user_id == console_user_id else None


def delete(session: Session, console_user_id: int, view_id: int) -> bool:
    """Delete one's own view; False when there is none of that id among one's own."""
    view = get_own(session, console_user_id, view_id)
    if view is None:
        return False
    session.delete(view)
    session.flush()
    return True


def endpoints(views: Iterable[SavedView]) -> list[str]:
    return sorted({v.endpoint for v in views})
