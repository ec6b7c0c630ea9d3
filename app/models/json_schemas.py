"""JSON Schemas for every ``*_json`` column, one constant per column.

They are the contract the forms, the API, the plan builder and the automation
editor all validate against, so they live beside the models.
"""

from __future__ import annotations

from typing import Any

_OPEN_OBJECT: dict[str, Any] = {"type": "object", "maxProperties": 200}

CONSENT_METADATA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "source": {"type": "string", "maxLength": 100},
        "document_version": {"type": "string", "maxLength": 50},
        "ip_address": {"type": "string", "maxLength": 64},
        "channel": {"type": "string", "enum": ["WEB", "APP", "PAPER", "PHONE", "EMAIL"]},
    },
    "additionalProperties": {"type": ["string", "number", "boolean", "null"]},
}

GOALS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "primary": {
            "type": "string",
            "enum": ["LOSE_WEIGHT", "BUILD_MUSCLE", "ENDURANCE", "MOBILITY", "WELLBEING", "NUTRITION"],
        },
        "secondary": {"type": "array", "items": {"type": "string", "maxLength": 50}, "maxItems": 10},
        "target_weight_kg": {"type": "number", "minimum": 20, "maximum": 400},
        "weekly_sessions": {"type": "integer", "minimum": 0, "maximum": 21},
        "notes": {"type": "string", "maxLength": 2000},
    },
    "additionalProperties": False,
}

ASSESSMENT_RESPONSES: dict[str, Any] = {
    "type": "object",
    "propertyNames": {"pattern": "^[A-Za-z0-9_.-]{1,64}$"},
    "additionalProperties": {
        "type": ["string", "number", "boolean", "array", "null"],
        "items": {"type": ["string", "number"]},
    },
    "maxProperties": 500,
}

PRODUCT_METADATA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "features": {"type": "array", "items": {"type": "string", "maxLength": 200}, "maxItems": 50},
        "sessions_per_month": {"type": "integer", "minimum": 0, "maximum": 100},
        "trial_days": {"type": "integer", "minimum": 0, "maximum": 365},
        "sku": {"type": "string", "maxLength": 64},
    },
    "additionalProperties": {"type": ["string", "number", "boolean", "null"]},
}

MACROS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "kcal": {"type": "number", "minimum": 0, "maximum": 10000},
        "protein_g": {"type": "number", "minimum": 0, "maximum": 1000},
        "carbs_g": {"type": "number", "minimum": 0, "maximum": 1000},
        "fat_g": {"type": "number", "minimum": 0, "maximum": 1000},
        "fiber_g": {"type": "number", "minimum": 0, "maximum": 500},
    },
    "required": ["kcal"],
    "additionalProperties": False,
}

PRESCRIPTION: dict[str, Any] = {
    "type": "object",
    "properties": {
        # exercises
        "sets": {"type": "integer", "minimum": 1, "maximum": 50},
        "reps": {"type": ["integer", "string"], "minimum": 1, "maximum": 500, "maxLength": 20},
        "load_kg": {"type": "number", "minimum": 0, "maximum": 1000},
        "tempo": {"type": "string", "pattern": "^[0-9X]{4}$"},
        "rest_seconds": {"type": "integer", "minimum": 0, "maximum": 3600},
        "duration_seconds": {"type": "integer", "minimum": 0, "maximum": 86400},
        "superset": {"type": ["string", "null"], "maxLength": 8},
        # meals
        "servings": {"type": "number", "minimum": 0.25, "maximum": 20},
        "time_of_day": {
            "type": "string",
            "enum": ["BREAKFAST", "LUNCH", "DINNER", "SNACK", "PRE_WORKOUT", "POST_WORKOUT"],
        },
        # habits
        "target": {"type": ["number", "string"], "maxLength": 100},
        "frequency": {"type": "string", "enum": ["DAILY", "WEEKDAYS", "WEEKLY", "TWICE_WEEKLY"]},
        # any
        "notes": {"type": "string", "maxLength": 2000},
    },
    "additionalProperties": False,
}

# The plan builder validates each program item against the schema of its type;
# the column keeps the union (PRESCRIPTION) so rows written elsewhere stay valid.
_EXERCISE_KEYS = ("sets", "reps", "load_kg", "tempo", "rest_seconds", "duration_seconds", "superset", "notes")
_MEAL_KEYS = ("servings", "time_of_day", "notes")
_HABIT_KEYS = ("target", "frequency", "notes")


def _prescription_subset(keys: tuple[str, ...]) -> dict[str, Any]:
    props = {k: PRESCRIPTION["properties"][k] for k in keys}
    return {"type": "object", "properties": props, "additionalProperties": False}


PRESCRIPTION_BY_TYPE: dict[str, dict[str, Any]] = {
    "EXERCISE": _prescription_subset(_EXERCISE_KEYS),
    "MEAL": _prescription_subset(_MEAL_KEYS),
    "HABIT": _prescription_subset(_HABIT_KEYS),
}

# What earns a badge (evaluated by app.services.awards): a count, a streak of days in the customer's zone,
# attended classes, a challenge rank, a metric's change or average; MANUAL badges only rules and staff award.
# ``event_type`` makes COMPLETIONS and STREAK count engagement events of that type instead of completed plan
# items; ``direction`` says which change METRIC_DELTA wants (absent: either way).
BADGE_CRITERIA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "kind": {
            "type": "string",
            "enum": [
                "STREAK", "COMPLETIONS", "ATTENDANCE", "CHALLENGE_RANK", "METRIC_DELTA", "METRIC_AVERAGE", "MANUAL",
            ],
        },
        "threshold": {"type": "number", "minimum": 0, "maximum": 1000000000},
        "window_days": {"type": "integer", "minimum": 1, "maximum": 3650},
        "metric": {"type": "string", "maxLength": 50},
        "event_type": {"type": "string", "pattern": "^[a-z][a-z0-9_.]{0,49}$"},
        "direction": {"type": "string", "enum": ["DECREASE", "INCREASE"]},
    },
    "required": ["kind"],
    "allOf": [
        {"if": {"properties": {"kind": {"not": {"const": "MANUAL"}}}}, "then": {"required": ["threshold"]}},
        {
            "if": {"properties": {"kind": {"enum": ["METRIC_DELTA", "METRIC_AVERAGE"]}}},
            "then": {"required": ["metric"]},
        },
        {"if": {"properties": {"kind": {"const": "METRIC_AVERAGE"}}}, "then": {"required": ["window_days"]}},
    ],
    "additionalProperties": False,
}  # fmt: skip

ATTACHMENTS: dict[str, Any] = {
    "type": "array",
    "maxItems": 20,
    "items": {
        "type": "object",
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 255},
            "url": {"type": "string", "maxLength": 2000},
            "content_type": {"type": "string", "maxLength": 100},
            "size_bytes": {"type": "integer", "minimum": 0, "maximum": 104857600},
        },
        "required": ["name", "url"],
        "additionalProperties": False,
    },
}

CHALLENGE_RULES: dict[str, Any] = {
    "type": "object",
    "properties": {
        "metric": {"type": "string", "enum": ["WORKOUTS", "STEPS", "MINUTES", "HABIT_DAYS", "DISTANCE_KM"]},
        "aggregation": {"type": "string", "enum": ["SUM", "MAX", "COUNT"]},
        "target": {"type": "number", "minimum": 0},
        "team_size": {"type": "integer", "minimum": 1, "maximum": 100},
    },
    "required": ["metric", "aggregation"],
    "additionalProperties": False,
}

_ID_LIST = {
    "type": "array",
    "maxItems": 200,
    "uniqueItems": True,
    "items": {"type": "integer", "minimum": 1, "maximum": 2147483647},  # an INTEGER key: never beyond 32 bits
}
_UUID_LIST = {
    "type": "array",
    "maxItems": 200,
    "uniqueItems": True,
    "items": {"type": "string", "pattern": "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"},
}

# An announcement's audience: customers matching every criterion given (an empty object: all customers).
ANNOUNCEMENT_SEGMENT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "product_ids": _ID_LIST,
        "subscription_statuses": {
            "type": "array",
            "maxItems": 6,
            "uniqueItems": True,
            "items": {"type": "string", "enum": ["TRIAL", "ACTIVE", "PAUSED", "PAST_DUE", "CANCELLED", "EXPIRED"]},
        },
        "coach_ids": _UUID_LIST,
        "cohort_months": {
            "type": "array",
            "maxItems": 120,
            "uniqueItems": True,
            "items": {"type": "string", "pattern": "^[0-9]{4}-(0[1-9]|1[0-2])$"},
        },
        "active_within_days": {"type": "integer", "minimum": 1, "maximum": 3650},
        "inactive_for_days": {"type": "integer", "minimum": 1, "maximum": 3650},
        "locales": {
            "type": "array",
            "maxItems": 20,
            "uniqueItems": True,
            "items": {"type": "string", "maxLength": 10, "pattern": "^[a-z]{2,3}([_-][A-Za-z0-9]{2,8})?$"},
        },
    },
    "additionalProperties": False,
}

EVENT_PAYLOAD: dict[str, Any] = _OPEN_OBJECT
RECOMMENDATION_PAYLOAD: dict[str, Any] = _OPEN_OBJECT
AUDIT_METADATA: dict[str, Any] = _OPEN_OBJECT

# A rule condition is a tree: groups ("all"/"any"/"not") of leaf comparisons.
RULE_CONDITION: dict[str, Any] = {
    "$defs": {
        "node": {
            "oneOf": [
                {
                    "type": "object",
                    "properties": {"all": {"type": "array", "items": {"$ref": "#/$defs/node"}, "maxItems": 50}},
                    "required": ["all"],
                    "additionalProperties": False,
                },
                {
                    "type": "object",
                    "properties": {"any": {"type": "array", "items": {"$ref": "#/$defs/node"}, "maxItems": 50}},
                    "required": ["any"],
                    "additionalProperties": False,
                },
                {
                    "type": "object",
                    "properties": {"not": {"$ref": "#/$defs/node"}},
                    "required": ["not"],
                    "additionalProperties": False,
                },
                {
                    "type": "object",
                    "properties": {
                        "field": {"type": "string", "pattern": "^[a-z_][a-z0-9_.]{0,99}$"},
                        "op": {
                            "type": "string",
                            "enum": ["eq", "ne", "gt", "gte", "lt", "lte", "in", "contains", "exists"],
                        },
                        "value": {},
                    },
                    "required": ["field", "op"],
                    "additionalProperties": False,
                },
            ]
        }
    },
    "$ref": "#/$defs/node",
}

# The action types of the closed catalogue in ``app.services.automation.actions``: each checks its own
# ``params`` against its own schema when a rule is saved; this schema only fixes the list's shape.
ACTION_TYPES = (
    "SEND_MESSAGE",
    "NOTIFY_COACH",
    "CREATE_TICKET",
    "AWARD_BADGE",
    "ASSIGN_COACH",
    "ADD_TO_SEGMENT",
    "PAUSE_PLAN",
    "RESUME_PLAN",
    "WEBHOOK",
)
MAX_RULE_ACTIONS = 10

RULE_ACTION: dict[str, Any] = {
    "type": "array",
    "minItems": 1,
    "maxItems": MAX_RULE_ACTIONS,
    "items": {
        "type": "object",
        "properties": {
            "type": {"type": "string", "enum": list(ACTION_TYPES)},
            "params": {"type": "object", "maxProperties": 50},
        },
        "required": ["type"],
        "additionalProperties": False,
    },
}
