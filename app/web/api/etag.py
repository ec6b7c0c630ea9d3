"""ETags and ``If-Match``: optimistic concurrency for every update the API accepts.

``etag_for(row, representation, version_column)`` is ``"v<version>"`` where the model keeps an edit
counter, else a hash of the JSON representation the client saw (so any visible change moves it).
``require_if_match(current)`` answers 428 without ``If-Match`` and 412 when none of its tags is the
current one (``*`` matches); weak tags (``W/"..."``) compare by their value.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from flask import request
from flask_babel import gettext as _

from app.web.api.problems import ApiProblem

ETAG_HEADER = {
    "ETag": {
        "description": "The representation's version; send it back as If-Match to update.",
        "schema": {"type": "string"},
    }
}
IF_MATCH_PARAMETER = {
    "name": "If-Match",
    "in": "header",
    "required": True,
    "description": "The ETag of the representation this change is based on (from GET).",
    "schema": {"type": "string", "maxLength": 200},
}


def etag_for(row: Any, representation: dict[str, Any], version_column: str | None = None) -> str:
    if version_column is not None:
        return f'"v{getattr(row, version_column)}"'
    text = json.dumps(representation, sort_keys=True, default=str, separators=(",", ":"))
    return '"' + hashlib.sha256(text.encode()).hexdigest()[:32] + '"'


def _tags(header: str) -> set[str]:
    tags = set()
    for part in header.split(","):
        tag = part.strip()
        if tag.startswith("W/"):
            tag = tag[2:]
        if tag:
            tags.add(tag)
    return tags


def require_if_match(current: str) -> None:
    header = request.headers.get("If-Match")
    if header is None or not header.strip():
        raise ApiProblem(428, _("Send the ETag you read as 'If-Match' to update this resource."))
    tags = _tags(header)
    if "*" not in tags and current not in tags:
        raise ApiProblem(412, _("The resource changed since you read it; read it again and retry."))
