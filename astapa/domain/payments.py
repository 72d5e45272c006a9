"""Payments for a plan through Xendit: created -> pending -> succeeded | failed | expired.

A payment's id is ours and doubles as Xendit's `reference_id` and idempotency key, so the
Payment is recorded before Xendit is asked, and a webhook finds its payment by id, with no
read model in between. Money received wins: a success after a failure or an expiry still
counts (Xendit may deliver out of order). A success is settled into the user's plan exactly
once: `Settled` is saved with the user's `PlanAssigned`, and the payment's version decides.
"""

import calendar
from datetime import datetime, timezone
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from astapa.domain.ids import index_id

METHODS = ("QRIS", "GOPAY", "OVO", "BANK_TRANSFER")
BANKS = ("BCA", "BNI", "BRI", "MANDIRI", "PERMATA")
# Statuses as the API shows them.
CREATED, PENDING, SUCCEEDED, FAILED, EXPIRED = "CREATED", "PENDING", "SUCCEEDED", "FAILED", "EXPIRED"


class Payment(Aggregate):
    @event("Created")
    def __init__(self, payment_id: str, project_id: str, sub: str, plan: str, amount: int, currency: str,
                 interval: str, plan_claims: dict, method: str, bank_code: str | None, mode: str,
                 expires_at: float, created_at: float, by: str) -> None:
        self.payment_id = payment_id
        self.project_id = project_id
        self.sub = sub
        self.plan = plan
        self.amount = amount
        self.currency = currency
        self.interval = interval
        self.plan_claims = dict(plan_claims)
        self.method = method
        self.bank_code = bank_code
        self.mode = mode
        self.expires_at = expires_at
        self.created_at = created_at
        self.status = CREATED
        self.xendit_id: str | None = None
        self.settled = False

    @staticmethod
    def create_id(payment_id: str) -> UUID:
        return index_id("payment", payment_id)

    @event("Pending")
    def mark_pending(self, xendit_id: str, qr_string: str | None, checkout_url: str | None,
                     virtual_account_number: str | None) -> None:
        """Xendit took the request: what the payer needs to pay."""
        self.status = PENDING
        self.xendit_id = xendit_id

    @event("Failed")
    def fail(self, reason: str) -> None:
        self.status = FAILED

    @event("Expired")
    def expire(self, reason: str) -> None:
        self.status = EXPIRED

    @event("Succeeded")
    def succeed(self, xendit_id: str, xendit_payment_id: str | None, amount: int, currency: str) -> None:
        self.status = SUCCEEDED
        self.xendit_id = self.xendit_id or xendit_id

    @event("AmountMismatched")
    def mismatch(self, xendit_payment_id: str | None, amount: object, currency: object) -> None:
        """Xendit reported a payment that does not match ours: recorded, never settled."""

    @event("Settled")
    def settle(self, plan: str | None, period_end: float | None) -> None:
        """The plan was assigned to the user (in the same save); `plan` None: to no one, the
        user having been erased since the payment was made."""
        self.settled = True

    def is_open(self) -> bool:
        return self.status in (CREATED, PENDING)


def period_end(interval: str, start: float) -> float | None:
    """The end of one paid period from `start`: a calendar month or year (the day clamped
    to the month's length), or None for `once` (forever)."""
    if interval == "once":
        return None
    moment = datetime.fromtimestamp(start, timezone.utc)
    months = 1 if interval == "month" else 12
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day).timestamp()
