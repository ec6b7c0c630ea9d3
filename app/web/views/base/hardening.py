"""The checks every console view makes before FAB sees a request: input anyone can type gets a 4xx, never a 500.

Shared by the entity views (``CoachdeskModelView``) and FAB's own security views
(``app.web.security.views``), so a rule about keys, paging or action permissions is written once.
"""

from __future__ import annotations

import math
import re
from typing import Any

import sqlalchemy as sa
from dateutil import parser as date_parser
from flask import Response, abort, g, redirect, request, url_for
from flask_babel import gettext as _

from app.services.data_access import MAX_OFFSET, clamp_page

MAX_ARG_LENGTH = 200

# FAB's url tools search these anywhere in an argument's name (re.findall, not anchored).
PAGE_ARG = re.compile(r"page_|psize_")
WHOLE_NUMBER = re.compile(r"[+-]?\d{1,20}")

_INTEGER_BITS = ((sa.BigInteger, 63), (sa.SmallInteger, 15), (sa.Integer, 31))


def fits_column(column_type: Any, raw: str) -> bool:
    """Can ``raw`` (text from a URL) be compared with a column of this type without a database error?"""
    if len(raw) > MAX_ARG_LENGTH or "\x00" in raw:
        return False
    for klass, bits in _INTEGER_BITS:
        if isinstance(column_type, klass):
            return bool(WHOLE_NUMBER.fullmatch(raw)) and -(2**bits) <= int(raw) < 2**bits
    if isinstance(column_type, sa.Float | sa.Numeric):
        try:
            return math.isfinite(float(raw))
        except ValueError:
            return False
    if isinstance(column_type, sa.Date | sa.DateTime):
        try:
            date_parser.parse(raw)
        except (ValueError, OverflowError):
            return False
        return True
    if isinstance(column_type, sa.Boolean):
        return raw == "y"  # the only value FAB's filter turns into a boolean; the form sends it or nothing
    return not raw.endswith("\\")  # "ends with" filters put it last in a LIKE pattern: PostgreSQL refuses


def key_fits(model: type, raw: Any) -> bool:
    """Is ``raw`` a well-formed primary key for ``model`` (single-column keys, as FAB's tables have)?"""
    if isinstance(raw, int):
        raw = str(raw)
    if not isinstance(raw, str):
        return False
    keys = sa.inspect(model).primary_key
    return len(keys) == 1 and fits_column(keys[0].type, raw)


def bad_request(message: str) -> Response:
    return Response(message, status=400, mimetype="text/plain")


def refuse_bad_paging() -> None:
    """400 unless every page/page-size argument is a whole number (FAB's url tools ``int()`` them)."""
    for key, value in request.args.items():
        if PAGE_ARG.search(key):
            try:
                int(value)
            except ValueError:
                abort(bad_request(_("Page and page size must be whole numbers.")))


class HardenedViewMixin:
    """Put before FAB's view class: no download route, clamped paging, action permission checked first."""

    #: What an unknown action name is checked against, so the answer reveals nothing about which exist.
    unknown_action_permission = "can_list"

    exclude_route_methods: Any
    actions: dict[str, Any]
    appbuilder: Any
    class_permission_name: str
    page_size: int

    def __init__(self, **kwargs: Any) -> None:
        # FAB's file download; this product stores no uploads.
        self.exclude_route_methods = set(self.exclude_route_methods or ()) | {"download"}
        super().__init__(**kwargs)

    def max_offset(self) -> int:
        """The deepest row a page number may reach."""
        return MAX_OFFSET

    def _clamp_paging(self, page: Any, page_size: Any) -> tuple[int, int]:
        number, size, clamped = clamp_page(page, page_size, self.page_size, self.max_offset())
        if clamped:
            g.cd_page_clamped = True
        return number, size

    def _require_action_permission(self, name: str) -> None:
        """Anonymous -> login, no permission -> 403; checked before anything about the action is revealed."""
        known = name in self.actions
        permission = self.get_action_permission_name(name) if known else self.unknown_action_permission
        if self.appbuilder.sm.has_access(permission, self.class_permission_name):
            return
        if not (g.user is not None and g.user.is_authenticated):
            abort(redirect(url_for(self.appbuilder.sm.auth_view.endpoint + ".login", next=request.url)))
        abort(403)
