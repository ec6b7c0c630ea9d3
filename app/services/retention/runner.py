"""Retention runs: dry runs, confirmed dispatch, and the batched, resumable run itself.

"Run now" in the console goes through ``request_run``: nothing runs until a person has seen
the dry run's count and confirmed it for the policy as it stands (the nightly cron runs
enabled policies without asking).

A run's cutoff, its candidate count and its last candidate id are fixed when it starts.
Every strategy then walks primary-key ranges ``(last_id, hi]`` (``app.services.batching``):
one statement per range changes exactly the rows in it that are expired and not held, in one
short transaction that also commits the run's checkpoint (last id, counts, archive bytes),
so a SIGKILL leaves a range and its checkpoint, or neither, and the rerun resumes after the
last committed range. On PostgreSQL, HARD_DELETE and ANONYMIZE (idempotent statements) walk
``RETENTION_LANES`` slices of the key span at once, each on its own connection. ARCHIVE
(``archive_batch``) writes each range to the archive file before deleting it; at the end the
file is renamed into ``instance/archive/`` next to its manifest (``archive``).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy import func, select

from app.extensions import db
from app.i18n import _l
from app.models.base import utcnow
from app.models.compliance import DataRetentionPolicy, DeletionStrategy
from app.models.jobs import JobRun
from app.models.labels import lazy_enum_label
from app.services import batching
from app.services.artifacts import ResumableFile, partial_path, publish
from app.services.audit import chain as audit
from app.services.audit import checkpoints
from app.services.jobs.context import JobContext
from app.services.jobs.runs import start_job
from app.services.retention.archive import archive_path, write_archive_manifest
from app.services.retention.archive_batch import archive_batch
from app.services.retention.policies import RETENTION_ENTITIES, RetentionEntity, RetentionError, X, validate_policy
from app.services.retention.strategies import candidates, change

log = logging.getLogger(__name__)
KIND = "retention.run"


@dataclass
class DryRun:
    entity: str
    strategy: str
    cutoff: dt.datetime
    count: int
    held: int
    sample: list[dict[str, Any]]


def dry_run(policy: DataRetentionPolicy, sample_size: int = 10) -> DryRun:
    """How many rows a run would touch now, how many legal holds spare, and a sample (no personal data)."""
    spec = RETENTION_ENTITIES.get(policy.entity)
    if spec is None:
        raise RetentionError(_("%(entity)s cannot carry a retention policy", entity=repr(policy.entity)))
    cutoff = utcnow() - dt.timedelta(days=policy.retention_period_days)
    table = spec.sa_table
    conds = candidates(spec, policy.deletion_strategy, cutoff)
    count = db.session.scalar(select(func.count()).select_from(table).where(*conds)) or 0
    expired = db.session.scalar(select(func.count()).select_from(table).where(table.c[spec.time_column] < cutoff))
    shown = [c for c in table.c if c.name not in spec.personal_columns and not c.info.get("secret")]
    shown = [c for c in shown if not isinstance(c.type, sa.JSON)][:6]
    rows = db.session.execute(select(*shown).where(*conds).order_by(table.c.id).limit(sample_size)).mappings()
    sample = [{k: audit._plain(v) for k, v in row.items()} for row in rows]
    return DryRun(policy.entity, policy.deletion_strategy.value, cutoff, count, (expired or 0) - count, sample)


def plan_run(policy: DataRetentionPolicy, requested_by: uuid.UUID | None, dedupe_key: str | None = None) -> JobRun:
    """Fix the cutoff now and dispatch the run."""
    errors = validate_policy(policy.entity, policy.deletion_strategy, policy.retention_period_days)
    if errors:
        raise RetentionError("; ".join(errors))
    cutoff = utcnow() - dt.timedelta(days=policy.retention_period_days)
    params = {
        "policy_id": policy.id,
        "entity": policy.entity,
        "strategy": policy.deletion_strategy.value,
        "cutoff": cutoff.isoformat(),
    }
    return start_job(KIND, params, queue="retention", requested_by=requested_by, dedupe_key=dedupe_key)


# "Run now" asks again when the rows to change have grown by more than this since the person confirmed.
CONFIRM_GROWTH = 0.10
CONFIRM_SLACK = 10


@dataclass(frozen=True)
class RunConfirmation:
    """What "Run now" must show before it changes anything: the dry run, and why it asks (again)."""

    policy_id: int
    version: str
    dry: DryRun
    reason: str | None = None


def policy_version(policy: DataRetentionPolicy) -> str:
    """What a confirmation was given for: a changed entity, strategy or period needs a new one."""
    return f"{policy.entity}:{policy.deletion_strategy.value}:{policy.retention_period_days}"


def confirmed_count(raw: str | None) -> int | None:
    """The count a confirm form carries, or None when it carries none (or garbage)."""
    text = (raw or "").strip()
    return int(text) if text.isdigit() and len(text) <= 18 else None


def request_run(
    policy: DataRetentionPolicy, requested_by: uuid.UUID | None, count: int | None, version: str | None
) -> JobRun | RunConfirmation:
    """Dispatch a run only once a person confirmed its dry run's count for this very policy.

    Without a confirmation, or when the policy changed or the rows to change grew by more than
    ``CONFIRM_GROWTH`` (and ``CONFIRM_SLACK`` rows) since, return what to ask instead."""
    errors = validate_policy(policy.entity, policy.deletion_strategy, policy.retention_period_days)
    if errors:
        raise RetentionError("; ".join(errors))
    dry = dry_run(policy)
    current = policy_version(policy)
    reason = None
    if count is None or version is None:
        pass
    elif version != current:
        reason = _("The policy changed since you confirmed; check the new count and confirm again.")
    elif dry.count > count + max(int(count * CONFIRM_GROWTH), CONFIRM_SLACK):
        reason = _(
            "%(entity)s now has %(count)s rows to change, more than the %(confirmed)s you confirmed; "
            "check and confirm again.",
            entity=policy.entity,
            count=dry.count,
            confirmed=count,
        )
    else:
        return plan_run(policy, requested_by)
    return RunConfirmation(policy.id, current, dry, reason)


def dispatch_enabled_policies() -> list[int]:
    """Nightly cron: one run per enabled policy per day (a second dispatch returns the first)."""
    today = utcnow().date().isoformat()
    runs = []
    for policy in db.session.scalars(select(DataRetentionPolicy).where(DataRetentionPolicy.enabled.is_(True))):
        runs.append(plan_run(policy, None, dedupe_key=f"retention-{policy.id}-{today}").id)
    return runs


def run_policy(ctx: JobContext) -> dict[str, Any]:
    params = ctx.params
    spec = RETENTION_ENTITIES[params["entity"]]
    strategy = DeletionStrategy(params["strategy"])
    if strategy not in spec.strategies:
        raise RetentionError(
            _l("%(entity)s does not allow “%(strategy)s”", entity=spec.table, strategy=lazy_enum_label(strategy))
        )
    cutoff = dt.datetime.fromisoformat(params["cutoff"])
    tuning = batching.Tuning.from_config("RETENTION")
    state = dict(ctx.state) or {"last_id": 0, "rows": 0, "batches": 0, "bytes": 0}
    if not ctx.state:
        # One pass: how many rows, and the last candidate id (the end of the run's primary-key ranges).
        total, state["max_id"] = db.session.execute(
            select(func.count(), func.max(spec.sa_table.c.id)).where(*candidates(spec, strategy, cutoff))
        ).one()
        state["total"] = total
        ctx.commit(done=0, total=total, checkpoint=state)
    if "max_id" not in state:  # a checkpoint written before every strategy used ranges
        state["max_id"] = db.session.scalar(
            select(func.max(spec.sa_table.c.id)).where(*candidates(spec, strategy, cutoff))
        )
        if state.get("first_id") is not None:  # an ARCHIVE whose last_id was its last archived row
            state.setdefault("archived_last_id", state["last_id"])
    archive = archive_path(spec.table, ctx.run_id) if strategy == X else None
    if archive is not None:
        _archive(ctx, spec, cutoff, state, archive, tuning)
    elif batching.lanes_apply(tuning):
        batching.run_lanes(ctx, spec.sa_table, state, lambda lo, hi: change(spec, strategy, cutoff, lo, hi), tuning)
    else:

        def step(lo: int, hi: int, retries: int) -> int:
            return db.session.execute(change(spec, strategy, cutoff, lo, hi)).rowcount

        batching.run_ranges(ctx, spec.sa_table, state, step, tuning)
    result: dict[str, Any] = {"entity": spec.table, "strategy": strategy.value, "cutoff": params["cutoff"]}
    result.update(rows=state["rows"], batches=state["batches"], overruns=state.get("overruns", 0))
    result.update(reread=state.get("reread", 0))
    if archive is not None:
        result.update(write_archive_manifest(archive, state, params, ctx.run_id))
    policy = db.session.get(DataRetentionPolicy, params["policy_id"])
    if policy is not None:
        policy.last_run_at = utcnow()
    audit.record("retention.run", spec.table, params["policy_id"], result)
    ctx.commit(done=state["rows"], total=state["rows"])
    if spec.table == "audit_logs" and state["rows"]:
        # The chain now starts after the archived rows: sign that start (the archive holds the anchor),
        # so `flask audit verify` tells this archive from a deletion.
        try:
            result["checkpoint_head_id"] = checkpoints.write(new_start=True).get("head_id")
        except checkpoints.CheckpointRefused as exc:
            log.warning("audit archive: the chain's new start was not signed: %s", exc)
            result["checkpoint_refused"] = str(exc)
    return result


def _archive(
    ctx: JobContext, spec: RetentionEntity, cutoff: dt.datetime, state: dict, archive: Path, tuning: batching.Tuning
) -> None:
    """ARCHIVE's ranges, appended to the partial file cut back to the checkpoint's bytes; then the rename.

    After repeated changes under a range (``RowsChanged``), its rows are archived under their locks."""
    part = partial_path(archive)
    if not state.get("written"):
        with ResumableFile(part, state["bytes"]) as out:

            def step(lo: int, hi: int, retries: int) -> int:
                return archive_batch(spec, cutoff, state, lo, hi, out, tuning, locked=retries >= 3)

            batching.run_ranges(ctx, spec.sa_table, state, step, tuning)
    if part.exists():
        publish(part, archive)
