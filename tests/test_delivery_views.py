"""The console's delivery pages: the deliveries log (filters, Retry with CSRF, audited) and delivered mail."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from app.extensions import db
from app.models.compliance import AuditLog
from app.models.engagement import Channel, DeliveryStatus, MessageDelivery
from app.models.identity import RoleCode
from app.services.engagement.delivery import deliver_due
from tests.support.delivery_support import announcement, coach_message, person, queue, smtp_sink, statuses
from tests.support.web import login, session_csrf

NOW = dt.datetime(2027, 5, 3, 9, 0, tzinfo=dt.UTC)


def _rows(app) -> dict[str, int]:
    with app.app_context():
        news = announcement()
        ann, ben = person("Anna"), person("Ben")
        failed = queue(ann, announcement_row=news)
        failed.status, failed.attempts, failed.last_error = DeliveryStatus.FAILED, 5, "ConnectionRefusedError: refused"
        news.failed_count = 1
        sent = queue(ben, Channel.PUSH, announcement_row=news)
        sent.status, sent.sent_at = DeliveryStatus.SENT, NOW
        queued = queue(ben, Channel.SMS, announcement_row=news)
        db.session.commit()
        return {"failed": failed.id, "sent": sent.id, "queued": queued.id}


def test_the_deliveries_log_filters_and_retries_failed_rows(app, accounts):
    ids = _rows(app)
    client = app.test_client()
    login(client, "support", "support-Passw0rd!")
    page = client.get("/deliveries/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert all(f'data-id="{i}"' in text for i in ids.values())
    failed_only = client.get("/deliveries/?status=FAILED&channel=EMAIL").get_data(as_text=True)
    assert f'data-id="{ids["failed"]}"' in failed_only and f'data-id="{ids["sent"]}"' not in failed_only
    assert "Retry" in failed_only
    bad = client.get("/deliveries/?status=LOST")
    assert bad.status_code == 400 and "Unknown status" in bad.get_data(as_text=True)
    assert client.get("/deliveries/?before=abc").status_code == 400

    # No CSRF token: refused, nothing changed.
    assert client.post("/deliveries/retry", data={"id": ids["failed"]}).status_code == 400
    token = session_csrf(app, client)
    for data, code in (({"id": "x1"}, 400), ({}, 400), ({"id": ids["sent"]}, 409)):
        assert client.post("/deliveries/retry", data={**data, "csrf_token": token}).status_code == code
    with app.app_context():
        assert statuses()[ids["failed"]].status == DeliveryStatus.FAILED
    done = client.post("/deliveries/retry?status=FAILED", data={"id": ids["failed"], "csrf_token": token})
    assert done.status_code == 302 and "status=FAILED" in done.headers["Location"]
    with app.app_context():
        row = statuses()[ids["failed"]]
        assert (row.status, row.attempts, row.last_error) == (DeliveryStatus.QUEUED, 0, None)
        assert db.session.scalar(sa.select(sa.func.count()).where(AuditLog.action == "message_delivery.retry")) == 1
        assert row.next_attempt_at is not None


def test_coaches_and_managers_do_not_see_deliveries(app, accounts):
    _rows(app)
    for username in ("coach", "manager"):
        client = app.test_client()
        login(client, username, f"{username}-Passw0rd!")
        assert client.get("/deliveries/").status_code in (302, 403)
        token = session_csrf(app, client)
        assert client.post("/deliveries/retry", data={"id": 1, "csrf_token": token}).status_code in (302, 403)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).where(MessageDelivery.status == "FAILED")) == 1


def test_delivered_mail_lists_and_shows_captured_mail_escaped(sqlite_app, tmp_path):
    from tests.support.apps import make_accounts

    app = sqlite_app
    make_accounts(app)
    with app.app_context():
        coach, anna = person("Coach Carla", RoleCode.COACH), person("Anna")
        msg = coach_message(coach, anna, "<script>alert('x')</script> see you Monday")
        queue(anna, message=msg)
        queue(anna, announcement_row=announcement("<b>Bold</b> news", "Body <i>text</i>"))
        anna_email = anna.email
        db.session.commit()
    client = app.test_client()
    login(client, "admin", "admin-Passw0rd!")
    off = client.get("/deliveries/mail/")
    assert off.status_code == 200 and "sink is off" in off.get_data(as_text=True)
    with smtp_sink(app, tmp_path / "mail"):
        with app.app_context():
            assert deliver_due(now=NOW).sent == 2
            db.session.commit()
        listing = client.get("/deliveries/mail/").get_data(as_text=True)
        assert "New message from your coach" in listing and anna_email in listing
        assert "&lt;b&gt;Bold&lt;/b&gt; news" in listing and "<b>Bold</b>" not in listing
        names = sorted(p.name for p in (tmp_path / "mail").glob("*.eml"))
        shown = [client.get(f"/deliveries/mail/{name}") for name in names]
        assert all(r.status_code == 200 for r in shown)
        bodies = "".join(r.get_data(as_text=True) for r in shown)
        assert "&lt;script&gt;alert(" in bodies and "<script>alert(" not in bodies
        assert "Body &lt;i&gt;text&lt;/i&gt;" in bodies
        for name in ("nope.eml", "..%2Fsecret_key", "0000000000000000000-000001.eml"):
            assert client.get(f"/deliveries/mail/{name}").status_code == 404
    support = app.test_client()
    login(support, "support", "support-Passw0rd!")
    assert support.get("/deliveries/mail/").status_code in (302, 403)
