"""The console's roles and what each may do, as data.

Permissions are collapsed to ``can_read`` / ``can_write`` per resource (the
Superset pattern): every view maps FAB's method permissions onto these two
through ``READ_WRITE_METHOD_MAP``. ``flask roles sync`` makes the database
match this module exactly; nothing is synced on process start.
"""

from __future__ import annotations

READ = "can_read"
WRITE = "can_write"
RW = frozenset({READ, WRITE})
RO = frozenset({READ})

# FAB method permission -> our collapsed action.
READ_WRITE_METHOD_MAP: dict[str, str] = {
    "list": READ,
    "show": READ,
    "get": READ,
    "get_list": READ,
    "info": READ,
    "download": READ,
    "export": READ,
    "chart": READ,
    "autocomplete": READ,
    "related": READ,
    "add": WRITE,
    "edit": WRITE,
    "delete": WRITE,
    "post": WRITE,
    "put": WRITE,
    "action": WRITE,
    "action_post": WRITE,
    "bulk": WRITE,
}

# One resource per seed entity, named as in the seed data model.
ENTITY_RESOURCES = (
    "Users", "Roles", "UserRoles", "AuthSessions", "Consents",
    "CustomerProfiles", "Assessments", "CoachAssignments",
    "Products", "Subscriptions", "Invoices", "Payments", "Promotions",
    "Exercises", "Meals", "Habits", "Programs", "ProgramItems", "CustomerPlans", "PlanItems",
    "Badges", "CustomerBadges",
    "ScheduledSessions", "SessionParticipants", "CoachAvailability", "WaitlistEntries",
    "Messages", "Threads", "Announcements", "CommunityPosts", "CommunityReactions",
    "Challenges", "ChallengeResults", "SupportTickets",
    "ProgressMetrics", "EngagementEvents", "CohortSnapshots", "RecommendationLogs",
    "AutomationRules", "AutomationExecutions", "APIClients", "APIAccessLogs", "WearableAuthorizations",
    "AuditLogs", "DataRetentionPolicies",
)  # fmt: skip

# Custom pages and tools beyond the generated CRUD views.
FEATURE_RESOURCES = (
    "PlanBuilder",
    "Calendar",
    "ScheduleOverride",  # "save anyway" past a schedule conflict (double booking, outside availability, room taken)
    "Dashboards",
    "AuditExports",
    "DataSubjectRequests",
    "Jobs",
    "CatalogueGrids",
    "AccountSettings",  # each person's own settings page (time zone); changes only their own account
    "Inbox",  # the staff inbox: read and answer one's threads (a coach's own, the desk's SUPPORT threads)
    "DomainEvents",  # the domain-event outbox, read-only for everyone (services write it, the dispatcher stamps it)
    "Deliveries",  # message and announcement deliveries: read, and "Retry" of FAILED ones (write)
    "DeliveredMail",  # what the embedded default's local SMTP sink received (development only)
    "TelemetryCorrections",  # corrections of computed records and telemetry, with a reason (Admin only)
    "Customer360",  # one customer whole; each panel also needs read on its own entity resources
    "GlobalSearch",  # the navbar search; each kind of result also needs read on its entity resource
    "BulkImport",  # CSV/XLSX import pages; each table also needs write on the entities it fills (issue 17)
    "SavedViews",  # a person's own saved list views: save, open, delete only their own (issue 17)
)

ALL_RESOURCES = ENTITY_RESOURCES + FEATURE_RESOURCES

ADMIN = "Admin"
SUPPORT = "Support"
COACH = "Coach"
MANAGER = "Manager"
COMPLIANCE = "Compliance"
CONSOLE_ROLES = (ADMIN, SUPPORT, COACH, MANAGER, COMPLIANCE)


def _grants(rw: tuple[str, ...] = (), ro: tuple[str, ...] = ()) -> dict[str, frozenset[str]]:
    overlap = set(rw) & set(ro)
    assert not overlap, f"listed as both read-write and read-only: {overlap}"
    unknown = (set(rw) | set(ro)) - set(ALL_RESOURCES)
    assert not unknown, f"unknown resources: {unknown}"
    return {**{r: RW for r in rw}, **{r: RO for r in ro}}


ROLE_GRANTS: dict[str, dict[str, frozenset[str]]] = {
    ADMIN: {r: RW for r in ALL_RESOURCES},
    SUPPORT: _grants(
        rw=(
            "Users", "CustomerProfiles", "Consents", "Subscriptions", "Invoices", "Payments", "Promotions",
            "SupportTickets", "Threads", "Messages", "CommunityPosts", "CommunityReactions",
            "WearableAuthorizations", "AccountSettings", "Deliveries",
            "Inbox",  # the desk answers SUPPORT threads as themselves
            # The front desk runs the timetable for every coach: sessions, bookings, and overrides.
            "ScheduledSessions", "SessionParticipants", "Calendar", "ScheduleOverride",
            "BulkImport", "SavedViews",  # import customers and promotions; own saved views (issue 17)
        ),
        ro=(
            "Roles", "UserRoles", "AuthSessions", "Assessments", "CoachAssignments", "Products",
            "Exercises", "Meals", "Habits", "Programs", "ProgramItems", "CustomerPlans", "PlanItems",
            "Badges", "CustomerBadges", "Announcements", "Challenges", "ChallengeResults", "ProgressMetrics",
            # The waitlist is kept by the booking engine; nobody edits it by hand.
            "WaitlistEntries", "CoachAvailability",
            "Customer360", "GlobalSearch",
        ),
    ),
    COACH: _grants(
        rw=(
            "Programs", "ProgramItems", "CustomerPlans", "PlanItems", "ScheduledSessions", "SessionParticipants",
            "CoachAvailability", "Threads", "Messages", "ProgressMetrics", "PlanBuilder",
            "Calendar", "AccountSettings",
            "Inbox",  # their own conversations and the automation notes about their customers
            "SavedViews",  # their own saved list views (issue 17)
        ),
        ro=(
            "WaitlistEntries",
            "Users", "CustomerProfiles", "Assessments", "CoachAssignments", "Exercises", "Meals", "Habits",
            "Badges", "CustomerBadges", "Challenges", "ChallengeResults", "EngagementEvents", "Dashboards",
            "CatalogueGrids",  # coaches browse and export the exercise/meal/habit/badge catalogue, read-only
            # Rules that can touch their customers, and those customers' executions (row scope).
            "AutomationRules", "AutomationExecutions",
            "Customer360", "GlobalSearch",
        ),
    ),
    MANAGER: _grants(
        rw=(
            "Products", "Promotions", "Challenges", "Announcements", "CoachAssignments",
            "Badges", "CatalogueGrids", "AccountSettings",
            # Managers write automation rules and retry failed executions (issue 14).
            "AutomationRules", "AutomationExecutions",
            "BulkImport", "SavedViews",  # import products and promotions; own saved views (issue 17)
        ),
        ro=(
            "Users", "CustomerProfiles", "Subscriptions", "Invoices", "Payments", "Exercises", "Meals", "Habits",
            "Programs", "ProgramItems", "CustomerPlans", "PlanItems", "CustomerBadges", "ScheduledSessions",
            "SessionParticipants", "CoachAvailability", "WaitlistEntries", "CommunityPosts", "SupportTickets",
            "ProgressMetrics", "EngagementEvents", "CohortSnapshots", "RecommendationLogs", "Dashboards",
            "Calendar",
            "ChallengeResults",  # computed by the ranking job; corrections are an Admin's audited action
            "Customer360", "GlobalSearch",
        ),
    ),
    COMPLIANCE: _grants(
        rw=(
            "DataRetentionPolicies", "Consents", "AuditExports", "DataSubjectRequests", "Jobs", "AccountSettings",
            "SavedViews",  # their own saved list views (issue 17)
        ),
        ro=(
            "AuditLogs", "APIAccessLogs", "APIClients", "Users", "UserRoles", "Roles", "AuthSessions",
            "WearableAuthorizations", "DomainEvents",
            "Customer360", "GlobalSearch",
        ),
    ),
}  # fmt: skip

# Not console roles (never synced, no console account holds them): the grants of REST API clients.
# A customer app acts for its signed-in customer (row scope: that customer's own rows, scope.py);
# a partner (a client with no subject) acts for the business, bounded by its API scopes.
CUSTOMER_APP = "CustomerApp"
API_PARTNER = "ApiPartner"
API_ROLES = (CUSTOMER_APP, API_PARTNER)
ROLE_GRANTS[CUSTOMER_APP] = _grants(
    rw=("Users", "CustomerProfiles", "PlanItems", "SessionParticipants", "ProgressMetrics", "SupportTickets",
        "Threads", "Messages", "Subscriptions"),
    ro=("CustomerPlans", "ScheduledSessions", "WaitlistEntries", "Invoices"),
)  # fmt: skip
ROLE_GRANTS[API_PARTNER] = _grants(
    rw=("Users", "CustomerProfiles", "CustomerPlans", "PlanItems", "ScheduledSessions", "SessionParticipants",
        "ProgressMetrics", "SupportTickets", "Threads", "Messages", "Subscriptions"),
    ro=("WaitlistEntries", "Invoices"),
)  # fmt: skip

# Which seed role a console role's platform user carries.
PLATFORM_ROLE_FOR_CONSOLE_ROLE = {
    ADMIN: "ADMIN",
    SUPPORT: "SUPPORT",
    COACH: "COACH",
    MANAGER: "ADMIN",
    COMPLIANCE: "ADMIN",
}


def allowed(role: str, resource: str, action: str) -> bool:
    return action in ROLE_GRANTS.get(role, {}).get(resource, frozenset())
