"""The automation actions (issue 14): what each one writes, that it is audited, that a dry run writes nothing,
that bad parameters are refused at save with a clear message, and that messages speak the customer's language.
The webhook against a real local HTTP server is in tests/test_automation_webhook.py.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import uuid

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models.automation import SegmentMembership
from app.models.customers import CoachAssignment
from app.models.engagement import Message, SupportTicket, Thread, TicketPriority
from app.models.events import DomainEvent
from app.models.identity import PlatformUser, RoleCode
from app.models.json_schemas import ACTION_TYPES
from app.models.scheduling import ScheduledSession, SessionType
from app.models.training import Badge, CustomerBadge, CustomerPlan, PlanStatus, Program, ProgramLevel
from app.services.automation import actions
from app.services.automation.actions import templates
from app.services.automation.actions.base import PermanentActionError
from app.services.automation.actions.messages import AUTOMATION_EMAIL, NOTES_CONTEXT
from tests.support.automation_actions import NOW, audited, context, counts, erase, people, user


def _session(coach_id, start: dt.datetime, title: str = "Morning mobility") -> int:
    row = ScheduledSession(
        session_type=SessionType.CLASS, start_time=start, end_time=start + dt.timedelta(hours=1),
        timezone="Europe/Madrid", capacity=8, coach_id=coach_id, title=title,
    )  # fmt: skip
    db.session.add(row)
    db.session.commit()
    return row.id


def _plans(customer_id, n: int = 2) -> list[int]:
    program = Program(title="Strength base", level=ProgramLevel.BEGINNER, weeks=4)
    db.session.add(program)
    db.session.flush()
    rows = [
        CustomerPlan(customer_id=customer_id, program_id=program.id, start_date=dt.date(2025, 2, 1 + i),
                     status=PlanStatus.ACTIVE)
        for i in range(n)
    ]  # fmt: skip
    db.session.add_all(rows)
    db.session.commit()
    return [r.id for r in rows]


def _badge(code: str = "streak-30", name: str = "30-day streak") -> int:
    row = Badge(code=code, name=name)
    db.session.add(row)
    db.session.commit()
    return row.id


# --- the catalogue ---------------------------------------------------------------------------


def test_the_catalogue_holds_one_action_per_schema_code_and_describes_each(sqlite_app):
    with sqlite_app.app_context():
        assert tuple(actions.ACTIONS) == ACTION_TYPES
        assert actions.get("NOPE") is None and actions.get("WEBHOOK") is actions.ACTIONS["WEBHOOK"]
        described = {d["code"]: d for d in actions.describe_all()}
    assert list(described) == list(ACTION_TYPES)
    for d in described.values():
        assert d["label"] and d["description"] and isinstance(d["params"], list)
        assert {"sends_message", "external", "placeholders"} <= set(d)
    assert [code for code, d in described.items() if d["sends_message"]] == ["SEND_MESSAGE"]
    assert [code for code, d in described.items() if d["external"]] == ["WEBHOOK"]
    send = described["SEND_MESSAGE"]
    assert {"name": "first_name", "token": "{first_name}", "label": "Customer's first name"} in send["placeholders"]
    key = next(p for p in send["params"] if p["name"] == "template_key")
    assert key["kind"] == "enum" and {c["value"] for c in key["choices"]} == set(templates.BUILTIN_TEXTS)
    assert {b["key"] for b in send["builtin_texts"]} == set(templates.BUILTIN_TEXTS)
    sla = next(p for p in described["CREATE_TICKET"]["params"] if p["name"] == "sla_hours")
    assert (sla["kind"], sla["unit"], sla["unit_label"], sla["minimum"], sla["maximum"]) == ("number", "hours", "hours",
                                                                                             1, 720)  # fmt: skip
    assert described["PAUSE_PLAN"]["params"] == [] and described["PAUSE_PLAN"]["placeholders"] == []


def test_the_renderer_substitutes_only_and_never_rescans(sqlite_app):
    with sqlite_app.app_context():
        assert templates.placeholders_in("Hi {first_name}, {{first_name}} {coach_name}{first_name}") == [
            "first_name",
            "coach_name",
        ]
        customer = PlatformUser(email="x@y.z", full_name="{coach_name} Smith")
        scope = templates.Scope(None, context(None), customer, None, "en", dt.UTC)  # type: ignore[arg-type]
        assert templates.render("Hi {first_name} {{x}} ({coach_name})", scope) == "Hi {coach_name} {x} ()"
        for bad in ("{x.__class__}", "{0}", "{first_name!r}", "{a[b]}", "{}", "Hi }", "{first_name"):
            with pytest.raises(templates.TemplateError):
                templates.parse(bad)


# --- check: bad parameters refused at save ----------------------------------------------------

STATIC_REFUSALS = [
    ({"type": "SEND_MESSAGE", "params": {"template": "Hi {nickname}"}}, "template", "Unknown placeholder {nickname}"),
    (
        {"type": "SEND_MESSAGE", "params": {"template": "{x.__class__}"}},
        "template",
        "{x.__class__} is not a placeholder",
    ),
    ({"type": "SEND_MESSAGE", "params": {"template": "{first_name!r}"}}, "template", "is not a placeholder"),
    ({"type": "SEND_MESSAGE", "params": {"template": "Price }"}}, "template", "A single }"),
    ({"type": "SEND_MESSAGE", "params": {"template": "x" * 2001}}, "template", "longer than 2000 characters"),
    ({"type": "SEND_MESSAGE", "params": {}}, "template", "Write a message or choose a built-in text"),
    ({"type": "SEND_MESSAGE", "params": {"template": "Hi", "template_key": "welcome"}}, "template_key", "not both"),
    ({"type": "SEND_MESSAGE", "params": {"template_key": "party"}}, "template_key", "must be one of"),
    ({"type": "NOTIFY_COACH", "params": {"template": "Churn risk: {customer.email}"}}, "template", "not a placeholder"),
    ({"type": "NOTIFY_COACH", "params": {}}, "template", "Note for the coach is required"),
    ({"type": "CREATE_TICKET", "params": {"subject": "Call", "sla_hours": 0}}, "sla_hours", "between 1 and 720 hours"),
    ({"type": "CREATE_TICKET", "params": {"subject": "Call", "sla_hours": 721}}, "sla_hours", "between 1 and 720"),
    ({"type": "CREATE_TICKET", "params": {"subject": "Call", "sla_hours": "24"}}, "sla_hours", "must be a number"),
    ({"type": "CREATE_TICKET", "params": {"subject": "Call", "sla_hours": True}}, "sla_hours", "must be a number"),
    ({"type": "CREATE_TICKET", "params": {"subject": "Call", "priority": "CRITICAL"}}, "priority", "must be one of"),
    ({"type": "CREATE_TICKET", "params": {"subject": "Call {due}"}}, "subject", "Unknown placeholder {due}"),
    ({"type": "CREATE_TICKET", "params": {"subject": "Call", "colour": "red"}}, "colour", "not a parameter"),
    ({"type": "AWARD_BADGE", "params": {}}, "badge", "Badge is required"),
    ({"type": "AWARD_BADGE", "params": {"badge": 12}}, "badge", "must be text"),
    ({"type": "ASSIGN_COACH", "params": {"coach": "not-a-uuid"}}, "coach", "Choose a coach from the list"),
    ({"type": "ADD_TO_SEGMENT", "params": {"segment": "Churn Risk"}}, "segment", "lower-case letters"),
    ({"type": "ADD_TO_SEGMENT", "params": {"segment": "a/b"}}, "segment", "lower-case letters"),
    ({"type": "ADD_TO_SEGMENT", "params": {"segment": " lead"}}, "segment", "not at the start or end"),
    ({"type": "ADD_TO_SEGMENT", "params": {"segment": "x" * 101}}, "segment", "longer than 100 characters"),
    ({"type": "ADD_TO_SEGMENT", "params": {"segment": "bad\x07bell"}}, "segment", "control characters"),
    ({"type": "WEBHOOK", "params": {"url": "https://evil.example/hook"}}, "url", "not on the webhook allow-list"),
    ({"type": "WEBHOOK", "params": {"url": "https://user:pw@hooks.example.com/x"}}, "url", "user name or password"),
    ({"type": "WEBHOOK", "params": {"url": "http://hooks.example.com/x"}}, "url", "must start with https://"),
    ({"type": "WEBHOOK", "params": {"url": "https://hooks.example.com:8443/x"}}, "url", "port 443"),
    ({"type": "WEBHOOK", "params": {"url": "https://10.1.2.3/x"}}, "url", "private or reserved address (10.1.2.3)"),
    ({"type": "WEBHOOK", "params": {"url": "https://169.254.169.254/x"}}, "url", "private or reserved"),
    ({"type": "WEBHOOK", "params": {"url": "https://localhost/x"}}, "url", "private or reserved address"),
    ({"type": "WEBHOOK", "params": {"url": "https://[::ffff:127.0.0.1]/x"}}, "url", "private or reserved"),
    ({"type": "WEBHOOK", "params": {"url": "ftp://hooks.example.com/x"}}, "url", "must start with https://"),
    ({"type": "SEND_EMAIL", "params": {}}, "", "Unknown action type SEND_EMAIL"),
    ({"type": "PAUSE_PLAN", "params": {}, "when": "now"}, "", "Unexpected keys: when"),
    ({"type": "PAUSE_PLAN", "params": ["x"]}, "", "must be an object"),
]


@pytest.mark.parametrize(("action", "param", "message"), STATIC_REFUSALS, ids=lambda v: str(v)[:40])
def test_check_refuses_bad_parameters_with_a_clear_message(sqlite_app, monkeypatch, action, param, message):
    hosts = ["hooks.example.com", "10.1.2.3", "169.254.169.254", "localhost", "::ffff:127.0.0.1"]
    monkeypatch.setitem(sqlite_app.config, "AUTOMATION_WEBHOOK_HOSTS", hosts)
    good = {"type": "PAUSE_PLAN", "params": {}}
    with sqlite_app.app_context():
        found = actions.check_actions([good, action])
    assert [(i, p.param) for i, p in found] == [(1, param)], found
    assert message in found[0][1].message


def test_check_accepts_good_actions_and_refuses_bad_lists(sqlite_app, monkeypatch):
    monkeypatch.setitem(sqlite_app.config, "AUTOMATION_WEBHOOK_HOSTS", ["93.184.215.14"])
    good = [
        {"type": "SEND_MESSAGE", "params": {"template": "Hi {first_name}, {{literally}} see you {session_start}"}},
        {"type": "SEND_MESSAGE", "params": {"template": "", "template_key": "no_show"}},
        {"type": "NOTIFY_COACH", "params": {"template": "{first_name} missed {planned_date}"}},
        {"type": "CREATE_TICKET", "params": {"subject": "Payment of {amount} failed", "priority": "HIGH"}},
        {"type": "ADD_TO_SEGMENT", "params": {"segment": "churn-risk_2025 q1"}},
        {"type": "WEBHOOK", "params": {"url": "https://93.184.215.14/hook"}},
        {"type": "RESUME_PLAN"},
    ]
    with sqlite_app.app_context():
        assert actions.check_actions(good) == []
        assert "must be a list" in actions.check_actions({"type": "PAUSE_PLAN"})[0][1].message
        assert "at least one action" in actions.check_actions([])[0][1].message
        too_many = actions.check_actions([{"type": "PAUSE_PLAN"}] * 11)
        assert [(i, "at most 10" in p.message) for i, p in too_many] == [(10, True)]


def test_check_with_a_database_refuses_unknown_badges_and_users_who_are_not_coaches(app):
    with app.app_context():
        p = people()
        _badge("streak-30")
        suspended = user("Old Coach", RoleCode.COACH)
        suspended.status = "SUSPENDED"
        db.session.commit()
        cases = {
            "unknown badge": ({"type": "AWARD_BADGE", "params": {"badge": "streak-31"}}, "no badge with the code"),
            "customer": ({"type": "ASSIGN_COACH", "params": {"coach": str(p.customer_id)}}, "not an active coach"),
            "suspended": ({"type": "ASSIGN_COACH", "params": {"coach": str(suspended.id)}}, "not an active coach"),
        }
        for name, (action, message) in cases.items():
            found = actions.check_actions([action], db.session)
            assert len(found) == 1 and message in found[0][1].message, name
        good = [{"type": "AWARD_BADGE", "params": {"badge": "streak-30"}},
                {"type": "ASSIGN_COACH", "params": {"coach": str(p.coach_id)}}]  # fmt: skip
        assert actions.check_actions(good, db.session) == []
        assert actions.check_actions([{"type": "AWARD_BADGE", "params": {"badge": "streak-31"}}]) == []  # no db


# --- perform: what each action writes, audited in the same commit ---------------------------


def test_send_message_writes_from_the_coach_in_their_thread_and_is_audited(app):
    with app.app_context():
        p = people()
        sid = _session(p.coach_id, dt.datetime(2025, 3, 3, 9, 0, tzinfo=dt.UTC))
        params = {"template": "Hi {first_name}, see you {session_start} ({session_title}). {coach_name}{badge_name}"}
        ctx = context(p, event_type="session.booked", session_id=sid)
        summary = actions.get("SEND_MESSAGE").perform(db.session, ctx, params)
        db.session.commit()
        message = db.session.scalars(sa.select(Message)).one()
        assert f"#{message.id}" in summary and "Lucia" not in summary  # the run log holds no personal data
        assert (message.sender_id, message.recipient_id) == (p.coach_id, p.customer_id)
        assert message.body == "Hi Lucia, see you Monday, March 3, 2025, 10:00\u202fAM (Morning mobility). Tom Baker"
        thread = db.session.get(Thread, message.thread_id)
        assert (thread.customer_id, thread.coach_id, thread.context_id) == (
            p.customer_id,
            p.coach_id,
            str(p.assignment_id),
        )
        assert thread.last_message_at == NOW
        assert audited("messages", message.id) and audited("threads", thread.id)
        # The next message goes into the same conversation.
        actions.get("SEND_MESSAGE").perform(db.session, context(p, step=1), {"template_key": "checkin"})
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Thread)) == 1
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Message)) == 2


@pytest.mark.parametrize(
    ("locale", "weekday", "amount"), [("es", "lunes", "49,90\u00a0€"), ("de", "Montag", "49,90\u00a0€"),
                                      ("en", "Monday", "€49.90")]
)  # fmt: skip
def test_built_in_texts_are_rendered_in_the_customer_language(app, locale, weekday, amount):
    with app.app_context():
        p = people(locale=locale)
        sid = _session(p.coach_id, dt.datetime(2025, 3, 3, 9, 0, tzinfo=dt.UTC))
        send = actions.get("SEND_MESSAGE")
        send.perform(db.session, context(p, session_id=sid), {"template_key": "no_show"})
        ctx = context(p, step=1, invoice_id=9, amount=49.9, currency="EUR")
        send.perform(db.session, ctx, {"template_key": "payment_failed"})
        db.session.commit()
        no_show, payment = db.session.scalars(sa.select(Message.body).order_by(Message.id)).all()
        assert weekday in no_show and "3" in no_show and amount in payment
        for body, key in ((no_show, "no_show"), (payment, "payment_failed")):
            text = templates.builtin_text(key, locale)
            assert body.startswith(text.split("{first_name}")[0] + "Lucia")


def test_notify_coach_writes_to_the_coach_from_the_automation_account_apart_from_the_customer(app):
    with app.app_context():
        p = people()
        notify = actions.get("NOTIFY_COACH")
        notify.perform(
            db.session, context(p, scheduled_date="2025-02-27"), {"template": "{first_name}: {planned_date}"}
        )
        notify.perform(db.session, context(p, step=1), {"template": "Churn risk for {first_name}"})
        db.session.commit()
        notes = db.session.scalars(sa.select(Message).order_by(Message.id)).all()
        sender = db.session.scalars(sa.select(PlatformUser).where(PlatformUser.email == AUTOMATION_EMAIL)).one()
        assert sender.password_hash is None and sender.status == "ACTIVE" and sender.full_name == "Coachdesk automation"
        assert [(m.sender_id, m.recipient_id) for m in notes] == [(sender.id, p.coach_id)] * 2
        assert notes[0].body == "Lucia: 27. Februar 2025"  # in the coach's language (German)
        thread = db.session.get(Thread, notes[0].thread_id)
        assert thread.context_id == NOTES_CONTEXT and thread.subject and notes[1].thread_id == thread.id
        assert audited("users", sender.id) and audited("messages", notes[1].id)
        # The customer's conversation is a different thread.
        actions.get("SEND_MESSAGE").perform(db.session, context(p, step=2), {"template": "Hi"})
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Thread)) == 2


def test_create_ticket_sets_priority_and_sla_from_the_occurrence(app):
    with app.app_context():
        p = people()
        params = {"subject": "Payment of {amount} failed", "priority": "HIGH", "sla_hours": 48}
        summary = actions.get("CREATE_TICKET").perform(db.session, context(p, amount=12.5, currency="EUR"), params)
        db.session.commit()
        ticket = db.session.scalars(sa.select(SupportTicket)).one()
        assert summary == f"Support ticket #{ticket.id} created."
        assert (ticket.requester_id, ticket.subject, ticket.priority) == (p.customer_id, "Payment of €12.50 failed",
                                                                           TicketPriority.HIGH)  # fmt: skip
        assert ticket.sla_due_at == NOW + dt.timedelta(hours=48) and audited("support_tickets", ticket.id)
        actions.get("CREATE_TICKET").perform(db.session, context(p, step=1), {"subject": "Check in"})
        db.session.commit()
        second = db.session.scalars(sa.select(SupportTicket).order_by(SupportTicket.id.desc())).first()
        assert (second.priority, second.sla_due_at) == (TicketPriority.NORMAL, NOW + dt.timedelta(hours=24))


def test_award_badge_twice_leaves_one_row_and_one_event(app):
    with app.app_context():
        p = people()
        badge_id = _badge()
        award = actions.get("AWARD_BADGE")
        first = award.perform(db.session, context(p), {"badge": "streak-30"})
        db.session.commit()
        second = award.perform(db.session, context(p, step=1), {"badge": "streak-30"})
        db.session.commit()
        rows = db.session.scalars(sa.select(CustomerBadge)).all()
        assert [(r.customer_id, r.badge_id, r.awarded_at) for r in rows] == [(p.customer_id, badge_id, NOW)]
        assert "awarded" in first and "already holds" in second and audited("customer_badges", rows[0].id)
        events = db.session.scalars(sa.select(DomainEvent).where(DomainEvent.event_type == "badge.awarded")).all()
        assert [(e.customer_id, e.payload["badge_code"]) for e in events] == [(p.customer_id, "streak-30")]
        db.session.delete(db.session.get(Badge, badge_id))
        db.session.commit()
        with pytest.raises(PermanentActionError, match="no badge with the code streak-30"):
            award.perform(db.session, context(p, step=2), {"badge": "streak-30"})


def test_assign_coach_makes_the_coach_primary_once(app):
    with app.app_context():
        p = people()
        other = user("Ana Ruiz", RoleCode.COACH)
        db.session.commit()
        assign = actions.get("ASSIGN_COACH")
        assign.perform(db.session, context(p), {"coach": str(other.id)})
        db.session.commit()
        rows = db.session.scalars(sa.select(CoachAssignment).order_by(CoachAssignment.id)).all()
        assert [(r.coach_id, r.is_primary) for r in rows] == [(p.coach_id, False), (other.id, True)]
        assert audited("coach_assignments", rows[0].id)[-1].metadata_json["fields"] == ["is_primary"]
        assert audited("coach_assignments", rows[1].id)
        assert "already" in assign.perform(db.session, context(p, step=1), {"coach": str(other.id)})
        # Back to the first coach: the existing assignment becomes primary again, no new row.
        assign.perform(db.session, context(p, step=2), {"coach": str(p.coach_id)})
        db.session.commit()
        rows = db.session.scalars(sa.select(CoachAssignment).order_by(CoachAssignment.id)).all()
        assert [(r.coach_id, r.is_primary) for r in rows] == [(p.coach_id, True), (other.id, False)]


def test_add_to_segment_once_with_the_rule_that_added(app):
    with app.app_context():
        p = people()
        add = actions.get("ADD_TO_SEGMENT")
        add.perform(db.session, context(p), {"segment": "churn-risk"})
        db.session.commit()
        assert "already" in add.perform(db.session, context(p, step=1), {"segment": "churn-risk"})
        db.session.commit()
        rows = db.session.scalars(sa.select(SegmentMembership)).all()
        assert [(r.segment, r.customer_id, r.rule_id) for r in rows] == [("churn-risk", p.customer_id, p.rule_id)]
        assert audited("segment_memberships", rows[0].id)


def test_pause_and_resume_plans(app):
    with app.app_context():
        p = people()
        first, second = _plans(p.customer_id)

        def statuses():
            db.session.expire_all()
            return [db.session.get(CustomerPlan, i).status for i in (first, second)]

        actions.get("PAUSE_PLAN").perform(db.session, context(p, plan_id=second), {})
        db.session.commit()
        assert statuses() == [PlanStatus.ACTIVE, PlanStatus.PAUSED] and audited("customer_plans", second)
        actions.get("PAUSE_PLAN").perform(db.session, context(p, step=1), {})
        db.session.commit()
        assert statuses() == [PlanStatus.PAUSED, PlanStatus.PAUSED]
        assert "no active plan" in actions.get("PAUSE_PLAN").perform(db.session, context(p, step=2), {})
        actions.get("RESUME_PLAN").perform(db.session, context(p, step=3), {})
        db.session.commit()
        assert statuses() == [PlanStatus.ACTIVE, PlanStatus.ACTIVE]
        assert "no paused plan" in actions.get("RESUME_PLAN").perform(db.session, context(p, step=4), {})


# --- refusals at run time -------------------------------------------------------------------


CUSTOMER_ACTIONS = {
    "SEND_MESSAGE": {"template": "Hi {first_name}"},
    "NOTIFY_COACH": {"template": "About {first_name}"},
    "CREATE_TICKET": {"subject": "Call"},
    "AWARD_BADGE": {"badge": "streak-30"},
    "ADD_TO_SEGMENT": {"segment": "vip"},
    "PAUSE_PLAN": {},
    "RESUME_PLAN": {},
}


def test_erased_and_missing_customers_fail_permanently_and_nothing_is_written(app):
    with app.app_context():
        p = people()
        _badge()
        erase(p.customer_id)
        before = counts()
        for code, params in CUSTOMER_ACTIONS.items():
            for ctx in (context(p), context(None), dataclasses.replace(context(p), customer_id=uuid.uuid4())):
                with pytest.raises(PermanentActionError) as refused:
                    actions.get(code).perform(db.session, ctx, params)
                reason = str(refused.value)
                assert "erased" in reason or "needs a customer" in reason or "no longer exists" in reason, code
        db.session.commit()
        assert counts() == before


def test_messages_need_a_primary_coach(app):
    with app.app_context():
        p = people(coach=False)
        for code in ("SEND_MESSAGE", "NOTIFY_COACH"):
            with pytest.raises(PermanentActionError, match="has no primary coach"):
                actions.get(code).perform(db.session, context(p), CUSTOMER_ACTIONS[code])


def test_a_template_that_renders_empty_or_broken_fails_permanently(app):
    with app.app_context():
        p = people()
        with pytest.raises(PermanentActionError, match="empty once its placeholders"):
            actions.get("SEND_MESSAGE").perform(db.session, context(p), {"template": "{badge_name}"})
        with pytest.raises(PermanentActionError, match="template is invalid"):
            actions.get("SEND_MESSAGE").perform(db.session, context(p), {"template": "{x.__class__}"})


# --- preview: a dry run writes nothing ------------------------------------------------------


def test_preview_of_every_action_writes_nothing(app, monkeypatch):
    monkeypatch.setitem(app.config, "AUTOMATION_WEBHOOK_HOSTS", ["hooks.example.com"])
    with app.app_context():
        p = people(locale="es")
        _badge()
        plan_id = _plans(p.customer_id, 1)[0]
        other = user("Ana Ruiz", RoleCode.COACH)
        db.session.commit()
        cases = {
            **CUSTOMER_ACTIONS,
            "SEND_MESSAGE": {"template_key": "payment_failed"},
            "ASSIGN_COACH": {"coach": str(other.id)},
            "WEBHOOK": {"url": "https://hooks.example.com/in"},
        }
        assert set(cases) == set(ACTION_TYPES)
        before = counts()
        ctx = context(p, plan_id=plan_id, amount=decimal.Decimal("20"), currency="EUR")
        said = {code: actions.get(code).preview(db.session, ctx, params) for code, params in cases.items()}
        assert not (db.session.new or db.session.dirty or db.session.deleted)
        db.session.commit()  # anything written would be audited and counted now
        assert counts() == before
        assert db.session.get(CustomerPlan, plan_id).status == PlanStatus.ACTIVE
    assert "20,00\u00a0€" in said["SEND_MESSAGE"] and "Lucia" in said["SEND_MESSAGE"]
    assert "hooks.example.com" in said["WEBHOOK"] and "delivery_id" in said["WEBHOOK"]
    assert f"#{plan_id}" in said["PAUSE_PLAN"] and "nothing to resume" in said["RESUME_PLAN"]
