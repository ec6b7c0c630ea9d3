"""What every console JSON endpoint shares: the acting account, error replies, and a bounded JSON body.

The program builder, plan assignment and the schedule calendar answer their page's script with
JSON; they read bodies and refuse them the same way, so the helpers live here, not in one page.
"""

from __future__ import annotations

import json
from typing import Any

from flask import g, jsonify, request
from flask_babel import gettext as _

from app.policy.scope import Actor

MAX_SAVE_BYTES = 1024 * 1024


def current_actor() -> Actor:
    """The signed-in console account as the services' actor (same row scope as the console lists)."""
    return Actor.of(g.user)


def json_error(message: str, status: int = 400, **extra: Any) -> Any:
    return jsonify({"error": message, **extra}), status


def read_json_body(max_bytes: int = MAX_SAVE_BYTES) -> Any:
    """The request's JSON body, or a (response, status) pair describing why it is unusable."""
    if request.content_length is not None and request.content_length > max_bytes:
        return None, json_error(_("The request is too large (at most %(kb)s KB).", kb=max_bytes // 1024), 400)
    raw = request.get_data(cache=False)
    if len(raw) > max_bytes:
        return None, json_error(_("The request is too large (at most %(kb)s KB).", kb=max_bytes // 1024), 400)
    try:
        return json.loads(raw), None
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        return None, json_error(_("The request body is not valid JSON: %(problem)s", problem=str(exc)[:200]), 400)
