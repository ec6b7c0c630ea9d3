"""A console to work in all day (issue 17): saved list views and trigram search indexes

- ``saved_views``: a list page's filters, sort and columns saved under a name by one console account.
- Trigram indexes for the navbar's global search ("contains", ``ILIKE '%x%'``): users' name, email and
  phone, programs' title, tickets' subject, invoices' reference. On PostgreSQL they are GIN indexes with
  ``gin_trgm_ops`` (``pg_trgm`` is enabled first; it is a trusted extension, so the database owner may);
  on SQLite they are plain indexes, which its LIKE does not use but which keep one schema for both.

Revision ID: 0017_console_ux
Revises: 0016_billing_engagement
"""

import sqlalchemy as sa
from alembic import op

import app.models.types as cdtypes

revision = "0017_console_ux"
down_revision = "0016_billing_engagement"
branch_labels = None
depends_on = None

TRIGRAM_COLUMNS = (
    ("users", "full_name"),
    ("users", "email"),
    ("users", "phone"),
    ("programs", "title"),
    ("support_tickets", "subject"),
    ("invoices", "external_reference"),
)


def upgrade() -> None:
    op.create_table(
        "saved_views",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("console_user_id", sa.Integer(), nullable=False),
        sa.Column("endpoint", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("query", sa.String(length=4000), nullable=False),
        sa.Column("created_at", cdtypes.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["console_user_id"], ["ab_user.id"], name=op.f("fk_saved_views_console_user_id_ab_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_views")),
        sa.UniqueConstraint(
            "console_user_id", "endpoint", "name", name=op.f("uq_saved_views_console_user_id_endpoint_name")
        ),
    )
    with op.batch_alter_table("saved_views", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_saved_views_console_user_id"), ["console_user_id"], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for table, column in TRIGRAM_COLUMNS:
        op.create_index(
            f"ix_{table}_{column}_trgm",
            table,
            [column],
            unique=False,
            postgresql_using="gin",
            postgresql_ops={column: "gin_trgm_ops"},
        )


def downgrade() -> None:
    for table, column in reversed(TRIGRAM_COLUMNS):
        op.drop_index(f"ix_{table}_{column}_trgm", table_name=table)
    with op.batch_alter_table("saved_views", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_saved_views_console_user_id"))
    op.drop_table("saved_views")
