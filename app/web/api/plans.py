"""``/plans`` and ``/plan-items``: a customer's plans and their days; complete, skip, give feedback.

Reads are row-scoped like the console's (a coach's customers, a customer app's own plans). The
writes are the training service's (``app.services.training.plan_progress``): its grant, scope and
state rules; a state that forbids the change is a 409, bad input a 422.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from marshmallow import Schema, fields, validate
from sqlalchemy.orm import joinedload, lazyload

from app.extensions import db
from app.models.training import CompletionState, CustomerPlan, ItemType, PlanItem, PlanStatus
from app.services.training import plan_progress
from app.web.api.blueprint import api_bp
from app.web.api.bodies import json_body
from app.web.api.etag import ETAG_HEADER, IF_MATCH_PARAMETER, require_if_match
from app.web.api.query import Filter, at_least, equals
from app.web.api.refusals import service_refusals
from app.web.api.registry import operation
from app.web.api.resource import CoachdeskModelRestApi

_DAY = {"description": "A date, YYYY-MM-DD."}


class PlanSchema(Schema):
    id = fields.Integer(required=True)
    customer_id = fields.UUID(required=True)
    program_id = fields.Integer(required=True)
    program_title = fields.Function(
        lambda plan: plan.program.title if plan.program else None, metadata={"type": ["string", "null"]}
    )
    start_date = fields.Date(required=True)
    end_date = fields.Date(allow_none=True)
    status = fields.Enum(PlanStatus, required=True)
    start_week = fields.Integer(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class PlanItemSchema(Schema):
    id = fields.Integer(required=True)
    plan_id = fields.Integer(required=True)
    customer_id = fields.Function(
        lambda item: str(item.plan.customer_id), required=True, metadata={"type": "string", "format": "uuid"}
    )
    scheduled_date = fields.Date(required=True)
    item_type = fields.Enum(ItemType, required=True)
    item_id = fields.Integer(required=True)
    substitution_item_id = fields.Integer(allow_none=True)
    order_index = fields.Integer(required=True)
    completion_state = fields.Enum(CompletionState, required=True)
    completion_at = fields.DateTime(allow_none=True)
    feedback_text = fields.String(allow_none=True)


class CompleteSchema(Schema):
    partial = fields.Boolean(load_default=False, metadata={"description": "Done in part (PARTIAL)."})
    completed_at = fields.AwareDateTime(
        default_timezone=dt.UTC, metadata={"description": "When it was done (default now); not in the future."}
    )
    feedback = fields.String(validate=validate.Length(max=plan_progress.MAX_FEEDBACK))


class FeedbackSchema(Schema):
    text = fields.String(required=True, validate=validate.Length(max=plan_progress.MAX_FEEDBACK))


def _date(**meta: Any) -> fields.Date:
    return fields.Date(metadata={**_DAY, **meta})


class PlanApi(CoachdeskModelRestApi):
    model = CustomerPlan
    schema = PlanSchema
    name, path, tag = "plans", "/plans", "Plans"
    read_scope = "plans:read"
    summary_list, summary_get = "List customer plans", "One customer plan"
    order_column = "start_date"
    filters = {
        "customer_id": equals(CustomerPlan.customer_id, fields.UUID()),
        "status": equals(CustomerPlan.status, fields.Enum(PlanStatus)),
        "active_on": Filter(
            _date(description="Plans running on this day."),
            lambda day: (
                (CustomerPlan.start_date <= day) & ((CustomerPlan.end_date.is_(None)) | (CustomerPlan.end_date >= day))
            ),
        ),
    }


class PlanItemApi(CoachdeskModelRestApi):
    model = PlanItem
    schema = PlanItemSchema
    name, path, tag = "plan_items", "/plan-items", "Plans"
    read_scope, write_scope = "plans:read", "plans:write"
    summary_list, summary_get = "List plan items (a plan's days)", "One plan item"
    order_column = "scheduled_date"
    # A row needs its plan's customer id, nothing of the plan's own eager relationships (customer,
    # program, their creators and roles): one join instead of six.
    load_options = (lazyload("*"), joinedload(PlanItem.plan).lazyload("*"))
    filters = {
        "plan_id": equals(PlanItem.plan_id, fields.Integer(validate=validate.Range(1, 2**31 - 1))),
        "state": equals(PlanItem.completion_state, fields.Enum(CompletionState)),
        "scheduled_from": at_least(PlanItem.scheduled_date, _date(description="Items on or after this day.")),
        "scheduled_to": Filter(
            _date(description="Items on or before this day."), lambda day: PlanItem.scheduled_date <= day
        ),
    }


PlanApi.register(api_bp)
PlanItemApi.register(api_bp)

_ITEM = f"{PlanItemApi.path}/<int:key>"
_ITEM_RESPONSES = {200: ("The plan item as it is now, with its ETag.", PlanItemSchema)}


def _item_response(key: int) -> Any:
    db.session.commit()
    return PlanItemApi.one_response(PlanItemApi.find(key))


@operation(
    api_bp, f"{_ITEM}/complete", "POST", endpoint="plan_items_complete", summary="Complete a plan item",
    tag="Plans", scope="plans:write", request_schema=CompleteSchema, responses=_ITEM_RESPONSES,
    response_headers={200: ETAG_HEADER}, problems=(409, 413, 415, 422),
    description="Marks a pending, partial or missed item COMPLETED (or PARTIAL), optionally with feedback.",
)  # fmt: skip
def complete(key: int) -> Any:
    data = json_body(CompleteSchema)
    item = PlanItemApi.find(key, for_write=True)
    with service_refusals():
        plan_progress.complete_item(
            PlanItemApi.actor(),
            item.id,
            partial=data["partial"],
            at=data.get("completed_at"),
            feedback=data.get("feedback"),
        )
    return _item_response(key)


@operation(
    api_bp, f"{_ITEM}/skip", "POST", endpoint="plan_items_skip", summary="Skip a pending plan item",
    tag="Plans", scope="plans:write", responses=_ITEM_RESPONSES, response_headers={200: ETAG_HEADER},
    problems=(409,), description="A skipped item no longer counts as due. Send no body.",
)  # fmt: skip
def skip(key: int) -> Any:
    item = PlanItemApi.find(key, for_write=True)
    with service_refusals():
        plan_progress.skip_item(PlanItemApi.actor(), item.id)
    return _item_response(key)


@operation(
    api_bp, f"{_ITEM}/feedback", "PUT", endpoint="plan_items_feedback", summary="Set the feedback on a plan item",
    tag="Plans", scope="plans:write", parameters=[IF_MATCH_PARAMETER], request_schema=FeedbackSchema,
    responses=_ITEM_RESPONSES, response_headers={200: ETAG_HEADER}, problems=(412, 413, 415, 422, 428),
    description="Replaces the item's feedback text (empty clears it); needs the item's ETag as If-Match.",
)  # fmt: skip
def feedback(key: int) -> Any:
    data = json_body(FeedbackSchema)
    item = PlanItemApi.find(key, for_write=True, lock=True)
    require_if_match(PlanItemApi.etag(item))
    with service_refusals():
        plan_progress.give_feedback(PlanItemApi.actor(), item.id, data["text"])
    return _item_response(key)


__all__ = ["PlanApi", "PlanItemApi"]
