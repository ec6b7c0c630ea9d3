"""Production entry point: ``gunicorn --preload wsgi:app``.

With ``--preload`` the master builds the app once, so a bad setting or an
unreachable database stops start-up with one line instead of every worker
printing a traceback.

The app's start-up objects (models, views, the role matrix: about 250,000) are then frozen out of
the garbage collector (``gc.freeze``, before the workers fork): otherwise every full collection a
request happens to trigger walks them all, about 150 ms on a busy 2-core host, which lands on the
requests that allocate most (a week of 2,000 calendar events). Frozen objects also stay shared
with the master instead of being copied into each worker when the collector touches them.
"""

from __future__ import annotations

import gc
import sys

from app import ConfigError, check_database, create_app

try:
    app = create_app()
    check_database(app)
    gc.collect()
    gc.freeze()
except ConfigError as exc:
    print(f"coachdesk: {exc}", file=sys.stderr)
    sys.exit(2)
