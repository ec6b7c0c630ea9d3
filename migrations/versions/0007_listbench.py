"""engagement_events: index (occurred_at, id) replaces (occurred_at), so list pages walk keys index-only

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
        batch_op.create_index(batch_op.f("ix_engagement_events_occurred_at_id"), ["occurred_at", "id"], unique=False)
        batch_op.drop_index(batch_op.f("ix_engagement_events_occurred_at"))


def downgrade():
    with op.batch_alter_table("engagement_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_engagement_events_occurred_at"), ["occurred_at"], unique=False)
        batch_op.drop_index(batch_op.f("ix_engagement_events_occurred_at_id"))
