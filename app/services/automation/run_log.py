"""What a person may do with the run log: run failed executions again (audited)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from app.i18n import service_gettext as _
from app.models.automation import AutomationExecution, ExecutionStatus
from app.services.audit.chain import record
from app.services.automation import engine

RETRY_ACTION = "automation.retry"


def retry_failed(session: Session, executions: Sequence[AutomationExecution], actor: Any = None) -> int:
    """Queue the failed ones among ``executions`` again, from their next action; how many.

    ``ValueError`` (translated) when none of them failed: nothing else can be retried.
    """
    failed = [e for e in executions if e.status == ExecutionStatus.FAILED]
    if not failed:
        raise ValueError(_("Only failed executions can be run again; none of the selected ones failed."))
    for execution in failed:
        engine.retry(session, execution.id)
        record(RETRY_ACTION, "automation_executions", execution.id,
               {"rule_id": execution.rule_id, "rule_version": execution.rule_version})  # fmt: skip
        session.expire(execution)
    return len(failed)
