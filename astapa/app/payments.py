"""Payments: recorded before Xendit is asked, moved by Xendit's answers and webhooks, and
settled into the user's plan once: in the same save as the success, or (a success recorded
without it) by the reconciliation job that follows the read model of the log.

Each outcome command is safe to repeat and to receive out of order: a duplicate changes
nothing, a failure or an expiry never undoes a success, and a success after either still
counts (the money was taken).
"""

from astapa.app.users import UserCommands
from astapa.domain.errors import PaymentNotFoundError, PaymentRefusedError
from astapa.domain.payments import SUCCEEDED, Payment, period_end
from astapa.domain.users import User
from astapa.store.events import Decision


class PaymentCommands(UserCommands):
    def create_payment(self, payment_id: str, project_id: str, sub: str, plan_key: str, method: str,
                       bank_code: str | None, mode: str, now: float, ttl: int, by: str) -> Decision:
        """A new payment for the plan's price now, or the one this id already names (a
        retried create)."""
        if self.exists(Payment.create_id(payment_id)):
            return Decision([], self.payment(payment_id))
        self._managed_user(project_id, sub, read_only=True)  # UserNotFoundError, for an erased user too
        plan = self.plan_of(project_id, plan_key, offered=True)  # PlanNotFoundError, PlanArchivedError
        if plan["price"] <= 0:
            raise PaymentRefusedError(f"the plan {plan_key!r} costs nothing")
        payment = Payment(
            payment_id=payment_id, project_id=project_id, sub=sub, plan=plan_key, amount=plan["price"],
            currency=plan["currency"], interval=plan["interval"], plan_claims=plan["claims"], method=method,
            bank_code=bank_code, mode=mode, expires_at=now + ttl, created_at=now, by=by,
        )
        return Decision([payment], payment)

    def payment(self, payment_id: str) -> Payment:
        return self.load(Payment.create_id(payment_id), lambda: PaymentNotFoundError(payment_id), read_only=True)

    def payment_history(self, payment_id: str) -> list:
        """The payment's events, oldest first: what Xendit said of it and when (the console's
        webhook trail). Read only."""
        self.payment(payment_id)  # PaymentNotFoundError
        return list(self.repository.event_store.get(Payment.create_id(payment_id)))

    def _open_payment(self, payment_id: str) -> Payment:
        return self.load(Payment.create_id(payment_id), lambda: PaymentNotFoundError(payment_id))

    def payment_pending(self, payment_id: str, xendit_id: str, qr_string: str | None, checkout_url: str | None,
                        virtual_account_number: str | None) -> Decision:
        payment = self._open_payment(payment_id)
        if payment.status == "CREATED":  # a webhook may already have moved it on
            payment.mark_pending(xendit_id=xendit_id, qr_string=qr_string, checkout_url=checkout_url,
                                 virtual_account_number=virtual_account_number)
        return Decision([payment], payment)

    def payment_failed(self, payment_id: str, reason: str) -> Decision:
        payment = self._open_payment(payment_id)
        if payment.is_open():
            payment.fail(reason=reason[:200])
        return Decision([payment], payment)

    def payment_expired(self, payment_id: str, reason: str) -> Decision:
        payment = self._open_payment(payment_id)
        if payment.is_open():
            payment.expire(reason=reason)
        return Decision([payment], payment)

    def payment_succeeded(self, payment_id: str, xendit_id: str, xendit_payment_id: str | None,
                          amount: object, currency: object, now: float | None = None) -> Decision:
        """Xendit says it was paid. Only the amount and currency we asked for count; anything
        else is recorded as a mismatch and never settled. With `now`, the plan is assigned
        in the same save as the success (one command, one save); without it (as in logs
        written by earlier versions) the settlement job assigns it."""
        payment = self._open_payment(payment_id)
        if payment.status == SUCCEEDED:
            return Decision([], payment)  # a duplicate delivery
        if payment.xendit_id not in (None, xendit_id) or amount != payment.amount \
                or currency != payment.currency:
            payment.mismatch(xendit_payment_id=xendit_payment_id, amount=amount, currency=currency)
            return Decision([payment], payment)
        payment.succeed(xendit_id=xendit_id, xendit_payment_id=xendit_payment_id, amount=payment.amount,
                        currency=payment.currency)
        if now is None:
            return Decision([payment], payment)
        user, _ = self._settle(payment, now)
        return Decision([payment, *user], payment)

    def settle_payment(self, payment_id: str, now: float) -> Decision:
        """Reconciliation: a succeeded payment whose plan is not yet assigned gets it."""
        payment = self._open_payment(payment_id)
        if payment.status != SUCCEEDED or payment.settled:
            return Decision([])
        user, end = self._settle(payment, now)
        return Decision([payment, *user], end)

    def _settle(self, payment: Payment, now: float) -> tuple[list[User], float | None]:
        """The payment's plan for its period, from the later of now and the end of the
        period the user already paid for on this plan; `once` is forever. ([the user], the
        period's end.) A payment for a user erased since it was made is settled with no
        plan (plan None): the money is on record, the erased user is never changed again."""
        user = self._user(payment.project_id, payment.sub)
        if user.erased:
            payment.settle(plan=None, period_end=None)
            return [], None
        start = now
        if user.custom_claims.get("plan") == payment.plan and user.plan_expires_at is not None \
                and user.plan_expires_at > now:
            start = user.plan_expires_at
        end = period_end(payment.interval, start)
        user.assign_plan(plan=payment.plan, plan_claims=payment.plan_claims, expires_at=end,
                         by=f"payment {payment.payment_id}")
        payment.settle(plan=payment.plan, period_end=end)
        return [user], end
