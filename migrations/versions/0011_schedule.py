"""schedule: session series, edit versions, booking times, availability zones and exceptions,
calendar feeds, the domain-event outbox; the waitlist tied to the roster

Existing rows are made to agree with the one waitlist rule before the composite foreign key
from ``waitlist_entries`` to ``session_participants`` is created: every entry gets a participant,
every WAITLIST participant an entry, and an entry is "promoted" exactly when its participant
holds a seat.

Revision ID: 0011_schedule
Revises: 0010_audittrust
"""

import sqlalchemy as sa
from alembic import op

import app.models.types as cdtypes

revision = "0011_schedule"
down_revision = "0010_audittrust"
branch_labels = None
depends_on = None


RECONCILE = (
    # An entry without a participant: the participant it stands for (seated once promoted).
    """
    INSERT INTO session_participants (session_id, customer_id, role, attendance_status, booked_at)
    SELECT w.session_id, w.customer_id,
           CASE WHEN w.promoted_at IS NULL THEN 'WAITLIST' ELSE 'PRIMARY' END, 'REGISTERED', w.joined_at
    FROM waitlist_entries w
    WHERE NOT EXISTS (SELECT 1 FROM session_participants p
                      WHERE p.session_id = w.session_id AND p.customer_id = w.customer_id)
    """,
    # When each existing booking was made: its waitlist join if it has one, else the session's start.
    """
    UPDATE session_participants SET booked_at = COALESCE(
        (SELECT w.joined_at FROM waitlist_entries w
         WHERE w.session_id = session_participants.session_id AND w.customer_id = session_participants.customer_id),
        (SELECT s.start_time FROM scheduled_sessions s WHERE s.id = session_participants.session_id))
    WHERE booked_at IS NULL
    """,
    # A WAITLIST participant without an entry: queued from when they were added.
    """
    INSERT INTO waitlist_entries (session_id, customer_id, joined_at, promoted_at)
    SELECT p.session_id, p.customer_id, p.booked_at, NULL
    FROM session_participants p
    WHERE p.role = 'WAITLIST'
      AND NOT EXISTS (SELECT 1 FROM waitlist_entries w
                      WHERE w.session_id = p.session_id AND w.customer_id = p.customer_id)
    """,
    # The roster decides: a seated participant's entry was promoted; a waiting one's was not.
    """
    UPDATE waitlist_entries SET promoted_at = joined_at
    WHERE promoted_at IS NULL AND EXISTS (
        SELECT 1 FROM session_participants p
        WHERE p.session_id = waitlist_entries.session_id AND p.customer_id = waitlist_entries.customer_id
          AND p.role = 'PRIMARY')
    """,
    """
    UPDATE waitlist_entries SET promoted_at = NULL
    WHERE promoted_at IS NOT NULL AND EXISTS (
        SELECT 1 FROM session_participants p
        WHERE p.session_id = waitlist_entries.session_id AND p.customer_id = waitlist_entries.customer_id
          AND p.role = 'WAITLIST')
    """,
)


def upgrade():
    op.create_table(
        "calendar_feeds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("coach_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", cdtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("rotated_at", cdtypes.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["coach_id"], ["users.id"], name=op.f("fk_calendar_feeds_coach_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_feeds")),
        sa.UniqueConstraint("coach_id", name=op.f("uq_calendar_feeds_coach_id")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_calendar_feeds_token_hash")),
    )
    op.create_table(
        "coach_availability_exceptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("coach_id", sa.Uuid(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("TIME_OFF", "EXTRA", name="availability_exception_kind", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("starts_at", cdtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", cdtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_coach_availability_exceptions_ends_after_starts")),
        sa.ForeignKeyConstraint(
            ["coach_id"], ["users.id"], name=op.f("fk_coach_availability_exceptions_coach_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coach_availability_exceptions")),
    )
    with op.batch_alter_table("coach_availability_exceptions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_coach_availability_exceptions_coach_id"), ["coach_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_coach_availability_exceptions_starts_at"), ["starts_at"], unique=False)

    op.create_table(
        "domain_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("occurred_at", cdtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=True),
        sa.Column("payload", cdtypes.JSONDocument(), nullable=False),
        sa.Column("dispatched_at", cdtypes.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["users.id"], name=op.f("fk_domain_events_customer_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_domain_events")),
    )
    with op.batch_alter_table("domain_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_domain_events_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_domain_events_dispatched_at"), ["dispatched_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_domain_events_event_type"), ["event_type"], unique=False)
        batch_op.create_index(batch_op.f("ix_domain_events_occurred_at"), ["occurred_at"], unique=False)

    op.create_table(
        "session_series",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("coach_id", sa.Uuid(), nullable=True),
        sa.Column("rrule", sa.String(length=500), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("created_at", cdtypes.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["coach_id"], ["users.id"], name=op.f("fk_session_series_coach_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_series")),
    )
    with op.batch_alter_table("session_series", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_session_series_coach_id"), ["coach_id"], unique=False)

    with op.batch_alter_table("coach_availability", schema=None) as batch_op:
        batch_op.add_column(sa.Column("timezone", sa.String(length=64), server_default="UTC", nullable=False))

    with op.batch_alter_table("scheduled_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("series_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))
        batch_op.create_index("ix_scheduled_sessions_coach_id_start_time", ["coach_id", "start_time"], unique=False)
        batch_op.create_index(batch_op.f("ix_scheduled_sessions_series_id"), ["series_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_scheduled_sessions_series_id_session_series"),
            "session_series",
            ["series_id"],
            ["id"],
            ondelete="SET NULL",
        )

    with op.batch_alter_table("session_participants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("booked_at", cdtypes.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("cancelled_at", cdtypes.UTCDateTime(timezone=True), nullable=True))

    for statement in RECONCILE:
        op.execute(statement)

    with op.batch_alter_table("session_participants", schema=None) as batch_op:
        batch_op.alter_column("booked_at", existing_type=cdtypes.UTCDateTime(timezone=True), nullable=False)
        batch_op.create_index("ix_session_participants_seats", ["session_id", "role", "attendance_status"])

    with op.batch_alter_table("waitlist_entries", schema=None) as batch_op:
        batch_op.create_foreign_key(
            "fk_waitlist_entries_participant",
            "session_participants",
            ["session_id", "customer_id"],
            ["session_id", "customer_id"],
            ondelete="CASCADE",
        )


def downgrade():
    with op.batch_alter_table("waitlist_entries", schema=None) as batch_op:
        batch_op.drop_constraint("fk_waitlist_entries_participant", type_="foreignkey")

    with op.batch_alter_table("session_participants", schema=None) as batch_op:
        batch_op.drop_index("ix_session_participants_seats")
        batch_op.drop_column("cancelled_at")
        batch_op.drop_column("booked_at")

    with op.batch_alter_table("scheduled_sessions", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_scheduled_sessions_series_id_session_series"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_scheduled_sessions_series_id"))
        batch_op.drop_index("ix_scheduled_sessions_coach_id_start_time")
        batch_op.drop_column("version")
        batch_op.drop_column("series_id")

    with op.batch_alter_table("coach_availability", schema=None) as batch_op:
        batch_op.drop_column("timezone")

    with op.batch_alter_table("session_series", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_session_series_coach_id"))

    op.drop_table("session_series")
    with op.batch_alter_table("domain_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_domain_events_occurred_at"))
        batch_op.drop_index(batch_op.f("ix_domain_events_event_type"))
        batch_op.drop_index(batch_op.f("ix_domain_events_dispatched_at"))
        batch_op.drop_index(batch_op.f("ix_domain_events_customer_id"))

    op.drop_table("domain_events")
    with op.batch_alter_table("coach_availability_exceptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_coach_availability_exceptions_starts_at"))
        batch_op.drop_index(batch_op.f("ix_coach_availability_exceptions_coach_id"))

    op.drop_table("coach_availability_exceptions")
    op.drop_table("calendar_feeds")
