"""The list page's search box and typed filters: what each filter column offers and the SQL it adds.

A column's filter kind (enum, bool, date, datetime, number, relation, text) is decided once, in
``filter_kind``; the filter form (``filter_specs``) and the query (``list_criteria``) both follow it.
A day in a date filter runs from midnight to midnight in the viewer's time zone.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import flash, request, url_for
from flask_babel import get_timezone
from flask_babel import gettext as _
from sqlalchemy import orm

from app.models import labels
from app.services.analytics.charting import MAX_YEAR, MIN_YEAR
from app.services.data_access import coerce_pk
from app.services.timezones import as_local
from app.web.views.base.columns import column_type

SEARCH_MAX_LENGTH = 200


@dataclass
class FilterSpec:
    """One typed filter on the list page; ``kind`` picks the widget and the parsing."""

    name: str
    label: str
    kind: str  # enum | bool | date | datetime | number | relation | text
    choices: list[tuple[str, str]] = field(default_factory=list)  # (code, label)
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


def filter_kind(prop: Any) -> str:
    """The filter a mapped attribute gets, from its SQL type (looking through TypeDecorators)."""
    if isinstance(prop, orm.RelationshipProperty):
        return "relation"
    ctype = column_type(prop.columns[0])
    if getattr(ctype, "enum_class", None) is not None:
        return "enum"
    if isinstance(ctype, sa.Boolean):
        return "bool"
    if isinstance(ctype, sa.DateTime):
        return "datetime"
    if isinstance(ctype, sa.Date):
        return "date"
    if isinstance(ctype, (sa.Integer, sa.Numeric)):
        return "number"
    return "text"


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


Criteria = tuple[list[Any], str | None]  # SQL criteria, or the problem that made the filter be ignored


def _relation_criteria(prop: Any, name: str, label: str, args: Mapping[str, str]) -> Criteria:
    raw = args.get(f"f_{name}", "").strip()
    if not raw:
        return [], None
    target = coerce_pk(prop.mapper.class_, raw)
    if target is None:
        return [], _("%(label)s: unknown record", label=label)
    return [list(prop.local_columns)[0] == target], None


def _enum_criteria(col: Any, enum_class: Any, raw: str, label: str) -> Criteria:
    if not raw:
        return [], None
    try:
        return [col == enum_class(raw)], None
    except ValueError:
        return [], _("%(label)s: unknown value %(value)s", label=label, value=raw)


def _bool_criteria(col: Any, raw: str, label: str) -> Criteria:
    if raw in ("1", "0"):
        return [col.is_(raw == "1")], None
    if raw:
        return [], _("%(label)s: choose yes or no", label=label)
    return [], None


def _date_criteria(col: Any, kind: str, name: str, label: str, args: Mapping[str, str]) -> Criteria:
    start_raw = args.get(f"f_{name}_from", "").strip()
    end_raw = args.get(f"f_{name}_to", "").strip()
    start = _parse_date(start_raw) if start_raw else None
    end = _parse_date(end_raw) if end_raw else None
    if (start_raw and start is None) or (end_raw and end is None):
        return [], _("%(label)s: dates must look like 2024-01-31", label=label)
    if any(day is not None and not MIN_YEAR <= day.year <= MAX_YEAR for day in (start, end)):
        return [], _(
            "%(label)s: dates must lie between %(first)s and %(last)s", label=label, first=MIN_YEAR, last=MAX_YEAR
        )
    if start and end and end < start:
        return [], _("%(label)s: the end is before the start", label=label)
    criteria = []
    if kind == "datetime":
        if start:
            criteria.append(col >= _local_midnight(start))
        if end:
            criteria.append(col < _local_midnight(end + dt.timedelta(days=1)))
    else:
        if start:
            criteria.append(col >= start)
        if end:
            criteria.append(col <= end)
    return criteria, None


def _number_criteria(col: Any, name: str, label: str, args: Mapping[str, str]) -> Criteria:
    low_raw = args.get(f"f_{name}_min", "").strip()
    high_raw = args.get(f"f_{name}_max", "").strip()
    low = _parse_number(low_raw) if low_raw else None
    high = _parse_number(high_raw) if high_raw else None
    if (low_raw and low is None) or (high_raw and high is None):
        return [], _("%(label)s: enter a number", label=label)
    if low is not None and high is not None and high < low:
        return [], _("%(label)s: the maximum is below the minimum", label=label)
    criteria = []
    if low is not None:
        criteria.append(col >= low)
    if high is not None:
        criteria.append(col <= high)
    return criteria, None


def filter_criteria(model: type, prop: Any, name: str, label: str, args: Mapping[str, str]) -> Criteria:
    """The criteria one filter column adds for these request args."""
    kind = filter_kind(prop)
    if kind == "relation":
        return _relation_criteria(prop, name, label, args)
    col = getattr(model, name)
    raw = args.get(f"f_{name}", "").strip()[:SEARCH_MAX_LENGTH]
    if kind == "enum":
        return _enum_criteria(col, column_type(prop.columns[0]).enum_class, raw, label)
    if kind == "bool":
        return _bool_criteria(col, raw, label)
    if kind in ("date", "datetime"):
        return _date_criteria(col, kind, name, label, args)
    if kind == "number":
        return _number_criteria(col, name, label, args)
    return ([col == raw] if raw else []), None


class FilterMixin:
    """The search box over ``search_text_columns`` and the typed filters of ``filter_columns``."""

    datamodel: Any
    search_text_columns: tuple[str, ...]
    filter_columns: tuple[str, ...]

    def filter_specs(self) -> list[FilterSpec]:
        mapper = sa.inspect(self.datamodel.obj)
        specs = []
        for name in self.filter_columns:
            prop = mapper.attrs.get(name)
            kind = filter_kind(prop)
            label = str(self._label(name))
            if kind == "relation":
                url = url_for(f"{type(self).__name__}.autocomplete", column=name)
                spec = FilterSpec(name, label, kind, url=url)
                raw = request.args.get(f"f_{name}", "")
                if raw:
                    obj = self.datamodel.get_related_obj(name, raw)
                    spec.values["eq"] = raw if obj is not None else ""
                    spec.selected_label = str(obj) if obj is not None else ""
                specs.append(spec)
                continue
            choices = labels.choices(column_type(prop.columns[0]).enum_class) if kind == "enum" else []
            spec = FilterSpec(name, label, kind, choices=choices)
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
            label = str(self._label(name))
            found, problem = filter_criteria(model, mapper.attrs.get(name), name, label, request.args)
            criteria.extend(found)
            if problem is not None:
                problems.append(problem)
        if warn:
            for problem in problems:
                flash(_("Filter ignored: %(problem)s", problem=problem), "warning")
        return criteria
