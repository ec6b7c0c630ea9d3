"""Login hardening: rate limits in Redis, equal work for unknown users, hash strength,
password policy, session cookies and lifetimes, auth events, safe redirects."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from datetime import timedelta
from urllib.parse import urlparse

import pytest
from flask import Flask
from itsdangerous import TimestampSigner
from werkzeug.security import check_password_hash

import config as config_module
from app.extensions import db
from app.policy import passwords
from app.policy.passwords import check_password_policy, fake_password_hash, hash_method_of, password_problem
from app.web.security import sessions
from tests.support import databases
from tests.support.apps import build_app, make_accounts
from tests.support.web import csrf_token, login

OWASP_SCRYPT_MIN_N = 2**17


def post_login(client, username: str, password: str, next_url: str | None = None, ip: str = "127.0.0.1"):
    token = csrf_token(client)
    url = "/login/" if next_url is None else f"/login/?next={next_url}"
    return client.post(
        url,
        data={"username": username, "password": password, "csrf_token": token},
        environ_base={"REMOTE_ADDR": ip},
    )


def signed_in(client) -> bool:
    with client.session_transaction() as sess:
        return "_user_id" in sess


# --------------------------------------------------------------------------- rate limits (real Redis)


@pytest.fixture(scope="module")
def limited_app(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Flask:
    """A SQLite app with rate limits on, counting in the test Redis under its own key prefix."""
    url = databases.create_sqlite_database(tmp_path_factory.mktemp("limited"))
    app = build_app(
        url,
        REDIS_URL=redis_url,
        RATELIMIT_ENABLED=True,
        RATELIMIT_KEY_PREFIX=f"test-{uuid.uuid4().hex[:8]}",
        AUTH_SLOWDOWN_SECONDS=0.01,  # the decision is tested, not the wait
    )
    make_accounts(app)
    return app


def unique_ip() -> str:
    n = uuid.uuid4().int
    return f"10.{n % 250}.{(n >> 8) % 250}.{(n >> 16) % 250 + 1}"


def test_limits_are_kept_in_redis(limited_app, redis_url):
    import redis
    from limits.storage import RedisStorage

    storage = limited_app.appbuilder.sm.limiter.storage
    assert isinstance(storage, RedisStorage)
    client = limited_app.test_client()
    post_login(client, "nobody-" + uuid.uuid4().hex[:6], "wrong-password-123", ip=unique_ip())
    prefix = limited_app.config["RATELIMIT_KEY_PREFIX"]
    keys = redis.Redis.from_url(redis_url).keys(f"*{prefix}*")
    assert keys, "no rate-limit counters in Redis"


def test_fifth_failure_from_one_address_makes_that_address_wait_with_a_429_page(limited_app, caplog):
    client = limited_app.test_client()
    attacker = unique_ip()
    for attempt in range(5):
        resp = post_login(client, "coach", f"wrong-{attempt}-password", ip=attacker)
        assert resp.status_code == 302, attempt
    # From the same address, even the right password waits: the address has used up its tries.
    with caplog.at_level(logging.INFO, logger="coachdesk.auth"):
        blocked = post_login(client, "coach", "coach-Passw0rd!", ip=attacker)
    assert blocked.status_code == 429
    assert [e["event"] for e in auth_events_in(caplog)] == ["login_rate_limited"]
    page = blocked.get_data(as_text=True)
    assert "Too many attempts" in page and "Traceback" not in page
    assert int(blocked.headers["Retry-After"]) > 0
    assert not signed_in(client)
    # The owner, from any other address, signs in: guessing cannot lock an account.
    owner = limited_app.test_client()
    assert post_login(owner, "coach", "coach-Passw0rd!", ip=unique_ip()).status_code == 302
    assert signed_in(owner)
    # Other accounts are not affected, even from the attacker's address.
    other = limited_app.test_client()
    assert post_login(other, "support", "support-Passw0rd!", ip=attacker).status_code == 302
    assert signed_in(other)


def test_an_account_under_attack_slows_only_addresses_that_failed_on_it(limited_app):
    client = limited_app.test_client()
    guard = limited_app.extensions["coachdesk.login_guard"]
    with limited_app.app_context():
        account = f"account:{limited_app.appbuilder.sm.find_user(username='admin').id}"
    attackers = [unique_ip() for _ in range(guard.account_limit.amount)]
    clean = unique_ip()
    assert guard.delay(account, attackers[0]) == 0  # nothing has happened yet
    for n, ip in enumerate(attackers):
        assert post_login(client, "admin", f"guess-{n}-password", ip=ip).status_code == 302
    assert guard.delay(account, attackers[0]) == guard.slowdown > 0
    assert guard.delay(account, clean) == 0
    owner = limited_app.test_client()
    assert post_login(owner, "admin", "admin-Passw0rd!", ip=clean).status_code == 302
    assert signed_in(owner)


def test_no_sign_in_path_escapes_the_limits(limited_app):
    client = limited_app.test_client()
    # FAB's JSON sign-in (and its token refresh) is not served at all.
    for url in ("/api/v1/security/login", "/api/v1/security/refresh"):
        resp = client.post(url, json={"username": "admin", "password": "x", "provider": "db"})
        assert resp.status_code == 404, url
    sign_in_rules = [
        r for r in limited_app.url_map.iter_rules() if "POST" in r.methods and "login" in (r.rule + r.endpoint).lower()
    ]
    assert [r.rule for r in sign_in_rules] == ["/login/"]
    ip = unique_ip()
    statuses = [post_login(client, "manager", f"wrong-{n}-password", ip=ip).status_code for n in range(6)]
    assert statuses == [302] * 5 + [429]


def test_password_checks_are_capped_per_process(limited_app):
    hashing = limited_app.extensions["coachdesk.password_hashing"]
    held = 0
    while hashing.slots.acquire(blocking=False):
        held += 1
    saved, hashing.wait = hashing.wait, 0.01
    try:
        resp = post_login(limited_app.test_client(), "support", "support-Passw0rd!", ip=unique_ip())
        assert resp.status_code == 429 and "Traceback" not in resp.get_data(as_text=True)
    finally:
        hashing.wait = saved
        for _ in range(held):
            hashing.slots.release()
    assert held == limited_app.config["AUTH_MAX_CONCURRENT_HASHES"]
    assert post_login(limited_app.test_client(), "support", "support-Passw0rd!", ip=unique_ip()).status_code == 302


def test_username_and_email_share_one_budget(limited_app):
    client = limited_app.test_client()
    ip = unique_ip()
    for attempt in range(5):
        name = "compliance" if attempt % 2 else "compliance@coachdesk.test"
        assert post_login(client, name, f"wrong-{attempt}-password", ip=ip).status_code == 302
    assert post_login(client, "compliance@coachdesk.test", "wrong-again", ip=ip).status_code == 429
    assert post_login(client, "compliance", "wrong-again", ip=ip).status_code == 429


def test_successful_sign_ins_do_not_use_up_the_username_limit(limited_app):
    client = limited_app.test_client()
    ip = unique_ip()
    for _ in range(7):
        resp = post_login(client, "manager", "manager-Passw0rd!", ip=ip)
        assert resp.status_code == 302
        assert signed_in(client)
        client.post("/logout/", data={"csrf_token": csrf_token(client, "/")}, environ_base={"REMOTE_ADDR": ip})


def test_one_address_is_limited_across_usernames(limited_app):
    client = limited_app.test_client()
    ip = unique_ip()
    per_ip = int(limited_app.config["AUTH_RATE_LIMIT"].split()[0])
    for attempt in range(per_ip):
        resp = post_login(client, f"spray-{uuid.uuid4().hex[:8]}", "Summer2026!!", ip=ip)
        assert resp.status_code == 302, attempt
    resp = post_login(client, f"spray-{uuid.uuid4().hex[:8]}", "Summer2026!!", ip=ip)
    assert resp.status_code == 429
    # A different address is still served.
    assert post_login(client, "admin", "admin-Passw0rd!", ip=unique_ip()).status_code == 302


def test_rate_limiting_is_on_outside_tests():
    for cls in (config_module.EmbeddedConfig, config_module.ProductionConfig):
        assert cls.AUTH_RATE_LIMITED is True and cls.RATELIMIT_ENABLED is True
    assert config_module.BaseConfig.AUTH_USERNAME_RATE_LIMIT.startswith("5 per")


# --------------------------------------------------------------------------- production configuration


@pytest.fixture(scope="module")
def production_app(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Flask:
    """An app built exactly from ProductionConfig (env vars set as an operator would)."""
    from app import create_app

    mp = pytest.MonkeyPatch()
    db_url = databases.create_sqlite_database(tmp_path_factory.mktemp("prod"))
    mp.setenv("SECRET_KEY", "p" * 48)
    mp.setenv("REDIS_URL", redis_url)
    mp.setenv("DATABASE_URL", db_url)
    try:
        app = create_app("production")
    finally:
        mp.undo()
    from flask_migrate import upgrade

    from app.extensions import appbuilder
    from app.policy.sync import sync_roles

    with app.app_context():
        upgrade()
        sync_roles(appbuilder)
    return app


def test_production_hashes_at_owasp_strength_and_fakes_the_same(production_app):
    method = production_app.config["FAB_PASSWORD_HASH_METHOD"]
    algorithm, n, r, p = method.split(":")
    assert algorithm == "scrypt" and int(n) >= OWASP_SCRYPT_MIN_N and int(r) == 8 and int(p) == 1
    fake = production_app.config["AUTH_DB_FAKE_PASSWORD_HASH_CHECK"]
    assert hash_method_of(fake) == method
    assert check_password_hash(fake, "password") is False


def test_every_environment_hashes_at_owasp_strength():
    for cls in (config_module.BaseConfig, config_module.EmbeddedConfig, config_module.ProductionConfig):
        algorithm, n, r, p = cls.FAB_PASSWORD_HASH_METHOD.split(":")
        assert algorithm == "scrypt" and int(n) >= OWASP_SCRYPT_MIN_N and (int(r), int(p)) == (8, 1), cls


def test_production_rate_limits_use_redis(production_app):
    from limits.storage import RedisStorage

    assert production_app.config["RATELIMIT_STORAGE_URI"].startswith(("redis", "rediss"))
    assert isinstance(production_app.appbuilder.sm.limiter.storage, RedisStorage)


def test_production_session_cookie_is_secure_httponly_lax(production_app):
    client = production_app.test_client()
    resp = client.get("/login/", base_url="https://console.example")
    cookie = resp.headers["Set-Cookie"]
    assert cookie.startswith("__Host-session=")
    attrs = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"secure", "httponly", "path"} <= attrs
    assert "SameSite=Lax" in cookie
    assert "domain" not in attrs  # required by the __Host- prefix


def test_production_sees_the_client_address_behind_the_load_balancer(production_app, caplog):
    client = production_app.test_client()
    https = "https://console.example"  # the session cookie is Secure (and __Host-)
    page = client.get("/login/", base_url=https).get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    with caplog.at_level(logging.INFO, logger="coachdesk.auth"):
        resp = client.post(
            "/login/",
            base_url=https,
            data={"username": "nobody", "password": "not-a-password", "csrf_token": token},
            # Flask-WTF checks the Referer on HTTPS (WTF_CSRF_SSL_STRICT).
            headers={"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https", "Referer": f"{https}/login/"},
        )
    assert resp.status_code == 302
    assert [e["ip"] for e in auth_events_in(caplog)] == ["203.0.113.9"]


# --------------------------------------------------------------------------- same work for unknown users


def test_fake_hash_matches_the_configured_method(app, accounts):
    from app.models.identity import ConsoleUser

    method = app.config["FAB_PASSWORD_HASH_METHOD"]
    assert hash_method_of(app.config["AUTH_DB_FAKE_PASSWORD_HASH_CHECK"]) == method
    with app.app_context():
        real = app.appbuilder.sm.find_user(username="coach")
        assert isinstance(real, ConsoleUser)
        assert hash_method_of(real.password) == method


def test_fake_hash_is_computed_once_per_method():
    first = fake_password_hash("scrypt:1024:8:1")
    assert fake_password_hash("scrypt:1024:8:1") is first
    assert fake_password_hash("scrypt:2048:8:1") != first
    assert hash_method_of(fake_password_hash("scrypt:2048:8:1")) == "scrypt:2048:8:1"


@pytest.fixture
def hash_checks(monkeypatch):
    """Record every password-hash check FAB makes (the real function still runs)."""
    import flask_appbuilder.security.manager as fab_manager

    calls: list[str] = []
    real = fab_manager.check_password_hash

    def recording(pwhash: str, password: str) -> bool:
        calls.append(pwhash)
        return real(pwhash, password)

    monkeypatch.setattr(fab_manager, "check_password_hash", recording)
    return calls


def test_unknown_user_and_wrong_password_do_the_same_hashing(app, client, accounts, hash_checks):
    method = app.config["FAB_PASSWORD_HASH_METHOD"]
    assert post_login(client, "no-such-user", "whatever-password").status_code == 302
    assert len(hash_checks) == 1 and hash_method_of(hash_checks[0]) == method
    assert hash_checks[0] == app.config["AUTH_DB_FAKE_PASSWORD_HASH_CHECK"]
    hash_checks.clear()
    assert post_login(client, "coach", "wrong-password-123").status_code == 302
    assert len(hash_checks) == 1 and hash_method_of(hash_checks[0]) == method
    assert not signed_in(client)


# --------------------------------------------------------------------------- password policy


@pytest.fixture
def request_ctx(sqlite_app):
    """The policy runs inside a request (its messages follow the console language)."""
    with sqlite_app.test_request_context("/"):
        yield sqlite_app


@pytest.mark.parametrize(
    "password",
    [
        "short-pass1",  # 11 characters
        "x" * 129,
        "password1234",
        "Password2024!",
        "qwerty123456",
        "!!Coachdesk2026",
        "aaaaaaaaaaaaaaaa",
        "abcabcabcabcabc",
        "121212121212",
        "",
    ],
)
def test_weak_passwords_are_refused(request_ctx, password):
    assert password_problem(password)
    with pytest.raises(Exception) as refused:
        check_password_policy(password)
    assert type(refused.value).__name__ == "PasswordComplexityValidationError"


@pytest.mark.parametrize(
    "password",
    [
        "sunlit meadow kettle",  # lower case only: no composition rules
        "twelve chars",
        "quiet harbour",
        "пароль-зимой",  # 12 code points
        "Ab3$" + "q" * 124,  # 128
    ],
)
def test_long_enough_uncommon_passwords_pass(request_ctx, password):
    assert password_problem(password) is None
    check_password_policy(password)


def own_password_change(current: str, new: str, token: str) -> dict[str, str]:
    """The own-password form's fields (it asks for the current password, see tests/test_own_account.py)."""
    return {"current_password": current, "password": new, "conf_password": new, "csrf_token": token}


def test_policy_applies_to_fab_password_forms(app, client, accounts):
    token = csrf_token(client)
    login(client, "admin", "admin-Passw0rd!")
    with app.app_context():
        before = app.appbuilder.sm.find_user(username="admin").password
    resp = client.post(
        "/resetmypassword/form",
        data=own_password_change("admin-Passw0rd!", "qwerty123456", token),
    )
    assert resp.status_code == 200
    assert "too common" in resp.get_data(as_text=True)
    resp = client.post("/resetmypassword/form", data=own_password_change("admin-Passw0rd!", "tiny", token))
    assert "at least 12 characters" in resp.get_data(as_text=True)
    with app.app_context():
        db.session.expire_all()
        assert app.appbuilder.sm.find_user(username="admin").password == before
    good = "lantern orchard pebble"
    resp = client.post("/resetmypassword/form", data=own_password_change("admin-Passw0rd!", good, token))
    assert resp.status_code == 302
    client.post("/logout/", data={"csrf_token": csrf_token(client, "/")})
    assert post_login(client, "admin", good).status_code == 302 and signed_in(client)


# --------------------------------------------------------------------------- session cookie and lifetimes


def test_session_cookie_flags_in_tests_and_base(app, client, accounts):
    token = csrf_token(client)
    resp = client.post("/login/", data={"username": "coach", "password": "coach-Passw0rd!", "csrf_token": token})
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert config_module.ProductionConfig.SESSION_COOKIE_SECURE is True
    base = config_module.BaseConfig
    idle, absolute = base.PERMANENT_SESSION_LIFETIME, base.SESSION_ABSOLUTE_LIFETIME
    assert idle <= timedelta(minutes=30) and absolute <= timedelta(hours=12)


def test_static_files_leave_the_session_cookie_alone(app, client, accounts):
    """Pages refresh the signed-in cookie; a page's scripts, styles and favicon do not send it again
    (one still in flight after sign-out would set the old cookie back)."""
    login(client, "coach", "coach-Passw0rd!")
    assert "Set-Cookie" in client.get("/").headers
    for path in ("/static/coachdesk/favicon.ico", "/static/coachdesk/layout.css", "/static/appbuilder/js/ab.js"):
        resp = client.get(path)
        assert resp.status_code == 200 and "Set-Cookie" not in resp.headers, path


def test_idle_session_expires_after_the_idle_timeout(app, client, accounts, monkeypatch):
    token = csrf_token(client)
    login(client, "coach", "coach-Passw0rd!")
    assert token
    with client.session_transaction() as sess:
        data = dict(sess)
    serializer = app.session_interface.get_signing_serializer(app)
    idle = app.config["PERMANENT_SESSION_LIFETIME"].total_seconds()
    cookie_name = app.config["SESSION_COOKIE_NAME"]

    def cookie_signed_ago(seconds: float) -> str:
        with monkeypatch.context() as m:
            m.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time() - seconds))
            return serializer.dumps(data)

    client.set_cookie(cookie_name, cookie_signed_ago(idle - 60))
    assert client.get("/").status_code == 200
    client.set_cookie(cookie_name, cookie_signed_ago(idle + 60))
    resp = client.get("/")
    assert resp.status_code == 302 and urlparse(resp.headers["Location"]).path == "/login/"


def test_active_session_ends_after_the_absolute_lifetime(app, client, accounts, caplog):
    login(client, "coach", "coach-Passw0rd!")
    with client.session_transaction() as sess:
        started = sess[sessions.LOGIN_AT]
        assert abs(started - time.time()) < 300
        limit = app.config["SESSION_ABSOLUTE_LIFETIME"].total_seconds()
        sess[sessions.LOGIN_AT] = int(time.time() - limit - 60)
    with caplog.at_level(logging.INFO, logger="coachdesk.auth"):
        resp = client.get("/admin/", follow_redirects=False)
    assert resp.status_code == 302
    location = urlparse(resp.headers["Location"])
    assert location.path == "/login/" and "next=" in location.query
    assert not signed_in(client)
    assert "expired" in client.get("/login/").get_data(as_text=True)
    assert [e["event"] for e in auth_events_in(caplog)] == ["session_expired"]


def test_session_without_login_stamp_is_ended(app, client, accounts):
    login(client, "coach", "coach-Passw0rd!")
    with client.session_transaction() as sess:
        del sess[sessions.LOGIN_AT]
    assert client.get("/").status_code == 302
    assert not signed_in(client)


def _session_cookie(app, client) -> str:
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    return cookie.value


def test_a_copied_cookie_dies_with_logout(app, accounts):
    victim = app.test_client()
    login(victim, "coach", "coach-Passw0rd!")
    stolen = _session_cookie(app, victim)
    thief = app.test_client()
    thief.set_cookie(app.config["SESSION_COOKIE_NAME"], stolen)
    assert thief.get("/").status_code == 200  # the copy works while the session lives
    victim.post("/logout/", data={"csrf_token": csrf_token(victim, "/")})
    thief.set_cookie(app.config["SESSION_COOKIE_NAME"], stolen)
    resp = thief.get("/")
    assert resp.status_code == 302 and urlparse(resp.headers["Location"]).path == "/login/"
    assert not signed_in(thief)
    # Signing in again gives a fresh, working session.
    login(victim, "coach", "coach-Passw0rd!")
    assert victim.get("/").status_code == 200


def test_password_change_ends_other_sessions_but_keeps_this_one(app, accounts):
    laptop, phone = app.test_client(), app.test_client()
    token = csrf_token(laptop)
    login(laptop, "admin", "admin-Passw0rd!")
    login(phone, "admin", "admin-Passw0rd!")
    new = "granite willow lantern"
    resp = laptop.post("/resetmypassword/form", data=own_password_change("admin-Passw0rd!", new, token))
    assert resp.status_code == 302
    assert laptop.get("/").status_code == 200 and signed_in(laptop)
    assert phone.get("/").status_code == 302 and not signed_in(phone)


# --------------------------------------------------------------------------- audit hooks


def auth_events_in(caplog) -> list[dict]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "coachdesk.auth"]


def test_logins_failures_and_logouts_are_recorded_without_secrets(app, client, accounts, caplog):
    with caplog.at_level(logging.INFO, logger="coachdesk.auth"):
        post_login(client, "coach", "first-wrong-password")
        post_login(client, "coach", "second-wrong-password")
        post_login(client, "ghost-user", "third-wrong-password")
        post_login(client, "coach", "coach-Passw0rd!")
        client.post("/logout/", data={"csrf_token": csrf_token(client, "/")})
    events = auth_events_in(caplog)
    assert [e["event"] for e in events] == [
        "login_failed",
        "login_failed",
        "login_failed",
        "login_succeeded",
        "logout",
    ]
    assert events[0]["username"] == "coach" and events[0]["fail_login_count"] == 1
    assert events[1]["fail_login_count"] == 2
    assert "username" not in events[2] and len(events[2]["attempted_name_digest"]) == 16
    assert events[3]["username"] == "coach" and events[3]["ip"] == "127.0.0.1"
    assert events[4]["user_id"] == events[3]["user_id"]
    everything = caplog.text
    for secret in ("first-wrong-password", "third-wrong-password", "coach-Passw0rd!", "ghost-user", "scrypt:"):
        assert secret not in everything


def test_failed_logins_count_on_the_account_and_reset_on_success(app, client, accounts):
    for _ in range(3):
        post_login(client, "support", "not-the-password")
    with app.app_context():
        assert app.appbuilder.sm.find_user(username="support").fail_login_count == 3
    post_login(client, "support", "support-Passw0rd!")
    with app.app_context():
        db.session.expire_all()
        user = app.appbuilder.sm.find_user(username="support")
        assert user.fail_login_count == 0 and user.login_count == 1


# --------------------------------------------------------------------------- safe redirects


EVIL_TARGETS = [
    "https://evil.example/",
    "//evil.example/",
    "///evil.example/",
    "https:evil.example",
    "http://localhost.evil.example/",
    "javascript:alert(1)",
    "%2F%2Fevil.example",
    "/%5Cevil.example",
    "/\\evil.example",
    "\\\\evil.example",
]


def _stays_on_site(location: str) -> bool:
    parsed = urlparse(location.replace("\\", "/"))
    return parsed.scheme in ("", "http", "https") and parsed.netloc in ("", "localhost")


@pytest.mark.parametrize("target", EVIL_TARGETS)
def test_login_never_redirects_off_site(app, client, accounts, target):
    resp = post_login(client, "coach", "coach-Passw0rd!", next_url=target)
    assert resp.status_code == 302
    assert signed_in(client)
    assert _stays_on_site(resp.headers["Location"]), resp.headers["Location"]
    # Already signed in: FAB redirects straight to ``next``.
    again = client.get(f"/login/?next={target}")
    assert again.status_code == 302 and _stays_on_site(again.headers["Location"]), again.headers["Location"]


def test_login_keeps_a_local_next(app, client, accounts):
    resp = post_login(client, "manager", "manager-Passw0rd!", next_url="/admin/products/")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/admin/products/")


def test_passwords_module_exposes_the_policy_bounds():
    assert passwords.DEFAULT_MIN_LENGTH >= 12 and passwords.DEFAULT_MAX_LENGTH >= 64
    assert config_module.BaseConfig.PASSWORD_MIN_LENGTH >= 12 and config_module.BaseConfig.PASSWORD_MAX_LENGTH <= 128
