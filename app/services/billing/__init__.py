"""Subscriptions and billing (issue 16): one rule set for the console, the jobs, the demo and the API.

Services take the SQLAlchemy ``session`` and an explicit ``now`` (aware UTC datetime), flush and never
commit; each state change writes a chained audit entry with its reason and emits its domain event in
the caller's transaction. Refusals raise ``errors.BillingError`` (``.message`` translated, ``.field``,
``.code``, ``.status`` 400/404/409) before anything is changed. Money is ``Decimal`` only.

Public API (what the console pages call):

- ``states``: ``allowed_transitions(sub, today) -> list[Transition(action, label, target)]`` (only these
  are offered), ``Action`` (pause, resume, cancel_now, cancel_at_period_end, reactivate),
  ``STATUS_TRANSITIONS``.
- ``subscriptions``: ``get_subscription(session, id, lock=False)``;
  ``create_subscription(session, customer_id, product_id, *, now, start_date=None, promotion_code=None)
  -> (sub, first invoice | None)``; ``pause(session, sub, *, until, now)``; ``resume(session, sub, *, now)``;
  ``cancel(session, sub, *, now, at_period_end=False)``; ``reactivate(session, sub, *, now)``;
  ``apply_action(session, sub, action, *, now, pause_until=None)`` (one entry for the buttons).
- ``invoices``: ``issue_invoice(session, sub, period_start, period_end, *, now)``;
  ``void_invoice(session, invoice, *, now)``; ``mark_uncollectible(session, invoice, *, now)``;
  ``outstanding(invoice) -> Decimal``.
- ``payments``: ``record_payment(session, invoice, *, amount, currency, now, status=SUCCEEDED, method=CARD,
  provider="manual", transaction_id=None, failure_reason=None)``; ``charge_invoice(session, invoice,
  gateway, *, now, method=None)``; ``refund_payment(session, payment, *, now, amount=None, gateway=None)``.
- ``promotions``: ``find_promotion(session, code, *, on, currency)``; ``redeem(session, promotion, sub, at)``;
  ``discount(promotion, subtotal, currency)``.
- ``dunning``: ``start_dunning(session, invoice, failed_at)``, ``RETRY_DAYS``; ``retries``:
  ``run_due_retries(session, gateway, now)``.
- ``renewals``: ``renew_due(session, now, *, batch_size=2000, commit=None) -> RenewalResult``;
  ``lifecycle``: ``resume_due``, ``end_due``, ``collect_due``.
- ``timeline``: ``timeline(session, subscription_id) -> list[Entry(at, kind, what, ref_id, status, amount,
  currency, details)]``, newest first.
- ``periods``: ``add_months``, ``period_after``, ``customer_today``; ``money``: ``quantize``,
  ``parse_amount``, ``MINOR_UNITS``; ``gateway``: ``PaymentGateway``, ``SandboxGateway``.
- ``jobs``: ``billing.daily`` (param ``date``) and ``billing.dunning``.
"""
