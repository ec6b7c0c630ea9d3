"""REST API clients, MFA and real sign-in sessions (issue 15)

- ``api_clients``: a key's public prefix (lookup) beside its hash, OAuth-style scopes, at most one subject
  (a coach or a customer the client acts for), the previous key for a rotation's overlap window, expiry and
  revocation times.
- ``api_access_logs``: method and request id; (client_id, occurred_at) for per-client traffic charts.
- ``progress_metrics.client_key``: a sender's id for a reading, unique per customer (idempotent ingest).
- ``auth_sessions``: the console account, last seen, last MFA check, revocation, address and user agent.
- ``ab_user``: the encrypted TOTP secret, enrolment time and the last accepted time step;
  ``mfa_recovery_codes``: ten hashed single-use codes per account.

Revision ID: 0015_api_mfa
Revises: 0014_dryrun
"""

import sqlalchemy as sa
from alembic import op

import app.models.types as cdtypes  # noqa: F401

revision = "0015_api_mfa"
down_revision = "0014_dryrun"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mfa_recovery_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("console_user_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=128), nullable=False),
        sa.Column("used_at", cdtypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", cdtypes.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["console_user_id"],
            ["ab_user.id"],
            name=op.f("fk_mfa_recovery_codes_console_user_id_ab_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mfa_recovery_codes")),
    )
    with op.batch_alter_table("mfa_recovery_codes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mfa_recovery_codes_console_user_id"), ["console_user_id"], unique=False)

    with op.batch_alter_table("ab_user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mfa_secret", sa.String(length=256), nullable=True))
        batch_op.add_column(sa.Column("mfa_enrolled_at", cdtypes.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("mfa_last_step", sa.BigInteger(), nullable=True))

    with op.batch_alter_table("api_access_logs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("method", sa.String(length=7), nullable=True))
        batch_op.add_column(sa.Column("request_id", sa.String(length=36), nullable=True))
        batch_op.drop_index(batch_op.f("ix_api_access_logs_client_id"))
        batch_op.create_index(
            batch_op.f("ix_api_access_logs_client_id_occurred_at"), ["client_id", "occurred_at"], unique=False
        )

    with op.batch_alter_table("api_clients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key_prefix", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("scopes", sa.String(length=500), server_default="", nullable=False))
        batch_op.add_column(sa.Column("coach_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("customer_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("previous_key_prefix", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("previous_key_hash", sa.String(length=256), nullable=True))
        batch_op.add_column(sa.Column("previous_key_expires_at", cdtypes.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("expires_at", cdtypes.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("revoked_at", cdtypes.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_api_clients_coach_id"), ["coach_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_api_clients_customer_id"), ["customer_id"], unique=False)
        batch_op.create_unique_constraint(batch_op.f("uq_api_clients_key_prefix"), ["key_prefix"])
        batch_op.create_unique_constraint(batch_op.f("uq_api_clients_previous_key_prefix"), ["previous_key_prefix"])
        batch_op.create_foreign_key(
            batch_op.f("fk_api_clients_coach_id_users"), "users", ["coach_id"], ["id"], ondelete="CASCADE"
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_api_clients_customer_id_users"), "users", ["customer_id"], ["id"], ondelete="CASCADE"
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_api_clients_one_subject"), "coach_id IS NULL OR customer_id IS NULL"
        )

    with op.batch_alter_table("auth_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("console_user_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("last_seen_at", cdtypes.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("mfa_verified_at", cdtypes.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("revoked_at", cdtypes.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("revoked_reason", sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column("ip_address", sa.String(length=45), nullable=True))
        batch_op.add_column(sa.Column("user_agent", sa.String(length=300), nullable=True))
        batch_op.create_index(batch_op.f("ix_auth_sessions_console_user_id"), ["console_user_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_auth_sessions_console_user_id_ab_user"),
            "ab_user",
            ["console_user_id"],
            ["id"],
            ondelete="CASCADE",
        )

    with op.batch_alter_table("progress_metrics", schema=None) as batch_op:
        batch_op.add_column(sa.Column("client_key", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_progress_metrics_customer_id_client_key"), ["customer_id", "client_key"]
        )


def downgrade() -> None:
    with op.batch_alter_table("progress_metrics", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_progress_metrics_customer_id_client_key"), type_="unique")
        batch_op.drop_column("client_key")

    with op.batch_alter_table("auth_sessions", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_auth_sessions_console_user_id_ab_user"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_auth_sessions_console_user_id"))
        batch_op.drop_column("user_agent")
        batch_op.drop_column("ip_address")
        batch_op.drop_column("revoked_reason")
        batch_op.drop_column("revoked_at")
        batch_op.drop_column("mfa_verified_at")
        batch_op.drop_column("last_seen_at")
        batch_op.drop_column("console_user_id")

    with op.batch_alter_table("api_clients", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_api_clients_one_subject"), type_="check")
        batch_op.drop_constraint(batch_op.f("fk_api_clients_customer_id_users"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_api_clients_coach_id_users"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("uq_api_clients_previous_key_prefix"), type_="unique")
        batch_op.drop_constraint(batch_op.f("uq_api_clients_key_prefix"), type_="unique")
        batch_op.drop_index(batch_op.f("ix_api_clients_customer_id"))
        batch_op.drop_index(batch_op.f("ix_api_clients_coach_id"))
        batch_op.drop_column("revoked_at")
        batch_op.drop_column("expires_at")
        batch_op.drop_column("previous_key_expires_at")
        batch_op.drop_column("previous_key_hash")
        batch_op.drop_column("previous_key_prefix")
        batch_op.drop_column("customer_id")
        batch_op.drop_column("coach_id")
        batch_op.drop_column("scopes")
        batch_op.drop_column("key_prefix")

    with op.batch_alter_table("api_access_logs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_access_logs_client_id_occurred_at"))
        batch_op.create_index(batch_op.f("ix_api_access_logs_client_id"), ["client_id"], unique=False)
        batch_op.drop_column("request_id")
        batch_op.drop_column("method")

    with op.batch_alter_table("ab_user", schema=None) as batch_op:
        batch_op.drop_column("mfa_last_step")
        batch_op.drop_column("mfa_enrolled_at")
        batch_op.drop_column("mfa_secret")

    with op.batch_alter_table("mfa_recovery_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mfa_recovery_codes_console_user_id"))

    op.drop_table("mfa_recovery_codes")
