"""The label table: every enum member's and every stored code's readable, translated name (issue 17).

Imported by ``app.models.labels``; one ``register`` call per enum in ``app.models``, and one
``register_codes`` call per code set stored in free text or JSON (program goals, meal times, ...).
``app.models`` (the package) imports it, so the table is full whenever a model is importable;
``app.models.labels`` does not import it back (no cycle; model ``__str__`` methods may use the labels).
"""

from __future__ import annotations

from app.i18n import _l
from app.models import analytics as an
from app.models import automation as au
from app.models import commerce as co
from app.models import compliance as cp
from app.models import customers as cu
from app.models import engagement as en
from app.models import identity as idn
from app.models import jobs as jb
from app.models import scheduling as sc
from app.models import training as tr
from app.models.labels import register, register_codes

# analytics
register(an.MetricSource, {"MANUAL": _l("Entered by hand"), "WEARABLE": _l("From a wearable")})

# automation
register(
    au.TriggerType,
    {
        "EVENT": _l("On an event"),
        "SCHEDULE": _l("On a schedule"),
        "METRIC_THRESHOLD": _l("Metric threshold"),
        "INACTIVITY": _l("Inactivity"),
        "PAYMENT_FAILED": _l("Failed payment"),
    },
)
register(
    au.RuleStatus,
    {"DRAFT": _l("Draft"), "ACTIVE": _l("Active"), "PAUSED": _l("Paused"), "ARCHIVED": _l("Archived")},
)
register(
    au.ExecutionStatus,
    {
        "PENDING": _l("Pending"),
        "RUNNING": _l("Running"),
        "SUCCEEDED": _l("Succeeded"),
        "FAILED": _l("Failed"),
        "SKIPPED": _l("Skipped"),
    },
)
register(
    au.RuleFrequency,
    {
        "EVERY_TIME": _l("Every time"),
        "ONCE_PER_CUSTOMER": _l("Once per customer"),
        "ONCE_PER_PERIOD": _l("Once per period"),
    },
)
register(au.ClientStatus, {"ACTIVE": _l("Active"), "SUSPENDED": _l("Suspended"), "REVOKED": _l("Revoked")})

# commerce
register(
    co.ProductCategory,
    {
        "COACHING": _l("Coaching"),
        "PROGRAM": _l("Program"),
        "NUTRITION": _l("Nutrition"),
        "CLASS_PACK": _l("Class pack"),
        "MEMBERSHIP": _l("Membership"),
    },
)
register(
    co.SubscriptionStatus,
    {
        "TRIAL": _l("Trial"),
        "ACTIVE": _l("Active"),
        "PAUSED": _l("Paused"),
        "PAST_DUE": _l("Past due"),
        "CANCELLED": _l("Cancelled"),
        "EXPIRED": _l("Expired"),
    },
)
register(
    co.InvoiceStatus,
    {
        "DRAFT": _l("Draft"),
        "OPEN": _l("Open"),
        "PAID": _l("Paid"),
        "VOID": _l("Void"),
        "UNCOLLECTIBLE": _l("Uncollectible"),
        "REFUNDED": _l("Refunded"),
    },
)
register(
    co.PaymentStatus,
    {"PENDING": _l("Pending"), "SUCCEEDED": _l("Succeeded"), "FAILED": _l("Failed"), "REFUNDED": _l("Refunded")},
)
register(
    co.PaymentMethod,
    {
        "CARD": _l("Card"),
        "SEPA_DEBIT": _l("SEPA direct debit"),
        "BANK_TRANSFER": _l("Bank transfer"),
        "PAYPAL": _l("PayPal"),
        "APPLE_PAY": _l("Apple Pay"),
        "GOOGLE_PAY": _l("Google Pay"),
    },
)
register(co.DiscountType, {"PERCENT": _l("Percentage"), "FIXED": _l("Fixed amount")})
register(
    co.DunningStatus,
    {"SCHEDULED": _l("Scheduled"), "SUCCEEDED": _l("Succeeded"), "FAILED": _l("Failed"), "CANCELLED": _l("Cancelled")},
)

# compliance
register(
    cp.DeletionStrategy,
    {"HARD_DELETE": _l("Delete for good"), "ANONYMIZE": _l("Anonymize"), "ARCHIVE": _l("Archive")},
)

# customers
register(
    cu.Gender,
    {
        "FEMALE": _l("Female"),
        "MALE": _l("Male"),
        "NON_BINARY": _l("Non-binary"),
        "UNDISCLOSED": _l("Not disclosed"),
    },
)

# engagement
register(en.ThreadContext, {"CUSTOMER_COACH": _l("Customer and coach"), "SUPPORT": _l("Support")})
register(
    en.Channel, {"EMAIL": _l("Email"), "SMS": _l("SMS"), "PUSH": _l("Push notification"), "INAPP": _l("In the app")}
)
register(
    en.AnnouncementStatus,
    {"DRAFT": _l("Draft"), "SCHEDULED": _l("Scheduled"), "SENT": _l("Sent"), "CANCELLED": _l("Cancelled")},
)
register(
    en.DeliveryStatus,
    {"QUEUED": _l("Queued"), "SENT": _l("Sent"), "FAILED": _l("Failed"), "SKIPPED": _l("Skipped")},
)
register(
    en.PostStatus,
    {"PUBLISHED": _l("Published"), "FLAGGED": _l("Flagged"), "HIDDEN": _l("Hidden"), "REMOVED": _l("Removed")},
)
register(
    en.ReactionType,
    {"LIKE": _l("Like"), "LOVE": _l("Love"), "CLAP": _l("Applause"), "FIRE": _l("Fire"), "STRONG": _l("Strong")},
)
register(en.TicketPriority, {"LOW": _l("Low"), "NORMAL": _l("Normal"), "HIGH": _l("High"), "URGENT": _l("Urgent")})
register(
    en.TicketStatus,
    {"OPEN": _l("Open"), "PENDING": _l("Pending"), "RESOLVED": _l("Resolved"), "CLOSED": _l("Closed")},
)

# identity
register(
    idn.RoleCode,
    {"ADMIN": _l("Administrator"), "COACH": _l("Coach"), "CUSTOMER": _l("Customer"), "SUPPORT": _l("Support")},
)
register(
    idn.UserStatus,
    {"ACTIVE": _l("Active"), "INVITED": _l("Invited"), "SUSPENDED": _l("Suspended"), "DELETED": _l("Deleted")},
)

# jobs
register(
    jb.JobStatus,
    {
        "QUEUED": _l("Queued"),
        "RUNNING": _l("Running"),
        "SUCCEEDED": _l("Succeeded"),
        "FAILED": _l("Failed"),
        "CANCELLED": _l("Cancelled"),
    },
)

# scheduling
register(
    sc.SessionType,
    {"CLASS": _l("Class"), "ONE_ON_ONE": _l("One-on-one"), "VIRTUAL": _l("Online"), "HYBRID": _l("Hybrid")},
)
register(sc.SessionStatus, {"SCHEDULED": _l("Scheduled"), "COMPLETED": _l("Completed"), "CANCELLED": _l("Cancelled")})
register(sc.ParticipantRole, {"PRIMARY": _l("Booked"), "WAITLIST": _l("Waiting list")})
register(
    sc.AttendanceStatus,
    {
        "REGISTERED": _l("Registered"),
        "ATTENDED": _l("Attended"),
        "NO_SHOW": _l("No-show"),
        "CANCELLED": _l("Cancelled"),
        "LATE_CANCEL": _l("Late cancellation"),
    },
)
register(sc.AvailabilityExceptionKind, {"TIME_OFF": _l("Time off"), "EXTRA": _l("Extra hours")})

# training
register(tr.ItemType, {"EXERCISE": _l("Exercise"), "MEAL": _l("Meal"), "HABIT": _l("Habit")})
_LEVELS = {"BEGINNER": _l("Beginner"), "INTERMEDIATE": _l("Intermediate"), "ADVANCED": _l("Advanced")}
register(tr.Difficulty, _LEVELS)
register(
    tr.HabitFrequency,
    {"DAILY": _l("Daily"), "WEEKDAYS": _l("Weekdays"), "WEEKLY": _l("Weekly"), "TWICE_WEEKLY": _l("Twice a week")},
)
register(tr.ProgramLevel, {**_LEVELS, "ALL_LEVELS": _l("All levels")})
register(
    tr.Visibility,
    {"PRIVATE": _l("Private"), "SHARED": _l("Shared with the team"), "PUBLIC": _l("Public template")},
)
register(
    tr.PlanStatus,
    {"ACTIVE": _l("Active"), "PAUSED": _l("Paused"), "COMPLETED": _l("Completed"), "CANCELLED": _l("Cancelled")},
)
register(
    tr.CompletionState,
    {
        "PENDING": _l("Pending"),
        "COMPLETED": _l("Completed"),
        "PARTIAL": _l("Partly done"),
        "SKIPPED": _l("Skipped"),
        "MISSED": _l("Missed"),
    },
)

# Codes kept in free text and JSON (json_schemas.py names the allowed values).
register_codes(
    "goal",
    {
        "LOSE_WEIGHT": _l("Lose weight"),
        "BUILD_MUSCLE": _l("Build muscle"),
        "ENDURANCE": _l("Endurance"),
        "MOBILITY": _l("Mobility"),
        "WELLBEING": _l("Wellbeing"),
        "NUTRITION": _l("Nutrition"),
    },
)
register_codes(
    "time_of_day",
    {
        "BREAKFAST": _l("Breakfast"),
        "LUNCH": _l("Lunch"),
        "DINNER": _l("Dinner"),
        "SNACK": _l("Snack"),
        "PRE_WORKOUT": _l("Before a workout"),
        "POST_WORKOUT": _l("After a workout"),
    },
)
register_codes(
    "frequency",
    {"DAILY": _l("Daily"), "WEEKDAYS": _l("Weekdays"), "WEEKLY": _l("Weekly"), "TWICE_WEEKLY": _l("Twice a week")},
)
register_codes(
    "consent_channel",
    {"WEB": _l("Website"), "APP": _l("App"), "PAPER": _l("On paper"), "PHONE": _l("By phone"), "EMAIL": _l("Email")},
)
register_codes(
    "badge_kind",
    {
        "STREAK": _l("Streak"),
        "COMPLETIONS": _l("Completions"),
        "ATTENDANCE": _l("Attendance"),
        "CHALLENGE_RANK": _l("Challenge rank"),
        "METRIC_DELTA": _l("Metric change"),
        "METRIC_AVERAGE": _l("Metric average"),
        "MANUAL": _l("Awarded by staff"),
    },
)
register_codes("direction", {"DECREASE": _l("Decrease"), "INCREASE": _l("Increase")})
register_codes(
    "challenge_metric",
    {
        "WORKOUTS": _l("Workouts"),
        "STEPS": _l("Steps"),
        "MINUTES": _l("Minutes"),
        "HABIT_DAYS": _l("Habit days"),
        "DISTANCE_KM": _l("Distance (km)"),
    },
)
register_codes("aggregation", {"SUM": _l("Total"), "MAX": _l("Best"), "COUNT": _l("Count")})
register_codes(
    "action_type",
    {
        "SEND_MESSAGE": _l("Send a message"),
        "NOTIFY_COACH": _l("Notify the coach"),
        "CREATE_TICKET": _l("Create a ticket"),
        "AWARD_BADGE": _l("Award a badge"),
        "ASSIGN_COACH": _l("Assign a coach"),
        "ADD_TO_SEGMENT": _l("Add to a segment"),
        "PAUSE_PLAN": _l("Pause the plan"),
        "RESUME_PLAN": _l("Resume the plan"),
        "WEBHOOK": _l("Call a webhook"),
    },
)
register_codes(
    "job_kind",
    {
        "plans.assign": _l("Plan assignment"),
        "retention.run": _l("Retention run"),
        "automation.run": _l("Automation run"),
        "automation.time_rules": _l("Timed automation rules"),
        "audit.export": _l("Audit export"),
        "dsr.export": _l("Personal data export"),
        "dsr.erase": _l("Personal data erasure"),
        "audit.checkpoint": _l("Audit checkpoint"),
        "audit.verify": _l("Audit chain verification"),
        "events.dispatch": _l("Event dispatch"),
        "events.detect": _l("Event detection"),
        "billing.daily": _l("Daily billing"),
        "billing.dunning": _l("Payment retries"),
        "announcement.send": _l("Announcement sending"),
        "deliveries.run": _l("Message delivery"),
    },
)
register_codes("thread_context", {"automation-notes": _l("Automation notes")})
# Communities have no table: the app and the demo know these five, by id.
register_codes(
    "community",
    {
        "1": _l("General"),
        "2": _l("Nutrition & recipes"),
        "3": _l("Running club"),
        "4": _l("Strength training"),
        "5": _l("Motivation & mindset"),
    },
)
