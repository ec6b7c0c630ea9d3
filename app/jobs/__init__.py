"""RQ entry points (thin: they call services), the worker, and the cron table.

``load_job_kinds()`` imports every module that registers job kinds; create_app
calls it once so web, worker and cron processes all know the same kinds.
"""

from __future__ import annotations

JOB_MODULES = ("app.jobs.compliance", "app.jobs.plan_assignment")


def load_job_kinds() -> None:
    from importlib import import_module

    for name in JOB_MODULES:
        import_module(name)
