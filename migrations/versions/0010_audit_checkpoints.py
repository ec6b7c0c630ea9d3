"""audit trust: signed checkpoints of the audit chain; the append-only guard's bypass only for a database role

The guard let any session through that ran SET LOCAL coachdesk.maintenance = 'on'. Now the
session's role must also be (a member of) coachdesk_maintenance; the role is created here
when this migration may (else the operator creates it, see README).

Revision ID: 0010_audittrust
Revises: 0009_coveredfk
"""

import sqlalchemy as sa
from alembic import op

import app.models.types as cdtypes

revision = "0010_audittrust"
down_revision = "0009_coveredfk"
branch_labels = None
depends_on = None

MAINTENANCE_ROLE = "coachdesk_maintenance"

GUARD_FUNCTION = f"""
CREATE OR REPLACE FUNCTION audit_logs_guard() RETURNS trigger AS $$
BEGIN
    IF current_setting('coachdesk.maintenance', true) = 'on'
       AND EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{MAINTENANCE_ROLE}')
       AND pg_has_role(current_user, '{MAINTENANCE_ROLE}', 'MEMBER') THEN
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit_logs is append-only: % refused (maintenance needs the {MAINTENANCE_ROLE} role)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql
"""

OLD_GUARD_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_logs_guard() RETURNS trigger AS $$
BEGIN
    IF current_setting('coachdesk.maintenance', true) = 'on' THEN
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit_logs is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql
"""

CREATE_ROLE = f"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{MAINTENANCE_ROLE}') THEN
        BEGIN
            CREATE ROLE {MAINTENANCE_ROLE} NOLOGIN;
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE NOTICE 'cannot create role {MAINTENANCE_ROLE}: the operator creates it (see README)';
        END;
    END IF;
END
$$
"""


def upgrade():
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", cdtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("head_id", sa.BigInteger(), nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("first_id", sa.BigInteger(), nullable=True),
        sa.Column("first_prev", sa.String(length=64), nullable=True),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("signature", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checkpoints")),
    )
    with op.batch_alter_table("audit_checkpoints", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_checkpoints_head_id"), ["head_id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(CREATE_ROLE)
        op.execute(GUARD_FUNCTION)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(OLD_GUARD_FUNCTION)
    with op.batch_alter_table("audit_checkpoints", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_checkpoints_head_id"))
    op.drop_table("audit_checkpoints")
