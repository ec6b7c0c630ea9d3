"""automation: rule triggers, versions, frequency and quiet hours; idempotent executions; segments

A rule gets its trigger's setting (the catalogue event, the cron and its zone, the inactivity
days), how often it may act for one customer, quiet hours, an optional coach scope, a version
and its failure streak. Each saved version is kept in ``automation_rule_versions``. An execution
names its subject, the event and the rule version, and carries an ``idempotency_key`` (unique),
the number of actions done and its retry schedule. ``action_json`` becomes a list of actions;
rows written before are wrapped in a one-item list. ``segment_memberships`` holds the customers
an "add to segment" action (or a person) put in an announcement segment.

Revision ID: 0013_automation
Revises: 0012_events
"""

import json

import sqlalchemy as sa
from alembic import op

import app.models.types as cdtypes

revision = "0013_automation"
down_revision = "0012_events"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
FREQUENCY = sa.Enum(
    "EVERY_TIME", "ONCE_PER_CUSTOMER", "ONCE_PER_PERIOD", name="rule_frequency", native_enum=False,
    create_constraint=True, length=17,
)  # fmt: skip
# The seed's trigger types whose event is fixed (EVENT rules name theirs in the editor).
FIXED_EVENTS = {"METRIC_THRESHOLD": "progress.metric_recorded", "PAYMENT_FAILED": "payment.failed"}
RENAMED_ACTIONS = {"SEND_ANNOUNCEMENT": "ADD_TO_SEGMENT"}


def _convert_rules() -> None:
    """Wrap each rule's single action in a list, fix its trigger event, record its version 1."""
    conn = op.get_bind()
    rules = sa.table(
        "automation_rules",
        sa.column("id", sa.Integer),
        sa.column("trigger_type", sa.String),
        sa.column("trigger_event", sa.String),
        sa.column("condition_json", cdtypes.JSONDocument()),
        sa.column("action_json", cdtypes.JSONDocument()),
        sa.column("created_by", sa.Uuid()),
        sa.column("created_at", cdtypes.UTCDateTime()),
    )
    versions = sa.table(
        "automation_rule_versions",
        sa.column("rule_id", sa.Integer),
        sa.column("version", sa.Integer),
        sa.column("definition", cdtypes.JSONDocument()),
        sa.column("created_at", cdtypes.UTCDateTime()),
        sa.column("created_by", sa.Uuid()),
    )
    for row in conn.execute(sa.select(rules)).mappings().all():
        action = row["action_json"]
        if isinstance(action, str):
            action = json.loads(action)
        actions = action if isinstance(action, list) else [action]
        actions = [{**a, "type": RENAMED_ACTIONS.get(a.get("type"), a.get("type"))} for a in actions]
        event = row["trigger_event"] or FIXED_EVENTS.get(row["trigger_type"])
        conn.execute(rules.update().where(rules.c.id == row["id"]).values(action_json=actions, trigger_event=event))
        definition = {
            "trigger_type": row["trigger_type"],
            "trigger_event": event,
            "condition": row["condition_json"],
            "actions": actions,
        }
        conn.execute(
            versions.insert().values(
                rule_id=row["id"], version=1, definition=definition,
                created_at=row["created_at"], created_by=row["created_by"],
            )
        )  # fmt: skip


def upgrade() -> None:
    op.create_table(
        "automation_rule_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("definition", cdtypes.JSONDocument(), nullable=False),
        sa.Column("created_at", cdtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"],
                                name=op.f("fk_automation_rule_versions_created_by_users"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["rule_id"], ["automation_rules.id"],
                                name=op.f("fk_automation_rule_versions_rule_id_automation_rules"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_automation_rule_versions")),
        sa.UniqueConstraint("rule_id", "version", name=op.f("uq_automation_rule_versions_rule_id_version")),
    )  # fmt: skip
    with op.batch_alter_table("automation_rule_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_automation_rule_versions_created_by"), ["created_by"], unique=False)

    op.create_table(
        "segment_memberships",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("segment", sa.String(length=100), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("added_at", cdtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["customer_id"], ["users.id"],
                                name=op.f("fk_segment_memberships_customer_id_users"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["rule_id"], ["automation_rules.id"],
                                name=op.f("fk_segment_memberships_rule_id_automation_rules"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segment_memberships")),
        sa.UniqueConstraint("segment", "customer_id", name=op.f("uq_segment_memberships_segment_customer_id")),
    )  # fmt: skip
    with op.batch_alter_table("segment_memberships", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_segment_memberships_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_segment_memberships_rule_id"), ["rule_id"], unique=False)

    with op.batch_alter_table("automation_rules", schema=None) as batch_op:
        batch_op.add_column(sa.Column("trigger_event", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("schedule_cron", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("schedule_timezone", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("inactivity_days", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("frequency", FREQUENCY, server_default="EVERY_TIME", nullable=False))
        batch_op.add_column(sa.Column("frequency_days", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("quiet_start", sa.Time(), nullable=True))
        batch_op.add_column(sa.Column("quiet_end", sa.Time(), nullable=True))
        batch_op.add_column(sa.Column("coach_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))
        batch_op.add_column(sa.Column("failure_streak", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("paused_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("updated_at", cdtypes.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_fired_at", cdtypes.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_automation_rules_coach_id"), ["coach_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_automation_rules_coach_id_users"), "users", ["coach_id"], ["id"], ondelete="SET NULL"
        )
        batch_op.create_check_constraint(
            op.f("ck_automation_rules_inactivity_days_range"), "inactivity_days IS NULL OR (inactivity_days >= 1 AND inactivity_days <= 365)"
        )
        batch_op.create_check_constraint(
            op.f("ck_automation_rules_frequency_days_range"), "frequency_days IS NULL OR (frequency_days >= 1 AND frequency_days <= 3650)"
        )
        batch_op.create_check_constraint(op.f("ck_automation_rules_version_positive"), "version >= 1")
        batch_op.create_check_constraint(op.f("ck_automation_rules_failure_streak_non_negative"), "failure_streak >= 0")

    _convert_rules()

    with op.batch_alter_table("automation_executions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rule_version", sa.Integer(), server_default="1", nullable=False))
        batch_op.add_column(sa.Column("customer_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("event_id", BigId, nullable=True))
        batch_op.add_column(sa.Column("idempotency_key", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("steps_done", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("next_attempt_at", cdtypes.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("lease_until", cdtypes.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("finished_at", cdtypes.UTCDateTime(timezone=True), nullable=True))
    # Executions recorded before the engine name no occurrence: each is its own.
    op.execute("UPDATE automation_executions SET idempotency_key = 'legacy:' || CAST(id AS VARCHAR(20))")
    with op.batch_alter_table("automation_executions", schema=None) as batch_op:
        batch_op.alter_column("idempotency_key", existing_type=sa.String(length=200), nullable=False)
        batch_op.create_index(batch_op.f("ix_automation_executions_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index("ix_automation_executions_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_automation_executions_event_id"), ["event_id"], unique=False)
        batch_op.create_index(
            "ix_automation_executions_rule_customer", ["rule_id", "customer_id", "triggered_at"], unique=False
        )
        batch_op.create_unique_constraint(batch_op.f("uq_automation_executions_idempotency_key"), ["idempotency_key"])
        batch_op.create_foreign_key(
            batch_op.f("fk_automation_executions_customer_id_users"), "users", ["customer_id"], ["id"],
            ondelete="SET NULL",
        )  # fmt: skip
        batch_op.create_foreign_key(
            batch_op.f("fk_automation_executions_event_id_domain_events"), "domain_events", ["event_id"], ["id"],
            ondelete="SET NULL",
        )  # fmt: skip
        batch_op.create_check_constraint(op.f("ck_automation_executions_steps_done_non_negative"), "steps_done >= 0")


def downgrade() -> None:
    with op.batch_alter_table("automation_executions", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_automation_executions_steps_done_non_negative"), type_="check")
        batch_op.drop_constraint(batch_op.f("fk_automation_executions_event_id_domain_events"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_automation_executions_customer_id_users"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("uq_automation_executions_idempotency_key"), type_="unique")
        batch_op.drop_index("ix_automation_executions_rule_customer")
        batch_op.drop_index(batch_op.f("ix_automation_executions_event_id"))
        batch_op.drop_index("ix_automation_executions_due")
        batch_op.drop_index(batch_op.f("ix_automation_executions_customer_id"))
        for column in ("finished_at", "lease_until", "next_attempt_at", "steps_done", "idempotency_key", "event_id",
                       "customer_id", "rule_version"):  # fmt: skip
            batch_op.drop_column(column)

    # One action again: the first of each list.
    conn = op.get_bind()
    rules = sa.table("automation_rules", sa.column("id", sa.Integer), sa.column("action_json", cdtypes.JSONDocument()))
    for row in conn.execute(sa.select(rules)).mappings().all():
        action = row["action_json"]
        if isinstance(action, list):
            first = action[0] if action else {"type": "NOTIFY_COACH"}
            first = {**first, "type": {v: k for k, v in RENAMED_ACTIONS.items()}.get(first["type"], first["type"])}
            conn.execute(rules.update().where(rules.c.id == row["id"]).values(action_json=first))

    with op.batch_alter_table("automation_rules", schema=None) as batch_op:
        for name in ("failure_streak_non_negative", "version_positive", "frequency_days_range",
                     "inactivity_days_range", "rule_frequency"):  # fmt: skip
            batch_op.drop_constraint(op.f(f"ck_automation_rules_{name}"), type_="check")
        batch_op.drop_constraint(batch_op.f("fk_automation_rules_coach_id_users"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_automation_rules_coach_id"))
        for column in ("last_fired_at", "updated_at", "paused_reason", "failure_streak", "version", "coach_id",
                       "quiet_end", "quiet_start", "frequency_days", "frequency", "inactivity_days",
                       "schedule_timezone", "schedule_cron", "trigger_event"):  # fmt: skip
            batch_op.drop_column(column)

    with op.batch_alter_table("segment_memberships", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_segment_memberships_rule_id"))
        batch_op.drop_index(batch_op.f("ix_segment_memberships_customer_id"))
    op.drop_table("segment_memberships")
    with op.batch_alter_table("automation_rule_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_automation_rule_versions_created_by"))
    op.drop_table("automation_rule_versions")
