"""Personal data is declared on the column (``info={"personal": ...}``), and audit honours it.

A table that references a user must say, for each of its text, JSON and date columns,
whether it holds personal data: one left out would have its values written into the
immutable audit chain, and would escape retention ANONYMIZE and data-subject erasure.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog, CommunityPost, CustomerProfile, PlatformUser, SupportTicket
from app.models.base import Model
from app.models.classification import PERSONAL, is_personal, personal_columns
from app.services.audit.hooks import SECRET_COLUMNS

USER_TABLES = frozenset({"users", "ab_user"})


def _references_user(table: sa.Table) -> bool:
    return table.name in USER_TABLES or any(fk.column.table.name in USER_TABLES for fk in table.foreign_keys)


def _base_type(column: sa.Column) -> sa.types.TypeEngine:
    kind = column.type
    return kind.impl if isinstance(kind, sa.types.TypeDecorator) else kind


def _needs_decision(table: sa.Table, column: sa.Column) -> bool:
    """Whether ``column`` must carry ``info={"personal": True|False}``.

    Classified by rule, so not asked: primary and foreign keys (identifiers); enums (status and
    type codes from a closed list); datetimes named ``*_at`` or ``*_on`` (when something
    happened: created_at, updated_at, sent_at, FAB's created_on...); secrets (``secret: True``
    or the audit's SECRET_COLUMNS: never copied out at all). Every other text (String/Text),
    JSON and date/datetime column is a decision someone has to make."""
    kind = _base_type(column)
    if column.primary_key or column.foreign_keys or isinstance(kind, sa.Enum):
        return False
    if column.info.get("secret") or column.name in SECRET_COLUMNS.get(table.name, ()):
        return False
    if isinstance(kind, sa.DateTime) and column.name.endswith(("_at", "_on")):
        return False
    return isinstance(kind, (sa.String, sa.Text, sa.JSON, sa.Date, sa.DateTime))


def test_every_column_of_a_table_about_a_user_is_classified():
    missing = [
        f"{table.name}.{column.name}"
        for table in Model.metadata.sorted_tables
        if _references_user(table)
        for column in table.columns
        if _needs_decision(table, column) and not isinstance(column.info.get(PERSONAL), bool)
    ]
    assert not missing, (
        'say whether these hold personal data: info={"personal": True} (never audited, anonymised, '
        f'erased) or info={{"personal": False}}: {missing}'
    )


def test_the_classification_covers_the_known_personal_columns():
    """The columns the retired PERSONAL_DATA registry named, FAB's ``ab_user`` included."""
    tables = Model.metadata.tables
    assert personal_columns(tables["users"]) == {"email", "full_name", "phone"}
    assert personal_columns(tables["ab_user"]) == {"first_name", "last_name", "email", "username"}
    assert personal_columns(tables["customer_profiles"]) == {
        "date_of_birth",
        "gender",
        "goals_json",
        "risk_flags",
        "emergency_contact",
    }
    assert personal_columns(tables["messages"]) == {"body", "attachments_json"}
    assert personal_columns(tables["audit_logs"]) == {"ip_address", "user_agent"}
    assert not is_personal(tables["users"].c.locale)


def _metadata_text() -> str:
    return " ".join(repr(m) for m in db.session.scalars(select(AuditLog.metadata_json)))


def test_personal_values_never_reach_an_audit_row(app_ctx):
    user = PlatformUser(email="pia@example.com", full_name="Pia Private", phone="+1 555 0199")
    db.session.add(user)
    db.session.flush()
    db.session.add_all(
        [
            CustomerProfile(
                user_id=user.id,
                date_of_birth=dt.date(1971, 3, 14),
                gender="FEMALE",
                goals_json={"notes": "knee-surgery-note"},
                risk_flags="asthma-flag",
                emergency_contact="Paul Private +1 555 0123",
            ),
            SupportTicket(requester_id=user.id, subject="ticket-subject-pia", resolution_notes="notes-pia"),
            CommunityPost(author_id=user.id, community_id=1, content="post-by-pia", media_url="https://m/pia.jpg"),
        ]
    )
    db.session.commit()
    profile = db.session.get(CustomerProfile, user.id)
    profile.risk_flags = "changed-flag"
    profile.timezone = "Europe/Berlin"  # not personal: its value is recorded
    db.session.commit()

    dump = _metadata_text()
    for value in (
        "pia@example.com",
        "Pia Private",
        "555 0199",
        "1971-03-14",
        "FEMALE",
        "knee-surgery-note",
        "asthma-flag",
        "changed-flag",
        "Paul Private",
        "ticket-subject-pia",
        "notes-pia",
        "post-by-pia",
        "pia.jpg",
    ):
        assert value not in dump
    update = db.session.scalars(
        select(AuditLog).where(AuditLog.resource_type == "customer_profiles", AuditLog.action == "update")
    ).one()
    assert set(update.metadata_json["fields"]) == {"risk_flags", "timezone"}  # names are kept
    assert update.metadata_json["values"] == {"timezone": {"old": "UTC", "new": "Europe/Berlin"}}


def test_audit_reads_the_flag_on_the_column(app_ctx):
    """Marking a column personal is all it takes to keep its values out of the chain."""
    user = PlatformUser(email="lou@example.com", full_name="Lou", locale="en")
    db.session.add(user)
    db.session.commit()
    locale = PlatformUser.__table__.c.locale
    assert locale.info[PERSONAL] is False
    locale.info[PERSONAL] = True
    try:
        user.locale = "de"
        db.session.commit()
    finally:
        locale.info[PERSONAL] = False
    row = db.session.scalars(select(AuditLog).where(AuditLog.action == "update")).one()
    assert row.metadata_json["fields"] == ["locale"]
    assert "values" not in row.metadata_json
