"""Analytics and telemetry: progress metrics, engagement events, cohort snapshots, recommendations.

Progress metrics are measurements people record, so coaches edit them; the rest is written by the
services and jobs that compute it and is read-only here (an Admin corrects a row with a reason).
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from app.models.analytics import CohortSnapshot, EngagementEvent, ProgressMetric, RecommendationLog
from app.web.views.base.area import register_area
from app.web.views.base.datamodel import ScopedSQLAInterface
from app.web.views.base.model_view import CoachdeskModelView
from app.web.views.corrections import ComputedRecordView


class ProgressMetricView(CoachdeskModelView):
    route_base = "/progress-metrics"
    datamodel = ScopedSQLAInterface(ProgressMetric)
    class_permission_name = "ProgressMetrics"
    list_title = show_title = _l("Progress metrics")
    add_title = _l("Record metric")
    edit_title = _l("Edit metric")
    list_columns = ["customer", "metric_type", "value", "unit", "source", "recorded_at"]
    show_columns = list_columns
    add_columns = edit_columns = ["customer", "metric_type", "value", "unit", "source", "recorded_at"]
    search_text_columns = ("metric_type",)
    filter_columns = ("customer", "source", "value", "recorded_at")
    base_order = ("recorded_at", "desc")
    label_columns = {
        "customer": _l("Customer"),
        "metric_type": _l("Metric"),
        "value": _l("Value"),
        "unit": _l("Unit"),
        "source": _l("Source"),
        "recorded_at": _l("Recorded"),
    }


class EngagementEventView(ComputedRecordView, CoachdeskModelView):
    route_base = "/engagement-events"
    datamodel = ScopedSQLAInterface(EngagementEvent)
    class_permission_name = "EngagementEvents"
    list_title = show_title = _l("Engagement events")
    list_columns = ["customer", "event_type", "occurred_at"]
    show_columns = ["customer", "event_type", "occurred_at", "payload_json"]
    # Equality on event_type uses the (event_type, occurred_at) index; no ILIKE search on 10^7 rows.
    filter_columns = ("event_type", "customer", "occurred_at")
    base_order = ("occurred_at", "desc")
    label_columns = {
        "customer": _l("Customer"),
        "event_type": _l("Event"),
        "occurred_at": _l("When"),
        "payload_json": _l("Payload"),
    }


class CohortSnapshotView(ComputedRecordView, CoachdeskModelView):
    route_base = "/cohort-snapshots"
    datamodel = ScopedSQLAInterface(CohortSnapshot)
    class_permission_name = "CohortSnapshots"
    list_title = show_title = _l("Cohort snapshots")
    list_columns = ["cohort_key", "metric_name", "value", "captured_at"]
    show_columns = list_columns
    search_text_columns = ("cohort_key", "metric_name")
    filter_columns = ("value", "captured_at")
    base_order = ("captured_at", "desc")
    label_columns = {
        "cohort_key": _l("Cohort"),
        "metric_name": _l("Metric"),
        "value": _l("Value"),
        "captured_at": _l("Captured"),
    }


class RecommendationLogView(ComputedRecordView, CoachdeskModelView):
    route_base = "/recommendation-logs"
    datamodel = ScopedSQLAInterface(RecommendationLog)
    class_permission_name = "RecommendationLogs"
    list_title = show_title = _l("Recommendations")
    list_columns = ["customer", "recommendation_type", "shown_at", "accepted_at"]
    show_columns = [*list_columns, "payload_json"]
    search_text_columns = ("recommendation_type",)
    filter_columns = ("customer", "shown_at", "accepted_at")
    base_order = ("shown_at", "desc")
    label_columns = {
        "customer": _l("Customer"),
        "recommendation_type": _l("Recommendation"),
        "payload_json": _l("Payload"),
        "shown_at": _l("Shown"),
        "accepted_at": _l("Accepted"),
    }


def register(appbuilder: Any) -> None:
    register_area(
        appbuilder,
        "Analytics",
        _l("Analytics"),
        "fa-bar-chart",
        [
            (ProgressMetricView, "Progress metrics", _l("Progress metrics"), "fa-line-chart"),
            (EngagementEventView, "Engagement events", _l("Engagement events"), "fa-bolt"),
            (CohortSnapshotView, "Cohort snapshots", _l("Cohort snapshots"), "fa-th"),
            (RecommendationLogView, "Recommendations", _l("Recommendations"), "fa-lightbulb-o"),
        ],
    )
