"""All models, imported here so the mapper registry and Alembic see every table.

One module per seed area; see ``seed-data-model.md``.
"""

from app.models import label_table  # noqa: F401  (fills app.models.labels' table of enum labels)
from app.models.analytics import CohortSnapshot, EngagementEvent, ProgressMetric, RecommendationLog
from app.models.automation import (
    APIAccessLog,
    APIClient,
    AutomationExecution,
    AutomationRule,
    AutomationRuleVersion,  # noqa: F401  (rule versions and segments are additions)
    SegmentMembership,  # noqa: F401
    WearableAuthorization,
)
from app.models.base import Model
from app.models.commerce import (  # noqa: F401  (redemptions and dunning steps are additions)
    DunningStep,
    Invoice,
    Payment,
    Product,
    Promotion,
    PromotionRedemption,
    Subscription,
)
from app.models.compliance import AuditLog, DataRetentionPolicy
from app.models.console import SavedView  # noqa: F401  (an addition: saved list views)
from app.models.customers import Assessment, CoachAssignment, CustomerProfile
from app.models.engagement import (
    Announcement,
    Challenge,
    ChallengeResult,
    CommunityPost,
    CommunityReaction,
    Message,
    MessageDelivery,  # noqa: F401  (an addition: delivery of messages and announcements)
    SupportTicket,
    Thread,
)
from app.models.events import DomainEvent  # noqa: F401  (the outbox, not a seed entity)
from app.models.identity import AuthSession, Consent, ConsoleUser, MfaRecoveryCode, PlatformRole, PlatformUser, UserRole
from app.models.jobs import JobRun  # noqa: F401  (job infrastructure, not a seed entity)
from app.models.rollups import (  # noqa: F401  (derived tables)
    CustomerActivityMonthly,
    EngagementDaily,
    InvoiceMonthly,
    MessageMonthly,
    MetricMonthly,
    PlanAdherenceWeekly,
)
from app.models.scheduling import (  # noqa: F401  (series, exceptions and feeds are additions)
    AvailabilityException,
    CalendarFeed,
    CoachAvailability,
    ScheduledSession,
    SessionParticipant,
    SessionSeries,
    WaitlistEntry,
)
from app.models.training import (
    Badge,
    CustomerBadge,
    CustomerPlan,
    Exercise,
    Habit,
    Meal,
    PlanItem,
    Program,
    ProgramItem,
)

SEED_MODELS = (
    PlatformUser, PlatformRole, UserRole, AuthSession, Consent,
    CustomerProfile, Assessment, CoachAssignment,
    Product, Subscription, Invoice, Payment, Promotion,
    Exercise, Meal, Habit, Program, ProgramItem, CustomerPlan, PlanItem, Badge, CustomerBadge,
    ScheduledSession, SessionParticipant, CoachAvailability, WaitlistEntry,
    Message, Thread, Announcement, CommunityPost, CommunityReaction, Challenge, ChallengeResult, SupportTicket,
    ProgressMetric, EngagementEvent, CohortSnapshot, RecommendationLog,
    AutomationRule, AutomationExecution, APIClient, APIAccessLog, WearableAuthorization,
    AuditLog, DataRetentionPolicy,
)  # fmt: skip
"""The 45 entities of the seed data model, in the seed's order."""

__all__ = [m.__name__ for m in SEED_MODELS] + ["ConsoleUser", "MfaRecoveryCode", "Model", "SEED_MODELS"]
