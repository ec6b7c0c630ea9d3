"""The app gunicorn serves in the multi-process API tests: the test config with the API's rate limits
on, the rest from the environment (the database, Redis, the limiter's key prefix, the log interval).
Each response names the worker that answered, so a test can tell the processes apart."""

from __future__ import annotations

import os

from app import create_app

app = create_app(
    "test",
    RATELIMIT_ENABLED=True,
    RATELIMIT_KEY_PREFIX=os.environ.get("CD_TEST_LIMIT_PREFIX", "cd-test"),
    API_ANONYMOUS_RATE_LIMIT=os.environ.get("CD_TEST_ANONYMOUS_LIMIT", "1000 per minute"),
    API_ACCESS_LOG_INTERVAL=float(os.environ.get("CD_TEST_LOG_INTERVAL", "1")),
)


@app.after_request
def _name_the_worker(response):  # type: ignore[no-untyped-def]
    response.headers["X-Worker-Pid"] = str(os.getpid())
    return response
