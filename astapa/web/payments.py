"""Payments (management API) and Xendit's webhooks.

POST /api/platform/payments records the payment, then asks Xendit; either answer is an
event, so a payment is never half-known: 201 PENDING with what the payer needs (QR string,
checkout URL, virtual account number), 400 when Xendit refused the request, 502 when
Xendit failed or did not answer (the payment is FAILED; a success webhook later still
counts). An `Idempotency-Key` header makes a retried create return the same payment.
"""

import asyncio
import hashlib
import logging
import re

from aiohttp import web

from astapa.console_queries import project_payment
from astapa.crypto import new_public_id
from astapa.domain.errors import PaymentNotFoundError
from astapa.domain.payments import BANKS, CREATED, METHODS, PENDING
from astapa.oauth.errors import (
    InvalidRequestError,
    NotFoundError,
    OAuthError,
    ResourceConflictError,
    TemporarilyUnavailableError,
)
from astapa.payments.credentials import KEY_PREFIX
from astapa.payments.xendit import XenditError, parse_webhook
from astapa.queries import PAYMENT_STATUSES, payment_by_id, payments_of_user, payments_page
from astapa.web import bodies
from astapa.web.appkeys import (
    application_key,
    await_read_model,
    clock_key,
    payments_key,
    reads_key,
    settings_key,
)
from astapa.web.management import (
    MAX_CURSOR,
    MAX_PAGE,
    command,
    json_body,
    number_param,
    project_client,
    query_param,
    reply,
    user_of,
)
from astapa.web.schemas import BodySchema

log = logging.getLogger("astapa.payments")

NEW_PAYMENT = BodySchema("createPayment")  # openapi/components/schemas/NewPayment.yaml
WEBHOOK = BodySchema("receiveXenditWebhook")  # openapi/components/schemas/XenditWebhook.yaml
SIMULATION = BodySchema("simulatePayment")  # openapi/components/schemas/PaymentSimulation.yaml
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
    web_app = request.app
    settings, reads = web_app[settings_key], web_app[reads_key]
    document = await json_body(request)
    client = await project_client(request, web_app, document)
    fields = payment_fields(document)
    payments = web_app[payments_key]
    credentials = await asyncio.get_running_loop().run_in_executor(
        reads.pool, payments.credentials, client.project_id)
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
    position = await command(web_app, web_app[application_key].create_payment, payment_id, client.project_id,
                             fields["sub"], fields["plan"], fields["method"], fields["bank_code"], client.mode,
                             web_app[clock_key].now(), settings.payment_ttl, client.client_id)
    payment = await _payment(web_app, payment_id)
    if (payment.project_id, payment.sub, payment.plan, payment.method, payment.bank_code) != (
            client.project_id, fields["sub"], fields["plan"], fields["method"], fields["bank_code"]):
        raise InvalidRequestError("this Idempotency-Key was used for another payment")
    if payment.status == "CREATED":  # new, or a retry of one Xendit never answered
        try:
            await payments.open_at_xendit(payment, f"{client.name}: {fields['plan']} plan",
                                          fields["return_url"] or f"{settings.issuer}/",
                                          fields["mobile_number"])
        except XenditError as e:
            if e.refused:
                raise InvalidRequestError(f"Xendit refused the payment ({e})") from None
            raise PaymentProviderError(f"Xendit could not take the payment now ({e}); it is recorded as FAILED",
                                       detail=str(e)) from None
    # Read your write (open_at_xendit waited for its own events already).
    await await_read_model(web_app, position)
    view = await reads.query(payment_by_id, client.project_id, payment_id)
    if view is None:
        raise TemporarilyUnavailableError(detail="payment recorded, read models lagging")
    return reply(view, status=201)


async def _payment(web_app, payment_id: str):
    return await asyncio.get_running_loop().run_in_executor(web_app[reads_key].pool,
                                                            web_app[application_key].payment, payment_id)


async def _project_of(web_app, payment_id: str) -> str | None:
    """From the event store, not a read model: a webhook may beat the projections."""
    try:
        return (await _payment(web_app, payment_id)).project_id
    except PaymentNotFoundError:
        return None


def payment_fields(document: dict) -> dict:
    """The payment asked for, checked against its schema: 400 for the first field found
    unknown, missing or invalid (in the order below)."""
    failures = NEW_PAYMENT.failures(document)
    if failures.unknown:
        raise InvalidRequestError(f"unknown field {failures.unknown[0]!r}")
    method = document.get("method")
    messages = {
        "end_user_id": "end_user_id: the user's sub",
        "plan": "plan: the key of one of the project's plans",
        "method": f"method: one of {', '.join(METHODS)}",
        "bank_code": (f"bank_code: one of {', '.join(BANKS)} for BANK_TRANSFER" if method == "BANK_TRANSFER"
                      else "bank_code is only for BANK_TRANSFER"),
        "mobile_number": ("mobile_number: the payer's OVO number, e.g. +6281234567890" if method == "OVO"
                          else "mobile_number is only for OVO"),
        "return_url": "return_url: an https URL the payer comes back to after GoPay",
    }
    for field, message in messages.items():
        if field in failures.fields:
            raise InvalidRequestError(message)
    mobile = document.get("mobile_number")
    if mobile is not None:  # OVO: E.164, or an Indonesian number read as +62
        digits = mobile.replace(" ", "").replace("-", "").lstrip("+")
        mobile = "+62" + digits[1:] if digits.startswith("0") else "+" + digits
    return {"sub": str(document["end_user_id"]), "plan": document["plan"], "method": method,
            "bank_code": document.get("bank_code"), "mobile_number": mobile,
            "return_url": document.get("return_url")}


async def get_payment(request: web.Request) -> web.Response:
    """GET /api/platform/payments/{payment_id}."""
    web_app = request.app
    client = await project_client(request, web_app, {})
    payment_id = request.match_info["payment_id"]
    view = await web_app[reads_key].query(payment_by_id, client.project_id,
                                          payment_id) if PAYMENT_ID.fullmatch(payment_id) else None
    if view is None:
        raise NotFoundError("no such payment")
    return reply(view)


async def list_payments(request: web.Request) -> web.Response:
    """GET /api/platform/payments?status=&before=&limit=: the project's payments, newest
    first, a page at a time (`next` is the `before` of the next page)."""
    web_app = request.app
    client = await project_client(request, web_app, {})
    status = query_param(request, "status")
    if status is not None and status not in PAYMENT_STATUSES:
        raise InvalidRequestError(f"status must be one of {', '.join(PAYMENT_STATUSES)}")
    before = query_param(request, "before")
    before = None if before is None else number_param(before, "before", 1, MAX_CURSOR)
    limit = number_param(query_param(request, "limit", "50"), "limit", 1, MAX_PAGE)
    found, following = await web_app[reads_key].query(payments_page, client.project_id, status, before, limit)
    return reply({"payments": found, "next": following})


async def simulate_payment(request: web.Request) -> web.Response:
    """POST /api/platform/payments/{payment_id}/simulate with {"status": "SUCCEEDED"}: in a
    sandbox, a waiting payment succeeds as Xendit's webhook would say it did, through the
    same Payments.apply as the console's "Simulate payment", so its plan is assigned
    exactly as for real money. A live project has no such route (404)."""
    web_app = request.app
    document = await json_body(request)
    client = await project_client(request, web_app, document)
    if client.mode != "sandbox":
        raise NotFoundError("payments are simulated only in a sandbox project")
    if SIMULATION.failures(document):
        raise InvalidRequestError('send {"status": "SUCCEEDED"}: only a success can be simulated')
    payment_id = request.match_info["payment_id"]
    reads = web_app[reads_key]
    found = await reads.query(project_payment, client.project_id,
                              payment_id) if PAYMENT_ID.fullmatch(payment_id) else None
    if found is None:
        raise NotFoundError("no such payment")
    if found["status"] not in (CREATED, PENDING):
        raise ResourceConflictError(f"the payment is {found['status']}: only one still waiting can be simulated")
    position = await web_app[payments_key].apply(
        payment_id, "SUCCEEDED", found["xendit_id"] or f"simulated_{payment_id}", None, found["amount"],
        found["currency"], "simulated through the management API")
    await await_read_model(web_app, position)
    return reply(await reads.query(payment_by_id, client.project_id, payment_id))


async def user_payments(request: web.Request) -> web.Response:
    """GET /api/platform/users/{sub}/payments: newest first."""
    web_app = request.app
    client = await project_client(request, web_app, {})
    sub = (await user_of(request, web_app, client))["sub"]
    return reply({"payments": await web_app[reads_key].query(payments_of_user, client.project_id, sub)})


# -- webhooks ------------------------------------------------------------------------------------

async def xendit_webhook(request: web.Request) -> web.Response:
    """POST /api/webhooks/xendit: the x-callback-token first (constant time), then the event.
    Answers 200 quickly for anything it can read, ours or not, so Xendit stops retrying;
    duplicates and late or out-of-order deliveries change nothing they should not."""
    web_app = request.app
    payments = web_app[payments_key]
    token = request.headers.get("x-callback-token", "")
    body = await bodies.read(request)
    try:
        envelope = bodies.json_value(body, kind=None)
    except bodies.BodyError:
        envelope = None
    hook = parse_webhook(envelope)
    reference = hook.reference if hook is not None else None
    ours = reference is not None and PAYMENT_ID.fullmatch(reference) is not None
    project_id = await _project_of(web_app, reference) if ours else None
    matches = await asyncio.get_running_loop().run_in_executor(  # may read the project's key file
        None, payments.callback_token_matches, token, project_id)
    if not matches:
        return web.json_response({"error": "invalid_token", "error_description": "x-callback-token is wrong"},
                                 status=401)
    if hook is None:
        raise InvalidRequestError("a Xendit webhook is a JSON object with an event and its data")
    failures = WEBHOOK.failures(envelope)  # type: ignore[arg-type]
    if failures:  # not Xendit's format: refused, so Xendit shows the failure and retries
        where = f"`{min(failures.fields)}`" if failures.fields else "the body"
        raise InvalidRequestError(f"{where} does not match Xendit's webhook format")
    if not ours or hook.xendit_id is None:
        log.info("webhook %s for a reference that is not ours: ignored", str(hook.event)[:40])
        return web.json_response({"received": True})
    position = await payments.apply(reference, hook.status, hook.xendit_id, hook.xendit_payment_id,
                                    hook.amount, hook.currency, f"webhook {hook.event}")
    await await_read_model(web_app, position)  # a success is read with its plan
    return web.json_response({"received": True})
