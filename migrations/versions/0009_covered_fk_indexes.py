"""Drop twelve foreign-key indexes that a composite index or unique constraint already leads with

Each dropped index is on a column that is the first column of another index on the same
table, which serves the same lookups (and the foreign key's deletes); every insert, and every
update that cannot stay on its page, wrote both.

Revision ID: 0009_coveredfk
Revises: 0008_usertz
"""

from alembic import op

revision = "0009_coveredfk"
down_revision = "0008_usertz"
branch_labels = None
depends_on = None

COVERED = [
    ("challenge_results", "challenge_id"),
    ("coach_assignments", "customer_id"),
    ("community_reactions", "post_id"),
    ("customer_badges", "customer_id"),
    ("customer_plans", "customer_id"),
    ("engagement_events", "customer_id"),
    ("plan_items", "plan_id"),
    ("progress_metrics", "customer_id"),
    ("session_participants", "session_id"),
    ("user_roles", "user_id"),
    ("waitlist_entries", "session_id"),
    ("wearable_authorizations", "customer_id"),
]


def upgrade():
    for table, column in COVERED:
        op.drop_index(f"ix_{table}_{column}", table_name=table)


def downgrade():
    for table, column in COVERED:
        op.create_index(f"ix_{table}_{column}", table, [column], unique=False)
