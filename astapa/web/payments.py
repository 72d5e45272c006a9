"""Payments (management API) and Xendit's webhooks.

POST /api/platform/payments records the payment, then asks Xendit; either answer is an
event, so a payment is never half-known: 201 PENDING with what the payer needs (QR string,
checkout URL, virtual account number), 400 when Xendit refused the request, 502 when
Xendit failed or did not answer (the payment is FAILED; a success webhook later still
counts). An `Idempotency-Key` header makes a retried create return the same payment.
"""

import asyncio
import hashlib
import json
import logging
import re

from aiohttp import web

from astapa.web.appkeys import context_key
from astapa.domain.errors import PaymentNotFoundError, PaymentRefusedError
from astapa.domain.payments import BANKS, METHODS
from astapa.oauth.errors import InvalidRequestError, NotFoundError, OAuthError, TemporarilyUnavailableError
from astapa.payments.credentials import KEY_PREFIX
from astapa.queries import payment_by_id, payments_of_user
from astapa.crypto import new_public_id
from astapa.web.management import SUB, command, json_body, project_client, reply, user_of
from astapa.web.oauth import read_body
from astapa.payments.xendit import XenditError

log = logging.getLogger("astapa.payments")

MOBILE = re.compile(r"\+?[0-9]{8,15}")
PAYMENT_ID = re.compile(r"pay_[0-9a-f]{24}")


class PaymentProviderError(OAuthError):
    """Xendit failed or did not answer."""
    error = "payment_provider_error"
    status = 502


class PaymentsUnavailableError(OAuthError):
    """This server cannot take payments for the project until it is configured."""
    error = "temporarily_unavailable"
    status = 503


async def create_payment(request: web.Request) -> web.Response:
    """POST /api/platform/payments."""
    ctx = request.app[context_key]
    document = await json_body(request)
    client = await project_client(request, ctx, document)
    fields = payment_fields(document)
    payments = ctx.payments
    credentials = await asyncio.get_running_loop().run_in_executor(
        ctx.reads.pool, payments.credentials, client.project_id)
    if credentials is None:
        raise PaymentsUnavailableError("payments are not configured for this project (astapa project payments, "
                                       "or ASTAPA_XENDIT_SECRET_KEY)")
    expected = KEY_PREFIX[client.mode]
    if not credentials.secret_key.startswith(expected):
        raise PaymentsUnavailableError(f"a {client.mode} project needs a Xendit key starting {expected}")
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 0 < len(key) <= 255:
        raise InvalidRequestError("Idempotency-Key: 1 to 255 characters")
    payment_id = ("pay_" + hashlib.sha256(f"{client.project_id}/{key}".encode()).hexdigest()[:24]
                  if key else new_public_id("pay"))
    try:
        position = await command(ctx, ctx.app.create_payment, payment_id, client.project_id, fields["sub"], fields["plan"],
                      fields["method"], fields["bank_code"], client.mode, ctx.clock.now(),
                      ctx.settings.payment_ttl, client.client_id)
    except PaymentRefusedError as e:
        raise InvalidRequestError(e.args[0]) from None
    payment = await _payment(ctx, payment_id)
    if (payment.project_id, payment.sub, payment.plan, payment.method, payment.bank_code) != (
            client.project_id, fields["sub"], fields["plan"], fields["method"], fields["bank_code"]):
        raise InvalidRequestError("this Idempotency-Key was used for another payment")
    if payment.status == "CREATED":  # new, or a retry of one Xendit never answered
        try:
            await payments.open_at_xendit(payment, f"{client.name}: {fields['plan']} plan",
                                          fields["return_url"] or f"{ctx.settings.issuer}/",
                                          fields["mobile_number"])
        except XenditError as e:
            if e.refused:
                raise InvalidRequestError(f"Xendit refused the payment ({e})") from None
            raise PaymentProviderError(f"Xendit could not take the payment now ({e}); it is recorded as FAILED",
                                       detail=str(e)) from None
    # Read your write (open_at_xendit waited for its own events already).
    await ctx.runner.wait(position, ctx.settings.projection_wait)
    view = await ctx.reads.query(payment_by_id, client.project_id, payment_id)
    if view is None:
        raise TemporarilyUnavailableError(detail="payment recorded, read models lagging")
    return reply(view, status=201)


async def _payment(ctx, payment_id: str):
    return await asyncio.get_running_loop().run_in_executor(ctx.reads.pool, ctx.app.payment, payment_id)


async def _project_of(ctx, payment_id: str) -> str | None:
    """From the event store, not a read model: a webhook may beat the projections."""
    try:
        return (await _payment(ctx, payment_id)).project_id
    except PaymentNotFoundError:
        return None


def payment_fields(document: dict) -> dict:
    allowed = {"end_user_id", "plan", "method", "bank_code", "mobile_number", "return_url"}
    unknown = set(document) - allowed
    if unknown:
        raise InvalidRequestError(f"unknown field {sorted(unknown)[0]!r}")
    sub, plan, method = document.get("end_user_id"), document.get("plan"), document.get("method")
    if isinstance(sub, int) and not isinstance(sub, bool):
        sub = str(sub)
    if not isinstance(sub, str) or not SUB.fullmatch(sub):
        raise InvalidRequestError("end_user_id: the user's sub")
    if not isinstance(plan, str) or not plan:
        raise InvalidRequestError("plan: the key of one of the project's plans")
    if method not in METHODS:
        raise InvalidRequestError(f"method: one of {', '.join(METHODS)}")
    bank, mobile, return_url = document.get("bank_code"), document.get("mobile_number"), document.get("return_url")
    if method == "BANK_TRANSFER" and bank not in BANKS:
        raise InvalidRequestError(f"bank_code: one of {', '.join(BANKS)} for BANK_TRANSFER")
    if method != "BANK_TRANSFER" and bank is not None:
        raise InvalidRequestError("bank_code is only for BANK_TRANSFER")
    if method == "OVO":
        if not isinstance(mobile, str) or not MOBILE.fullmatch(mobile.replace(" ", "").replace("-", "")):
            raise InvalidRequestError("mobile_number: the payer's OVO number, e.g. +6281234567890")
        digits = mobile.replace(" ", "").replace("-", "").lstrip("+")
        mobile = "+62" + digits[1:] if digits.startswith("0") else "+" + digits
    elif mobile is not None:
        raise InvalidRequestError("mobile_number is only for OVO")
    if return_url is not None and (not isinstance(return_url, str) or not re.fullmatch(r"https://\S{4,250}", return_url)):
        raise InvalidRequestError("return_url: an https URL the payer comes back to after GoPay")
    return {"sub": sub, "plan": plan, "method": method, "bank_code": bank if method == "BANK_TRANSFER" else None,
            "mobile_number": mobile, "return_url": return_url}


async def get_payment(request: web.Request) -> web.Response:
    """GET /api/platform/payments/{payment_id}."""
    ctx = request.app[context_key]
    client = await project_client(request, ctx, {})
    payment_id = request.match_info["payment_id"]
    view = await ctx.reads.query(payment_by_id, client.project_id, payment_id) if PAYMENT_ID.fullmatch(payment_id) else None
    if view is None:
        raise NotFoundError("no such payment")
    return reply(view)


async def user_payments(request: web.Request) -> web.Response:
    """GET /api/platform/users/{sub}/payments: newest first."""
    ctx = request.app[context_key]
    client = await project_client(request, ctx, {})
    sub = (await user_of(request, ctx, client))["sub"]
    return reply({"payments": await ctx.reads.query(payments_of_user, client.project_id, sub)})


# -- webhooks ------------------------------------------------------------------------------------

async def xendit_webhook(request: web.Request) -> web.Response:
    """POST /api/webhooks/xendit: the x-callback-token first (constant time), then the event.
    Answers 200 quickly for anything it can read, ours or not, so Xendit stops retrying;
    duplicates and late or out-of-order deliveries change nothing they should not."""
    ctx = request.app[context_key]
    token = request.headers.get("x-callback-token", "")
    body = await read_body(request)
    try:
        envelope = json.loads(body)
    except (ValueError, RecursionError):
        envelope = None
    data = envelope.get("data") if isinstance(envelope, dict) else None
    reference = data.get("reference_id") if isinstance(data, dict) else None
    ours = isinstance(reference, str) and PAYMENT_ID.fullmatch(reference) is not None
    project_id = await _project_of(ctx, reference) if ours else None
    matches = await asyncio.get_running_loop().run_in_executor(  # may read the project's key file
        None, ctx.payments.callback_token_matches, token, project_id)
    if not matches:
        return web.json_response({"error": "invalid_token", "error_description": "x-callback-token is wrong"},
                                 status=401)
    if not isinstance(data, dict):
        raise InvalidRequestError("a Xendit webhook is a JSON object with an event and its data")
    event, xendit_id = envelope.get("event"), data.get("payment_request_id")
    if not ours or not isinstance(xendit_id, str):
        log.info("webhook %s for a reference that is not ours: ignored", str(event)[:40])
        return web.json_response({"received": True})
    status = {"payment.capture": data.get("status"), "payment.failure": "FAILED",
              "payment_request.expiry": "EXPIRED"}.get(event)
    amount = data.get("request_amount")
    captures = data.get("captures")
    if isinstance(captures, list) and captures and all(isinstance(c, dict) for c in captures):
        amount = sum(c.get("capture_amount", 0) for c in captures if isinstance(c.get("capture_amount"), (int, float)))
    position = await ctx.payments.apply(reference, status, xendit_id, data.get("payment_id"), amount,
                                        data.get("currency"), f"webhook {event}")
    if position:
        await ctx.runner.wait(position, ctx.settings.projection_wait)
        if status == "SUCCEEDED":
            ctx.later(ctx.payments.settle())  # at once, rather than at the job's next run
    return web.json_response({"received": True})
