"""`python run.py` (what `make run` calls): the embedded default, web + worker on one machine.

SQLite and an embedded Redis under instance/, migrated and seeded on first
start, one RQ worker with the scheduler beside the web server.
"""

from __future__ import annotations

import os
import sys

HOST = os.environ.get("COACHDESK_HOST", "127.0.0.1")
PORT = int(os.environ.get("COACHDESK_PORT", "8080"))
DEMO_CUSTOMERS = int(os.environ.get("COACHDESK_DEMO_CUSTOMERS", "300"))


def main() -> int:
    os.environ.setdefault("APP_ENV", "embedded")
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
        background.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
