"""Background jobs on RQ with every bit of state in SQL (``job_runs``).

Redis holds only the queue. A run's status, attempts, progress and checkpoint
live in ``job_runs`` and are committed in the same transaction as the batch of
work they describe, so a worker killed with SIGKILL leaves either a batch and
its checkpoint, or neither; a rerun resumes from the checkpoint and finishes
the work exactly once.

Modules: ``kinds`` (the ``@job_kind`` mark and the per-app registry), ``runs``
(start, dispatch, retry, cancel, redispatch, status), ``context`` (``JobContext``
and executing a run), ``heartbeat`` (the ticker that keeps a running run's
``heartbeat_at`` fresh between batches), ``queues`` (Redis and RQ, the embedded
Redis), ``errors``.

A run whose worker died is re-dispatched by the every-minute cron entry once its
heartbeat is older than ``JOBS_STALE_AFTER`` (60 s, three missed heartbeats); a live run's heartbeat ticks
every ``JOBS_HEARTBEAT_SECONDS`` (20 s) whatever its batches do.

Writing a job kind (in ``app/services/<area>/jobs.py``, beside the service doing the work;
create_app discovers every such module)::

    from app.services.jobs.context import JobContext
    from app.services.jobs.kinds import job_kind

    BULK_ASSIGN = "plans.bulk_assign"

    @job_kind(BULK_ASSIGN, queue="default", timeout=3600)
    def bulk_assign(ctx: JobContext) -> dict:
        ids = ctx.params["customer_ids"]
        start = ctx.state.get("next", 0)          # the last committed checkpoint ({} at first)
        for i in range(start, len(ids), 500):
            assign_program(ctx.params["program_id"], ids[i:i + 500])   # db.session work, not committed
            ctx.commit(done=min(i + 500, len(ids)), total=len(ids), checkpoint={"next": i + 500})
        return {"assigned": len(ids)}             # stored in job_runs.result

``ctx.commit()`` commits the session's pending work together with the run's
progress/checkpoint/heartbeat, but only while this attempt still owns the run
(a re-dispatched attempt fences off an older one: its batch is rolled back and
``JobSuperseded`` raised). It raises ``JobCancelled`` after committing when a
cancel was requested. Work must be idempotent per batch given the checkpoint.

Dispatching (views, services, cron)::

    run = runs.start_job(BULK_ASSIGN, {"program_id": 3, "customer_ids": [...]},
                         requested_by=platform_user_id, dedupe_key=None)

``params`` must be JSON (ids, dates as ISO strings); they are stored in SQL, and
Redis only carries the run id. ``dedupe_key`` makes a second dispatch return the
first run (cron uses "<kind>-<day>"). Each dispatch uses a fresh unique RQ job id
``jobrun-<run id>-<dispatch no>`` enqueued with ``unique=True``, and a worker
claims the run with a compare-and-set on its status, so a double dispatch cannot
double-run. ``retry_run``, ``cancel_run`` and ``redispatch_stale`` back the jobs
console, ``flask jobs`` and the every-minute cron entry. ``run_inline`` executes a
run in the current process (CLI with a progress bar).

Languages: a job runs in the default language, whatever the process environment
says, so ``job_runs.error`` holds English text for logs. An exception raised with
an ``app.i18n._l`` message also leaves the message's msgid and parameters in the
failed run's ``result`` (``{"failure": {...}}``); ``runs.failure_message`` shows it
in the reader's language. Other errors (unexpected exceptions) are shown as stored.
"""
