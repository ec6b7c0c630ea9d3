"""Per-account time zones: pages show times in the viewer's zone, filters use its midnights, files stay UTC.

Real SQLite and PostgreSQL (the ``app`` fixture), real FAB login and forms.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import uuid
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models.compliance import AuditLog
from app.models.identity import ConsoleUser, PlatformUser
from app.models.jobs import JobRun
from app.services import timezones
from tests.support.apps import Account
from tests.support.web import csrf_token, login

BERLIN = "Europe/Berlin"
NEW_YORK = "America/New_York"
# 23:30 UTC on 15 January: already the 16th in Berlin (00:30), still the 15th in New York (18:30).
LATE_EVENING_UTC = dt.datetime(2026, 1, 15, 23, 30, tzinfo=dt.UTC)


def set_zone(app: Flask, username: str, zone: str | None) -> None:
    with app.app_context():
        account = db.session.scalar(select(ConsoleUser).where(ConsoleUser.username == username))
        account.timezone = zone
        db.session.commit()


def zone_of(app: Flask, username: str) -> str | None:
    with app.app_context():
        db.session.expire_all()
        return db.session.scalar(select(ConsoleUser.timezone).where(ConsoleUser.username == username))


def add_platform_user(app: Flask, name: str, created_at: dt.datetime) -> str:
    with app.app_context():
        user = PlatformUser(email=f"{name.lower()}@example.test", full_name=name, locale="en", created_at=created_at)
        db.session.add(user)
        db.session.commit()
        return str(user.id)


def signed_in(app: Flask, account: Account) -> Any:
    client = app.test_client()
    login(client, account.username, account.password)
    return client


def page(client: Any, url: str) -> str:
    resp = client.get(url)
    assert resp.status_code == 200, (url, resp.status_code)
    return resp.get_data(as_text=True)


def settings_post(client: Any, **data: Any) -> Any:
    token = csrf_token(client, "/account/settings/")
    return client.post("/account/settings/", data={"csrf_token": token, **data})


def test_the_same_row_reads_in_each_viewers_zone(app: Flask, accounts: dict[str, Account]) -> None:
    user_id = add_platform_user(app, "Zoe Zone", LATE_EVENING_UTC)
    set_zone(app, "admin", BERLIN)
    set_zone(app, "support", NEW_YORK)
    berlin, new_york = signed_in(app, accounts["Admin"]), signed_in(app, accounts["Support"])

    berlin_list = page(berlin, "/platform-users/list/?q=Zoe")
    new_york_list = page(new_york, "/platform-users/list/?q=Zoe")
    assert "Jan 16, 2026, 12:30\u202fAM" in berlin_list
    assert "Jan 15, 2026, 6:30\u202fPM" in new_york_list
    assert "6:30\u202fPM" not in berlin_list and "12:30\u202fAM" not in new_york_list
    # The show page and the footer say the same, with the zone's abbreviation and offset.
    assert "Jan 16, 2026, 12:30\u202fAM" in page(berlin, f"/platform-users/show/{user_id}")
    assert "Jan 15, 2026, 6:30\u202fPM" in page(new_york, f"/platform-users/show/{user_id}")
    assert re.search(r"Times are shown in Europe/Berlin \(CES?T, UTC\+0[12]:00\)", berlin_list)
    assert re.search(r"Times are shown in America/New_York \(E[DS]T, UTC-0[45]:00\)", new_york_list)
    # An account without a zone reads the configured default (UTC).
    set_zone(app, "support", None)
    default_list = page(new_york, "/platform-users/list/?q=Zoe")
    assert "Jan 15, 2026, 11:30\u202fPM" in default_list
    assert "Times are shown in UTC (UTC+00:00)" in default_list


def test_related_lists_and_the_audit_trail_use_the_viewers_zone(app: Flask, accounts: dict[str, Account]) -> None:
    from zoneinfo import ZoneInfo

    from babel.dates import format_datetime as babel_datetime

    from app.models.identity import Consent
    from app.services.audit import chain as audit

    user_id = add_platform_user(app, "Rita Related", dt.datetime(2026, 1, 10, 8, 0, tzinfo=dt.UTC))
    with app.app_context():
        db.session.add(Consent(user_id=uuid.UUID(user_id), consent_type="marketing", granted_at=LATE_EVENING_UTC))
        audit.record("demo.event", "users", user_id, {}, commit=True)
        logged_at = db.session.scalar(select(AuditLog.created_at).where(AuditLog.action == "demo.event"))
    set_zone(app, "admin", BERLIN)
    set_zone(app, "compliance", NEW_YORK)
    # The consent is a related list on the user's page; only its time is 00:30 in Berlin.
    shown = page(signed_in(app, accounts["Admin"]), f"/platform-users/show/{user_id}")
    assert "Jan 16, 2026, 12:30\u202fAM" in shown and "Jan 10, 2026, 9:00\u202fAM" in shown
    # Searched by the row's key: signing in with MFA writes enough audit rows to push it off page one.
    trail = page(signed_in(app, accounts["Compliance"]), f"/audit-logs/list/?q={user_id}")
    expected = babel_datetime(logged_at, "MMM d, y, h:mm\u202fa", tzinfo=ZoneInfo(NEW_YORK), locale="en")
    assert expected in trail
    assert babel_datetime(logged_at, "MMM d, y, h:mm\u202fa", tzinfo=ZoneInfo("UTC"), locale="en") not in trail


def test_a_date_filter_means_that_day_in_the_viewers_zone(app: Flask, accounts: dict[str, Account]) -> None:
    add_platform_user(app, "Late Larry", LATE_EVENING_UTC)
    add_platform_user(app, "Noon Nora", dt.datetime(2026, 1, 15, 12, 0, tzinfo=dt.UTC))
    set_zone(app, "admin", BERLIN)
    set_zone(app, "support", NEW_YORK)
    berlin, new_york = signed_in(app, accounts["Admin"]), signed_in(app, accounts["Support"])

    def day(client: Any, date: str) -> str:
        return page(client, f"/platform-users/list/?f_created_at_from={date}&f_created_at_to={date}")

    berlin_15, berlin_16 = day(berlin, "2026-01-15"), day(berlin, "2026-01-16")
    assert "Noon Nora" in berlin_15 and "Late Larry" not in berlin_15
    assert "Late Larry" in berlin_16 and "Noon Nora" not in berlin_16
    new_york_15, new_york_16 = day(new_york, "2026-01-15"), day(new_york, "2026-01-16")
    assert "Noon Nora" in new_york_15 and "Late Larry" in new_york_15
    assert "Late Larry" not in new_york_16
    # The filter bar names the zone its days are in.
    assert 'class="text-muted cd-filter-zone"' in berlin_15 and ">Europe/Berlin</small>" in berlin_15


def test_csv_exports_stay_in_utc_whatever_the_viewers_zone(app: Flask, accounts: dict[str, Account]) -> None:
    add_platform_user(app, "Export Ed", LATE_EVENING_UTC)
    set_zone(app, "admin", BERLIN)
    resp = signed_in(app, accounts["Admin"]).get("/platform-users/export/?q=Export")
    assert resp.status_code == 200
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True))))
    header, row = rows[0], rows[1]
    assert header[-1] == "Created (UTC)" and header[0] == "Name"
    assert row[0] == "Export Ed" and row[-1] == "2026-01-15T23:30:00+00:00"


def test_a_person_sets_their_own_zone_and_the_change_is_audited(app: Flask, accounts: dict[str, Account]) -> None:
    coach = signed_in(app, accounts["Coach"])
    form = page(coach, "/account/settings/")
    assert 'name="timezone"' in form and 'class="form-control cd-select2"' in form
    assert '<option value="Europe/Berlin">Europe/Berlin</option>' in form
    assert "coachdesk/zone_select.js" in form and "select2.min.js" in form  # served locally
    assert "//cdn" not in form

    resp = settings_post(coach, timezone="Asia/Tokyo")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/account/settings/")
    assert zone_of(app, "coach") == "Asia/Tokyo"
    after = page(coach, "/account/settings/")
    assert "Times are now shown in Asia/Tokyo." in after
    assert '<option selected value="Asia/Tokyo">' in after or '<option value="Asia/Tokyo" selected>' in after
    assert "Times are shown in Asia/Tokyo (JST, UTC+09:00)" in after
    with app.app_context():
        rows = db.session.scalars(
            select(AuditLog).where(AuditLog.resource_type == "ab_user", AuditLog.action == "update")
        ).all()
        changes = [r.metadata_json for r in rows if "timezone" in r.metadata_json["fields"]]
        assert changes and changes[-1]["values"]["timezone"] == {"old": None, "new": "Asia/Tokyo"}
        coach_user = db.session.scalar(select(PlatformUser).where(PlatformUser.email == "coach@coachdesk.test"))
        assert [r.actor_id for r in rows if "timezone" in r.metadata_json["fields"]][-1] == coach_user.id

    # Back to the default: the blank choice.
    assert settings_post(coach, timezone="").status_code == 302
    assert zone_of(app, "coach") is None


@pytest.mark.parametrize(
    "value, message",
    [
        ("Mars/Olympus_Mons", "Unknown time zone “Mars/Olympus_Mons”: choose one from the list."),
        ("europe/berlin", "Unknown time zone “europe/berlin”"),
        ("Factory", "Unknown time zone “Factory”"),
        ("Europe/" + "x" * 500, "Unknown time zone"),
        (None, "Choose a time zone."),
    ],
)
def test_an_invalid_zone_is_refused_with_a_message_and_nothing_saved(
    app: Flask, accounts: dict[str, Account], value: str | None, message: str
) -> None:
    set_zone(app, "manager", BERLIN)
    manager = signed_in(app, accounts["Manager"])
    with app.app_context():
        audit_rows = len(db.session.scalars(select(AuditLog.id)).all())
    resp = settings_post(manager, **({} if value is None else {"timezone": value}))
    body = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert message in body.replace("&#8220;", "“").replace("&#8221;", "”")
    assert "x" * 100 not in body
    assert zone_of(app, "manager") == BERLIN
    with app.app_context():
        assert len(db.session.scalars(select(AuditLog.id)).all()) == audit_rows


def test_settings_need_a_signed_in_console_role_and_a_csrf_token(app: Flask, accounts: dict[str, Account]) -> None:
    anonymous = app.test_client()
    for resp in (anonymous.get("/account/settings/"), anonymous.post("/account/settings/", data={"timezone": "UTC"})):
        assert resp.status_code in (302, 400)
        if resp.status_code == 302:
            assert "/login/" in resp.headers["Location"]
    # A POST without a token: refused by CSRFProtect, nothing saved.
    support = signed_in(app, accounts["Support"])
    resp = support.post("/account/settings/", data={"timezone": "Asia/Tokyo"})
    assert resp.status_code == 400
    assert zone_of(app, "support") is None
    # An account with no console role (FAB's Public role) may not open the page.
    with app.app_context():
        sm = app.appbuilder.sm
        public = sm.find_role("Public") or sm.add_role("Public")
        sm.add_user("noroles", "No", "Roles", "noroles@example.test", public, password="noroles-Passw0rd!")
    outsider = app.test_client()
    token = csrf_token(outsider)
    outsider.post("/login/", data={"username": "noroles", "password": "noroles-Passw0rd!", "csrf_token": token})
    assert outsider.get("/account/settings/").status_code == 403
    assert outsider.post("/account/settings/", data={"timezone": "UTC", "csrf_token": token}).status_code == 403
    assert zone_of(app, "noroles") is None


def admin_edit_form(client: Any, account_id: int) -> dict[str, Any]:
    body = page(client, f"/users/edit/{account_id}")
    assert 'name="timezone"' in body
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', body).group(1)
    return {"csrf_token": token, "first_name": "Coach", "last_name": "Person", "username": "coach",
            "active": "y", "email": "coach@coachdesk.test"}  # fmt: skip


def test_admin_sets_an_accounts_zone_on_the_account_form(app: Flask, accounts: dict[str, Account]) -> None:
    admin = signed_in(app, accounts["Admin"])
    with app.app_context():
        coach = db.session.scalar(select(ConsoleUser).where(ConsoleUser.username == "coach"))
        coach_id, role_id = coach.id, coach.roles[0].id
    data = admin_edit_form(admin, coach_id)
    refused = admin.post(f"/users/edit/{coach_id}", data={**data, "roles": role_id, "timezone": "Atlantis/Capital"})
    assert refused.status_code == 200
    assert "Unknown time zone" in refused.get_data(as_text=True)
    assert zone_of(app, "coach") is None

    saved = admin.post(f"/users/edit/{coach_id}", data={**data, "roles": role_id, "timezone": NEW_YORK})
    assert saved.status_code == 302
    assert zone_of(app, "coach") == NEW_YORK
    assert NEW_YORK in page(admin, f"/users/show/{coach_id}")
    # Only Admin has the account admin.
    assert signed_in(app, accounts["Support"]).get(f"/users/edit/{coach_id}").status_code == 403


def test_the_jobs_console_shows_times_in_the_viewers_zone(
    app: Flask, accounts: dict[str, Account], redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "REDIS_URL", redis_url)
    with app.app_context():
        db.session.add(JobRun(kind="demo.kind", queue="default", created_at=LATE_EVENING_UTC))
        db.session.commit()
    set_zone(app, "compliance", NEW_YORK)
    body = page(signed_in(app, accounts["Compliance"]), "/compliance/jobs/")
    assert "Jan 15, 2026, 6:30\u202fPM" in body
    set_zone(app, "compliance", BERLIN)
    assert "Jan 16, 2026, 12:30\u202fAM" in page(signed_in(app, accounts["Compliance"]), "/compliance/jobs/")


def test_retention_and_program_pages_use_the_viewers_zone(app: Flask, accounts: dict[str, Account]) -> None:
    from app.models.compliance import DataRetentionPolicy, DeletionStrategy
    from app.models.training import Program, ProgramLevel, Visibility

    with app.app_context():
        db.session.add(
            DataRetentionPolicy(
                entity="auth_sessions", retention_period_days=30, deletion_strategy=DeletionStrategy.HARD_DELETE,
                last_run_at=LATE_EVENING_UTC,
            )
        )  # fmt: skip
        db.session.add(
            Program(
                title="Zone Strength", level=ProgramLevel.BEGINNER, visibility=Visibility.PUBLIC,
                created_at=LATE_EVENING_UTC, updated_at=LATE_EVENING_UTC,
            )
        )  # fmt: skip
        db.session.commit()
    set_zone(app, "compliance", BERLIN)
    set_zone(app, "admin", NEW_YORK)
    assert "Jan 16, 2026, 12:30\u202fAM" in page(signed_in(app, accounts["Compliance"]), "/compliance/retention/")
    programs = page(signed_in(app, accounts["Admin"]), "/planbuilder/")
    assert "Zone Strength" in programs and "Jan 15, 2026, 6:30\u202fPM" in programs


def test_a_typed_datetime_is_read_in_the_viewers_zone(app: Flask, accounts: dict[str, Account]) -> None:
    """Edit forms: what a Berlin admin types as 10:00 is stored as 09:00 UTC (winter), and shown back as 10:00."""
    from flask import g
    from werkzeug.datastructures import MultiDict
    from wtforms import Form

    from app.web.views.fields import AwareDateTimeField

    class WhenForm(Form):
        when = AwareDateTimeField()

    set_zone(app, "admin", BERLIN)
    with app.test_request_context("/"):
        g.user = db.session.scalar(select(ConsoleUser).where(ConsoleUser.username == "admin"))
        form = WhenForm(MultiDict({"when": "2026-01-15T10:00"}))
        assert form.validate()
        assert form.when.data == dt.datetime(2026, 1, 15, 9, 0, tzinfo=dt.UTC)
        assert WhenForm(data={"when": form.when.data}).when._value() == "2026-01-15T10:00"


def test_zone_rules_outside_a_request(app: Flask) -> None:
    from app.web.locale import select_timezone

    with app.app_context():
        assert select_timezone() == "UTC"
    zones = timezones.available_zones()
    assert list(zones) == sorted(zones) and BERLIN in zones and "Factory" not in zones and "localtime" not in zones
    assert timezones.clean_zone("  ") is None and timezones.clean_zone(f" {BERLIN} ") == BERLIN
    with pytest.raises(timezones.TimezoneError):
        timezones.clean_zone("Not/AZone")
    # A stored zone that is no longer valid falls back to the default instead of breaking pages.
    stale = ConsoleUser(username="x", timezone="Gone/Away")
    assert timezones.effective_zone(stale, "UTC") == "UTC"
    assert timezones.effective_zone(ConsoleUser(username="y", timezone=NEW_YORK), "UTC") == NEW_YORK
    label = timezones.describe_zone(dt.timezone(dt.timedelta(hours=5, minutes=30)), "Asia/Kolkata")
    assert label.offset == "UTC+05:30"
