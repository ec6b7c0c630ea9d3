"""Translated labels for the properties and codes of the JSON Schemas in ``app.models.json_schemas``.

The generated JSON forms and show pages read these; a property or code not listed is shown humanized
("target_weight_kg" -> "Target weight kg"), and a schema's own ``title`` wins over both.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

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

CODE_LABELS: dict[str, Any] = {
    "LOSE_WEIGHT": _l("Lose weight"),
    "BUILD_MUSCLE": _l("Build muscle"),
    "ENDURANCE": _l("Endurance"),
    "MOBILITY": _l("Mobility"),
    "WELLBEING": _l("Wellbeing"),
    "NUTRITION": _l("Nutrition"),
    "WEB": _l("Web"),
    "APP": _l("App"),
    "PAPER": _l("Paper"),
    "PHONE": _l("Phone"),
    "EMAIL": _l("Email"),
    "BREAKFAST": _l("Breakfast"),
    "LUNCH": _l("Lunch"),
    "DINNER": _l("Dinner"),
    "SNACK": _l("Snack"),
    "PRE_WORKOUT": _l("Before the workout"),
    "POST_WORKOUT": _l("After the workout"),
    "DAILY": _l("Every day"),
    "WEEKDAYS": _l("Weekdays"),
    "WEEKLY": _l("Once a week"),
    "TWICE_WEEKLY": _l("Twice a week"),
    "STREAK": _l("Streak of days"),
    "COMPLETIONS": _l("Completions"),
    "ATTENDANCE": _l("Attended classes"),
    "CHALLENGE_RANK": _l("Challenge rank"),
    "METRIC_DELTA": _l("Change of a metric"),
    "METRIC_AVERAGE": _l("Average of a metric"),
    "MANUAL": _l("Awarded by hand"),
    "DECREASE": _l("Decrease"),
    "INCREASE": _l("Increase"),
    "WORKOUTS": _l("Workouts"),
    "STEPS": _l("Steps"),
    "MINUTES": _l("Minutes"),
    "HABIT_DAYS": _l("Habit days"),
    "DISTANCE_KM": _l("Distance (km)"),
    "SUM": _l("Sum"),
    "MAX": _l("Maximum"),
    "COUNT": _l("Count"),
    "TRIAL": _l("Trial"),
    "ACTIVE": _l("Active"),
    "PAUSED": _l("Paused"),
    "PAST_DUE": _l("Past due"),
    "CANCELLED": _l("Cancelled"),
    "EXPIRED": _l("Expired"),
}


def property_label(key: str, schema: dict[str, Any] | None = None) -> str:
    """A property's label: the schema's ``title``, the translated known name, or the name humanized."""
    if schema and isinstance(schema.get("title"), str):
        return schema["title"]
    label = PROPERTY_LABELS.get(key)
    return str(label) if label is not None else humanize(key)


def code_label(code: Any) -> str:
    """An enum code of a schema as people read it."""
    label = CODE_LABELS.get(code) if isinstance(code, str) else None
    return str(label) if label is not None else humanize(str(code))
