"""The WEBHOOK action against a real HTTP server on 127.0.0.1: signed body, delivery id, and how each answer fails."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json

import pytest

from app.extensions import db
from app.services.automation import actions
from app.services.automation.actions.base import PermanentActionError, TransientActionError
from app.services.automation.actions.webhook import BODY_KEYS, webhook_secret
from tests.support.automation_actions import context, counts, erase, people
from tests.support.webhook_receiver import Receiver

SECRET = "receiver-shared-secret-0123456789"


@pytest.fixture
def receiver():
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def local_hooks(monkeypatch):
    """Let both test apps call the receiver: private addresses, plain http and any port allowed, 127.0.0.1 listed."""

    def allow(app, **extra):
        settings = {
            "AUTOMATION_WEBHOOK_ALLOW_PRIVATE": True,
            "AUTOMATION_WEBHOOK_HOSTS": ["127.0.0.1"],
            "AUTOMATION_WEBHOOK_SECRET": SECRET,
            **extra,
        }
        for key, value in settings.items():
            monkeypatch.setitem(app.config, key, value)

    return allow


def _call(app, url, p=None):
    return actions.get("WEBHOOK").perform(
        db.session, context(p, event_type="plan.item_missed", plan_id=5), {"url": url}
    )


def test_a_webhook_posts_a_signed_body_the_receiver_can_verify(app, receiver, local_hooks):
    local_hooks(app)
    with app.app_context():
        p = people()
        assert actions.check_actions([{"type": "WEBHOOK", "params": {"url": receiver.url}}], db.session) == []
        before = counts()
        assert _call(app, receiver.url, p) == "HTTP 200"
        db.session.commit()
        assert counts() == before  # nothing of its own in the database: the engine records the step
    (call,) = receiver.calls
    assert call.path == "/hooks/coachdesk?x=1" and call.headers["content-type"] == "application/json"
    expected = "sha256=" + hmac.new(SECRET.encode(), call.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(call.headers["x-coachdesk-signature"], expected)
    ctx = context(p, event_type="plan.item_missed", plan_id=5)
    assert call.headers["x-coachdesk-delivery"] == ctx.delivery_id == f"rule-{p.rule_id}:event-7#0"
    body = json.loads(call.body)
    assert tuple(sorted(body)) == tuple(sorted(BODY_KEYS))
    assert body["rule"] == {"id": p.rule_id, "name": "Missed-workout nudge", "version": 3}
    assert body["event"] == {"type": "plan.item_missed", "id": 7, "payload": {"plan_id": 5}}
    assert body["customer_id"] == str(p.customer_id) and body["delivery_id"] == ctx.delivery_id
    sent = dt.datetime.fromisoformat(body["sent_at"])
    assert int(call.headers["x-coachdesk-timestamp"]) == int(sent.timestamp())


def test_without_a_configured_secret_the_key_is_derived_from_the_secret_key(sqlite_app, receiver, local_hooks):
    local_hooks(sqlite_app, AUTOMATION_WEBHOOK_SECRET=None)
    with sqlite_app.app_context():
        secret = webhook_secret()
        key = sqlite_app.config["SECRET_KEY"].encode()
        assert secret != key and len(secret) == 64 and webhook_secret() == secret
        assert _call(sqlite_app, receiver.url) == "HTTP 200"
    (call,) = receiver.calls
    assert call.headers["x-coachdesk-signature"] == "sha256=" + hmac.new(secret, call.body, hashlib.sha256).hexdigest()
    assert json.loads(call.body)["customer_id"] is None


@pytest.mark.parametrize(
    ("status", "location", "error", "message"),
    [
        (500, None, TransientActionError, "HTTP 500"),
        (503, None, TransientActionError, "HTTP 503"),
        (429, None, TransientActionError, "HTTP 429"),
        (404, None, PermanentActionError, "HTTP 404"),
        (401, None, PermanentActionError, "HTTP 401"),
        (302, "http://127.0.0.1:1/elsewhere", PermanentActionError, "redirect (HTTP 302)"),
    ],
)
def test_answers_fail_transiently_or_permanently(sqlite_app, receiver, local_hooks, status, location, error, message):
    local_hooks(sqlite_app)
    receiver.status, receiver.location = status, location
    with sqlite_app.app_context(), pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        _call(sqlite_app, receiver.url)
    assert len(receiver.calls) == 1  # the redirect was not followed


def test_a_server_slower_than_the_timeout_is_a_transient_failure(sqlite_app, receiver, local_hooks):
    local_hooks(sqlite_app, AUTOMATION_WEBHOOK_TIMEOUT=0.5)
    receiver.hold = True
    with sqlite_app.app_context(), pytest.raises(TransientActionError, match="did not answer within 0.5 seconds"):
        _call(sqlite_app, receiver.url)
    assert len(receiver.calls) == 1


def test_nobody_listening_is_a_transient_failure(sqlite_app, local_hooks):
    local_hooks(sqlite_app)
    server = Receiver().start()
    url = server.url
    server.stop()
    with sqlite_app.app_context(), pytest.raises(TransientActionError, match="refused the connection"):
        _call(sqlite_app, url)


def test_the_address_is_checked_again_when_the_webhook_runs(app, receiver, local_hooks, monkeypatch):
    local_hooks(app)
    with app.app_context():
        p = people()
        monkeypatch.setitem(app.config, "AUTOMATION_WEBHOOK_HOSTS", ["hooks.example.com"])
        with pytest.raises(PermanentActionError, match="not on the webhook allow-list"):
            _call(app, receiver.url, p)
        # A listed name that now resolves to a private address, private addresses no longer allowed.
        monkeypatch.setitem(app.config, "AUTOMATION_WEBHOOK_HOSTS", ["localhost"])
        monkeypatch.setitem(app.config, "AUTOMATION_WEBHOOK_ALLOW_PRIVATE", False)
        with pytest.raises(PermanentActionError, match="private or reserved address"):
            _call(app, "https://localhost/hooks", p)
        with pytest.raises(PermanentActionError, match="must start with https://"):
            _call(app, receiver.url, p)
        # An erased customer is not announced anywhere.
        local_hooks(app)
        erase(p.customer_id)
        with pytest.raises(PermanentActionError, match="erased"):
            _call(app, receiver.url, p)
    assert receiver.calls == []


def test_preview_sends_nothing(sqlite_app, receiver, local_hooks):
    local_hooks(sqlite_app)
    with sqlite_app.app_context():
        said = actions.get("WEBHOOK").preview(db.session, context(None), {"url": receiver.url})
    assert "127.0.0.1" in said and all(key in said for key in BODY_KEYS)
    assert receiver.calls == []
