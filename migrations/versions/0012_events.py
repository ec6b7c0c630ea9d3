"""events: a dedupe key for detected domain events, and the dispatcher's index of undispatched ones

``dedupe_key`` names what a detected event is about (a plan item and its day, an invoice and its
due date, a ticket), unique per event type, so a detector that runs twice emits once. Events that
services emit leave it empty (NULLs never collide). The partial index holds only undispatched
ids, so the dispatcher's ``ORDER BY id LIMIT n`` stays one short index walk.

Revision ID: 0012_events
Revises: 0011_schedule
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_events"
down_revision = "0011_schedule"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("domain_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dedupe_key", sa.String(length=120), nullable=True))
        batch_op.create_index("uq_domain_events_event_type_dedupe_key", ["event_type", "dedupe_key"], unique=True)
        batch_op.create_index(
            "ix_domain_events_undispatched",
            ["id"],
            unique=False,
            postgresql_where=sa.text("dispatched_at IS NULL"),
            sqlite_where=sa.text("dispatched_at IS NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("domain_events", schema=None) as batch_op:
        batch_op.drop_index("ix_domain_events_undispatched")
        batch_op.drop_index("uq_domain_events_event_type_dedupe_key")
        batch_op.drop_column("dedupe_key")
