"""Translated labels for the properties and codes of the JSON Schemas in ``app.models.json_schemas``.

The generated JSON forms and show pages read these; a property or code not listed is shown humanized
("target_weight_kg" -> "Target weight kg"), and a schema's own ``title`` wins over both.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from app.models import labels
from app.models.labels import humanize

PROPERTY_LABELS: dict[str, Any] = {
    # goals
    "primary": _l("Primary goal"),
    "secondary": _l("Other goals"),
    "target_weight_kg": _l("Target weight (kg)"),
    "weekly_sessions": _l("Sessions a week"),
    "notes": _l("Notes"),
    # consent metadata
    "source": _l("Source"),
    "document_version": _l("Document version"),
    "ip_address": _l("IP address"),
    "channel": _l("Channel"),
    # product metadata
    "features": _l("Features"),
    "sessions_per_month": _l("Sessions a month"),
    "trial_days": _l("Trial days"),
    "sku": _l("SKU"),
    # macros
    "kcal": _l("Energy (kcal)"),
    "protein_g": _l("Protein (g)"),
    "carbs_g": _l("Carbohydrates (g)"),
    "fat_g": _l("Fat (g)"),
    "fiber_g": _l("Fibre (g)"),
    # prescription
    "sets": _l("Sets"),
    "reps": _l("Reps"),
    "load_kg": _l("Load (kg)"),
    "tempo": _l("Tempo"),
    "rest_seconds": _l("Rest (seconds)"),
    "duration_seconds": _l("Duration (seconds)"),
    "superset": _l("Superset"),
    "servings": _l("Servings"),
    "time_of_day": _l("Time of day"),
    "target": _l("Target"),
    "frequency": _l("Frequency"),
    # badge criteria
    "kind": _l("Kind"),
    "threshold": _l("Threshold"),
    "window_days": _l("Window (days)"),
    "metric": _l("Metric"),
    "event_type": _l("Event type"),
    "direction": _l("Direction"),
    # challenge rules
    "aggregation": _l("Aggregation"),
    "team_size": _l("Team size"),
    # announcement segment
    "product_ids": _l("Product ids"),
    "subscription_statuses": _l("Subscription statuses"),
    "coach_ids": _l("Coach ids"),
    "cohort_months": _l("Cohort months (YYYY-MM)"),
    "active_within_days": _l("Active within (days)"),
    "inactive_for_days": _l("Inactive for (days)"),
    "locales": _l("Languages"),
    # attachments
    "name": _l("Name"),
    "url": _l("Address"),
    "content_type": _l("Content type"),
    "size_bytes": _l("Size (bytes)"),
}


def property_label(key: str, schema: dict[str, Any] | None = None) -> str:
    """A property's label: the schema's ``title``, the translated known name, or the name humanized."""
    if schema and isinstance(schema.get("title"), str):
        return schema["title"]
    label = PROPERTY_LABELS.get(key)
    return str(label) if label is not None else humanize(key)


def code_label(code: Any) -> str:
    """An enum code of a schema as people read it: the label table's (app.models.labels), one for the console."""
    return labels.label_of_code(code)
