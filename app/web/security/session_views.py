"""``/account/sessions/``: the signed-in person's own sign-in sessions, each of which they may end.

Every row is one sign-in (``auth_sessions``); ending it signs that browser out on its next
request. Only the signed-in account's rows are listed or ended: an id of another account's
row is a 404. An Admin ends other accounts' sessions from the Sign-in sessions list
(``AuthSessionView``'s action).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from flask import abort, flash, g, redirect, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import format_datetime
from flask_babel import gettext as _

from app.extensions import db
from app.services.audit import auth_events
from app.services.signin import auth_sessions
from app.web.audit_context import client_address, client_agent
from app.web.security.sessions import current_session_id
from app.web.security.views import OWN_ACCOUNT

BROWSERS = (
    (re.compile(r"Edg(e|A|iOS)?/"), "Edge"),
    (re.compile(r"OPR/|Opera"), "Opera"),
    (re.compile(r"Firefox/|FxiOS/"), "Firefox"),
    (re.compile(r"Chrom(e|ium)/|CriOS/"), "Chrome"),
    (re.compile(r"Safari/"), "Safari"),
    (re.compile(r"^curl/"), "curl"),
    (re.compile(r"python|Werkzeug", re.I), "Script"),
)
SYSTEMS = (
    (re.compile(r"iPhone|iPad|iPod"), "iOS"),
    (re.compile(r"Android"), "Android"),
    (re.compile(r"CrOS"), "ChromeOS"),
    (re.compile(r"Windows"), "Windows"),
    (re.compile(r"Mac OS X|Macintosh"), "macOS"),
    (re.compile(r"Linux|X11"), "Linux"),
)


def describe_user_agent(user_agent: str | None) -> str:
    """ "Firefox on Windows", in plain words; an unknown agent says so."""
    text = user_agent or ""
    browser = next((name for pattern, name in BROWSERS if pattern.search(text)), None)
    system = next((name for pattern, name in SYSTEMS if pattern.search(text)), None)
    if browser and system:
        return _("%(browser)s on %(system)s", browser=browser, system=system)
    if browser or system:
        return browser or system or ""
    return _("Unknown browser")


class SessionsView(BaseView):
    """The signed-in account's sessions: list, end one, end all others."""

    route_base = "/account"
    class_permission_name = OWN_ACCOUNT
    method_permission_name = {"index": "read", "end": "write", "end_others": "write"}
    default_view = "index"

    @expose("/sessions/")
    @has_access
    def index(self) -> Any:
        now = dt.datetime.now(dt.UTC)
        rows = auth_sessions.list_open(g.user.id, now)
        sessions = [
            {
                "id": row.id,
                "device": describe_user_agent(row.user_agent),
                "address": row.ip_address or "",
                "issued_at": format_datetime(row.issued_at, "medium"),
                "last_seen_at": format_datetime(row.last_seen_at or row.issued_at, "medium"),
                "current": row.id == current_session_id(),
                "mfa": row.mfa_verified,
            }
            for row in rows
        ]
        return self.render_template("security/sessions.html", title=_("Your sign-in sessions"), sessions=sessions)

    @expose("/sessions/<int:session_id>/end", methods=["POST"])
    @has_access
    def end(self, session_id: int) -> Any:
        row = auth_sessions.get_own(g.user.id, session_id)
        if row is None:
            abort(404)
        auth_sessions.end(row, auth_sessions.ENDED_BY_USER, dt.datetime.now(dt.UTC))
        db.session.commit()
        _record(g.user, 1)
        if session_id == current_session_id():
            return redirect(self.appbuilder.get_url_for_login)  # the next request signs this browser out
        flash(_("The session was ended."), "info")
        return redirect(url_for(".index"))

    @expose("/sessions/end-others", methods=["POST"])
    @has_access
    def end_others(self) -> Any:
        count = auth_sessions.end_all(
            g.user.id, auth_sessions.ENDED_BY_USER, dt.datetime.now(dt.UTC), except_id=current_session_id()
        )
        db.session.commit()
        _record(g.user, count)
        flash(_("%(count)s other sessions were ended.", count=count), "info")
        return redirect(url_for(".index"))


def _record(user: Any, count: int) -> None:
    auth_events.record_auth_event(
        auth_events.SESSION_ENDED, user=user, ip=client_address(), user_agent=client_agent(), detail={"count": count}
    )
