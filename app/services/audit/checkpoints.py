"""Signed checkpoints of the audit chain: its head (id, hash, row count) and its start, at a time.

The hash chain alone cannot tell a truncated or recomputed chain from a true one. A checkpoint,
signed with a key kept outside the database (``signing``), is written both to ``audit_checkpoints``
and to a file under ``AUDIT_CHECKPOINT_DIR``, so deleting one copy is caught by the other.
``problems`` compares the chain with them: a head below a checkpoint's (truncation), another hash
at a checkpoint's id (recomputation), a start (first row and its anchor) that no checkpoint signed
(oldest rows deleted, anchor forged). A start moves legitimately only when rows are archived;
then a checkpoint is written with ``new_start=True`` right after (the cron never signs a move).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import func, insert, select

from app.extensions import db
from app.i18n import N_
from app.models.base import utcnow
from app.models.compliance import AuditCheckpoint, AuditLog
from app.services.audit import signing

FILE_NAME = "checkpoints.jsonl"
# Checked against the newest checkpoints only (each costs one index lookup); all are signature-checked.
CHECK_LATEST = 20


class CheckpointRefused(RuntimeError):
    """The chain disagrees with the checkpoints: nothing is signed until someone looks."""


def checkpoint_file() -> Path:
    return Path(current_app.config["AUDIT_CHECKPOINT_DIR"]) / FILE_NAME


def chain_state() -> dict[str, Any]:
    """The chain's head (id, hash), row count and start (first id, its prev_hash: an archive anchor or None)."""
    table = AuditLog.__table__
    head_id, rows, first_id = db.session.execute(select(func.max(table.c.id), func.count(), func.min(table.c.id))).one()
    head_hash = db.session.scalar(select(table.c.row_hash).where(table.c.id == head_id)) if head_id else None
    first_prev = db.session.scalar(select(table.c.prev_hash).where(table.c.id == first_id)) if first_id else None
    return {"head_id": head_id, "head_hash": head_hash, "rows": rows, "first_id": first_id, "first_prev": first_prev}


def load() -> tuple[list[dict[str, Any]], list[str]]:
    """Every checkpoint (table and files), oldest first, and what is wrong with the copies."""
    problems: list[str] = []
    table_bodies = {}
    for cp in db.session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.id)):
        body = {**json.loads(cp.body), "signature": cp.signature}
        table_bodies[cp.signature] = body
    file_bodies = {}
    path = checkpoint_file()
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip():
                body = json.loads(line)
                file_bodies[body.get("signature")] = body
    for sig in table_bodies.keys() - file_bodies.keys():
        problems.append(N_("checkpoint at head id %(id)s is in the table but not in the checkpoint files") % {
            "id": table_bodies[sig].get("head_id")})  # fmt: skip
    for sig in file_bodies.keys() - table_bodies.keys():
        problems.append(N_("checkpoint at head id %(id)s is in the checkpoint files but not in the table") % {
            "id": file_bodies[sig].get("head_id")})  # fmt: skip
    good = []
    for body in {**table_bodies, **file_bodies}.values():
        if signing.verify(body):
            good.append(body)
        else:
            problems.append(N_("checkpoint at head id %(id)s has a bad signature: forged or edited") % {
                "id": body.get("head_id")})  # fmt: skip
    good.sort(key=lambda b: (b["head_id"] or 0, b["signed_at"]))
    return good, problems


def compare(state: dict[str, Any], checkpoints: list[dict[str, Any]], check_start: bool = True) -> list[str]:
    """Why the chain (``state``) disagrees with signed ``checkpoints``; empty when it agrees."""
    problems: list[str] = []
    if not checkpoints:
        return problems
    table = AuditLog.__table__
    head = state["head_id"] or 0
    for cp in checkpoints[-CHECK_LATEST:]:
        if head < cp["head_id"]:
            problems.append(N_("truncated: checkpoint of %(at)s signed head id %(id)s, the chain ends at %(head)s") % {
                "at": cp["signed_at"], "id": cp["head_id"], "head": head})  # fmt: skip
            continue
        found = db.session.scalar(select(table.c.row_hash).where(table.c.id == cp["head_id"]))
        if found is None and cp["head_id"] >= (state["first_id"] or 0):
            problems.append(N_("deleted: row %(id)s, the head of a signed checkpoint, is gone") % {"id": cp["head_id"]})
        elif found is not None and found != cp["head_hash"]:
            problems.append(N_("recomputed: row %(id)s has another hash than its signed checkpoint") % {
                "id": cp["head_id"]})  # fmt: skip
    latest = checkpoints[-1]
    start = (state["first_id"], state["first_prev"])
    if check_start and (latest.get("first_id"), latest.get("first_prev")) != start:
        problems.append(N_("forged anchor: the chain starts at id %(id)s (anchor %(anchor)s), not where the latest "
                           "checkpoint signed it (id %(signed)s): rows were deleted") % {
            "id": start[0], "anchor": start[1], "signed": latest.get("first_id")})  # fmt: skip
    return problems


def write(new_start: bool = False) -> dict[str, Any]:
    """Sign the chain's current head and start, and write it to the table and the checkpoint file.

    Refused when the chain disagrees with the checkpoints so far; a moved start (rows archived)
    only with ``new_start`` (the archive step, or an operator who checked the archive)."""
    state = chain_state()
    if not state["head_id"]:
        return {"skipped": "empty chain"}
    existing, problems = load()
    problems += compare(state, existing, check_start=not new_start)
    if problems:
        raise CheckpointRefused("; ".join(problems))
    body = signing.sign({"kind": "coachdesk.audit.checkpoint", "signed_at": utcnow().isoformat(), **state})
    unsigned = {k: v for k, v in body.items() if k != "signature"}
    path = checkpoint_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="ascii") as fh:
        fh.write(json.dumps(body, sort_keys=True) + "\n")
        fh.flush()
    values = {
        "created_at": utcnow(),
        "head_id": state["head_id"],
        "head_hash": state["head_hash"],
        "rows": state["rows"],
        "first_id": state["first_id"],
        "first_prev": state["first_prev"],
        "key_id": body["key_id"],
        "body": signing.canonical_json(unsigned).decode(),
        "signature": body["signature"],
    }
    db.session.execute(insert(AuditCheckpoint.__table__).values(**values))
    db.session.commit()
    return body


def check() -> list[str]:
    """Everything the checkpoints say is wrong with the chain now (empty: it agrees with them)."""
    checkpoints, problems = load()
    return problems + compare(chain_state(), checkpoints)


__all__ = ["CheckpointRefused", "chain_state", "load", "compare", "write", "check"]
