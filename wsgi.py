"""Production entry point: ``gunicorn --preload wsgi:app``.

With ``--preload`` the master builds the app once, so a bad setting or an
unreachable database stops start-up with one line instead of every worker
printing a traceback.
"""

from __future__ import annotations

import sys

from app import ConfigError, check_database, create_app

try:
    app = create_app()
    check_database(app)
except ConfigError as exc:
    print(f"coachdesk: {exc}", file=sys.stderr)
    sys.exit(2)
