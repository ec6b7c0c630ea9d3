"""``CoachdeskModelRestApi``: the safe-by-default base of every REST resource.

A resource is declared, not programmed::

    class CustomerApi(CoachdeskModelRestApi):
        model = PlatformUser
        schema = CustomerSchema            # explicit marshmallow schema: only declared columns leave
        name, path, tag = "customers", "/customers", "Customers"
        key_type = "uuid"                  # or "int" (the route converter and the document follow)
        read_scope, write_scope = "customers:read", "customers:write"
        filters = {"status": equals(PlatformUser.status, fields.Enum(UserStatus))}
        order_column = None                # keyset order: (order_column, pk); None = pk alone
        update_schema = CustomerUpdateSchema   # PATCH, with If-Match; implement ``apply_update``

    CustomerApi.register(api_bp)

What the base guarantees:

* A schema naming a secret column (``info={"secret": True}``) is refused when the class is defined.
* Every read goes through ``scoped_select(model, actor, ..., for_write=)`` (``app.policy.scope``),
  the actor coming from the client's subject (``app.web.api.actor``); a row outside it is a 404.
* ``GET <path>``: typed filters, ``limit``/``cursor`` paging, the ``{"data", "next_cursor"}`` envelope.
* ``GET <path>/<key>``: one row with its ``ETag``.
* ``PATCH <path>/<key>`` (when ``update_schema`` is set): a JSON body (415/413/400/422), ``If-Match``
  (428/412), the change made by ``apply_update`` through a service, committed here, audited with
  the client as actor; the answer is the new representation and ETag.

Subclasses add more operations with ``registry.operation`` and reuse ``find``, ``represent``,
``scoped``, ``commit`` and ``actor``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import sqlalchemy as sa
from flask import Blueprint, Response, jsonify
from flask_babel import gettext as _
from marshmallow import Schema

from app.extensions import db
from app.policy.scope import Actor, scoped_select
from app.web.api.auth import current_actor
from app.web.api.bodies import json_body
from app.web.api.etag import ETAG_HEADER, IF_MATCH_PARAMETER, etag_for, require_if_match
from app.web.api.paging import envelope_schema, page, primary_key
from app.web.api.problems import ApiProblem
from app.web.api.query import Filter, parse_query, query_parameters, query_schema
from app.web.api.registry import operation
from app.web.views.base.columns import SecretColumnError, is_secret

# Largest value an INTEGER key holds; a bigger id names no row (and must not reach the database).
MAX_INT_KEY = 2**31 - 1


def schema_columns(schema: type[Schema]) -> list[str]:
    """The model attributes a schema reads or writes (``attribute`` or the field name)."""
    return [field.attribute or name for name, field in schema._declared_fields.items()]


class CoachdeskModelRestApi:
    """Base of REST resources (see the module docstring for the declaration and what it guarantees)."""

    model: ClassVar[type]
    schema: ClassVar[type[Schema]]
    update_schema: ClassVar[type[Schema] | None] = None
    name: ClassVar[str]
    path: ClassVar[str]
    tag: ClassVar[str]
    read_scope: ClassVar[str]
    write_scope: ClassVar[str | None] = None
    key_type: ClassVar[str] = "int"
    filters: ClassVar[dict[str, Filter]] = {}
    # Loader options for every read (e.g. load only what ``represent`` needs instead of the model's
    # eager relationships, which the console's pages want but an API row does not).
    load_options: ClassVar[tuple[Any, ...]] = ()
    order_column: ClassVar[str | None] = None
    descending: ClassVar[bool] = False
    version_column: ClassVar[str | None] = None
    summary_list: ClassVar[str] = ""
    summary_get: ClassVar[str] = ""
    summary_update: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "model" not in cls.__dict__:
            return  # an intermediate base
        for attr in ("schema", "update_schema"):
            schema = getattr(cls, attr, None)
            if schema is None:
                continue
            for column in schema_columns(schema):
                if is_secret(cls.model, column):
                    raise SecretColumnError(f"{cls.__name__}.{attr} includes the secret column {column!r}")
        if cls.key_type not in ("int", "uuid"):
            raise ValueError(f"{cls.__name__}.key_type must be 'int' or 'uuid'")

    # -- data layer -------------------------------------------------------------------------------

    @classmethod
    def actor(cls) -> Actor:
        return current_actor()

    @classmethod
    def scoped(cls, *criteria: Any, for_write: bool = False, actor: Actor | None = None) -> sa.Select:
        """``SELECT model`` limited to the rows the client's actor may see (or change)."""
        stmt = scoped_select(cls.model, actor or cls.actor(), *criteria, for_write=for_write)
        return stmt.options(*cls.load_options) if cls.load_options else stmt

    @classmethod
    def find(cls, key: Any, *, for_write: bool = False, lock: bool = False) -> Any:
        """The row with ``key`` inside the client's scope, or a 404 problem (outside = unknown)."""
        if cls.key_type == "int" and not (isinstance(key, int) and 0 < key <= MAX_INT_KEY):
            raise ApiProblem(404, _("No such resource."))
        stmt = cls.scoped(primary_key(cls.model) == key, for_write=for_write)
        if lock:
            stmt = stmt.with_for_update(of=cls.model).execution_options(populate_existing=True)
        row = db.session.scalars(stmt).first()
        if row is None:
            raise ApiProblem(404, _("No such resource."))
        return row

    @classmethod
    def list_criteria(cls, args: dict[str, Any]) -> list[Any]:
        """The WHERE clauses of the parsed filters (subclasses may add checks that span filters)."""
        return [cls.filters[key].criteria(value) for key, value in args.items() if key in cls.filters]

    # -- representation ----------------------------------------------------------------------------

    @classmethod
    def preload(cls, rows: list[Any]) -> None:
        """Load what ``represent`` needs for a whole page in a few queries (a hook; default none)."""

    @classmethod
    def dumper(cls) -> Schema:
        """The resource's schema, built once: a marshmallow schema deep-copies its fields when built,
        which done per row was a third of a page's time. Dumping does not change the instance."""
        schema = cls.__dict__.get("_dumper")
        if schema is None:
            schema = cls.schema()
            cls._dumper = schema
        return schema

    @classmethod
    def represent(cls, row: Any) -> dict[str, Any]:
        return cls.dumper().dump(row)

    @classmethod
    def etag(cls, row: Any, representation: dict[str, Any] | None = None) -> str:
        return etag_for(row, representation if representation is not None else cls.represent(row), cls.version_column)

    @classmethod
    def one_response(cls, row: Any, status: int = 200) -> Response:
        body = cls.represent(row)
        response = jsonify(body)
        response.status_code = status
        response.headers["ETag"] = cls.etag(row, body)
        return response

    @staticmethod
    def commit() -> None:
        db.session.commit()

    # -- writes ------------------------------------------------------------------------------------

    @classmethod
    def apply_update(cls, row: Any, data: dict[str, Any], actor: Actor) -> None:
        """Make the change through the service that owns the rules (subclasses with ``update_schema``)."""
        raise NotImplementedError

    # -- routes ------------------------------------------------------------------------------------

    @classmethod
    def key_rule(cls) -> str:
        return f"{cls.path}/<{cls.key_type}:key>"

    @classmethod
    def register(cls, bp: Blueprint) -> None:
        """Put list, get (and PATCH when ``update_schema`` is set) on ``bp`` with their documentation."""
        base = cls.__name__.removesuffix("Api")
        query = query_schema(f"{base}ListQuery", cls.filters)
        envelope = envelope_schema(f"{base}Page", cls.schema)

        def list_rows() -> Any:
            args = parse_query(query)
            stmt = cls.scoped(*cls.list_criteria(args))
            rows, next_cursor = page(
                stmt,
                cls.model,
                limit=args["limit"],
                cursor=args.get("cursor"),
                order_column=cls.order_column,
                descending=cls.descending,
            )
            cls.preload(rows)
            return jsonify({"data": [cls.represent(row) for row in rows], "next_cursor": next_cursor})

        operation(
            bp,
            cls.path,
            "GET",
            endpoint=f"{cls.name}_list",
            summary=cls.summary_list or f"List {cls.name}",
            tag=cls.tag,
            scope=cls.read_scope,
            description="Rows the client may see, in pages; filters combine with AND.",
            parameters=query_parameters(query),
            responses={200: ("One page of rows.", envelope)},
            problems=(422,),
        )(list_rows)

        def get_row(key: Any) -> Any:
            return cls.one_response(cls.find(key))

        operation(
            bp,
            cls.key_rule(),
            "GET",
            endpoint=f"{cls.name}_get",
            summary=cls.summary_get or f"One of {cls.name}",
            tag=cls.tag,
            scope=cls.read_scope,
            responses={200: ("The row, with its ETag.", cls.schema)},
            response_headers={200: ETAG_HEADER},
        )(get_row)

        if cls.update_schema is None or cls.write_scope is None:
            return
        update_schema = cls.update_schema

        def update_row(key: Any) -> Any:
            actor = cls.actor()
            data = json_body(update_schema, partial=True)
            row = cls.find(key, for_write=True, lock=True)
            require_if_match(cls.etag(row))
            try:
                cls.apply_update(row, data, actor)
                db.session.flush()
            except Exception:
                db.session.rollback()
                raise
            cls.commit()
            return cls.one_response(cls.find(key))

        operation(
            bp,
            cls.key_rule(),
            "PATCH",
            endpoint=f"{cls.name}_update",
            summary=cls.summary_update or f"Update one of {cls.name}",
            tag=cls.tag,
            scope=cls.write_scope,
            description="Send only the fields to change, with the ETag you read as If-Match.",
            parameters=[IF_MATCH_PARAMETER],
            request_schema=update_schema,
            responses={200: ("The updated row, with its new ETag.", cls.schema)},
            response_headers={200: ETAG_HEADER},
            problems=(409, 412, 413, 415, 422, 428),
        )(update_row)
