"""`python run.py` (what `make run` calls): the embedded default, web + worker on one machine.

SQLite and an embedded Redis under instance/, migrated and seeded on first
start, one RQ worker with the scheduler beside the web server. SIGTERM or Ctrl+C
stops all of it: the web server, then the worker and the cron, then Redis.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from typing import Any

HOST = os.environ.get("COACHDESK_HOST", "127.0.0.1")
PORT = int(os.environ.get("COACHDESK_PORT", "8080"))
DEMO_CUSTOMERS = int(os.environ.get("COACHDESK_DEMO_CUSTOMERS", "300"))
QUIET_PATHS = ("/static/", "/appbuilder/", "/admin/static/", "/plotly/")


class _QuietStaticRequests(logging.Filter):
    """Drop werkzeug's access-log lines for static files (COACHDESK_VERBOSE=1 keeps them)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(f" {path}" in message for path in QUIET_PATHS)


def _stop_on_sigterm(_signum: int, _frame: Any) -> None:
    # Werkzeug's server loop ends quietly on KeyboardInterrupt; SIGTERM takes the same way out.
    raise KeyboardInterrupt


def main() -> int:
    os.environ.setdefault("APP_ENV", "embedded")
    # Flask's app.run() does nothing when this is set (a `flask` command sets it for its children).
    os.environ.pop("FLASK_RUN_FROM_CLI", None)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    if not os.environ.get("COACHDESK_VERBOSE"):
        logging.getLogger("werkzeug").addFilter(_QuietStaticRequests())
    try:
        return _serve()
    except KeyboardInterrupt:
        return 0


def _serve() -> int:
    from app import create_app
    from app.bootstrap import prepare_embedded, start_background
    from config import ConfigError

    try:
        app = create_app()
        logins = prepare_embedded(app, demo_customers=DEMO_CUSTOMERS)
    except ConfigError as exc:
        print(f"coachdesk: {exc}", file=sys.stderr)
        return 2

    print(f"\n  Coachdesk is running on http://{HOST}:{PORT}/\n")
    for line in logins:
        print(f"  {line}")
    print()
    background = start_background(app)  # embedded Redis, one worker with the scheduler, the cron
    try:
        app.run(host=HOST, port=PORT, debug=False, use_reloader=False, threaded=True)
    finally:
        # A second Ctrl+C or SIGTERM must not cut the shutdown short (and print a traceback).
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        background.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
