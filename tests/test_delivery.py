"""Delivery of messages and announcements through a real SMTP server (aiosmtpd), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import logging
import threading

import pytest
import sqlalchemy as sa
from aiosmtpd.smtp import AuthResult
from flask_babel import force_locale
from flask_babel import gettext as _

from app.extensions import db
from app.jobs.cron import CRON_TABLE, dispatch_deliveries
from app.models.compliance import AuditLog
from app.models.engagement import Announcement, Channel, DeliveryStatus
from app.models.identity import RoleCode
from app.models.jobs import JobRun
from app.services.engagement import delivery
from app.services.engagement.channels import SmtpSettings, backends_for
from app.services.engagement.delivery import BACKOFF, DELIVER_KIND, MAX_ATTEMPTS, deliver_due, retry_failed
from app.services.engagement.mail_sink import free_port
from app.services.jobs.context import run_inline
from app.services.jobs.runs import start_job
from tests.support.delivery_support import (
    announcement,
    coach_message,
    count_by_status,
    person,
    queue,
    received,
    smtp_sink,
    statuses,
)
from tests.support.jobworker import jobs_env  # noqa: F401  (fixture)

NOW = dt.datetime(2027, 5, 3, 9, 0, tzinfo=dt.UTC)
SECRET = "s3cret-Pa55word-never-shown"  # noqa: S105 (a test value)


def _text(mail) -> str:
    return mail.get_content().replace("\r\n", "\n")


def _assert_counters_agree(announcement_id: int) -> None:
    db.session.expire_all()
    row = db.session.get(Announcement, announcement_id)
    by_status = count_by_status(announcement_id)
    assert row.sent_count == by_status.get(DeliveryStatus.SENT, 0)
    assert row.skipped_count == by_status.get(DeliveryStatus.SKIPPED, 0)
    assert row.failed_count == by_status.get(DeliveryStatus.FAILED, 0)


def test_emails_reach_the_server_in_each_recipients_language(app, app_ctx, tmp_path, caplog):
    coach = person("Coach Carla", RoleCode.COACH)
    anna = person("Anna", locale="de")
    ben = person("Ben", locale="es")
    erased = person("Erased", email_address="erased-1@erased.invalid")
    msg = coach_message(coach, anna, "Great squats today.\n.a line that starts with a dot\nAdd 5 kg next week.")
    reply = coach_message(coach, ben, "Thanks coach!", to_customer=False)
    news = announcement()
    to_anna = queue(anna, message=msg)
    to_coach = queue(coach, message=reply)
    ann_rows = [queue(p, announcement_row=news) for p in (anna, ben, erased)]
    sms = queue(ben, Channel.SMS, announcement_row=news)
    push = queue(anna, Channel.PUSH, announcement_row=news)
    inapp = queue(ben, Channel.INAPP, announcement_row=news)
    db.session.commit()

    with smtp_sink(app, tmp_path / "mail") as sink, caplog.at_level(logging.INFO):
        backends = backends_for(app.config)
        counts = deliver_due(now=NOW, backends=backends)
        db.session.commit()
        assert backends[Channel.EMAIL].connections == 1  # one SMTP connection for the whole batch
    assert counts.as_dict() == {"claimed": 8, "sent": 6, "skipped": 2, "retrying": 0, "failed": 0}
    assert sink.received == 4

    mails = {(m["To"], m["Subject"]): m for m in received(tmp_path / "mail")}
    with force_locale("de"):
        from_coach_de = _("New message from your coach")
    with force_locale("en"):
        from_ben_en = _("New message from %(name)s", name="Ben")
    to_anna_mail = mails[(anna.email, from_coach_de)]
    assert to_anna_mail["Content-Language"] == "de"
    # Sent pipelined (the sink advertises PIPELINING) and dot-stuffed: the body arrives intact.
    assert "Great squats today.\n.a line that starts with a dot\nAdd 5 kg next week." in _text(to_anna_mail)
    assert "Thanks coach!" in mails[(coach.email, from_ben_en)].get_content()
    for who, lang in ((anna, "de"), (ben, "es")):
        mail = mails[(who.email, "Gym closed Monday")]
        assert mail["Content-Language"] == lang
        assert "closed on Monday for repairs" in mail.get_content()
    assert not any(m["To"] == erased.email for m in mails.values())

    rows = statuses()
    for sent in (to_anna, to_coach, push, inapp, ann_rows[0], ann_rows[1]):
        assert rows[sent.id].status == DeliveryStatus.SENT and rows[sent.id].sent_at == NOW
        assert rows[sent.id].attempts == 1
    assert rows[ann_rows[2].id].status == DeliveryStatus.SKIPPED
    assert rows[ann_rows[2].id].last_error == "no email address"
    assert rows[sms.id].status == DeliveryStatus.SKIPPED and rows[sms.id].last_error == "SMS is not configured"
    _assert_counters_agree(news.id)
    # The push stub logs the recipient's id and the title, nothing of the body or address.
    pushes = [r.getMessage() for r in caplog.records if r.name.endswith("channels") and "push" in r.getMessage()]
    assert pushes == [f"push to user {anna.id}: Gym closed Monday"]
    assert "repairs" not in caplog.text and anna.email not in caplog.text
    # Nothing is left to send: a second pass claims nothing.
    assert deliver_due(now=NOW).claimed == 0


def test_a_refused_connection_is_retried_with_backoff_then_fails(app, app_ctx, tmp_path):
    ann = person("Anna")
    news = announcement()
    row = queue(ann, announcement_row=news)
    db.session.commit()
    closed = free_port()
    app_config = {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": closed}
    saved = {k: app.config.get(k) for k in app_config}
    app.config.update(app_config)
    try:
        now = NOW
        for attempt in range(1, MAX_ATTEMPTS + 1):
            counts = deliver_due(now=now)
            db.session.commit()
            current = statuses()[row.id]
            assert current.attempts == attempt
            assert "refused" in current.last_error.lower()
            if attempt < MAX_ATTEMPTS:
                assert counts.retrying == 1 and current.status == DeliveryStatus.QUEUED
                assert current.next_attempt_at == now + BACKOFF[attempt - 1]
                # Not due before its time: nothing is claimed a second earlier.
                assert deliver_due(now=current.next_attempt_at - dt.timedelta(seconds=1)).claimed == 0
                now = current.next_attempt_at
            else:
                assert counts.failed == 1 and current.status == DeliveryStatus.FAILED
                assert current.next_attempt_at is None
            _assert_counters_agree(news.id)
    finally:
        app.config.update(saved)
    assert db.session.get(Announcement, news.id).failed_count == 1

    # A person queues it again (audited); the counters follow the row.
    assert retry_failed([row.id, row.id + 999], now=NOW) == [row.id]
    db.session.commit()
    current = statuses()[row.id]
    assert (current.status, current.attempts, current.last_error) == (DeliveryStatus.QUEUED, 0, None)
    _assert_counters_agree(news.id)
    actions = db.session.scalars(sa.select(AuditLog.action)).all()
    assert "message_delivery.retry" in actions
    with smtp_sink(app, tmp_path / "mail"):
        assert deliver_due(now=NOW + dt.timedelta(days=1)).sent == 1
        db.session.commit()
    _assert_counters_agree(news.id)


def test_the_smtp_password_never_reaches_logs_or_errors(app, app_ctx, tmp_path, caplog):
    ann = person("Anna")
    row = queue(ann, announcement_row=announcement())
    db.session.commit()

    def refuse(server, session, envelope, mechanism, auth_data):
        return AuthResult(success=False, handled=False)

    with smtp_sink(app, tmp_path / "mail", auth_require_tls=False, authenticator=refuse) as sink:
        app.config.update(MAIL_USERNAME="mailer", MAIL_PASSWORD=SECRET)
        with caplog.at_level(logging.DEBUG):
            counts = deliver_due(now=NOW)
            db.session.commit()
        settings = SmtpSettings.from_config(app.config)
    assert counts.retrying == 1 and sink.received == 0
    current = statuses()[row.id]
    assert current.last_error and "535" in current.last_error
    assert SECRET not in current.last_error
    assert SECRET not in caplog.text
    assert SECRET not in repr(settings)


def test_authenticated_smtp_delivers(app, app_ctx, tmp_path):
    ann = person("Anna")
    queue(ann, announcement_row=announcement())
    db.session.commit()

    def accept(server, session, envelope, mechanism, auth_data):
        ok = auth_data.login == b"mailer" and auth_data.password == SECRET.encode()
        return AuthResult(success=ok)

    with smtp_sink(app, tmp_path / "mail", auth_require_tls=False, authenticator=accept) as sink:
        app.config.update(MAIL_USERNAME="mailer", MAIL_PASSWORD=SECRET)
        assert deliver_due(now=NOW).sent == 1
        db.session.commit()
    assert sink.received == 1


@pytest.mark.parametrize("pipelining", [False, True])
def test_a_refused_recipient_fails_at_once(app, app_ctx, tmp_path, pipelining):
    ann = person("Anna")
    news = announcement()
    row = queue(ann, announcement_row=news)
    db.session.commit()

    class Refuse:
        async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: N802
            return "550 5.1.1 no such mailbox"

    if pipelining:  # MAIL, RCPT and DATA in one write: the refusal is read from the pipelined replies

        class Refuse(Refuse):  # noqa: F811
            async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802
                session.host_name = hostname
                return [*responses[:-1], "250-PIPELINING", responses[-1]]

    from aiosmtpd.controller import Controller

    port = free_port()
    controller = Controller(Refuse(), hostname="127.0.0.1", port=port)
    controller.start()
    saved = {k: app.config.get(k) for k in ("MAIL_SERVER", "MAIL_PORT")}
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    try:
        assert deliver_due(now=NOW).failed == 1
        db.session.commit()
    finally:
        controller.stop()
        app.config.update(saved)
    current = statuses()[row.id]
    assert current.status == DeliveryStatus.FAILED and current.attempts == 1
    assert current.last_error.startswith("recipient refused: 550")
    _assert_counters_agree(news.id)


def test_two_concurrent_senders_on_postgresql_send_each_row_once(pg_app, tmp_path):
    with pg_app.app_context():
        news = announcement()
        people = [person(f"Reader {i}") for i in range(120)]
        for p in people:
            queue(p, announcement_row=news)
        db.session.commit()
        news_id = news.id
    barrier = threading.Barrier(2)
    claimed: list[int] = []
    errors: list[str] = []

    def sender() -> None:
        with pg_app.app_context():
            try:
                barrier.wait(timeout=30)
                while True:
                    counts = deliver_due(now=NOW, limit=7)
                    db.session.commit()
                    if not counts.claimed:
                        return
                    claimed.append(counts.claimed)
            except Exception as exc:  # reported below
                errors.append(repr(exc))
            finally:
                db.session.remove()

    with smtp_sink(pg_app, tmp_path / "mail") as sink:
        threads = [threading.Thread(target=sender) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    assert not errors
    assert sum(claimed) == 120 and sink.received == 120
    assert len({m["To"] for m in received(tmp_path / "mail")}) == 120
    with pg_app.app_context():
        _assert_counters_agree(news_id)
        assert db.session.get(Announcement, news_id).sent_count == 120


def test_the_job_sends_everything_due_with_progress(app, app_ctx, tmp_path):
    news = announcement()
    for i in range(7):
        queue(person(f"Reader {i}"), announcement_row=news)
    other = announcement("Other news")
    queue(person("Elsewhere"), announcement_row=other)
    db.session.commit()
    app.config["DELIVERY_BATCH"], saved = 3, app.config.get("DELIVERY_BATCH")
    seen: list[tuple[int, int | None]] = []
    try:
        with smtp_sink(app, tmp_path / "mail") as sink:
            run = start_job(DELIVER_KIND, {"announcement_id": news.id}, enqueue=False)
            finished = run_inline(run, lambda done, total: seen.append((done, total)))
    finally:
        app.config["DELIVERY_BATCH"] = saved
    assert finished.status == "succeeded"
    assert finished.result == {"claimed": 7, "sent": 7, "skipped": 0, "retrying": 0, "failed": 0}
    assert sink.received == 7
    assert seen[0] == (0, 7) and seen[-1] == (7, 7)
    assert count_by_status(other.id) == {DeliveryStatus.QUEUED: 1}  # another announcement's rows wait


@pytest.mark.usefixtures("jobs_env")
def test_the_cron_starts_one_delivery_run_per_minute(app):
    with app.app_context():
        first = dispatch_deliveries()
        assert dispatch_deliveries() == first
        assert db.session.get(JobRun, first).kind == DELIVER_KIND
    assert ("app.jobs.cron.dispatch_deliveries", "default", {"interval": 60}) in CRON_TABLE


def test_flask_deliveries_run_and_retry(app, app_ctx, tmp_path):
    queue(person("Anna"), announcement_row=announcement())
    queue(person("Ben"), Channel.SMS, announcement_row=announcement("SMS news"))
    db.session.commit()
    runner = app.test_cli_runner()
    with smtp_sink(app, tmp_path / "mail") as sink:
        result = runner.invoke(args=["deliveries", "run"])
    assert result.exit_code == 0, result.output
    assert "2 deliveries handled: 1 sent, 1 skipped" in result.output
    assert sink.received == 1
    result = runner.invoke(args=["deliveries", "retry", "12345"])
    assert result.exit_code == 0 and "0 deliveries queued again" in result.output


def test_a_message_without_its_source_is_skipped(app, app_ctx):
    """A delivery whose announcement vanished mid-flight (cascade) never exists; a deleted user is skipped."""
    gone = person("Gone")
    gone.status = "DELETED"
    queue(gone, announcement_row=announcement())
    db.session.commit()
    counts = deliver_due(now=NOW, backends=backends_for({"MAIL_SERVER": None}))
    db.session.commit()
    assert counts.skipped == 1
    assert list(statuses().values())[0].last_error == "no email address"
    assert delivery.due_count(now=NOW) == 0


def test_without_a_mail_server_emails_are_skipped_not_retried(app, app_ctx):
    """No MAIL_SERVER (outside make run): nothing will change by waiting, so the email ends SKIPPED at once
    with the reason, the announcement counts it skipped, and no later run picks it up again."""
    row = announcement()
    queue(person("Anna"), announcement_row=row)
    db.session.commit()
    counts = deliver_due(now=NOW, backends=backends_for({"MAIL_SERVER": None}))
    db.session.commit()
    assert (counts.sent, counts.skipped, counts.failed) == (0, 1, 0)
    (state,) = statuses().values()
    assert state.status == DeliveryStatus.SKIPPED
    assert state.last_error == "email is not configured (MAIL_SERVER is not set)"
    assert state.attempts <= 1
    _assert_counters_agree(row.id)
    assert delivery.due_count(now=NOW + dt.timedelta(days=1)) == 0


def test_the_embedded_default_starts_a_sink_that_the_worker_sends_to(sqlite_app, tmp_path):
    from app.bootstrap import Background, _start_mail_sink

    app = sqlite_app
    keys = ("MAIL_SINK", "MAIL_SERVER", "MAIL_PORT", "MAIL_SINK_DIR")
    saved = {k: app.config.get(k) for k in keys}
    app.config.update(MAIL_SINK=True, MAIL_SERVER=None, MAIL_SINK_DIR=tmp_path / "mail")
    env: dict[str, str] = {}
    sink = _start_mail_sink(app, env)
    try:
        # The worker process is started with these: it sends to the sink the web process runs.
        assert env == {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(sink.port)}
        assert (app.config["MAIL_SERVER"], app.config["MAIL_PORT"]) == ("127.0.0.1", sink.port)
        with app.app_context():
            queue(person("Anna"), announcement_row=announcement())
            db.session.commit()
            assert deliver_due(now=NOW).sent == 1
            db.session.commit()
        assert [m["Subject"] for m in received(tmp_path / "mail")] == ["Gym closed Monday"]
    finally:
        Background([], None, sink).stop()
        app.config.update(saved)
    with app.app_context():  # a configured MAIL_SERVER wins: no sink
        app.config.update(MAIL_SINK=True, MAIL_SERVER="mail.example.test")
        try:
            assert _start_mail_sink(app, {}) is None
        finally:
            app.config.update(saved)
