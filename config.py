"""Settings from environment variables, one class per environment.

``APP_ENV`` picks the class: ``embedded`` (default: SQLite, embedded Redis, all
under ``instance/``), ``production`` (everything from the environment, no
guessing) or ``test``.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("COACHDESK_INSTANCE", BASE_DIR / "instance")).resolve()

LANGUAGES = {
    "en": {"flag": "gb", "name": "English"},
    "es": {"flag": "es", "name": "Español"},
    "de": {"flag": "de", "name": "Deutsch"},
}


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message is meant for the operator, one line."""


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if not 0 < value <= 300:
        raise ConfigError(f"{name} must be between 0 and 300, got {raw!r}")
    return value


def _env_list(name: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


class BaseConfig:
    APP_NAME = "Coachdesk"
    APP_ENV = "base"
    INSTANCE_DIR = INSTANCE_DIR
    EXPORTS_DIR = INSTANCE_DIR / "exports"
    ARCHIVE_DIR = INSTANCE_DIR / "archive"
    # Audit checkpoints: signed with an Ed25519 key kept outside the database. AUDIT_SIGNING_KEY (PEM text)
    # or AUDIT_SIGNING_KEY_FILE (a path) in production; else a key file under instance/ made on first use.
    AUDIT_SIGNING_KEY: str | None = os.environ.get("AUDIT_SIGNING_KEY") or None
    AUDIT_SIGNING_KEY_FILE = Path(os.environ.get("AUDIT_SIGNING_KEY_FILE") or INSTANCE_DIR / "audit-signing-key.pem")
    AUDIT_CHECKPOINT_DIR = Path(os.environ.get("AUDIT_CHECKPOINT_DIR") or INSTANCE_DIR / "audit-checkpoints")

    SQLALCHEMY_TRACK_MODIFICATIONS = False
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}

    # Flask-AppBuilder
    FAB_UPDATE_PERMS = False  # permissions are synced by `flask roles sync`, never at start-up
    FAB_CREATE_DB = False  # the schema belongs to Alembic
    FAB_ADD_SECURITY_API = False
    # FAB's menu API serves its React front end; the console renders its menu on the server.
    FAB_ADD_MENU_API = False
    FAB_API_SWAGGER_UI = False
    FAB_INDEX_VIEW = "app.web.views.home.HomeView"
    FAB_SECURITY_MANAGER_CLASS = "app.web.security.manager.CoachdeskSecurityManager"
    FAB_BASE_TEMPLATE = "coachdesk/base.html"
    FAB_API_MAX_PAGE_SIZE = 100
    AUTH_TYPE = 1  # AUTH_DB
    AUTH_USER_REGISTRATION = False
    AUTH_ROLE_ADMIN = "Admin"
    AUTH_ROLE_PUBLIC = "Public"
    # OWASP ASVS 5 / 11.4.2: scrypt N >= 2^17.
    FAB_PASSWORD_HASH_METHOD = "scrypt:131072:8:1"  # noqa: S105 (a method name, not a secret)
    FAB_SAFE_REDIRECT_HOSTS: list[str] = []

    # CSRF everywhere (Flask-WTF); FAB would otherwise delete on GET.
    WTF_CSRF_ENABLED = True
    WTF_CSRF_TIME_LIMIT = None  # tied to the session instead

    # Session cookie
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    PERMANENT_SESSION_LIFETIME = timedelta(minutes=30)  # idle timeout
    SESSION_REFRESH_EACH_REQUEST = True
    # Flask-Login's remember-me cookie, same rules as the session cookie.
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = False
    # Strict-Transport-Security (app.web.headers): only where the console is served over HTTPS.
    HSTS_ENABLED = False
    # ASVS 7.3.2: a signed-in session ends this long after login, however active.
    SESSION_ABSOLUTE_LIFETIME = timedelta(hours=12)
    # Two-step sign-in (TOTP, app.services.signin.mfa): accounts with any of these roles must enrol
    # (comma-separated names; default Admin and Compliance); sensitive actions ask for a fresh code
    # when this session's last check is older than MFA_STEP_UP_MAX_AGE. Wrong codes per account
    # beyond MFA_FAILURE_LIMIT wait.
    MFA_REQUIRED_ROLES: list[str] = _env_list("MFA_REQUIRED_ROLES") or ["Admin", "Compliance"]
    MFA_STEP_UP_MAX_AGE = timedelta(minutes=_env_int("MFA_STEP_UP_MAX_AGE_MINUTES", 15))
    MFA_FAILURE_LIMIT = "5 per 5 minutes"

    # Login hardening (ASVS 6.1.1/6.3.1). FAB applies AUTH_RATE_LIMIT per client IP
    # to POST /login/; app.web.security.login_limits counts failures per account and
    # source (AUTH_USERNAME_RATE_LIMIT), slows sources that failed on an account under
    # attack (AUTH_ACCOUNT_ATTACK_LIMIT, AUTH_SLOWDOWN_SECONDS) and caps concurrent
    # password hashing. Storage: Redis when REDIS_URL is set, else memory (one process
    # only). RATELIMIT_STORAGE_URI, if set, wins.
    AUTH_RATE_LIMITED = True
    RATELIMIT_ENABLED = True
    AUTH_RATE_LIMIT = "20 per minute"
    AUTH_USERNAME_RATE_LIMIT = "5 per minute"
    AUTH_ACCOUNT_ATTACK_LIMIT = "20 per 10 minutes"
    AUTH_SLOWDOWN_SECONDS = 2.0
    AUTH_MAX_CONCURRENT_HASHES = 2
    AUTH_HASH_WAIT_SECONDS = 10.0
    RATELIMIT_HEADERS_ENABLED = True  # Retry-After on the 429 page
    RATELIMIT_KEY_PREFIX = "coachdesk-limits"
    # Password policy (ASVS 6.2.x): length only, plus an offline blocklist; no composition rules.
    # The validator itself (app.policy.passwords.check_password_policy) is installed
    # by the security manager unless FAB_PASSWORD_COMPLEXITY_VALIDATOR is set here.
    FAB_PASSWORD_COMPLEXITY_ENABLED = True
    PASSWORD_MIN_LENGTH = 12
    PASSWORD_MAX_LENGTH = 128

    # Flask-Admin catalogue grids (/admin): bundled Bootstrap 4 assets only, no Google Maps.
    FLASK_ADMIN_SWATCH = "default"
    FLASK_ADMIN_MAPS = False
    FLASK_ADMIN_MAPS_SEARCH = False

    # i18n
    BABEL_DEFAULT_LOCALE = "en"
    BABEL_DEFAULT_TIMEZONE = "UTC"
    # The coach's workspace lists customers with no activity for this many days.
    WORKSPACE_INACTIVE_DAYS = _env_int("WORKSPACE_INACTIVE_DAYS", 7)
    BABEL_TRANSLATION_DIRECTORIES = str(BASE_DIR / "translations")
    LANGUAGES = LANGUAGES
    # Outside a request (the CLI) speak COACHDESK_LOCALE, else LC_ALL/LC_MESSAGES/LANG, else English.
    LOCALE_FROM_ENVIRONMENT = True

    TRUSTED_PROXY_HOPS = 0  # reverse proxies in front of the app whose X-Forwarded-* headers we trust

    # REST API traffic (app.web.api.traffic): requests without a valid key are limited per address; the
    # access log is buffered per process and written every API_ACCESS_LOG_INTERVAL seconds (0/false: off).
    API_ANONYMOUS_RATE_LIMIT = os.environ.get("API_ANONYMOUS_RATE_LIMIT") or "30 per minute"
    API_ACCESS_LOG_ENABLED = os.environ.get("API_ACCESS_LOG", "1").lower() not in ("0", "false", "off")
    API_ACCESS_LOG_INTERVAL = 1.0

    MAX_CONTENT_LENGTH = 10 * 1024 * 1024
    REDIS_URL: str | None = None
    # Jobs: a running run writes its heartbeat every JOBS_HEARTBEAT_SECONDS; one silent for
    # JOBS_STALE_AFTER seconds counts as dead and the every-minute cron re-dispatches it.
    JOBS_HEARTBEAT_SECONDS = _env_int("JOBS_HEARTBEAT_SECONDS", 20)
    JOBS_STALE_AFTER = _env_int("JOBS_STALE_AFTER", 60)
    RQ_QUEUES = ("default", "exports", "retention")
    # Booking engine: no automatic promotion from a waitlist closer than this to a session's start
    # (the freed seat stays open); a cancellation closer than this to the start is a late cancel.
    BOOKING_PROMOTION_CUTOFF_MINUTES = _env_int("BOOKING_PROMOTION_CUTOFF_MINUTES", 60)
    BOOKING_LATE_CANCEL_HOURS = _env_int("BOOKING_LATE_CANCEL_HOURS", 12)
    # Automation webhooks (app.services.automation.actions.webhook): only hosts named here
    # (comma-separated), https on port 443/80, public addresses only unless ALLOW_PRIVATE (a
    # receiver inside the network). Bodies are signed with AUTOMATION_WEBHOOK_SECRET, else with a
    # key derived from SECRET_KEY by HMAC; the timeout is in seconds.
    AUTOMATION_WEBHOOK_HOSTS: list[str] = _env_list("AUTOMATION_WEBHOOK_HOSTS")
    AUTOMATION_WEBHOOK_SECRET: str | None = os.environ.get("AUTOMATION_WEBHOOK_SECRET") or None
    AUTOMATION_WEBHOOK_TIMEOUT = _env_float("AUTOMATION_WEBHOOK_TIMEOUT", 5.0)
    AUTOMATION_WEBHOOK_ALLOW_PRIVATE = os.environ.get("AUTOMATION_WEBHOOK_ALLOW_PRIVATE", "").lower() in ("1", "true")

    # Outgoing mail (app.services.engagement.channels): one SMTP connection per delivery batch. The
    # password is read here and handed to smtplib only; it is never logged nor stored with an error.
    MAIL_SERVER: str | None = os.environ.get("MAIL_SERVER") or None
    MAIL_PORT = _env_int("MAIL_PORT", 25)
    MAIL_USE_TLS = os.environ.get("MAIL_USE_TLS", "").lower() in ("1", "true", "on")
    MAIL_USERNAME: str | None = os.environ.get("MAIL_USERNAME") or None
    MAIL_PASSWORD: str | None = os.environ.get("MAIL_PASSWORD") or None
    MAIL_FROM = os.environ.get("MAIL_FROM") or "Coachdesk <no-reply@coachdesk.localhost>"
    MAIL_TIMEOUT = _env_float("MAIL_TIMEOUT", 10.0)
    # The local debugging sink (app.services.engagement.mail_sink): the embedded default starts it when
    # MAIL_SERVER is not set and keeps the newest MAIL_SINK_KEEP mails under MAIL_SINK_DIR.
    MAIL_SINK = False
    MAIL_SINK_DIR = INSTANCE_DIR / "mail"
    MAIL_SINK_KEEP = _env_int("MAIL_SINK_KEEP", 500)
    DELIVERY_BATCH = _env_int("DELIVERY_BATCH", 500)

    def __init__(self) -> None:
        self.SQLALCHEMY_DATABASE_URI = normalise_database_url(self.database_url())

    def database_url(self) -> str:
        raise NotImplementedError


def normalise_database_url(url: str) -> str:
    """Accept the usual spellings and pin the driver we ship (psycopg 3)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError("DATABASE_URL is not a database URL (expected postgresql://... or sqlite:///...)") from None
    if parsed.drivername in ("postgresql", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("postgresql", "sqlite"):
        backend = parsed.get_backend_name()
        raise ConfigError(f"DATABASE_URL: unsupported database {backend!r} (use PostgreSQL or SQLite)")
    return parsed.render_as_string(hide_password=False)


class EmbeddedConfig(BaseConfig):
    """`make run`: one machine, nothing to install, state under instance/."""

    APP_ENV = "embedded"
    MAIL_SINK = not os.environ.get("MAIL_SERVER")  # delivered mail lands in instance/mail/, shown in the console

    def __init__(self) -> None:
        INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
        self.SECRET_KEY = os.environ.get("SECRET_KEY") or _instance_secret_key()
        self.REDIS_URL = os.environ.get("REDIS_URL") or None
        super().__init__()

    def database_url(self) -> str:
        return os.environ.get("DATABASE_URL") or f"sqlite:///{INSTANCE_DIR / 'coachdesk.db'}"


class ProductionConfig(BaseConfig):
    APP_ENV = "production"
    SESSION_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "__Host-session"
    REMEMBER_COOKIE_SECURE = True
    HSTS_ENABLED = True

    def __init__(self) -> None:
        key = os.environ.get("SECRET_KEY")
        if not key:
            raise ConfigError("SECRET_KEY is not set: production needs a long random secret (see README)")
        if len(key) < 32:
            raise ConfigError("SECRET_KEY is too short: use at least 32 random characters")
        self.SECRET_KEY = key
        self.REDIS_URL = os.environ.get("REDIS_URL") or None
        if not self.REDIS_URL:
            raise ConfigError("REDIS_URL is not set: production needs a Redis server for jobs and rate limits")
        # Production runs behind a load balancer: trust its X-Forwarded-For/-Proto so rate
        # limits and audit entries see the client's address. Set 0 if nothing sits in front.
        self.TRUSTED_PROXY_HOPS = _env_int("TRUSTED_PROXY_HOPS", 1)
        hosts = os.environ.get("SAFE_REDIRECT_HOSTS", "")
        self.FAB_SAFE_REDIRECT_HOSTS = [h.strip() for h in hosts.split(",") if h.strip()]
        super().__init__()

    def database_url(self) -> str:
        url = os.environ.get("DATABASE_URL")
        if not url:
            raise ConfigError("DATABASE_URL is not set: production needs PostgreSQL (postgresql://user:pass@host/db)")
        return url


class TestConfig(BaseConfig):
    APP_ENV = "test"
    TESTING = True
    SECRET_KEY = "test-secret-key-not-for-production-use-0123456789"  # noqa: S105
    # Cheap hashes keep the suite fast; production strength is asserted in its own test.
    FAB_PASSWORD_HASH_METHOD = "scrypt:1024:8:1"  # noqa: S105 (a method name, not a secret)
    # Every test signs in from 127.0.0.1: limits are off here and switched on by the
    # tests that exercise them (tests/test_login_hardening.py builds its own apps).
    RATELIMIT_ENABLED = False
    # CLI output in the default language whatever the developer's shell says (tests switch it on).
    LOCALE_FROM_ENVIRONMENT = False

    def __init__(self) -> None:
        self.REDIS_URL = os.environ.get("TEST_REDIS_URL") or None
        super().__init__()

    def database_url(self) -> str:
        return os.environ.get("COACHDESK_TEST_DB_URL") or "sqlite://"


CONFIGS = {"embedded": EmbeddedConfig, "production": ProductionConfig, "test": TestConfig}


def get_config(name: str | None = None) -> BaseConfig:
    name = name or os.environ.get("APP_ENV", "embedded")
    try:
        return CONFIGS[name]()
    except KeyError:
        raise ConfigError(f"APP_ENV must be one of {', '.join(CONFIGS)}, got {name!r}") from None


def _instance_secret_key() -> str:
    """Generate the embedded default's secret key once and keep it under instance/."""
    path = INSTANCE_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()
