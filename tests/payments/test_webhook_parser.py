"""The one parser from a Xendit webhook body to a typed event (astapa/payments/xendit.py)."""

from astapa.payments.xendit import parse_webhook

DATA = {"reference_id": "pay_1", "payment_request_id": "pr-1", "payment_id": "py-1", "status": "SUCCEEDED",
        "request_amount": 149000, "currency": "IDR"}


def test_a_capture_carries_its_status_amount_and_ids():
    hook = parse_webhook({"event": "payment.capture", "data": DATA})
    assert (hook.reference, hook.xendit_id, hook.xendit_payment_id) == ("pay_1", "pr-1", "py-1")
    assert (hook.status, hook.amount, hook.currency) == ("SUCCEEDED", 149000, "IDR")


def test_the_captured_amount_is_the_sum_of_the_captures():
    data = {**DATA, "captures": [{"capture_amount": 100000}, {"capture_amount": 49000}]}
    assert parse_webhook({"event": "payment.capture", "data": data}).amount == 149000


def test_failure_and_expiry_events_say_so_whatever_the_status_field():
    assert parse_webhook({"event": "payment.failure", "data": DATA}).status == "FAILED"
    assert parse_webhook({"event": "payment_request.expiry", "data": DATA}).status == "EXPIRED"
    assert parse_webhook({"event": "payment.other", "data": DATA}).status is None


def test_wrong_types_become_none_and_no_data_is_no_webhook():
    hook = parse_webhook({"event": ["payment.failure"], "data": {**DATA, "reference_id": 5, "payment_id": {}}})
    assert (hook.status, hook.reference, hook.xendit_payment_id) == (None, None, None)
    assert parse_webhook({"event": "payment.capture"}) is None
    assert parse_webhook([]) is None and parse_webhook(None) is None
