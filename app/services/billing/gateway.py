"""The payment gateway interface and its deterministic sandbox (tests, the demo, the embedded default).

A real provider would implement ``PaymentGateway``; nothing here talks to a network. The sandbox
answers from a configurable outcome: always succeed, always fail, a queue of outcomes consumed in
order, or a function of the charge (the demo draws outcomes from its seeded random generator).
"""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Protocol


@dataclasses.dataclass(frozen=True)
class Charge:
    """What is asked of the gateway: an amount in a currency for one invoice, by one method."""

    invoice_id: int
    amount: Decimal
    currency: str
    method: str
    attempt: int = 1


@dataclasses.dataclass(frozen=True)
class ChargeResult:
    succeeded: bool
    transaction_id: str | None
    failure_reason: str | None = None


class PaymentGateway(Protocol):
    provider: str

    def charge(self, charge: Charge) -> ChargeResult: ...

    def refund(self, transaction_id: str | None, amount: Decimal, currency: str) -> bool: ...


Outcome = bool | str


class SandboxGateway:
    """Deterministic: transaction ids are derived from a counter, outcomes from the configuration.

    ``outcome``: ``True``/"succeed", ``False``/"fail", an iterable of those consumed one per charge
    (then succeeding), or a callable ``Charge -> bool | reason``; a string other than "succeed" is a
    failure with that reason.
    """

    provider = "sandbox"

    def __init__(self, outcome: Outcome | Iterable[Outcome] | Callable[[Charge], Outcome] = True, *, seed: str = ""):
        self._fn: Callable[[Charge], Outcome] | None = outcome if callable(outcome) else None
        self._queue: deque[Outcome] | None = None
        self._fixed: Outcome = True
        if self._fn is None:
            if isinstance(outcome, bool | str):
                self._fixed = outcome
            else:
                self._queue = deque(outcome)
        self._seed = seed
        self._count = 0
        self.charges: list[Charge] = []

    def _next(self, charge: Charge) -> Outcome:
        if self._fn is not None:
            return self._fn(charge)
        if self._queue is not None:
            return self._queue.popleft() if self._queue else True
        return self._fixed

    def charge(self, charge: Charge) -> ChargeResult:
        self.charges.append(charge)
        self._count += 1
        # Seeded: reproducible ids (one gateway per demo run); unseeded: unique across runs and processes.
        basis = f"{self._seed}:{charge.invoice_id}:{self._count}" if self._seed else uuid.uuid4().hex
        txn = "sbx_" + hashlib.sha256(basis.encode()).hexdigest()[:24]
        outcome = self._next(charge)
        if outcome is True or outcome == "succeed":
            return ChargeResult(True, txn)
        reason = outcome if isinstance(outcome, str) and outcome != "fail" else "card_declined"
        return ChargeResult(False, txn, reason)

    def refund(self, transaction_id: str | None, amount: Decimal, currency: str) -> bool:
        return True


def default_gateway() -> PaymentGateway:
    """The gateway the jobs use: the sandbox, whose outcome ``BILLING_SANDBOX_OUTCOME`` may set."""
    from flask import current_app

    outcome = current_app.config.get("BILLING_SANDBOX_OUTCOME", "succeed")
    return SandboxGateway(outcome)
