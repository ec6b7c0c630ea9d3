"""``GET /api/v1/me``: who the key belongs to, so a client can check its setup."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from marshmallow import Schema, fields

from app.web.api.actor import effective_scopes
from app.web.api.auth import require_principal
from app.web.api.blueprint import api_bp
from app.web.api.registry import operation


class ClientSchema(Schema):
    name = fields.String(required=True)
    scopes = fields.List(fields.String(), required=True)
    usable_scopes = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "The scopes it may use now: held, and granted to whom it acts for."},
    )
    rate_limit = fields.Integer(required=True, metadata={"description": "Requests per minute."})
    coach_id = fields.UUID(allow_none=True, metadata={"description": "Set when the client acts for one coach."})
    customer_id = fields.UUID(allow_none=True, metadata={"description": "Set when the client acts for one customer."})


@operation(
    api_bp,
    "/me",
    "GET",
    summary="The calling API client",
    tag="Client",
    scope=None,
    responses={200: ("The client, its scopes and its subject.", ClientSchema)},
)
def me() -> Any:
    principal = require_principal()
    return jsonify(
        ClientSchema().dump(
            {
                "name": principal.name,
                "scopes": sorted(principal.scopes),
                "usable_scopes": sorted(effective_scopes(principal)),
                "rate_limit": principal.rate_limit,
                "coach_id": principal.coach_id,
                "customer_id": principal.customer_id,
            }
        )
    )
