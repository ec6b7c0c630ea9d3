"""Data-subject requests: a ZIP of everything held about a user; erasure that keeps invoices and payments."""

from __future__ import annotations

import datetime as dt
import json
import uuid
import zipfile
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog, Invoice, Message, PlatformUser, Product, Subscription, SupportTicket, Thread
from app.services.audit import verify
from app.services.compliance import data_subject as dsr
from app.services.compliance.data_subject import ERASURE_KIND as SUBJECT_ERASURE
from app.services.compliance.data_subject import EXPORT_KIND as SUBJECT_EXPORT
from app.services.jobs.context import run_inline
from app.services.jobs.runs import start_job
from tests.support.jobworker import jobs_env  # noqa: F401
from tests.support.web import csrf_token, login


def _subject(hold: bool = False) -> PlatformUser:
    user = PlatformUser(email="dana@example.com", full_name="Dana Subject", phone="+44 20 0000", legal_hold=hold,
                        password_hash="never-export-me")  # fmt: skip
    other = PlatformUser(email="coach@example.com", full_name="Coach Other")
    product = Product(name="Plan", category="PROGRAM", price=Decimal("10.00"), currency="EUR")
    db.session.add_all([user, other, product])
    db.session.flush()
    sub = Subscription(customer_id=user.id, product_id=product.id, status="ACTIVE", start_date=dt.date(2026, 1, 1))
    db.session.add(sub)
    db.session.flush()
    db.session.add(Invoice(subscription_id=sub.id, amount=Decimal("10.00"), currency="EUR",
                           due_date=dt.date(2026, 2, 1), status="PAID",
                           paid_at=dt.datetime(2026, 2, 1, 9, tzinfo=dt.UTC)))  # fmt: skip
    thread = Thread(subject="About my knee", customer_id=user.id, coach_id=other.id, context_type="CUSTOMER_COACH")
    db.session.add(thread)
    db.session.flush()
    db.session.add(Message(thread_id=thread.id, sender_id=user.id, recipient_id=other.id, body="My knee hurts"))
    db.session.add(SupportTicket(requester_id=user.id, subject="Refund please", priority="LOW", status="OPEN"))
    db.session.commit()
    return user


@pytest.mark.usefixtures("jobs_env")
def test_export_zip_has_one_json_per_entity_and_no_secrets(app):
    with app.app_context():
        user = _subject()
        run = run_inline(_start(SUBJECT_EXPORT, user))
        assert run.status == "succeeded", run.error
        path = dsr.subject_file(run.id)
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            assert {"users.json", "messages.json", "threads.json", "invoices.json", "manifest.json"} <= names
            users = json.loads(zf.read("users.json"))
            manifest = json.loads(zf.read("manifest.json"))
        assert users[0]["email"] == "dana@example.com" and "password_hash" not in users[0]
        assert manifest["rows"]["messages"] == 1 and manifest["rows"]["invoices"] == 1
        assert db.session.scalar(select(AuditLog).where(AuditLog.action == "dsr.export")) is not None


def _start(kind: str, user: PlatformUser):
    return start_job(kind, {"user_id": str(user.id)}, enqueue=False)


def test_erasure_anonymizes_everywhere_but_keeps_invoices(app_ctx):
    user = _subject()
    uid = user.id
    run = run_inline(_start(SUBJECT_ERASURE, user))
    assert run.status == "succeeded", run.error
    db.session.expire_all()
    erased = db.session.get(PlatformUser, uid)
    assert erased.email.startswith("erased-") and erased.full_name == "Erased user" and erased.phone is None
    assert erased.password_hash is None and erased.status == "DELETED"
    assert db.session.scalar(select(Message.body)) == "[anonymized]"
    assert db.session.scalar(select(Thread.subject)) == "[anonymized]"
    assert db.session.scalar(select(SupportTicket.subject)) == "[anonymized]"
    assert db.session.scalar(select(Invoice.amount)) == Decimal("10.00")
    assert db.session.scalar(select(PlatformUser.full_name).where(PlatformUser.email == "coach@example.com"))
    row = db.session.scalar(select(AuditLog).where(AuditLog.action == "dsr.erasure"))
    assert row.resource_id == str(uid) and "dana" not in json.dumps(row.metadata_json)
    assert verify.verify_chain().ok


def test_erasure_refused_under_legal_hold(app_ctx):
    user = _subject(hold=True)
    with pytest.raises(dsr.SubjectRequestError, match="legal hold"):
        dsr.request_erasure(user, None)
    # Even a run that slipped through is refused by the job itself.
    run = run_inline(_start(SUBJECT_ERASURE, user))
    assert run.status == "failed" and "legal hold" in run.error
    assert db.session.get(PlatformUser, user.id).email == "dana@example.com"


@pytest.mark.usefixtures("jobs_env")
def test_page_validates_input_and_permissions(app, accounts, client):
    with app.app_context():
        _subject(hold=True)
    login(client, accounts["Compliance"].username, accounts["Compliance"].password)
    token = csrf_token(client, "/compliance/subjects/")
    post = lambda **data: client.post("/compliance/subjects/", data={"csrf_token": token, **data})  # noqa: E731
    assert post(user="ghost@example.com", kind="export").status_code == 400
    assert post(user=str(uuid.uuid4()), kind="export").status_code == 400
    assert post(user="dana@example.com", kind="shred").status_code == 400
    assert post(user="dana@example.com", kind="erase").status_code == 400  # not confirmed
    held = post(user="dana@example.com", kind="erase", confirm="y")
    assert held.status_code == 400 and "legal hold" in held.get_data(as_text=True)
    assert post(user="dana@example.com", kind="export").status_code == 302
    assert client.get("/compliance/subjects/777/download").status_code == 404
    client.post("/logout/", data={"csrf_token": csrf_token(client, "/")})
    login(client, accounts["Manager"].username, accounts["Manager"].password)
    assert client.get("/compliance/subjects/").status_code == 403
