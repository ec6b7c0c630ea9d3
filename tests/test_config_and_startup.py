"""Settings come from the environment; bad ones stop start-up with one clear line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import config
from config import ConfigError, get_config, normalise_database_url

ROOT = Path(__file__).resolve().parent.parent


def test_production_requires_a_secret_key(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@db/coachdesk")
    monkeypatch.setenv("REDIS_URL", "redis://localhost:6379/0")
    with pytest.raises(ConfigError, match="SECRET_KEY is not set"):
        get_config("production")


def test_production_requires_database_and_redis(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "k" * 40)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("REDIS_URL", "redis://localhost:6379/0")
    with pytest.raises(ConfigError, match="DATABASE_URL is not set"):
        get_config("production")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@db/coachdesk")
    monkeypatch.delenv("REDIS_URL", raising=False)
    with pytest.raises(ConfigError, match="REDIS_URL is not set"):
        get_config("production")


def test_production_settings_are_strict(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "k" * 40)
    monkeypatch.setenv("DATABASE_URL", "postgres://u:p@db/coachdesk")
    monkeypatch.setenv("REDIS_URL", "redis://localhost:6379/0")
    cfg = get_config("production")
    assert cfg.SQLALCHEMY_DATABASE_URI.startswith("postgresql+psycopg://")
    assert cfg.SESSION_COOKIE_SECURE and cfg.SESSION_COOKIE_HTTPONLY and cfg.SESSION_COOKIE_SAMESITE == "Lax"
    assert cfg.FAB_PASSWORD_HASH_METHOD == "scrypt:131072:8:1"
    assert cfg.FAB_UPDATE_PERMS is False and cfg.FAB_CREATE_DB is False


@pytest.mark.parametrize("url", ["not a url", "mysql://u@h/db", "://"])
def test_malformed_or_unsupported_database_url(url):
    with pytest.raises(ConfigError) as err:
        normalise_database_url(url)
    assert "\n" not in str(err.value)


def test_unknown_app_env():
    with pytest.raises(ConfigError, match="APP_ENV"):
        get_config("staging")


def test_embedded_secret_key_is_generated_once(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "INSTANCE_DIR", tmp_path)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = config._instance_secret_key()
    assert len(first) >= 40
    assert config._instance_secret_key() == first
    assert oct((tmp_path / "secret_key").stat().st_mode)[-3:] == "600"


def _start(env_overrides: dict[str, str], tmp_path: Path, script: str = "run.py") -> subprocess.CompletedProcess:
    env = {**os.environ, "COACHDESK_INSTANCE": str(tmp_path), "APP_ENV": "embedded", **env_overrides}
    return subprocess.run(
        [sys.executable, script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("definitely not a database url", "DATABASE_URL is not a database URL"),
        ("postgresql://nobody@127.0.0.1:1/coachdesk", "cannot reach the database"),
    ],
)
def test_run_py_fails_with_one_line(tmp_path, url, expected):
    result = _start({"DATABASE_URL": url}, tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and expected in lines[0]


def test_wsgi_fails_with_one_line_without_secret(tmp_path):
    env = {"APP_ENV": "production", "SECRET_KEY": "", "DATABASE_URL": "postgresql://u@h/db", "REDIS_URL": "redis://h"}
    result = subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert (
        result.stderr.strip() == "coachdesk: SECRET_KEY is not set: production needs a long random secret (see README)"
    )
