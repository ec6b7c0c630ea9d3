"""Paging of console lists: how deep page numbers reach, and cursor (keyset) links beyond that.

Page numbers stop at ``MAX_OFFSET`` rows (``SCOPED_MAX_OFFSET`` for row-scoped viewers, whose
matches lie sparse in the shared indexes); Previous/Next cursors go on from there at the same cost.
"""

from __future__ import annotations

from typing import Any

from flask import flash, g, request, url_for

from app.policy.scope import is_unrestricted
from app.services import keyset
from app.services.data_access import MAX_OFFSET, SCOPED_MAX_OFFSET, pk_column


class KeysetPagingMixin:
    """Page depth by viewer, and the cursor read from / written into the list URL."""

    datamodel: Any

    def max_offset(self) -> int:
        return MAX_OFFSET if is_unrestricted(getattr(g, "user", None)) else SCOPED_MAX_OFFSET

    def _read_cursor(self, order_column: str) -> tuple[keyset.Cursor | None, bool]:
        """The page cursor in the URL (None: offset paging) and whether this sort can page by cursor at all."""
        model = self.datamodel.obj
        if not keyset.keyable(model, order_column):
            return None, False
        raw = request.args.get(f"cursor_{type(self).__name__}")
        if not raw:
            return None, True
        try:
            return keyset.decode(raw, keyset.sort_column(model, order_column), pk_column(model)), True
        except keyset.CursorError as exc:
            flash(str(exc), "warning")
            return None, True

    def _cursor_url(self, cursor: keyset.Cursor) -> str:
        name = type(self).__name__
        args = {k: v for k, v in request.args.items(multi=False) if k not in (f"page_{name}", f"cursor_{name}")}
        args[f"cursor_{name}"] = keyset.encode(cursor)
        return url_for(request.endpoint or "", **(request.view_args or {}), **args)

    def _keyset_links(
        self, rows: list[Any], order_column: str, cursor: keyset.Cursor | None, more: bool, page: int
    ) -> dict[str, str | None]:
        """Previous/Next links for this page: cursors at its first and last rows."""
        if not rows:
            return {"prev": None, "next": None}
        pk = pk_column(self.datamodel.obj).key

        def point(row: Any, forward: bool) -> str:
            value = getattr(row, order_column) if order_column else None
            return self._cursor_url(keyset.Cursor(forward, value, getattr(row, pk)))

        if cursor is None:
            has_prev, has_next = page > 0, more
        elif cursor.forward:
            has_prev, has_next = True, more
        else:
            has_prev, has_next = more, True
        return {
            "prev": point(rows[0], False) if has_prev else None,
            "next": point(rows[-1], True) if has_next else None,
        }
