"""The generated CRUD views for all 45 seed entities, one module per seed area."""

from __future__ import annotations

from typing import Any

from app.web.views import (
    analytics,
    automation,
    commerce,
    compliance,
    customers,
    engagement,
    identity,
    scheduling,
    training,
)

AREAS = (identity, customers, commerce, training, scheduling, engagement, analytics, automation, compliance)


def register(appbuilder: Any) -> None:
    for area in AREAS:
        area.register(appbuilder)
