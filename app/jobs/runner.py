"""The one function RQ calls, and the worker class that gives it an app context."""

from __future__ import annotations

from typing import Any

from flask import Flask
from rq import Worker

from app.extensions import db
from app.services.jobs.context import execute_run


def run_job(run_id: int) -> None:
    """RQ entry point: Redis carries only the run id; everything else is in job_runs."""
    execute_run(run_id)


class AppWorker(Worker):
    """A forking RQ worker that runs each job inside the Flask app built once at start-up."""

    def __init__(self, *args: Any, app: Flask, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.app = app

    def main_work_horse(self, job: Any, queue: Any) -> None:
        # The horse is a fork: never reuse the parent's pooled database connections.
        with self.app.app_context():
            db.engine.dispose(close=False)
        super().main_work_horse(job, queue)

    def perform_job(self, job: Any, queue: Any, execution: Any) -> bool:
        with self.app.app_context():
            try:
                return super().perform_job(job, queue, execution)
            finally:
                db.session.remove()
