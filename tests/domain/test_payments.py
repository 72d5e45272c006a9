"""Payments as commands on a temp event store: settled exactly once, money received wins,
periods extend (the Settled event and the user's plan are one save)."""

from datetime import datetime, timezone

import pytest

from astapa.domain.errors import PaymentRefusedError
from astapa.domain.payments import Payment, period_end
from astapa.domain.users import User
from tests.domain.test_accounts import app, sign_up  # noqa: F401 (fixture)

PRO = ("proj_a", "pro", "Pro", 149000, "IDR", "month", {"tier": 2}, "cid_a")


def paid(app, payment_id: str, sub: str, now: float = 1000.0) -> None:
    app.execute(app.create_payment, payment_id, "proj_a", sub, "pro", "QRIS", None, "sandbox", now, 3600, "cid_a")
    app.execute(app.payment_pending, payment_id, f"pr-{payment_id}", "0002", None, None)
    app.execute(app.payment_succeeded, payment_id, f"pr-{payment_id}", None, 149000, "IDR")


@pytest.fixture
def shop(app):
    app.execute(app.create_plan, *PRO)
    return app, sign_up(app).sub


def test_settled_once(shop):
    app, sub = shop
    paid(app, "pay_1", sub)
    first, _ = app.execute(app.settle_payment, "pay_1", 1000.0)
    again, position = app.execute(app.settle_payment, "pay_1", 1000.0)
    assert first is not None and again is None and position == 0
    events = [type(e).__qualname__ for e in app.repository.event_store.get(User.create_id("proj_a", sub))]
    assert events.count("User.PlanAssigned") == 1
    user: User = app.repository.get(User.create_id("proj_a", sub))
    assert user.effective_claims(1001.0) == {"plan": "pro", "tier": 2}


def test_a_second_period_starts_where_the_first_ends_and_a_late_failure_changes_nothing(shop):
    app, sub = shop
    paid(app, "pay_1", sub)
    end_one, _ = app.execute(app.settle_payment, "pay_1", 1000.0)
    app.execute(app.payment_failed, "pay_1", "late failure webhook")
    assert app.repository.get(Payment.create_id("pay_1")).status == "SUCCEEDED"
    paid(app, "pay_2", sub, now=2000.0)
    end_two, _ = app.execute(app.settle_payment, "pay_2", 2000.0)
    assert end_two == period_end("month", end_one)


def test_a_mismatch_is_never_settled_and_a_free_plan_is_not_paid_for(shop):
    app, sub = shop
    app.execute(app.create_payment, "pay_3", "proj_a", sub, "pro", "QRIS", None, "sandbox", 1000.0, 3600, "cid_a")
    app.execute(app.payment_succeeded, "pay_3", "pr-x", None, 1000, "IDR")
    assert app.repository.get(Payment.create_id("pay_3")).status == "CREATED"
    assert app.execute(app.settle_payment, "pay_3", 1000.0)[1] == 0
    with pytest.raises(PaymentRefusedError):
        app.execute(app.create_payment, "pay_4", "proj_a", sub, "free", "QRIS", None, "sandbox", 1000.0, 3600, "c")


def test_month_ends_are_clamped():
    jan_31 = datetime(2026, 1, 31, 12, tzinfo=timezone.utc).timestamp()
    assert datetime.fromtimestamp(period_end("month", jan_31), timezone.utc).day == 28
    assert period_end("once", jan_31) is None


def test_a_success_assigns_its_plan_in_the_same_save(shop):
    """One command, one save: the success and the plan cannot be recorded apart."""
    app, sub = shop
    app.execute(app.create_payment, "pay_5", "proj_a", sub, "pro", "QRIS", None, "sandbox", 1000.0, 3600, "cid_a")
    app.execute(app.payment_pending, "pay_5", "pr-pay_5", "0002", None, None)
    before = app.recorder.max_notification_id()
    recordings = app.save(*app.payment_succeeded("pay_5", "pr-pay_5", None, 149000, "IDR", 1000.0).aggregates)
    assert sorted(type(r.domain_event).__qualname__ for r in recordings) == [
        "Payment.Settled", "Payment.Succeeded", "User.PlanAssigned"]
    assert app.recorder.max_notification_id() == before + 3
    assert app.repository.get(Payment.create_id("pay_5")).settled
    assert app.execute(app.settle_payment, "pay_5", 1000.0)[1] == 0  # nothing left to reconcile


def test_an_erased_user_pays_for_nothing_and_a_late_settlement_changes_them_not(shop):
    """New payments for an erased user are refused as for an unknown one (404); one made
    before the erasure and paid after it is settled with no plan: on record, nothing
    assigned, the erased user untouched."""
    from astapa.domain.errors import UserNotFoundError

    app, sub = shop
    app.execute(app.create_payment, "pay_5", "proj_a", sub, "pro", "QRIS", None, "sandbox", 1000.0, 3600, "cid_a")
    app.execute(app.erase_user, "proj_a", sub, "test")
    app.erase_person_key("proj_a", sub)
    with pytest.raises(UserNotFoundError):
        app.execute(app.create_payment, "pay_6", "proj_a", sub, "pro", "QRIS", None, "sandbox", 1000.0, 3600, "c")
    user_id = User.create_id("proj_a", sub)
    version = app.repository.get(user_id).version
    app.execute(app.payment_succeeded, "pay_5", "pr-5", None, 149000, "IDR", 1100.0)
    payment = app.repository.get(Payment.create_id("pay_5"))
    assert payment.status == "SUCCEEDED" and payment.settled
    assert app.repository.get(user_id).version == version  # no PlanAssigned after User.Erased
    assert app.execute(app.settle_payment, "pay_5", 1200.0)[1] == 0  # nothing left to settle
