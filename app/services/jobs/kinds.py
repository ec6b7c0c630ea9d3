"""Job kinds: the ``@job_kind`` mark, and the registry each app builds at start-up.

The decorator only marks a function; ``load_job_kinds(app)`` (called by create_app)
imports every ``app.services.<package>.jobs`` module and registers the marked
functions on ``app.extensions``. Web, worker and cron processes thus know the same
kinds, and no list of modules is kept by hand. The registry lives on the app, not
in the process, so a test can add its own kinds to its app with ``register_kind``.
"""

from __future__ import annotations

import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from importlib.util import find_spec
from typing import Any

from flask import Flask, current_app

QUEUES = ("default", "exports", "retention")
DEFAULT_TIMEOUT = 3600
EXTENSION = "coachdesk.job_kinds"
KIND_MODULE = "jobs"  # app/services/<package>/jobs.py
SERVICES = "app.services"
_MARK = "__job_kind__"

JobFunction = Callable[[Any], dict[str, Any] | None]  # f(JobContext) -> result stored in job_runs.result


@dataclass(frozen=True)
class JobKind:
    name: str
    func: JobFunction
    queue: str
    timeout: int


def job_kind(
    name: str, *, queue: str = "default", timeout: int = DEFAULT_TIMEOUT
) -> Callable[[JobFunction], JobFunction]:
    """Mark ``f(ctx) -> dict | None`` as the job kind ``name``; apps register it when they discover its module."""
    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue!r}; expected one of {', '.join(QUEUES)}")

    def mark(func: JobFunction) -> JobFunction:
        setattr(func, _MARK, JobKind(name, func, queue, timeout))
        return func

    return mark


def marked_kind(func: Any) -> JobKind | None:
    kind = getattr(func, _MARK, None)
    return kind if isinstance(kind, JobKind) else None


def register_kind(app: Flask, func: JobFunction) -> JobKind:
    """Add a ``@job_kind``-marked function to ``app``'s registry (discovery and tests)."""
    kind = marked_kind(func)
    if kind is None:
        raise ValueError(f"{func!r} is not marked with @job_kind")
    registry: dict[str, JobKind] = app.extensions.setdefault(EXTENSION, {})
    known = registry.get(kind.name)
    if known is not None and known.func is not func:
        raise ValueError(f"job kind {kind.name!r} is declared twice ({_where(known.func)}, {_where(func)})")
    registry[kind.name] = kind
    return kind


def load_job_kinds(app: Flask) -> dict[str, JobKind]:
    """Discover the marked functions of every ``app.services.<package>.jobs`` module into ``app``'s registry."""
    app.extensions.setdefault(EXTENSION, {})
    services = import_module(SERVICES)
    for info in pkgutil.iter_modules(services.__path__, f"{SERVICES}."):
        name = f"{info.name}.{KIND_MODULE}"
        if not info.ispkg or find_spec(name) is None:
            continue
        module = import_module(name)
        for value in vars(module).values():
            kind = marked_kind(value)
            if kind is not None and kind.func is value:
                register_kind(app, value)
    return job_kinds(app)


def job_kinds(app: Flask | None = None) -> dict[str, JobKind]:
    """The kinds ``app`` (default: the current app) knows."""
    target = app if app is not None else current_app
    return dict(target.extensions.get(EXTENSION, {}))


def get_kind(name: str) -> JobKind | None:
    return current_app.extensions.get(EXTENSION, {}).get(name)


def _where(func: Any) -> str:
    return f"{getattr(func, '__module__', '?')}.{getattr(func, '__qualname__', func)}"
