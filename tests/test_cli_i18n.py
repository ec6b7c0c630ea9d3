"""The CLI and the jobs speak the operator's language: COACHDESK_LOCALE or LANG for the CLI,
English for what jobs store, the reader's language for job failures shown in the console.

German assertions use messages the catalogues already hold, so the mechanism is tested
whatever new messages still wait for their translations.
"""

from __future__ import annotations

import click
import pytest
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _lazy
from sqlalchemy import func, select, update

from app.extensions import db
from app.i18n import LazyMessage, SourceText, _l, environment_locale, message_of, option
from app.models.identity import PlatformUser
from app.models.jobs import JobRun
from app.services.compliance.data_subject import ERASURE_KIND as SUBJECT_ERASURE
from app.services.jobs.context import JobContext, run_inline
from app.services.jobs.errors import JobError
from app.services.jobs.kinds import job_kind, register_kind
from app.services.jobs.runs import failure_message, start_job
from app.services.training import assignment as plan_jobs
from tests.support.plan_views import _login
from tests.support.web import csrf_token, login

LANGS = ("en", "es", "de")


@job_kind("test.i18n_fail", queue="default")
def _known_failure(ctx: JobContext) -> None:
    raise JobError(_l("no job #%(id)s", id=ctx.params["n"]))


@job_kind("test.i18n_eager", queue="default")
def _eager_failure(ctx: JobContext) -> None:
    # Translated when raised: the job runs in the default language, so English is stored.
    raise ValueError(_("no job #%(id)s", id=ctx.params["n"]))


@job_kind("test.i18n_crash", queue="default")
def _unexpected_failure(ctx: JobContext) -> None:
    raise KeyError("customer_ids")


@pytest.fixture(autouse=True)
def _test_kinds(request):
    """This module's kinds, in the app the test uses."""
    if "app" in request.fixturenames:
        for func in (_known_failure, _eager_failure, _unexpected_failure):
            register_kind(request.getfixturevalue("app"), func)


@pytest.fixture
def env_locale(app, monkeypatch):
    """Let this test's environment choose the CLI language (the test settings ignore it)."""
    monkeypatch.setitem(app.config, "LOCALE_FROM_ENVIRONMENT", True)
    for name in ("COACHDESK_LOCALE", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


# --------------------------------------------------------------------------- choosing the language


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, "en"),
        ({"COACHDESK_LOCALE": "de"}, "de"),
        ({"COACHDESK_LOCALE": "es_ES.UTF-8", "LANG": "de_DE.UTF-8"}, "es"),
        ({"COACHDESK_LOCALE": "fr", "LANG": "de_DE.UTF-8"}, "de"),  # not shipped: the system's choice
        ({"LANG": "de_DE.UTF-8"}, "de"),
        ({"LANG": "de-AT"}, "de"),
        ({"LANG": "es_ES@euro"}, "es"),
        ({"LC_ALL": "es_ES.UTF-8", "LC_MESSAGES": "de_DE.UTF-8", "LANG": "de_DE.UTF-8"}, "es"),
        ({"LC_MESSAGES": "de_DE.UTF-8", "LANG": "es_ES.UTF-8"}, "de"),
        ({"LC_MESSAGES": "fr_FR.UTF-8", "LANG": "de_DE.UTF-8"}, "en"),  # POSIX: LC_MESSAGES decides
        ({"LANG": "C.UTF-8"}, "en"),
        ({"LANG": "POSIX"}, "en"),
        ({"LC_ALL": "", "LANG": "es"}, "es"),  # empty means unset
    ],
)
def test_environment_locale(environ, expected):
    assert environment_locale(LANGS, "en", environ) == expected


def test_environment_locale_without_posix_variables_only_honours_the_explicit_choice():
    assert environment_locale(LANGS, "en", {"LANG": "de_DE.UTF-8"}, posix=False) == "en"
    assert environment_locale(LANGS, "en", {"COACHDESK_LOCALE": "de", "LANG": "es"}, posix=False) == "de"


def test_test_settings_ignore_the_shell_language(app, monkeypatch):
    monkeypatch.setenv("COACHDESK_LOCALE", "de")
    monkeypatch.setenv("LANG", "de_DE.UTF-8")
    result = app.test_cli_runner().invoke(args=["jobs", "retry", "999999"])
    assert result.exit_code == 1 and "Error: no job #999999" in result.output


# --------------------------------------------------------------------------- CLI output


@pytest.mark.parametrize(("environ", "expected"), [({"COACHDESK_LOCALE": "de"}, "kein Job #999999"),
                                                   ({"LANG": "de_DE.UTF-8"}, "kein Job #999999"),
                                                   ({"LANG": "en_GB.UTF-8"}, "no job #999999")])  # fmt: skip
def test_cli_error_in_the_chosen_language(app, env_locale, environ, expected):
    for name, value in environ.items():
        env_locale.setenv(name, value)
    result = app.test_cli_runner().invoke(args=["jobs", "retry", "999999"])
    assert result.exit_code == 1
    assert f"Error: {expected}" in result.output


def test_cli_parameter_error_in_german(app, env_locale):
    env_locale.setenv("COACHDESK_LOCALE", "de")
    result = app.test_cli_runner().invoke(args=["audit", "export", "--from", "2026-02-01", "--to", "2026-01-01"])
    assert result.exit_code == 2
    assert "der Zeitpunkt 'von' muss vor dem Zeitpunkt 'bis' liegen" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(JobRun)) == 0


def test_cli_runner_env_argument_chooses_the_language(app, monkeypatch):
    """What an operator does: `COACHDESK_LOCALE=de flask jobs retry 1` (CliRunner sets the variable)."""
    monkeypatch.setitem(app.config, "LOCALE_FROM_ENVIRONMENT", True)
    result = app.test_cli_runner().invoke(args=["jobs", "retry", "999999"], env={"COACHDESK_LOCALE": "de"})
    assert "kein Job #999999" in result.output


def test_cli_success_lines_stay_english_by_default(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["roles", "sync"]).output.startswith("roles synced: ")
    result = runner.invoke(args=["audit", "rechain"])
    assert result.exit_code == 0 and result.output.strip() == "rechained 0 rows"
    listed = runner.invoke(args=["jobs", "list"])
    assert listed.exit_code == 0 and listed.output == ""


def test_translated_option_help_is_chosen_when_help_is_shown(app, env_locale):
    """click cleans option help when it is declared; TranslatedOption keeps the lazy text lazy."""

    @click.command(help=_lazy("Jobs"))
    @option("--what", help=_lazy("Export"))
    def cmd(what: str | None) -> None:
        raise AssertionError("--help exits first")

    runner = app.test_cli_runner()
    env_locale.setenv("COACHDESK_LOCALE", "de")
    with app.app_context():
        german = runner.invoke(cmd, ["--help"])
    env_locale.setenv("COACHDESK_LOCALE", "en")
    with app.app_context():
        english = runner.invoke(cmd, ["--help"])
    assert german.exit_code == english.exit_code == 0
    assert "Exportieren" in german.output and "Exportieren" not in english.output
    assert "--what TEXT  Export" in english.output


def test_flask_command_help_follows_the_chosen_language(app, env_locale):
    """Through `flask` itself (FlaskGroup pushes the app context before click parses --help)."""
    from flask.cli import FlaskGroup

    @click.command(help=_lazy("Jobs"))
    @option("--what", help=_lazy("Export"))
    def cmd(what: str | None) -> None:
        click.echo(_("no job #%(id)s", id=what))

    env_locale.setitem(app.cli.commands, "i18n-probe", cmd)
    flask = FlaskGroup(create_app=lambda: app, add_default_commands=False, load_dotenv=False)
    runner = app.test_cli_runner()
    env_locale.setenv("COACHDESK_LOCALE", "de")
    german = runner.invoke(flask, ["i18n-probe", "--help"])
    assert german.exit_code == 0 and "--what TEXT  Exportieren" in german.output, german.output
    assert runner.invoke(flask, ["i18n-probe", "--what", "3"]).output == "kein Job #3\n"
    env_locale.setenv("COACHDESK_LOCALE", "es")
    assert "--what TEXT  Exportar" in runner.invoke(flask, ["i18n-probe", "--help"]).output
    env_locale.delenv("COACHDESK_LOCALE")
    assert "--what TEXT  Export\n" in runner.invoke(flask, ["i18n-probe", "--help"]).output


def test_every_command_help_renders(app):
    """Lazy help texts on every group, command and option render (no lazy object leaks into click)."""
    runner = app.test_cli_runner()
    commands = {
        "roles": ["sync"],
        "users": ["create-admin", "create"],
        "demo": ["seed"],
        "jobs": ["worker", "cron", "retry", "cancel", "list"],
        "audit": ["verify", "rechain", "export"],
        "reports": ["snapshot", "refresh-rollups"],
    }
    for group, names in commands.items():
        listing = runner.invoke(args=[group, "--help"])
        assert listing.exit_code == 0, listing.output
        for name in names:
            assert name in listing.output
            result = runner.invoke(args=[group, name, "--help"])
            assert result.exit_code == 0 and "Usage:" in result.output, result.output
    assert "Default: a random password, printed once." in runner.invoke(args=["users", "create", "--help"]).output
    assert "Rebuild the rollups from all events." in runner.invoke(args=["reports", "refresh-rollups", "--help"]).output


def test_bad_worker_setting_is_refused_with_a_message(app):
    result = app.test_cli_runner().invoke(args=["jobs", "worker", "--set", "SECRET_KEY=1", "--burst"])
    assert result.exit_code == 2
    assert "'SECRET_KEY=1': only JOBS_*, RETENTION_*, AUDIT_EXPORT_*, AUTOMATION_* settings" in result.output


def test_refresh_rollups_rejects_a_bad_date(app):
    result = app.test_cli_runner().invoke(args=["reports", "refresh-rollups", "--since", "yesterday"])
    assert result.exit_code == 2 and "'yesterday' is not a date (YYYY-MM-DD)" in result.output


def test_account_errors_are_messages(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["users", "create-admin", "--username", "boss"]).exit_code == 0
    again = runner.invoke(args=["users", "create-admin", "--username", "boss", "--email", "x@example.com"])
    assert again.exit_code == 1 and "a console account named 'boss' already exists" in again.output


# --------------------------------------------------------------------------- job failures


def test_known_job_failure_is_stored_in_english_and_keeps_its_message(app):
    with app.app_context():
        run = run_inline(start_job("test.i18n_fail", {"n": 41}, enqueue=False))
        assert run.status == "failed"
        assert run.error == "JobError: no job #41"
        assert run.result == {"failure": {"msgid": "no job #%(id)s", "params": {"id": 41}}}
        with force_locale("de"):
            assert failure_message(run) == "kein Job #41"
        with force_locale("en"):
            assert failure_message(run) == "no job #41"


def test_job_runs_in_the_default_language_whatever_the_cli_speaks(app, env_locale):
    """`COACHDESK_LOCALE=de flask audit export ...` runs the job inline: what it stores stays English."""
    env_locale.setenv("COACHDESK_LOCALE", "de")
    with app.app_context():
        assert _("no job #%(id)s", id=1) == "kein Job #1"  # the CLI's own language
        run = run_inline(start_job("test.i18n_eager", {"n": 7}, enqueue=False))
        assert run.error == "ValueError: no job #7"
        assert run.result is None  # an eagerly translated message has no msgid left: shown as stored
        assert failure_message(run) == "ValueError: no job #7"


def test_unexpected_job_failure_is_shown_as_stored(app):
    with app.app_context():
        run = run_inline(start_job("test.i18n_crash", {}, enqueue=False))
        with force_locale("de"):
            assert failure_message(run) == "KeyError: 'customer_ids'"
        assert run.result is None


def test_a_retried_run_forgets_its_failure_message(app):
    with app.app_context():
        run = run_inline(start_job("test.i18n_fail", {"n": 3}, enqueue=False))
        db.session.execute(update(JobRun).where(JobRun.id == run.id).values(status="queued", error=None))
        db.session.commit()
        run = db.session.get(JobRun, run.id, populate_existing=True)
        assert failure_message(run) is None


def test_corrupt_failure_record_falls_back_to_the_stored_text(app):
    with app.app_context():
        run = run_inline(start_job("test.i18n_fail", {"n": 5}, enqueue=False))
        for broken in ({"failure": {"msgid": "no job #%(id)s", "params": {}}}, {"failure": "text"}, {"failure": None}):
            run.result = broken
            db.session.commit()
            with force_locale("de"):
                assert failure_message(run) == "JobError: no job #5"


def test_legal_hold_failure_is_german_in_the_jobs_console(app, client, accounts):
    with app.app_context():
        user = PlatformUser(email="held@example.com", full_name="Held Person", legal_hold=True)
        db.session.add(user)
        db.session.commit()
        run = run_inline(start_job(SUBJECT_ERASURE, {"user_id": str(user.id)}, enqueue=False))
        assert run.error == "SubjectRequestError: this user is under legal hold: erasure refused"
        run_id = run.id
    login(client, "compliance", accounts["Compliance"].password)
    client.post("/lang/de", data={"csrf_token": csrf_token(client, "/")}, headers={"Referer": "/"})
    page = client.get("/compliance/jobs/").get_data(as_text=True)
    assert "dieser Benutzer unterliegt einem Legal Hold: Löschung abgelehnt" in page
    assert "erasure refused" not in page
    status = client.get(f"/compliance/jobs/{run_id}/status").get_json()
    assert status["error"] == "dieser Benutzer unterliegt einem Legal Hold: Löschung abgelehnt"
    assert status["result"] is None
    subjects = client.get("/compliance/subjects/").get_data(as_text=True)
    assert "dieser Benutzer unterliegt einem Legal Hold" in subjects
    client.post("/lang/en", data={"csrf_token": csrf_token(client, "/")}, headers={"Referer": "/"})
    assert "this user is under legal hold: erasure refused" in client.get("/compliance/jobs/").get_data(as_text=True)


# --------------------------------------------------------------------------- message objects


def test_lazy_message_renders_in_the_current_language(app):
    message = _l("no job #%(id)s", id=9)
    assert message.source == "no job #9"
    with app.app_context():
        with force_locale("de"):
            assert str(message) == "kein Job #9"
        with force_locale("es"):
            assert str(message) != "no job #9"
    assert LazyMessage.from_json(message.as_json()) == message
    assert LazyMessage.from_json({"msgid": 3}) is None and LazyMessage.from_json(None) is None


def test_source_text_is_english_and_remembers_its_message():
    text = SourceText(_l("Plan %(id)s was not found.", id=4))
    assert text == "Plan 4 was not found." and isinstance(text, str)
    assert message_of(text) == _l("Plan %(id)s was not found.", id=4)
    assert message_of("plain text") is None


def test_plan_assignment_failure_reads_in_the_coachs_language(client, world):  # noqa: F811
    """plans.assign re-checks scope in the job: its PlanError (SourceText) is stored English, shown German."""
    app = world["app"]
    with app.app_context():
        from app.models.identity import ConsoleUser

        coach = db.session.scalar(select(ConsoleUser).where(ConsoleUser.username == "coach"))
        params = {"console_user_id": coach.id, "program_id": world["program"],
                  "customer_ids": [str(world["theirs"])], "start_date": None, "start_week": 1}  # fmt: skip
        run = run_inline(start_job(plan_jobs.KIND, params, enqueue=False))
        assert run.status == "failed"
        assert run.error == f"PlanError: Customer {world['theirs']} is not one of your customers."
        run_id = run.id
    _login(client, world["accounts"], "Coach")
    client.post("/lang/de", data={"csrf_token": csrf_token(client, "/")}, headers={"Referer": "/"})
    status = client.get(f"/plans/assign/job/{run_id}").get_json()
    assert status["status"] == "failed"
    assert status["error"] == f"Kunde {world['theirs']} gehört nicht zu Ihren Kunden."


def test_jobs_list_shows_a_known_failure_in_the_cli_language(app, env_locale):
    with app.app_context():
        run = run_inline(start_job("test.i18n_fail", {"n": 12}, enqueue=False))
        run_id = run.id
    runner = app.test_cli_runner()
    english = runner.invoke(args=["jobs", "list"]).output.splitlines()
    assert english[0].startswith(f"#{run_id:<6} test.i18n_fail") and english[0].endswith("attempts=1")
    assert english[1].strip() == "no job #12"
    env_locale.setenv("COACHDESK_LOCALE", "de")
    assert runner.invoke(args=["jobs", "list"]).output.splitlines()[1].strip() == "kein Job #12"
