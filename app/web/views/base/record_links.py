"""Links between the entity lists and their charts, written in the list page's own filter arguments.

Services describe the records behind a figure (``RecordsQuery``: equality filters and a date
range); only here do they become a URL, so routes and filter names are known in one place. A
query the list cannot express gets no link: a link showing other records than the bar is worse.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from flask import url_for
from sqlalchemy import orm

from app.extensions import appbuilder
from app.services.analytics import entity_charts as ec
from app.web.views.base.filters import FilterMixin, filter_kind

Args = dict[str, str]


def list_view(resource: str) -> Any | None:
    """The registered list view of an entity resource (the one with typed filters)."""
    for view in appbuilder.baseviews:
        if isinstance(view, FilterMixin) and getattr(view, "class_permission_name", None) == resource:
            return view
    return None


def list_filter_args(args: Mapping[str, str]) -> Args:
    """The list's search and filter arguments among request args (non-empty ``q`` and ``f_*``)."""
    return {k: args.get(k, "") for k in args if ec.is_list_filter_arg(k) and args.get(k)}


def _raw(value: Any) -> str:
    return str(value.value if isinstance(value, enum.Enum) else value)


def _equal_args(view: Any, name: str, value: Any) -> Args | None:
    if value is None:  # the list has no "is empty" filter
        return None
    mapper = sa.inspect(view.datamodel.obj)
    if name in view.filter_columns:
        kind = filter_kind(mapper.attrs[name])
        if kind == "bool":
            return {f"f_{name}": "1" if value else "0"}
        if kind == "number":
            return {f"f_{name}_min": _raw(value), f"f_{name}_max": _raw(value)}
        if kind in ("enum", "text"):
            return {f"f_{name}": _raw(value)}
        return None
    for relation in view.filter_columns:  # a foreign key is filtered through its relation
        prop = mapper.attrs.get(relation)
        if isinstance(prop, orm.RelationshipProperty) and [c.key for c in prop.local_columns] == [name]:
            return {f"f_{relation}": _raw(value)}
    return None


def _date(raw: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat((raw or "").strip()[:10])
    except ValueError:
        return None


def _date_args(view: Any, entity: ec.EntityChart, query: ec.RecordsQuery, carried: Args) -> Args | None:
    if query.date_from is None and query.date_to is None:
        return {}
    if entity.time is None or entity.time not in view.filter_columns:
        return None
    out: Args = {}
    for suffix, day, pick in (("from", query.date_from, max), ("to", query.date_to, min)):
        if day is None:
            continue
        earlier = _date(carried.get(f"f_{entity.time}_{suffix}"))  # both apply: keep the narrower
        out[f"f_{entity.time}_{suffix}"] = (pick(day, earlier) if earlier else day).isoformat()
    return out


def list_args(view: Any, query: ec.RecordsQuery, carried: Args | None = None) -> Args | None:
    """The list's arguments selecting ``query``'s records (on top of ``carried`` list filters), or None."""
    entity = ec.get_entity(query.entity)
    args: Args = dict(carried or {})
    for name, value in query.equals.items():
        found = _equal_args(view, name, value)
        if found is None:
            return None
        for key, raw in found.items():
            if args.get(key, raw) != raw:  # the chart intersects both: a different value shows nothing
                return None
            args[key] = raw
    dates = _date_args(view, entity, query, args)
    if dates is None:
        return None
    return {**args, **dates}


def records_url(query: ec.RecordsQuery, carried: Args | None = None) -> str | None:
    """The list page showing exactly ``query``'s records, or None when the list cannot filter so."""
    view = list_view(ec.get_entity(query.entity).resource)
    if view is None:
        return None
    args = list_args(view, query, carried)
    if args is None:
        return None
    return url_for(f"{type(view).__name__}.list", **args)


def chart_url(view: Any, args: Mapping[str, str]) -> str | None:
    """The entity chart of a list view, carrying the list's current search and filters."""
    entity = ec.REGISTRY.get(str(getattr(view, "class_permission_name", "")).lower())
    if entity is None or entity.model is not view.datamodel.obj:
        return None
    return url_for(f"{entity.resource}ChartView.chart", **list_filter_args(args))
