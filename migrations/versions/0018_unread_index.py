"""Unread messages indexed on their own: the navbar's unread badge runs on every page of a coach or the desk

A partial index on ``messages(thread_id) WHERE read_at IS NULL``: the count reads only the unread rows of
the threads a person answers, however long their read history grows.

Revision ID: 0018_unread_index
Revises: 0017_console_ux
"""

import sqlalchemy as sa
from alembic import op

revision = "0018_unread_index"
down_revision = "0017_console_ux"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_messages_unread",
        "messages",
        ["thread_id"],
        postgresql_where=sa.text("read_at IS NULL"),
        sqlite_where=sa.text("read_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_messages_unread", table_name="messages")
