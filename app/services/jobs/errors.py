"""What the job engine raises: refusals for callers, and the two signals a running job sees."""

from __future__ import annotations


class JobError(ValueError):
    """A job cannot be dispatched, retried or cancelled as asked; the message says why."""


class JobsUnavailable(JobError):
    """No Redis is configured or reachable."""


class JobCancelled(Exception):
    """Raised inside a job by ``ctx.commit`` after a cancel was requested."""


class JobSuperseded(Exception):
    """Raised inside a job when a newer attempt owns the run; this attempt's batch is rolled back."""
