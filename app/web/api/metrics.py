"""``/metrics``: progress metrics (weight, steps, heart rate...) read and recorded by client apps and wearables.

Reads are a ``CoachdeskModelRestApi`` (row scope: a coach's customers, a customer app's own customer).
Writes go through ``app.services.metrics.ingest`` (checks, the customer the client may record for,
wearable authorization, idempotency by ``client_key``, events, audit): ``POST /metrics`` records one
reading (201 new, 200 when its key was stored already, 422 refused), ``POST /metrics/batch`` up to
1,000 (200 when every reading is stored, 207 when some were refused, with one result per reading;
413 over 1,000). A customer app's readings are for its customer, with or without ``customer_id``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import jsonify
from flask_babel import gettext as _
from marshmallow import Schema, fields, validate

from app.extensions import db
from app.models.analytics import MetricSource, ProgressMetric
from app.services.metrics.ingest import MAX_BATCH, BatchTooLarge, ItemStatus, ingest, record_one
from app.services.metrics.readings import OLDEST
from app.web.api.auth import require_principal
from app.web.api.blueprint import api_bp
from app.web.api.bodies import read_json
from app.web.api.problems import ApiProblem
from app.web.api.query import at_least, before, equals
from app.web.api.registry import operation
from app.web.api.resource import CoachdeskModelRestApi

BATCH_MAX_BYTES = 1024 * 1024  # 1,000 readings of ~300 bytes, with room
_CODE = validate.Length(1, 50)
_WHEN = {"format": "date-time", "description": "ISO 8601 with an offset."}


class MetricSchema(Schema):
    id = fields.Integer(required=True)
    customer_id = fields.UUID(required=True)
    metric_type = fields.String(required=True, metadata={"examples": ["weight", "steps", "resting_heart_rate"]})
    value = fields.Float(required=True, metadata={"description": "At most 3 decimals; |value| < 10^11."})
    unit = fields.String(required=True, metadata={"examples": ["kg", "steps", "bpm"]})
    recorded_at = fields.DateTime(required=True)
    source = fields.Enum(MetricSource, required=True)
    client_key = fields.String(allow_none=True, metadata={"description": "The sender's id for the reading."})


class ReadingSchema(Schema):
    """A reading as sent (documentation: the service checks each field and names the faulty ones)."""

    customer_id = fields.UUID(metadata={"description": "Required unless the client acts for one customer."})
    metric_type = fields.String(
        required=True, validate=_CODE, metadata={"pattern": "^[a-z][a-z0-9_]{0,49}$", "examples": ["weight"]}
    )
    value = fields.Float(required=True, metadata={"description": "A JSON number, |value| < 10^11; kept to 3 decimals."})
    unit = fields.String(required=True, validate=validate.Length(1, 20), metadata={"examples": ["kg"]})
    recorded_at = fields.DateTime(
        metadata={"description": f"ISO 8601 with an offset, from {OLDEST.date()} to an hour ahead; default now."}
    )
    source = fields.Enum(MetricSource, metadata={"description": "WEARABLE needs the customer's wearable link."})
    client_key = fields.String(
        validate=validate.Length(1, 64),
        metadata={
            "pattern": "^[A-Za-z0-9._:~-]{1,64}$",
            "description": "Your id for the reading: resending is a no-op.",
        },
    )


class BatchSchema(Schema):
    items = fields.List(fields.Nested(ReadingSchema), required=True, validate=validate.Length(1, MAX_BATCH))


class ItemResultSchema(Schema):
    index = fields.Integer(required=True, metadata={"description": "Position in `items`."})
    status = fields.Enum(ItemStatus, by_value=True, required=True)
    id = fields.Integer(metadata={"description": "The stored reading (new, or the one a duplicate repeats)."})
    errors = fields.Dict(
        keys=fields.String(), values=fields.List(fields.String()), metadata={"description": "field -> problems"}
    )


class BatchResultSchema(Schema):
    created = fields.Integer(required=True)
    duplicates = fields.Integer(required=True)
    errors = fields.Integer(required=True)
    items = fields.List(fields.Nested(ItemResultSchema), required=True)


_AWARE = fields.AwareDateTime(default_timezone=dt.UTC, metadata=_WHEN)


class MetricApi(CoachdeskModelRestApi):
    model = ProgressMetric
    schema = MetricSchema
    name, path, tag = "metrics", "/metrics", "Progress metrics"
    read_scope, write_scope = "metrics:read", "metrics:write"
    summary_list, summary_get = "List progress metrics", "One progress metric"
    order_column, descending = "recorded_at", True
    filters = {
        "customer_id": equals(ProgressMetric.customer_id, fields.UUID()),
        "metric_type": equals(ProgressMetric.metric_type, fields.String(validate=_CODE)),
        "source": equals(ProgressMetric.source, fields.Enum(MetricSource)),
        "recorded_from": at_least(ProgressMetric.recorded_at, _AWARE),
        "recorded_before": before(ProgressMetric.recorded_at, _AWARE),
    }

    @classmethod
    def represent(cls, row: Any) -> dict[str, Any]:
        return cls.dumper().dump(row)


MetricApi.register(api_bp)


def _ingest(items: list[Any]) -> Any:
    principal = require_principal()
    try:
        return ingest(
            items, actor=MetricApi.actor(), default_customer=principal.customer_id, client_id=principal.client_id
        )
    except BatchTooLarge as error:
        raise ApiProblem(413, str(error)) from None


def _item(result: dict[str, Any]) -> dict[str, Any]:
    if "errors" in result:  # field -> [messages], as in problem details
        result["errors"] = {field: [message] for field, message in result["errors"].items()}
    return result


@operation(
    api_bp,
    "/metrics",
    "POST",
    endpoint="metrics_create",
    summary="Record a progress metric",
    tag=MetricApi.tag,
    scope="metrics:write",
    description="Idempotent by `client_key`: resending a reading answers 200 with the stored one.",
    request_schema=ReadingSchema,
    responses={201: ("Recorded.", MetricSchema), 200: ("Already recorded under this client_key.", MetricSchema)},
    problems=(413, 415, 422),
)
def create_metric() -> Any:
    document = read_json()
    if not isinstance(document, dict):
        raise ApiProblem(422, _("The body must be one reading, a JSON object."))
    principal = require_principal()
    result = record_one(
        document, actor=MetricApi.actor(), default_customer=principal.customer_id, client_id=principal.client_id
    )
    if result.status == ItemStatus.ERROR:
        db.session.rollback()
        raise ApiProblem(422, _("The reading was refused."), errors={k: [v] for k, v in result.errors.items()})
    MetricApi.commit()
    return MetricApi.one_response(MetricApi.find(result.id), 201 if result.status == ItemStatus.CREATED else 200)


@operation(
    api_bp,
    "/metrics/batch",
    "POST",
    endpoint="metrics_batch",
    summary="Record up to 1,000 progress metrics",
    tag=MetricApi.tag,
    scope="metrics:write",
    description="One result per reading, in order: `created`, `duplicate` (its `client_key` was stored "
    "already) or `error` with the reasons; the others are stored all the same. 200 when none was refused, "
    "207 when some were. Over 1,000 readings: 413, nothing stored.",
    request_schema=BatchSchema,
    responses={200: ("Every reading stored.", BatchResultSchema), 207: ("Some refused.", BatchResultSchema)},
    problems=(413, 415, 422),
)
def create_batch() -> Any:
    document = read_json(max_bytes=BATCH_MAX_BYTES)
    if not isinstance(document, dict) or not isinstance(document.get("items"), list) or set(document) != {"items"}:
        raise ApiProblem(422, _("The body must be an object with one field, items: a list of readings."),
                         errors={"items": [_("A list of 1 to 1000 readings.")]})  # fmt: skip
    items = document["items"]
    if not items:
        raise ApiProblem(422, _("Send at least one reading."), errors={"items": [_("A list of 1 to 1000 readings.")]})
    result = _ingest(items)
    MetricApi.commit()
    body = {
        "created": result.created,
        "duplicates": result.duplicates,
        "errors": result.errors,
        "items": [_item(item.as_dict()) for item in result.items],
    }
    response = jsonify(body)
    response.status_code = 207 if result.errors else 200
    return response
