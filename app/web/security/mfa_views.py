"""The second-factor pages: enrol (QR code and recovery codes), verify at sign-in or step-up, manage.

All on the ``AccountSettings`` resource every console role holds, and always about the
signed-in account (``g.user``). The session gate (``mfa_gate``) leaves these pages open while
a sign-in waits for its second factor. Wrong codes are counted per account
(``MFA_FAILURE_LIMIT``): past it the account waits, whatever address the guesses come from.
Codes are read from the form as text; anything that is not a code is a clear 400.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from limits import RateLimitItem
from limits import parse as parse_limit
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from werkzeug.exceptions import TooManyRequests

from app.extensions import db
from app.models.identity import ConsoleUser
from app.services.signin import auth_sessions, mfa
from app.web.audit_context import client_address, client_agent
from app.web.security.views import OWN_ACCOUNT
from app.web.step_up import current_session, requires_recent_mfa, safe_next

READ, WRITE = "read", "write"
FAILURES = "mfa-failures"


@dataclass
class MfaGuard:
    """Wrong second-factor codes per account, in the sign-in limits' storage."""

    limiter: MovingWindowRateLimiter
    limit: RateLimitItem

    def check(self, account_id: int) -> None:
        if not self.limiter.test(self.limit, FAILURES, str(account_id)):
            reset = self.limiter.get_window_stats(self.limit, FAILURES, str(account_id)).reset_time
            raise TooManyRequests(description=str(self.limit), retry_after=int(max(1.0, reset - time.time())) + 1)

    def failed(self, account_id: int) -> None:
        self.limiter.hit(self.limit, FAILURES, str(account_id))

    def passed(self, account_id: int) -> None:
        self.limiter.clear(self.limit, FAILURES, str(account_id))


def install_guard(app: Flask) -> None:
    storage = storage_from_string(app.config.get("RATELIMIT_STORAGE_URI") or "memory://")
    limit = parse_limit(app.config.get("MFA_FAILURE_LIMIT", "5 per 5 minutes"))
    app.extensions["coachdesk.mfa_guard"] = MfaGuard(MovingWindowRateLimiter(storage), limit)


def guard() -> MfaGuard:
    return current_app.extensions["coachdesk.mfa_guard"]


def _audit() -> dict[str, Any]:
    return {"ip": client_address(), "user_agent": client_agent()}


def _next() -> str | None:
    return safe_next(request.values.get("next"))


class MfaView(BaseView):
    """``/mfa/``: the account's second factor; ``/mfa/setup``, ``/mfa/verify``, ``/mfa/recovery``."""

    route_base = "/mfa"
    class_permission_name = OWN_ACCOUNT
    method_permission_name = {
        "index": READ,
        "setup": READ,
        "confirm": WRITE,
        "verify": READ,
        "check": WRITE,
        "recovery": READ,
        "use_recovery": WRITE,
        "regenerate": WRITE,
        "disable": WRITE,
    }
    default_view = "index"

    def _account(self) -> ConsoleUser:
        return db.session.get(ConsoleUser, g.user.id)

    def _secret_key(self) -> str:
        return current_app.config["SECRET_KEY"]

    def _required(self, account: ConsoleUser) -> bool:
        return mfa.mfa_required(account, current_app.config.get("MFA_REQUIRED_ROLES") or ())

    def _passed(self, account: ConsoleUser) -> None:
        """This session passed its second factor now (caller commits)."""
        row = current_session()
        if row is not None:
            auth_sessions.mark_mfa_verified(row, dt.datetime.now(dt.UTC))
        guard().passed(account.id)

    def _done(self) -> Any:
        return redirect(_next() or self.appbuilder.get_url_for_index)

    # ---- status page (optional enrolment for roles that do not require it)

    def _account_page(self, error: str | None = None, status: int = 200) -> Any:
        account = self._account()
        page = self.render_template(
            "security/mfa_account.html",
            title=_("Two-step sign-in"),
            enrolled=mfa.is_enrolled(account),
            required=self._required(account),
            remaining=mfa.remaining_recovery_codes(account.id),
            error=error,
        )
        return page, status

    @expose("/")
    @has_access
    def index(self) -> Any:
        return self._account_page()

    # ---- enrolment

    def _setup_page(self, account: ConsoleUser, error: str | None = None, status: int = 200) -> Any:
        enrolment = mfa.start_enrolment(account, secret_key=self._secret_key(), issuer=current_app.config["APP_NAME"])
        db.session.commit()  # the pending secret: a reload shows the same QR code
        page = self.render_template(
            "security/mfa_setup.html",
            title=_("Set up two-step sign-in"),
            enrolment=enrolment,
            required=self._required(account),
            error=error,
            next=_next(),
        )
        return page, status

    @expose("/setup")
    @has_access
    def setup(self) -> Any:
        account = self._account()
        if mfa.is_enrolled(account):
            return redirect(url_for(".index"))
        return self._setup_page(account)

    @expose("/setup", methods=["POST"])
    @has_access
    def confirm(self) -> Any:
        account = self._account()
        if mfa.is_enrolled(account):
            return redirect(url_for(".index"))
        guard().check(account.id)
        try:
            codes = mfa.confirm_enrolment(
                account, request.form.get("code"), secret_key=self._secret_key(), now=time.time(), **_audit()
            )
        except mfa.MfaError as exc:
            db.session.rollback()
            guard().failed(account.id)
            return self._setup_page(account, str(exc), 400)
        self._passed(account)
        db.session.commit()
        return self._codes_page(codes)

    def _codes_page(self, codes: list[str]) -> Any:
        return self.render_template(
            "security/mfa_recovery_codes.html",
            title=_("Your recovery codes"),
            codes=codes,
            next=_next() or self.appbuilder.get_url_for_index,
        )

    # ---- the check at sign-in and for step-up

    def _verify_page(self, template: str, error: str | None = None, status: int = 200) -> Any:
        title = _("Enter a recovery code") if "recovery" in template else _("Two-step sign-in")
        page = self.render_template(template, title=title, error=error, next=_next())
        return page, status

    @expose("/verify")
    @has_access
    def verify(self) -> Any:
        if not mfa.is_enrolled(self._account()):
            return redirect(url_for(".setup", next=_next()))
        return self._verify_page("security/mfa_verify.html")

    @expose("/verify", methods=["POST"])
    @has_access
    def check(self) -> Any:
        account = self._account()
        if not mfa.is_enrolled(account):
            return redirect(url_for(".setup", next=_next()))
        guard().check(account.id)
        code = request.form.get("code")
        if mfa.normalise_code(code) is None:
            guard().failed(account.id)
            return self._verify_page("security/mfa_verify.html", _("Enter the 6-digit code from your app."), 400)
        if not mfa.verify(account, code, secret_key=self._secret_key(), now=time.time(), **_audit()):
            db.session.rollback()
            guard().failed(account.id)
            message = _("That code is not valid, or was already used. Wait for the next code and try again.")
            return self._verify_page("security/mfa_verify.html", message, 400)
        self._passed(account)
        db.session.commit()
        return self._done()

    @expose("/recovery")
    @has_access
    def recovery(self) -> Any:
        if not mfa.is_enrolled(self._account()):
            return redirect(url_for(".setup", next=_next()))
        return self._verify_page("security/mfa_recovery.html")

    @expose("/recovery", methods=["POST"])
    @has_access
    def use_recovery(self) -> Any:
        account = self._account()
        if not mfa.is_enrolled(account):
            return redirect(url_for(".setup", next=_next()))
        guard().check(account.id)
        code = request.form.get("code")
        if mfa.normalise_recovery_code(code) is None:
            guard().failed(account.id)
            message = _("A recovery code has 10 letters and digits, like abcde-23456.")
            return self._verify_page("security/mfa_recovery.html", message, 400)
        if not mfa.use_recovery_code(account, code, secret_key=self._secret_key(), now=time.time(), **_audit()):
            db.session.rollback()
            guard().failed(account.id)
            message = _("That recovery code is not valid or was already used.")
            return self._verify_page("security/mfa_recovery.html", message, 400)
        self._passed(account)
        db.session.commit()
        left = mfa.remaining_recovery_codes(account.id)
        flash(_("Recovery code accepted. %(count)s codes left.", count=left), "warning" if left < 3 else "info")
        return self._done()

    # ---- managing the second factor (fresh check first)

    @expose("/recovery-codes", methods=["POST"])
    @has_access
    def regenerate(self) -> Any:
        """New codes need a current code from the app (it also counts as this session's fresh check)."""
        account = self._account()
        if not mfa.is_enrolled(account):
            return redirect(url_for(".setup"))
        guard().check(account.id)
        code = request.form.get("code")
        message = _("Enter a current code from your app to get new recovery codes.")
        if mfa.normalise_code(code) is None:
            return self._account_page(message, 400)
        if not mfa.verify(account, code, secret_key=self._secret_key(), now=time.time(), **_audit()):
            db.session.rollback()
            guard().failed(account.id)
            return self._account_page(message, 400)
        self._passed(account)
        codes = mfa.regenerate_recovery_codes(account, secret_key=self._secret_key())
        db.session.commit()
        return self._codes_page(codes)

    @expose("/disable", methods=["POST"])
    @has_access
    @requires_recent_mfa()
    def disable(self) -> Any:
        account = self._account()
        try:
            mfa.disable(account, required_roles=current_app.config.get("MFA_REQUIRED_ROLES") or (), **_audit())
        except mfa.MfaError as exc:
            db.session.rollback()
            flash(str(exc), "danger")
            return redirect(url_for(".index"))
        db.session.commit()
        flash(_("Two-step sign-in is off for your account."), "info")
        return redirect(url_for(".index"))
