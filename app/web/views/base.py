"""The project's FAB base classes: every console view gets the same safe, fast behaviour.

``CoachdeskModelView`` (subclass of FAB's ``ModelView``) adds, on top of FAB:

* permissions collapsed to ``can_read``/``can_write`` on the view's resource (``roles.py``);
* row scope on every path through ``ScopedSQLAInterface`` (``app.policy.scope``);
* explicit columns, with any ``info={"secret": True}`` column refused at start-up;
* deterministic ordering, page size capped at 100, a bounded page depth, and a count
  that is exact up to 10,000 rows and an estimate beyond ("about N");
* eager loading of what the list shows (one query per page, see ``list_eager``);
* a search box over ``search_text_columns`` and typed filters (enum, boolean,
  date and number ranges, relations by autocomplete) built from ``filter_columns``;
* ``/autocomplete/<column>`` (scoped, permission-checked) for relation pickers and filters;
* times shown in the viewer's time zone (``app.select_timezone``: the account's own, else the
  default); a date filter's day runs from midnight to midnight in that zone;
* ``/export/`` streaming the current filtered list as CSV, timestamps in ISO-8601 UTC whatever the
  viewer's zone (headers say "(UTC)") (hook: ``csv_export.export_started``);
* bulk actions that load the selected rows in one scoped query;
* constraint violations turned into a message, with the transaction rolled back.

Reusing the list machinery elsewhere (benchmarks, dashboards): ``ScopedSQLAInterface.query``
is FAB's ``query`` signature plus ``criteria`` and returns ``(RowCount, rows)``;
``CoachdeskModelView.list_criteria()`` turns the request's search/filter args into criteria.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import json
import logging
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from types import FunctionType
from typing import Any, ClassVar

import sqlalchemy as sa
from babel import dates as babel_dates
from flask import Response, abort, current_app, flash, g, has_request_context, jsonify, redirect, request, url_for
from flask_appbuilder import ModelRestApi, ModelView, expose
from flask_appbuilder.api import get_item_schema, rison, safe
from flask_appbuilder.hooks import before_request
from flask_appbuilder.models.filters import Filters
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import has_access, permission_name, protect
from flask_appbuilder.urltools import get_order_args, get_page_args, get_page_size_args
from flask_appbuilder.widgets import ListWidget
from flask_babel import format_date, format_datetime, format_decimal, get_locale, get_timezone
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import orm
from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError, StatementError
from wtforms import validators as wtv

from app.extensions import db
from app.models.base import JSONValidationError
from app.policy.roles import READ_WRITE_METHOD_MAP
from app.policy.scope import is_unrestricted, scope_criteria
from app.services import csv_export, keyset
from app.services.data_access import (
    EXACT_COUNT_LIMIT,
    MAX_OFFSET,
    MAX_PAGE_SIZE,
    SCOPED_EXACT_COUNT_LIMIT,
    SCOPED_MAX_OFFSET,
    RowCount,
    clamp_page,
    coerce_pk,
    count_rows,
    get_many_scoped,
    pk_column,
)
from app.services.timezones import as_local
from app.web.views.fields import AutocompleteField, AwareDateTimeField, EnumSelectField, JSONTextField

log = logging.getLogger(__name__)

DEFAULT_PAGE_SIZE = 25
SEARCH_MAX_LENGTH = 200
AUTOCOMPLETE_LIMIT = 20
TEXT_MAX_LENGTH = 10_000

# FAB prefixes "can_" itself, so the map it wants says "read"/"write".
METHOD_PERMISSIONS: dict[str, str] = {k: v.removeprefix("can_") for k, v in READ_WRITE_METHOD_MAP.items()}
WRITE_METHODS = frozenset(k for k, v in METHOD_PERMISSIONS.items() if v == "write")


class SecretColumnError(RuntimeError):
    """A view was configured to show, edit, search or export a secret column."""


def is_secret(model: type, column: str) -> bool:
    """True when ``column`` (possibly dotted through relations) ends on a secret column."""
    mapper = sa.inspect(model)
    parts = column.split(".")
    for i, part in enumerate(parts):
        prop = mapper.attrs.get(part)
        if prop is None:
            return False
        if isinstance(prop, orm.RelationshipProperty):
            if i == len(parts) - 1:
                return False
            mapper = prop.mapper
            continue
        return any(getattr(c, "info", {}).get("secret") for c in getattr(prop, "columns", []))
    return False


def secret_columns(model: type) -> set[str]:
    return {p.key for p in sa.inspect(model).column_attrs if any(c.info.get("secret") for c in p.columns)}


# --------------------------------------------------------------------------- data access


class LazyFilters(Filters):
    """FAB's Filters without converting every column up front (FAB does it on every list and related tab)."""

    def __init__(self, filter_converter: Any, datamodel: Any, search_columns: Any = None, search_filters: Any = None):
        self.search_columns = search_columns or []
        self.filter_converter = filter_converter
        self.datamodel = datamodel
        self.clear_filters()
        self._search_filters = self._get_filters(self.search_columns) if self.search_columns else {}
        for key, extra in (search_filters or {}).items():
            self._search_filters.setdefault(key, []).extend(extra)
        self._lazy_all: dict[str, Any] | None = None

    @property
    def _all_filters(self) -> dict[str, Any]:  # type: ignore[override]
        if self._lazy_all is None:
            self._lazy_all = self._get_filters(self.datamodel.get_columns_list())
        return self._lazy_all


class ScopedSQLAInterface(SQLAInterface):
    """FAB's SQLA interface with the row scope, eager loading and the count strategy built in.

    Every read FAB does for a view (list, related lists, show/edit/delete by URL,
    actions) goes through ``query`` or ``get`` here, so the scope cannot be skipped.
    """

    #: Exact counts up to this many rows, an estimate ("about N") beyond; see data_access.count_rows.
    exact_count_limit = EXACT_COUNT_LIMIT
    #: The same for row-scoped (coach) lists, whose matches lie sparse in the shared indexes.
    scoped_exact_count_limit = SCOPED_EXACT_COUNT_LIMIT

    def current_user(self) -> Any:
        return getattr(g, "user", None)

    def get_filters(self, search_columns: Any = None, search_filters: Any = None) -> Filters:
        return LazyFilters(self.filter_converter_class, self, search_columns, search_filters)

    def write_mode(self) -> bool:
        return bool(getattr(g, "cd_write_scope", False))

    def scope(self, *, for_write: bool | None = None) -> Any:
        write = self.write_mode() if for_write is None else for_write
        return scope_criteria(self.obj, self.current_user(), for_write=write)

    def scoped_query(self, *, for_write: bool | None = None) -> orm.Query:
        return self.session.query(self.obj).filter(self.scope(for_write=for_write))

    def get(self, id: Any, filters: Any = None, select_columns: Any = None, outer_default_load: bool = False) -> Any:
        pk = coerce_pk(self.obj, id)
        if pk is None:
            return None
        query = self.scoped_query().filter(pk_column(self.obj) == pk)
        if filters:
            query = filters.apply_all(query)
        return query.first()

    def get_related_obj(self, col_name: str, value: Any) -> Any:
        model = self.get_related_model(col_name)
        pk = coerce_pk(model, value)
        if pk is None:
            return None
        stmt = sa.select(model).where(scope_criteria(model, self.current_user()), pk_column(model) == pk)
        return self.session.scalars(stmt).unique().first()

    def eager_options(self, paths: Sequence[str]) -> list[Any]:
        """``lazyload('*')`` plus a joined load for each dotted path: a fixed number of queries per page."""
        options: list[Any] = [orm.lazyload("*")]
        for path in paths:
            loader = None
            mapper = sa.inspect(self.obj)
            for part in path.split("."):
                attr = getattr(mapper.class_, part)
                loader = orm.joinedload(attr) if loader is None else loader.joinedload(attr)
                options.append(loader.lazyload("*"))
                mapper = attr.property.mapper
        return options

    def query(
        self,
        filters: Any = None,
        order_column: str = "",
        order_direction: str = "",
        page: int | None = None,
        page_size: int | None = None,
        select_columns: Any = None,
        outer_default_load: bool = False,
        criteria: Sequence[Any] = (),
        eager: Sequence[str] = (),
        seek: keyset.Seek | None = None,
    ) -> tuple[RowCount, list[Any]]:
        """One page and the count. With ``seek`` (keyset paging) it reads ``page_size + 1`` rows from
        the seek point, in the seek's order, so the caller knows whether more follow."""
        query = self.scoped_query(for_write=False)
        for criterion in criteria:
            query = query.filter(criterion)
        if filters:
            query = filters.apply_all(query)
        pk = pk_column(self.obj)
        count = count_rows(
            self.session,
            query.with_entities(pk).statement,
            filtered=bool(criteria) or bool(filters),
            limit=self.exact_count_limit if is_unrestricted(self.current_user()) else self.scoped_exact_count_limit,
        )
        if seek is not None:
            query = query.filter(seek.where).order_by(*seek.order_by)
            keys = query.with_entities(pk).limit((page_size or DEFAULT_PAGE_SIZE) + 1).subquery()
            query = query.filter(pk.in_(sa.select(keys.c[0]))).options(*self.eager_options(eager))
            return count, query.all()
        query = self.apply_order_by(query, order_column, order_direction, add_pk=True)
        if not order_column:
            query = query.order_by(pk.desc())
        if eager and page_size:
            # Page the keys first (an index-only walk), then join the relations for that page
            # only: otherwise PostgreSQL joins every skipped row of a deep OFFSET.
            keys = self.apply_pagination(query.with_entities(pk), page, page_size).subquery()
            query = query.filter(pk.in_(sa.select(keys.c[0])))
        else:
            query = self.apply_pagination(query, page, page_size)
        query = query.options(*self.eager_options(eager))
        return count, query.all()

    def iter_rows(
        self, criteria: Sequence[Any], order_column: str, order_direction: str, eager: Sequence[str]
    ) -> Iterable[Any]:
        """All matching rows in order, streamed from the database in batches (for export)."""
        pk = pk_column(self.obj)
        stmt = sa.select(self.obj).where(self.scope(for_write=False), *criteria)
        order: list[Any] = []
        if order_column and "." not in order_column and hasattr(self.obj, order_column):
            column = getattr(self.obj, order_column)
            order.append(column.asc() if order_direction == "asc" else column.desc())
        order.append(pk.asc() if order_direction == "asc" else pk.desc())
        stmt = stmt.order_by(*order).options(*self.eager_options(eager)).execution_options(yield_per=500)
        return self._stream(stmt, self.session.get_bind())

    @staticmethod
    def _stream(stmt: Any, bind: Any) -> Iterable[Any]:
        # Its own session: the response body is produced after the view returned and
        # the request (and its session) may be gone; the scope is already in the statement.
        with orm.Session(bind=bind) as session:
            yield from session.execute(stmt).scalars()


# --------------------------------------------------------------------------- display


def display_value(item: Any, column: str, money_columns: dict[str, str] | None = None) -> str:
    """A column value as a person reads it: names, money with currency, local dates."""
    value: Any = item
    for part in column.split("."):
        value = getattr(value, part, None) if value is not None else None
    money_columns = money_columns or {}
    if column in money_columns and value is not None:
        currency = getattr(item, money_columns[column], None) or ""
        return f"{format_decimal(value, format='#,##0.00')} {currency}".strip()
    return format_value(value)


def _local_datetime(value: dt.datetime) -> str:
    """``format_datetime(value, "medium")`` with the viewer's locale and zone looked up once per request.

    Flask-Babel resolves both on every call (a dozen context-local lookups); a 100-row list
    formats a hundred times or more."""
    if not has_request_context():
        return format_datetime(value, "medium")
    viewer = g.__dict__.get("cd_datetime_viewer")
    if viewer is None:
        viewer = g.cd_datetime_viewer = (get_locale(), get_timezone())
    locale, zone = viewer
    return babel_dates.format_datetime(value.astimezone(zone), "medium", locale=locale)


def format_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, dt.datetime):
        return _local_datetime(value) if value.tzinfo else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return format_date(value, "medium")
    if isinstance(value, dt.time):
        return value.strftime("%H:%M")
    if isinstance(value, decimal.Decimal):
        return format_decimal(value)
    if isinstance(value, (list, tuple, set)) and value and not isinstance(next(iter(value)), (str, int, float, dict)):
        return ", ".join(str(v) for v in value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def export_value(item: Any, column: str) -> str:
    """A column value for CSV: machine-readable (ISO dates, plain decimals, names for relations)."""
    value: Any = item
    for part in column.split("."):
        value = getattr(value, part, None) if value is not None else None
    if value is None:
        return ""
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).isoformat()  # files stay in UTC whatever the viewer's zone
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (list, tuple, set)) and value and not isinstance(next(iter(value)), (str, int, float, dict)):
        return ", ".join(str(v) for v in value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, default=str)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --------------------------------------------------------------------------- filters


@dataclass
class FilterSpec:
    """One typed filter on the list page; ``kind`` picks the widget and the parsing."""

    name: str
    label: str
    kind: str  # enum | bool | date | datetime | number | relation | text
    choices: list[str] = field(default_factory=list)
    values: dict[str, str] = field(default_factory=dict)
    selected_label: str = ""
    url: str = ""


def text_match(model: type, column: str, term: str) -> Any:
    """``column ILIKE %term%``; a dotted column searches through a many-to-one relation (EXISTS)."""
    if "." in column:
        relation, rest = column.split(".", 1)
        attr = getattr(model, relation)
        return attr.has(text_match(attr.property.mapper.class_, rest, term))
    return getattr(model, column).icontains(term, autoescape=True)


def column_type(column: Any) -> Any:
    """The SQL type behind a column, looking through TypeDecorators (UTCDateTime is a DateTime)."""
    ctype = column.type
    return getattr(ctype, "impl_instance", None) or (ctype.impl if isinstance(ctype, sa.TypeDecorator) else ctype)


def _parse_date(raw: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(raw.strip()[:10])
    except ValueError:
        return None


def _parse_number(raw: str) -> decimal.Decimal | None:
    try:
        number = decimal.Decimal(raw.strip())
    except (decimal.InvalidOperation, ValueError):
        return None
    return number if number.is_finite() and abs(number) < 10**15 else None


def _local_midnight(day: dt.date) -> dt.datetime:
    tz = get_timezone()
    naive = dt.datetime.combine(day, dt.time())
    return as_local(naive, tz).astimezone(dt.UTC)


class CoachdeskListWidget(ListWidget):
    template = "coachdesk/widgets/list.html"


# --------------------------------------------------------------------------- the view


class CoachdeskModelView(ModelView):
    """Base for every entity view; subclasses declare columns, filters and actions only."""

    # Registry: model -> view class, so autocomplete can check the related resource.
    resource_for_model: ClassVar[dict[type, str]] = {}
    search_for_model: ClassVar[dict[type, tuple[str, ...]]] = {}

    list_template = "coachdesk/model/list.html"
    show_template = "coachdesk/model/show.html"
    edit_template = "coachdesk/model/edit.html"
    list_widget = CoachdeskListWidget
    page_size = DEFAULT_PAGE_SIZE

    #: Columns the search box looks in (plain text columns of this model).
    search_text_columns: tuple[str, ...] = ()
    #: Columns offered as typed filters (enum, bool, date, datetime, number, relation, text).
    filter_columns: tuple[str, ...] = ()
    #: Relations (dotted) joined into the list query; defaults to the relations in list_columns.
    list_eager: tuple[str, ...] | None = None
    #: money column -> its currency column
    money_columns: dict[str, str] = {}
    #: Columns in the CSV export (defaults to list_columns).
    export_columns: tuple[str, ...] | None = None
    #: No add/edit/delete/action routes at all (e.g. the audit trail).
    read_only = False
    #: Long text shown shortened in lists: column -> characters.
    truncate_columns: dict[str, int] = {}
    #: Per-column max length for unbounded text columns.
    text_max_length = TEXT_MAX_LENGTH

    def __init__(self, **kwargs: Any) -> None:
        self.method_permission_name = {**METHOD_PERMISSIONS, **self._action_permissions()}
        excluded = set(self.exclude_route_methods or ()) | {"download"}
        if self.read_only:
            excluded |= {"add", "edit", "delete", "action", "action_post"}
        self.exclude_route_methods = excluded
        if self.base_order is None:
            self.base_order = (pk_column(self.datamodel.obj).key, "desc")
        # Unused (see _list) but FAB builds a search form from it: one plain column, never a UUID or secret.
        self.search_columns = self._harmless_search_column()
        self._check_columns()
        self._install_form_fields()
        super().__init__(**kwargs)
        model = self.datamodel.obj
        CoachdeskModelView.resource_for_model.setdefault(model, self.class_permission_name)
        if self.search_text_columns:
            CoachdeskModelView.search_for_model.setdefault(model, self.search_text_columns)

    # ---- configuration checks and forms

    @classmethod
    def _action_permissions(cls) -> dict[str, str]:
        found: dict[str, str] = {}
        for klass in cls.__mro__:
            for name, value in vars(klass).items():
                if isinstance(value, FunctionType) and hasattr(value, "_action"):
                    found.setdefault(name, "write")
        return found

    def _configured_columns(self) -> dict[str, Iterable[str]]:
        return {
            "list_columns": self.list_columns or (),
            "show_columns": self.show_columns or (),
            "add_columns": self.add_columns or (),
            "edit_columns": self.edit_columns or (),
            "search_text_columns": self.search_text_columns,
            "filter_columns": self.filter_columns,
            "export_columns": self.export_columns or (),
            "order_columns": self.order_columns or (),
        }

    def _check_columns(self) -> None:
        model = self.datamodel.obj
        name = type(self).__name__
        for attr in ("list_columns", "show_columns"):
            if not getattr(self, attr):
                raise SecretColumnError(f"{name}.{attr} must be explicit")
        if not self.read_only and not (self.add_columns and self.edit_columns):
            raise SecretColumnError(f"{name}: add_columns and edit_columns must be explicit")
        for attr, columns in self._configured_columns().items():
            for column in columns:
                if is_secret(model, column):
                    raise SecretColumnError(f"{name}.{attr} includes the secret column {column!r}")
        if self.read_only:
            self.add_columns = self.edit_columns = []

    def _harmless_search_column(self) -> list[str]:
        mapper = sa.inspect(self.datamodel.obj)
        for name in (*self.search_text_columns, *(self.list_columns or ())):
            prop = mapper.attrs.get(name)
            if prop is not None and hasattr(prop, "columns") and not isinstance(prop.columns[0].type, sa.Uuid):
                return [name]
        return [pk_column(self.datamodel.obj).key]

    def autocomplete_url(self, column: str) -> Any:
        view_name = type(self).__name__
        return lambda: url_for(f"{view_name}.autocomplete", column=column)

    def _install_form_fields(self) -> None:
        """Replace FAB's field choices: autocomplete relations, safe enums, JSON editors, aware datetimes."""
        model = self.datamodel.obj
        mapper = sa.inspect(model)
        self.validators_columns = dict(self.validators_columns or {})
        for attr, extra_attr in (("add_columns", "add_form_extra_fields"), ("edit_columns", "edit_form_extra_fields")):
            extra = dict(getattr(self, extra_attr) or {})
            for column in getattr(self, attr) or []:
                if column in extra:
                    continue
                built = self._field_for(mapper, column)
                if built is not None:
                    extra[column] = built
            setattr(self, extra_attr, extra)

    def _label(self, column: str) -> Any:
        return (self.label_columns or {}).get(column) or _l(column.replace("_", " ").capitalize())

    def _field_for(self, mapper: Any, column: str) -> Any:
        prop = mapper.attrs.get(column)
        label = self._label(column)
        description = (self.description_columns or {}).get(column, "")
        if isinstance(prop, orm.RelationshipProperty):
            if prop.uselist:
                return None
            required = not all(c.nullable for c in prop.local_columns)
            checks = [wtv.DataRequired()] if required else [wtv.Optional()]
            return AutocompleteField(
                label,
                model=prop.mapper.class_,
                url=self.autocomplete_url(column),
                validators=checks,
                description=description,
            )
        if prop is None or not hasattr(prop, "columns"):
            return None
        col = prop.columns[0]
        required = not col.nullable and col.default is None and col.server_default is None
        checks: list[Any] = [wtv.InputRequired()] if required else [wtv.Optional()]
        checks += list(self.validators_columns.get(column, []))
        if "json_schema" in col.info:
            return JSONTextField(
                label, field_name=f"{mapper.local_table.name}.{column}", schema=col.info["json_schema"],
                validators=checks, description=description,
            )  # fmt: skip
        enum_class = getattr(col.type, "enum_class", None)
        if enum_class is not None:
            return EnumSelectField(
                label, enum_class=enum_class, allow_blank=col.nullable, validators=checks, description=description
            )
        if isinstance(column_type(col), sa.DateTime):
            return AwareDateTimeField(label, validators=checks, description=description)
        if isinstance(col.type, sa.Boolean):
            from wtforms import BooleanField

            # Unticked means False; FAB's converter would demand a tick on every NOT NULL flag.
            return BooleanField(label, description=description)
        if isinstance(col.type, sa.Time):
            from wtforms import TimeField

            return TimeField(label, validators=checks, description=description)
        if column in self.money_columns:
            self.validators_columns.setdefault(column, [wtv.NumberRange(min=0)])
        if isinstance(col.type, sa.Numeric) and not isinstance(col.type, sa.Float) and column in self.money_columns:
            from wtforms import DecimalField

            return DecimalField(
                label, places=2, validators=checks + [wtv.NumberRange(min=0)], description=description,
                render_kw={"step": "0.01", "min": "0", "type": "number"},
            )  # fmt: skip
        if isinstance(col.type, sa.String) and not isinstance(col.type, sa.Enum):
            length = col.type.length or self.text_max_length
            self.validators_columns[column] = [*self.validators_columns.get(column, []), wtv.Length(max=length)]
        return None

    def _init_forms(self) -> None:
        super()._init_forms()

    # ---- request hooks

    @before_request
    def _reject_bad_paging(self) -> Any:
        """Non-integer page/psize args are a 400, never a 500 inside FAB's url tools."""
        for key, value in request.args.items():
            if key.startswith(("page_", "psize_")):
                try:
                    int(value)
                except ValueError:
                    return Response(_("Page and page size must be whole numbers."), status=400, mimetype="text/plain")
        g.cd_write_scope = request.method == "POST" or (request.endpoint or "").rsplit(".", 1)[-1] in (
            "edit",
            "delete",
            "action",
            "action_post",
        )
        return None

    # ---- list machinery

    def eager_paths(self) -> tuple[str, ...]:
        if self.list_eager is not None:
            return self.list_eager
        mapper = sa.inspect(self.datamodel.obj)
        return tuple(
            c for c in self.list_columns if isinstance(mapper.attrs.get(c.split(".")[0]), orm.RelationshipProperty)
        )

    def _clamp_paging(self, page: Any, page_size: Any) -> tuple[int, int]:
        number, size, clamped = clamp_page(page, page_size, self.page_size, self.max_offset())
        if clamped:
            g.cd_page_clamped = True
        return number, size

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

    def _get_list_widget(
        self,
        filters: Any,
        actions: Any = None,
        order_column: str = "",
        order_direction: str = "",
        page: Any = None,
        page_size: Any = None,
        widgets: Any = None,
        criteria: Sequence[Any] = (),
        **kwargs: Any,
    ) -> dict[str, Any]:
        widgets = widgets or {}
        actions = actions or self.actions
        page, page_size = self._clamp_paging(page, page_size)
        if order_column not in (self.order_columns or []):
            order_column, order_direction = "", ""
        if not order_column and self.base_order:
            order_column, order_direction = self.base_order
        if order_direction not in ("asc", "desc"):
            order_direction = "desc"
        joined_filters = filters.get_joined_filters(self._base_filters)
        cursor, can_seek = self._read_cursor(order_column)
        seek = None
        if can_seek:
            model = self.datamodel.obj
            column = keyset.sort_column(model, order_column)
            seek = keyset.seek(column, pk_column(model), order_direction == "desc", cursor)
        offset_page = cursor is None
        count, rows = self.datamodel.query(
            joined_filters,
            order_column,
            order_direction,
            page=page,
            page_size=page_size,
            criteria=criteria,
            eager=self.eager_paths(),
            seek=seek if can_seek and not offset_page else None,
        )
        more = False
        if can_seek and not offset_page:
            more = len(rows) > page_size
            rows = rows[:page_size]
            if seek.reverse:
                rows.reverse()
        elif can_seek:
            more = len(rows) == page_size and (count.estimated or count > (page + 1) * page_size)
        links = self._keyset_links(rows, order_column, cursor, more, page) if can_seek else {}
        pks = [str(pk) for pk in self.datamodel.get_keys(rows)]
        values = [{c: self._cell(row, c) for c in self.list_columns} for row in rows]
        widgets["list"] = self.list_widget(
            label_columns=self.label_columns,
            include_columns=self.list_columns,
            value_columns=values,
            order_columns=self.order_columns,
            formatters_columns={},
            page=page,
            page_size=page_size,
            count=count,
            pks=pks,
            actions=actions,
            keyset_prev=links.get("prev"),
            keyset_next=links.get("next"),
            keyset_active=not offset_page,
            filters=filters,
            modelview_name=type(self).__name__,
            **kwargs,
        )
        return widgets

    def _get_show_widget(
        self, pk: Any, item: Any, widgets: Any = None, actions: Any = None, show_fieldsets: Any = None
    ) -> dict[str, Any]:
        widgets = widgets or {}
        widgets["show"] = self.show_widget(
            pk=pk,
            label_columns=self.label_columns,
            include_columns=self.show_columns,
            value_columns=[display_value(item, c, self.money_columns) for c in self.show_columns],
            formatters_columns={},
            actions=actions or self.actions,
            fieldsets=show_fieldsets or self.show_fieldsets,
            modelview_name=type(self).__name__,
        )
        return widgets

    def _cell(self, row: Any, column: str) -> str:
        text = display_value(row, column, self.money_columns)
        limit = self.truncate_columns.get(column)
        return text[:limit] + "…" if limit and len(text) > limit else text

    def filter_specs(self) -> list[FilterSpec]:
        model = self.datamodel.obj
        mapper = sa.inspect(model)
        specs = []
        for name in self.filter_columns:
            prop = mapper.attrs.get(name)
            label = str(self._label(name))
            if isinstance(prop, orm.RelationshipProperty):
                url = url_for(f"{type(self).__name__}.autocomplete", column=name)
                spec = FilterSpec(name, label, "relation", url=url)
                raw = request.args.get(f"f_{name}", "")
                if raw:
                    obj = self.datamodel.get_related_obj(name, raw)
                    spec.values["eq"] = raw if obj is not None else ""
                    spec.selected_label = str(obj) if obj is not None else ""
                specs.append(spec)
                continue
            ctype = column_type(prop.columns[0])
            enum_class = getattr(ctype, "enum_class", None)
            if enum_class is not None:
                spec = FilterSpec(name, label, "enum", choices=[m.value for m in enum_class])
            elif isinstance(ctype, sa.Boolean):
                spec = FilterSpec(name, label, "bool")
            elif isinstance(ctype, sa.DateTime):
                spec = FilterSpec(name, label, "datetime")
            elif isinstance(ctype, sa.Date):
                spec = FilterSpec(name, label, "date")
            elif isinstance(ctype, (sa.Integer, sa.Numeric)):
                spec = FilterSpec(name, label, "number")
            else:
                spec = FilterSpec(name, label, "text")
            for key in ("eq", "from", "to", "min", "max"):
                arg = f"f_{name}" if key == "eq" else f"f_{name}_{key}"
                if request.args.get(arg):
                    spec.values[key] = request.args.get(arg, "")[:SEARCH_MAX_LENGTH]
            specs.append(spec)
        return specs

    def list_criteria(self, warn: bool = True) -> list[Any]:
        """Search and typed filters from the request args as SQL criteria; bad values are reported and ignored."""
        model = self.datamodel.obj
        mapper = sa.inspect(model)
        problems: list[str] = []
        criteria: list[Any] = []
        term = request.args.get("q", "").strip()
        if term and self.search_text_columns:
            term = term[:SEARCH_MAX_LENGTH]
            criteria.append(sa.or_(*[text_match(model, c, term) for c in self.search_text_columns]))
        for name in self.filter_columns:
            prop = mapper.attrs.get(name)
            label = str(self._label(name))
            if isinstance(prop, orm.RelationshipProperty):
                raw = request.args.get(f"f_{name}", "").strip()
                if raw:
                    target = coerce_pk(prop.mapper.class_, raw)
                    if target is None:
                        problems.append(_("%(label)s: unknown record", label=label))
                    else:
                        local = list(prop.local_columns)[0]
                        criteria.append(local == target)
                continue
            col = getattr(model, name)
            ctype = column_type(prop.columns[0])
            raw = request.args.get(f"f_{name}", "").strip()[:SEARCH_MAX_LENGTH]
            enum_class = getattr(ctype, "enum_class", None)
            if enum_class is not None:
                if raw:
                    try:
                        criteria.append(col == enum_class(raw))
                    except ValueError:
                        problems.append(_("%(label)s: unknown value %(value)s", label=label, value=raw))
            elif isinstance(ctype, sa.Boolean):
                if raw in ("1", "0"):
                    criteria.append(col.is_(raw == "1"))
                elif raw:
                    problems.append(_("%(label)s: choose yes or no", label=label))
            elif isinstance(ctype, (sa.Date, sa.DateTime)):
                start_raw = request.args.get(f"f_{name}_from", "").strip()
                end_raw = request.args.get(f"f_{name}_to", "").strip()
                start = _parse_date(start_raw) if start_raw else None
                end = _parse_date(end_raw) if end_raw else None
                if (start_raw and start is None) or (end_raw and end is None):
                    problems.append(_("%(label)s: dates must look like 2024-01-31", label=label))
                elif start and end and end < start:
                    problems.append(_("%(label)s: the end is before the start", label=label))
                else:
                    if isinstance(ctype, sa.DateTime):
                        if start:
                            criteria.append(col >= _local_midnight(start))
                        if end:
                            criteria.append(col < _local_midnight(end + dt.timedelta(days=1)))
                    else:
                        if start:
                            criteria.append(col >= start)
                        if end:
                            criteria.append(col <= end)
            elif isinstance(ctype, (sa.Integer, sa.Numeric)):
                low_raw = request.args.get(f"f_{name}_min", "").strip()
                high_raw = request.args.get(f"f_{name}_max", "").strip()
                low = _parse_number(low_raw) if low_raw else None
                high = _parse_number(high_raw) if high_raw else None
                if (low_raw and low is None) or (high_raw and high is None):
                    problems.append(_("%(label)s: enter a number", label=label))
                elif low is not None and high is not None and high < low:
                    problems.append(_("%(label)s: the maximum is below the minimum", label=label))
                else:
                    if low is not None:
                        criteria.append(col >= low)
                    if high is not None:
                        criteria.append(col <= high)
            elif raw:
                criteria.append(col == raw)
        if warn:
            for problem in problems:
                flash(_("Filter ignored: %(problem)s", problem=problem), "warning")
        return criteria

    def _list(self, **kwargs: Any) -> dict[str, Any]:
        # FAB's own ``_flt_`` URL filters are not read: they reach every column (secrets
        # included) and build relation dropdowns from whole tables. Ours: list_criteria().
        name = type(self).__name__
        order_column, order_direction = get_order_args().get(name, ("", ""))
        widgets = self._get_list_widget(
            filters=self.datamodel.get_filters(),
            order_column=order_column,
            order_direction=order_direction,
            page=get_page_args().get(name),
            page_size=get_page_size_args().get(name),
            criteria=self.list_criteria(),
            **kwargs,
        )
        self.update_redirect()
        return widgets

    @expose("/list/")
    @has_access
    def list(self) -> Any:
        widgets = self._list()
        if getattr(g, "cd_page_clamped", False):
            flash(
                _(
                    "Page numbers stop at %(rows)s rows: use Next to go further, or narrow the search.",
                    rows=f"{self.max_offset():,}",
                ),
                "info",
            )
        return self.render_template(
            self.list_template,
            title=self.list_title,
            widgets=widgets,
            filter_specs=self.filter_specs(),
            search_term=request.args.get("q", "")[:SEARCH_MAX_LENGTH],
            has_search=bool(self.search_text_columns),
            view_name=type(self).__name__,
            export_args=self._export_args(),
        )

    def _export_args(self) -> dict[str, str]:
        """The search, filters and a valid sort of the current list, for the export link."""
        name = type(self).__name__
        args = {k: v for k, v in request.args.items() if k == "q" or k.startswith("f_")}
        if request.args.get(f"_oc_{name}") in (self.order_columns or []):
            args[f"_oc_{name}"] = request.args[f"_oc_{name}"]
            args[f"_od_{name}"] = "asc" if request.args.get(f"_od_{name}") == "asc" else "desc"
        return args

    # ---- show / edit / related views

    def visible_related_views(self) -> list[Any]:
        sm = self.appbuilder.sm
        return [v for v in self._related_views if sm.has_access("can_read", v.class_permission_name)]

    def _get_related_views_widgets(self, item, orders=None, pages=None, page_sizes=None, widgets=None, **args):
        widgets = widgets or {}
        widgets["related_views"] = []
        for view in self.visible_related_views():
            name = type(view).__name__
            order_column, order_direction = (orders or {}).get(name, ("", ""))
            widgets["related_views"].append(
                self._get_related_view_widget(
                    item,
                    view,
                    order_column,
                    order_direction,
                    page=(pages or {}).get(name),
                    page_size=(page_sizes or {}).get(name),
                )
            )
        return widgets

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk: str) -> Any:
        widgets = self._show(pk)
        return self.render_template(
            self.show_template, pk=pk, title=self.show_title, widgets=widgets,
            related_views=self.visible_related_views(),
        )  # fmt: skip

    @expose("/edit/<pk>", methods=["GET", "POST"])
    @has_access
    def edit(self, pk: str) -> Any:
        widgets = self._edit(pk)
        if not widgets:
            return self.post_edit_redirect()
        return self.render_template(
            self.edit_template, title=self.edit_title, widgets=widgets, related_views=self.visible_related_views()
        )

    @expose("/delete/<pk>", methods=["POST"])
    @has_access
    def delete(self, pk: str) -> Any:
        self._delete(pk)
        return self.post_delete_redirect()

    # ---- writes with clean errors

    def describe_db_error(self, exc: Exception) -> str:
        """Name the broken rule without echoing SQL or values (which could hold personal data)."""
        orig = getattr(exc, "orig", None)
        constraint = getattr(getattr(orig, "diag", None), "constraint_name", None)
        text = str(orig or "")
        if constraint is None:
            match = re.search(r"(?:CHECK|UNIQUE|NOT NULL|FOREIGN KEY) constraint failed: ?([\w.,\s]*)", text)
            constraint = match.group(1).strip() if match else None
        lowered = text.lower()
        if "unique" in lowered or "duplicate key" in lowered:
            return _("Not saved: a record with the same %(what)s already exists.", what=_humanise(constraint))
        if "foreign key" in lowered:
            return _("Not saved: a related record is missing or still refers to this one.")
        if "not null" in lowered or "null value" in lowered:
            return _("Not saved: %(what)s is required.", what=_humanise(constraint))
        if "check" in lowered:
            return _("Not saved: the rule “%(what)s” is not met.", what=_humanise(constraint))
        if isinstance(exc, DataError) or "too long" in lowered:
            return _("Not saved: a value is too long or of the wrong type.")
        return _("Not saved: the database refused the change.")

    def _within_write_scope(self, item: Any) -> bool:
        """After the flush, is the new or changed row still one this user may change (a coach's own)?"""
        model = self.datamodel.obj
        key = pk_column(model)
        stmt = sa.select(key).where(key == getattr(item, key.key), self.datamodel.scope(for_write=True))
        return self.datamodel.session.execute(stmt).first() is not None

    def _save(self, item: Any, *, is_new: bool) -> bool:
        session = self.datamodel.session
        try:
            if is_new:
                self.pre_add(item)
                session.add(item)
            else:
                self.pre_update(item)
            session.flush()
            if not self._within_write_scope(item):
                session.rollback()
                flash(_("Not saved: that record would be outside the records you may change."), "danger")
                return False
            session.commit()
        except (IntegrityError, DataError) as exc:
            session.rollback()
            flash(self.describe_db_error(exc), "danger")
            return False
        except JSONValidationError as exc:
            session.rollback()
            flash(_("%(field)s: %(problem)s", field=exc.field, problem=exc.problem), "danger")
            return False
        except (StatementError, SQLAlchemyError, ValueError) as exc:
            session.rollback()
            log.warning("console save refused: %s", type(exc).__name__)
            flash(_("Not saved: a value is not valid here."), "danger")
            return False
        if is_new:
            self.post_add(item)
        else:
            self.post_update(item)
        return True

    def _add(self) -> Any:
        form = self.add_form.refresh()
        if request.method == "POST" and form.validate():
            self.process_form(form, True)
            item = self.datamodel.obj()
            try:
                form.populate_obj(item)
            except (JSONValidationError, ValueError, TypeError) as exc:
                db.session.rollback()
                flash(str(exc) if isinstance(exc, JSONValidationError) else _("A value is not valid."), "danger")
                return self._get_add_widget(form=form)
            if self._save(item, is_new=True):
                flash(self.add_row_message, "success")
                return None
        self.update_redirect()
        return self._get_add_widget(form=form)

    def _edit(self, pk: Any) -> Any:
        item = self.datamodel.get(pk, self._base_filters)
        if not item:
            abort(404)
        if request.method == "POST":
            form = self.edit_form.refresh(request.form)
            form._id = self.datamodel.get_pk_value(item)
            if form.validate():
                self.process_form(form, False)
                try:
                    form.populate_obj(item)
                except (JSONValidationError, ValueError, TypeError) as exc:
                    db.session.rollback()
                    flash(str(exc) if isinstance(exc, JSONValidationError) else _("A value is not valid."), "danger")
                else:
                    if self._save(item, is_new=False):
                        flash(self.edit_row_message, "success")
                        return None
                    item = self.datamodel.get(pk, self._base_filters)
                    if item is None:
                        abort(404)
        else:
            form = self.edit_form.refresh(obj=item)
            self.prefill_form(form, pk)
        widgets = self._get_edit_widget(form=form)
        widgets = self._get_related_views_widgets(item, orders={}, pages={}, page_sizes={}, widgets=widgets)
        self.update_redirect()
        return widgets

    def _delete(self, pk: Any) -> None:
        item = self.datamodel.get(pk, self._base_filters)
        if not item:
            abort(404)
        session = self.datamodel.session
        try:
            self.pre_delete(item)
            session.delete(item)
            session.commit()
        except (IntegrityError, DataError) as exc:
            session.rollback()
            flash(self.describe_db_error(exc).replace(_("Not saved"), _("Not deleted")), "danger")
            return
        except ValueError as exc:
            session.rollback()
            flash(str(exc), "danger")
            return
        self.post_delete(item)
        flash(self.delete_row_message, "success")
        self.update_redirect()

    # ---- bulk actions: one scoped query for all selected rows

    def _require_action_permission(self, name: str) -> None:
        """Anonymous -> login, no permission -> 403; checked before anything about the action is revealed."""
        permission = self.get_action_permission_name(name) if name in self.actions else "can_write"
        if self.appbuilder.sm.has_access(permission, self.class_permission_name):
            return
        if not (g.user is not None and g.user.is_authenticated):
            abort(redirect(url_for(self.appbuilder.sm.auth_view.endpoint + ".login", next=request.url)))
        abort(403)

    @expose("/action/<string:name>/<pk>", methods=["POST"])
    def action(self, name: str, pk: str) -> Any:
        self._require_action_permission(name)
        action = self.actions.get(name)
        if action is None:
            abort(404)
        item = self.datamodel.get(pk)
        if item is None:
            abort(404)
        return action.func([item])

    @expose("/action_post", methods=["POST"])
    def action_post(self) -> Any:
        name = request.form.get("action", "")
        self._require_action_permission(name)
        action = self.actions.get(name)
        if action is None:
            abort(400)
        items = get_many_scoped(
            self.datamodel.session, self.datamodel.obj, g.user, request.form.getlist("rowid")[:MAX_PAGE_SIZE],
            for_write=True,
        )  # fmt: skip
        if not items:
            flash(_("No records selected (or none you may change)."), "warning")
            return redirect(self.get_redirect())
        return action.func(items)

    def run_bulk(self, items: Sequence[Any], change: Any, done_message: str) -> Any:
        """Apply ``change(items, actor)`` (a service function) in one transaction and report."""
        session = self.datamodel.session
        try:
            count = change(session, items, g.user)
            session.commit()
        except (IntegrityError, DataError) as exc:
            session.rollback()
            flash(self.describe_db_error(exc), "danger")
        except ValueError as exc:
            session.rollback()
            flash(str(exc), "danger")
        else:
            flash(done_message % {"count": count}, "success")
        return redirect(self.get_redirect())

    # ---- autocomplete and export

    @expose("/autocomplete/<column>")
    @has_access
    def autocomplete(self, column: str) -> Any:
        """Select2 results for a relation picker: scoped to the viewer, at most 20 per page."""
        allowed = set(self.filter_columns) | set(self.add_columns or []) | set(self.edit_columns or [])
        prop = sa.inspect(self.datamodel.obj).attrs.get(column)
        if column not in allowed or not isinstance(prop, orm.RelationshipProperty) or prop.uselist:
            abort(404)
        target = prop.mapper.class_
        resource = CoachdeskModelView.resource_for_model.get(target)
        if resource is None or not self.appbuilder.sm.has_access("can_read", resource):
            abort(403)
        term = request.args.get("q", request.args.get("term", "")).strip()[:SEARCH_MAX_LENGTH]
        try:
            page = min(max(int(request.args.get("page", "1")), 1), 50)
        except ValueError:
            page = 1
        columns = CoachdeskModelView.search_for_model.get(target, ())
        stmt = sa.select(target).where(scope_criteria(target, g.user)).options(orm.lazyload("*"))
        if term:
            if columns:
                stmt = stmt.where(sa.or_(*[text_match(target, c, term) for c in columns]))
            else:
                pk = coerce_pk(target, term)
                stmt = stmt.where(pk_column(target) == pk) if pk is not None else stmt.where(sa.false())
        order = [getattr(target, columns[0])] if columns and "." not in columns[0] else []
        stmt = stmt.order_by(*order, pk_column(target)).offset((page - 1) * AUTOCOMPLETE_LIMIT)
        rows = self.datamodel.session.scalars(stmt.limit(AUTOCOMPLETE_LIMIT + 1)).unique().all()
        key = pk_column(target).key
        results = [{"id": str(getattr(r, key)), "text": str(r)} for r in rows[:AUTOCOMPLETE_LIMIT]]
        return jsonify({"results": results, "pagination": {"more": len(rows) > AUTOCOMPLETE_LIMIT}})

    @expose("/export/")
    @has_access
    def export(self) -> Any:
        """The current filtered, sorted, scoped list as CSV, streamed; secret columns can never be in it."""
        columns = list(self.export_columns or self.list_columns)
        criteria = self.list_criteria(warn=False)
        order_column, order_direction = "", ""
        view_name = type(self).__name__
        if request.args.get(f"_oc_{view_name}") in (self.order_columns or []):
            order_column = request.args[f"_oc_{view_name}"]
            order_direction = "asc" if request.args.get(f"_od_{view_name}") == "asc" else "desc"
        elif self.base_order:
            order_column, order_direction = self.base_order
        csv_export.export_started.send(
            current_app._get_current_object(),
            resource=self.class_permission_name,
            user=_unproxy(g.user),
            columns=columns,
            filters={k: v for k, v in request.args.items()},
        )
        rows = self.datamodel.iter_rows(criteria, order_column, order_direction, self.eager_paths())
        header = [self._export_header(c) for c in columns]
        body = csv_export.stream_csv(
            header,
            rows,
            lambda row: [export_value(row, c) for c in columns],
            numeric=csv_export.numeric_columns(self.datamodel.obj, columns),
        )
        filename = f"{self.class_permission_name.lower()}-{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S}.csv"
        return Response(
            body,
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
        )

    def is_datetime_column(self, column: str) -> bool:
        """True for a timestamp column (possibly dotted through many-to-one relations)."""
        mapper = sa.inspect(self.datamodel.obj)
        *relations, last = column.split(".")
        for part in relations:
            prop = mapper.attrs.get(part)
            if not isinstance(prop, orm.RelationshipProperty):
                return False
            mapper = prop.mapper
        prop = mapper.attrs.get(last)
        return bool(getattr(prop, "columns", None)) and isinstance(column_type(prop.columns[0]), sa.DateTime)

    def _export_header(self, column: str) -> str:
        label = str(self.label_columns.get(column, column))
        # Machine-readable files keep ISO-8601 UTC; the header says so.
        return _("%(label)s (UTC)", label=label) if self.is_datetime_column(column) else label


def _unproxy(obj: Any) -> Any:
    """FAB's ``g.user`` is the ``current_user`` proxy; receivers may keep it past the request."""
    getter = getattr(obj, "_get_current_object", None)
    return getter() if getter is not None else obj


def _humanise(constraint: str | None) -> str:
    if not constraint:
        return _("value")
    name = constraint.split(".")[-1]
    name = re.sub(r"^(ck|uq|fk|ix|pk)_", "", name)
    return name.replace("_", " ")


__all__ = [
    "CoachdeskModelView",
    "ScopedSQLAInterface",
    "SecretColumnError",
    "display_value",
    "export_value",
    "is_secret",
    "MAX_PAGE_SIZE",
    "uuid",
]


def register_area(
    appbuilder: Any, category: str, category_label: Any, category_icon: str, entries: Sequence[tuple]
) -> None:
    """Add an area's views under one translated menu category: entries are (view, name, label, icon)."""
    for view, name, label, icon in entries:
        appbuilder.add_view(
            view,
            name,
            label=label,
            icon=icon,
            category=category,
            category_label=category_label,
            category_icon=category_icon,
        )


# --------------------------------------------------------------------------- REST


API_METHOD_PERMISSIONS = {"get": "read", "get_list": "read", "post": "write", "put": "write", "delete": "write"}


class CoachdeskModelRestApi(ModelRestApi):
    """Base for REST resources: read/write permissions, the same row scope, no secrets, UUID-safe routes.

    Exposes nothing unless configured (Superset's rule): list/show/add/edit columns must be explicit
    and may not name a secret column. ``/_info`` is off, because FAB fills it with whole related
    tables, unscoped. The datamodel must be a ``ScopedSQLAInterface``.
    """

    include_route_methods = {"get", "get_list", "post", "put", "delete"}
    method_permission_name = API_METHOD_PERMISSIONS
    page_size = DEFAULT_PAGE_SIZE
    max_page_size = MAX_PAGE_SIZE
    allow_browser_login = True

    def __init__(self) -> None:
        if not isinstance(self.datamodel, ScopedSQLAInterface):
            raise SecretColumnError(f"{type(self).__name__}: the datamodel must be a ScopedSQLAInterface")
        model = self.datamodel.obj
        for attr in ("list_columns", "show_columns", "add_columns", "edit_columns"):
            columns = getattr(self, attr, None)
            if not columns:
                raise SecretColumnError(f"{type(self).__name__}.{attr} must be explicit")
            for column in columns:
                if is_secret(model, column):
                    raise SecretColumnError(f"{type(self).__name__}.{attr} includes the secret column {column!r}")
        super().__init__()

    @expose("/<pk>", methods=["GET"])
    @protect()
    @safe
    @permission_name("get")
    @rison(get_item_schema)
    def get(self, pk: str, **kwargs: Any) -> Response:
        """One item by key (integer or UUID); a key of the wrong shape, or outside the scope, is a 404."""
        return self.get_headless(pk, **kwargs)
