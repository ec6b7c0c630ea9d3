"""dry run: domain events indexed by (event_type, occurred_at)

A rule's dry run replays the last N days of one event type; the events list filters by type.
The composite index serves both and replaces the single-column ``ix_domain_events_event_type``
(its leading column). Engagement events already carry ``(customer_id, occurred_at)``, which the
inactivity check walks, so nothing is added there.

Revision ID: 0014_dryrun
Revises: 0013_automation
"""

from alembic import op

revision = "0014_dryrun"
down_revision = "0013_automation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("domain_events", schema=None) as batch_op:
        batch_op.create_index("ix_domain_events_event_type_occurred_at", ["event_type", "occurred_at"], unique=False)
        batch_op.drop_index("ix_domain_events_event_type")


def downgrade() -> None:
    with op.batch_alter_table("domain_events", schema=None) as batch_op:
        batch_op.create_index("ix_domain_events_event_type", ["event_type"], unique=False)
        batch_op.drop_index("ix_domain_events_event_type_occurred_at")
