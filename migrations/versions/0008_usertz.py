"""ab_user.timezone: the console account's own IANA time zone (empty = the configured default)

Revision ID: 0008_usertz
Revises: 0007_listbench
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_usertz"
down_revision = "0007_listbench"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("ab_user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("timezone", sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table("ab_user", schema=None) as batch_op:
        batch_op.drop_column("timezone")
