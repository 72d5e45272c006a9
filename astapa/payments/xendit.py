"""Xendit's Payments API v3: the client (https://docs.xendit.co/apidocs/create-payment-request)
and the one parser of its webhooks.

One call per payment: POST /v3/payment_requests with our payment id as `reference_id` and
as `idempotency-key`, so a retried create never makes a second charge. Authenticated with
the secret key (HTTP Basic, empty password). Reconciliation reads GET
/v3/payment_requests/{id}.
"""

import asyncio
from dataclasses import dataclass
from datetime import datetime, timezone

import aiohttp

from astapa.domain.payments import Payment

API_VERSION = "2024-11-11"
CHANNELS = {"QRIS": "QRIS", "GOPAY": "GOPAY", "OVO": "OVO"}


class XenditError(Exception):
    """Xendit did not take the request. `refused`: Xendit answered 4xx about the request
    itself (the caller's to fix: 400); otherwise Xendit is down, slow or misconfigured (502)."""

    def __init__(self, message: str, refused: bool = False) -> None:
        super().__init__(message)
        self.refused = refused


@dataclass(frozen=True)
class Created:
    xendit_id: str
    status: str
    qr_string: str | None
    checkout_url: str | None
    virtual_account_number: str | None


class Xendit:
    def __init__(self, base_url: str, secret_key: str, timeout: float) -> None:
        self.base_url = base_url
        self.auth = aiohttp.BasicAuth(secret_key, "")
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout, auth=self.auth)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def create(self, payment: Payment, description: str, return_url: str,
                     mobile_number: str | None) -> Created:
        body = {
            "reference_id": payment.payment_id,
            "type": "PAY",
            "country": "ID",
            "currency": payment.currency,
            "request_amount": payment.amount,
            "capture_method": "AUTOMATIC",
            "channel_code": channel_code(payment),
            "channel_properties": channel_properties(payment, description, return_url, mobile_number),
            "description": description[:1000],
            "metadata": {"project_id": payment.project_id, "end_user_id": payment.sub, "plan": payment.plan},
        }
        answer = await self._call("POST", "/v3/payment_requests", body,
                                  {"idempotency-key": payment.payment_id})
        actions = {(a.get("descriptor") or ""): a.get("value") for a in answer.get("actions") or []
                   if isinstance(a, dict)}
        xendit_id = answer.get("payment_request_id")
        if not isinstance(xendit_id, str):
            raise XenditError("Xendit answered without a payment_request_id")
        return Created(
            xendit_id=xendit_id, status=str(answer.get("status")),
            qr_string=actions.get("QR_STRING"),
            checkout_url=actions.get("WEB_URL") or actions.get("DEEPLINK_URL"),
            virtual_account_number=actions.get("VIRTUAL_ACCOUNT_NUMBER"),
        )

    async def get(self, xendit_id: str) -> dict:
        return await self._call("GET", f"/v3/payment_requests/{xendit_id}", None, {})

    async def _call(self, method: str, path: str, body: dict | None, headers: dict) -> dict:
        try:
            async with self.session().request(method, f"{self.base_url}{path}", json=body,
                                               headers={"api-version": API_VERSION, **headers}) as response:
                text = await response.text()
                status = response.status
        except (aiohttp.ClientError, asyncio.TimeoutError) as e:
            raise XenditError(f"Xendit did not answer: {type(e).__name__}") from None
        try:
            answer = _json(text)
        except ValueError:
            raise XenditError(f"Xendit answered {status} with no JSON") from None
        if status >= 400:
            detail = f"{answer.get('error_code', status)}: {str(answer.get('message', ''))[:200]}"
            # 4xx about the request is the caller's; a rejected key or a rate limit is ours.
            raise XenditError(detail, refused=400 <= status < 500 and status not in (401, 403, 429))
        return answer


def _json(text: str) -> dict:
    import json

    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("not an object")
    return value


def channel_code(payment: Payment) -> str:
    if payment.method == "BANK_TRANSFER":
        return f"{payment.bank_code}_VIRTUAL_ACCOUNT"
    return CHANNELS[payment.method]


def channel_properties(payment: Payment, description: str, return_url: str, mobile_number: str | None) -> dict:
    expires = datetime.fromtimestamp(payment.expires_at, timezone.utc).isoformat().replace("+00:00", "Z")
    if payment.method == "GOPAY":
        return {"success_return_url": return_url, "failure_return_url": return_url}
    if payment.method == "OVO":
        return {"account_mobile_number": mobile_number}
    if payment.method == "BANK_TRANSFER":
        return {"display_name": description[:50], "expires_at": expires}
    return {"expires_at": expires}


# -- webhooks ------------------------------------------------------------------------------------

# What each webhook event says of the payment request it names.
EVENT_STATUS = {"payment.failure": "FAILED", "payment_request.expiry": "EXPIRED"}


@dataclass(frozen=True)
class WebhookEvent:
    """A Xendit webhook, as one of our payments sees it: which payment (`reference`, our
    payment id, and Xendit's `xendit_id`), and what it says (`status`: SUCCEEDED, FAILED,
    EXPIRED, CANCELED, or None for events that change nothing)."""

    event: object
    reference: str | None
    xendit_id: str | None
    status: str | None
    xendit_payment_id: str | None
    amount: object  # as Xendit says; settling checks it against what was asked
    currency: object


def parse_webhook(envelope: object) -> WebhookEvent | None:
    """A webhook body (already JSON) as a WebhookEvent; None if it has no `data` object."""
    data = envelope.get("data") if isinstance(envelope, dict) else None
    if not isinstance(data, dict):
        return None
    event = envelope.get("event")
    status = data.get("status") if event == "payment.capture" else \
        EVENT_STATUS.get(event) if isinstance(event, str) else None
    return WebhookEvent(
        event=event,
        reference=_string(data.get("reference_id")),
        xendit_id=_string(data.get("payment_request_id")),
        status=_string(status),
        xendit_payment_id=_string(data.get("payment_id")),
        amount=_captured(data),
        currency=data.get("currency"),
    )


def _captured(data: dict) -> object:
    """The amount taken: the sum of the captures when Xendit lists them."""
    captures = data.get("captures")
    if isinstance(captures, list) and captures and all(isinstance(c, dict) for c in captures):
        return sum(c.get("capture_amount", 0) for c in captures
                   if isinstance(c.get("capture_amount"), (int, float)))
    return data.get("request_amount")


def _string(value: object) -> str | None:
    return value if isinstance(value, str) else None
