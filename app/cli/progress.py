"""Running a job kind from the command line: a recorded run (``job_runs``) executed here, with a progress bar.

What the cron does in the background can thus be done by hand and seen in the same place.
"""

from __future__ import annotations

from typing import Any

import click
from flask_babel import gettext as _


def run_here(kind: str, params: dict[str, Any], label: str, unit: str) -> dict[str, Any]:
    """Start a run of ``kind`` without a queue and execute it in this process, with a tqdm progress bar."""
    from tqdm import tqdm

    from app.services.jobs.context import run_inline
    from app.services.jobs.runs import failure_message, start_job

    run = start_job(kind, params, enqueue=False)
    with tqdm(total=None, desc=label, unit=unit, leave=False) as bar:

        def progress(done: int, total: int | None) -> None:
            if total is not None and bar.total != total:
                bar.total = total
                bar.refresh()
            bar.update(done - bar.n)

        finished = run_inline(run, progress)
    if finished is None or finished.status != "succeeded":
        reason = (failure_message(finished) or finished.status) if finished else _("not run")
        raise click.ClickException(_("run #%(id)s failed: %(error)s", id=run.id, error=reason))
    return dict(finished.result or {})
