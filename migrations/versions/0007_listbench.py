"""engagement_events: list indexes (occurred_at, id) and (event_type, occurred_at), carrying customer_id

Pages and capped counts of the events list (coach scope included) become index-only scans.
(occurred_at, id) replaces (occurred_at). ``INCLUDE`` is PostgreSQL only; SQLite gets the key columns.

Revision ID: 0007_listbench
Revises: 0005_charts
"""

from alembic import op

revision = "0007_listbench"
down_revision = "0005_charts"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("engagement_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_engagement_events_event_type_occurred_at"))
        batch_op.drop_index(batch_op.f("ix_engagement_events_occurred_at"))
        batch_op.create_index(
            batch_op.f("ix_engagement_events_event_type_occurred_at"),
            ["event_type", "occurred_at"],
            unique=False,
            postgresql_include=["customer_id"],
        )
        batch_op.create_index(
            batch_op.f("ix_engagement_events_occurred_at_id"),
            ["occurred_at", "id"],
            unique=False,
            postgresql_include=["customer_id"],
        )


def downgrade():
    with op.batch_alter_table("engagement_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_engagement_events_occurred_at_id"))
        batch_op.drop_index(batch_op.f("ix_engagement_events_event_type_occurred_at"))
        batch_op.create_index(batch_op.f("ix_engagement_events_occurred_at"), ["occurred_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_engagement_events_event_type_occurred_at"), ["event_type", "occurred_at"], unique=False
        )
