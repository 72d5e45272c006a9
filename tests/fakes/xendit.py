"""A fake Xendit for tests: a real HTTP server speaking Payments API v3, not a mock.

Like SmtpServer, it runs in its own thread (its own asyncio loop, aiohttp) on a loopback port,
so the code under test talks HTTP to it exactly as it would to https://api.xendit.co. Point
ASTAPA_XENDIT_API_URL at `server.url`. State survives stop() and start() on the same port.

Wire format (docs.xendit.co, Payments API v3, `api-version: 2024-11-11`):
  POST /v3/payment_requests                       create   (apidocs/create-payment-request)
  GET  /v3/payment_requests/{id}                  status   (apidocs/get-payment-request)
  POST /v3/payment_requests/{id}/simulate         test-mode payment, answers PENDING and sends
                                                  the webhook afterwards (apidocs/simulate-payment-test-mode)
  POST /v3/payment_requests/{id}/cancel           cancel   (apidocs/cancel-payment-request)
Auth is HTTP Basic with the secret key as username and an empty password (apidocs/quick-setup).
Errors are {"error_code": ..., "message": ...}. Webhooks are POSTed to `webhook_url` with the
documented envelope {"event", "business_id", "created", "data", "api_version"} and the headers
`x-callback-token` and `webhook-id` (apidocs/payment-webhook-notification, docs/bri-virtual-account).

Test controls are plain, thread-safe methods: simulate_payment(), fail(), expire(),
send_webhook() (any event, any token, reused webhook-id, `parallel=` concurrent duplicates),
redeliver(), fail_next(), hang_next(), plus `requests`, `webhooks` and `payment_requests` for
assertions. Webhooks sent by these methods go out synchronously from the caller's thread with
`requests`, so a test gets Astapa's HTTP status back.

Where the docs leave things open, the choice made is marked GUESS in a comment.
"""

import asyncio
import base64
import binascii
import copy
import ipaddress
import json
import random
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import requests as http
from aiohttp import web

from tests.fakes.base import FakeServer

API_VERSION = "2024-11-11"

# Event names (docs/payments-api-webhooks).
PAYMENT_CAPTURE = "payment.capture"
PAYMENT_FAILURE = "payment.failure"
PAYMENT_REQUEST_EXPIRY = "payment_request.expiry"
EVENTS = (PAYMENT_CAPTURE, PAYMENT_FAILURE, PAYMENT_REQUEST_EXPIRY)

# Payment request statuses (Payments_API_PaymentRequestStatus).
REQUIRES_ACTION = "REQUIRES_ACTION"
ACCEPTING_PAYMENTS = "ACCEPTING_PAYMENTS"
SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"
EXPIRED = "EXPIRED"
CANCELED = "CANCELED"
ACTIVE = (REQUIRES_ACTION, ACCEPTING_PAYMENTS)

TYPES = ("PAY", "PAY_AND_SAVE", "REUSABLE_PAYMENT_CODE")
COUNTRIES = ("ID", "PH", "VN", "TH", "SG", "MY", "HK", "MX")


@dataclass(frozen=True)
class Channel:
    kind: str  # "QR", "REDIRECT_EWALLET", "PUSH_EWALLET", "VA"
    min_amount: float
    max_amount: float
    va_prefix: str = ""


# Indonesian channels (docs/<channel>.md feature tables; VA limits for BNI/MANDIRI/PERMATA from
# Xendit's own components fixture). GUESS: BCA's limits are not documented here.
CHANNELS: dict[str, Channel] = {
    "QRIS": Channel("QR", 1, 10_000_000),
    "GOPAY": Channel("REDIRECT_EWALLET", 1, 50_000_000),
    "DANA": Channel("REDIRECT_EWALLET", 100, 20_000_000),
    "SHOPEEPAY": Channel("REDIRECT_EWALLET", 1, 20_000_000),
    "OVO": Channel("PUSH_EWALLET", 100, 20_000_000),
    "BCA_VIRTUAL_ACCOUNT": Channel("VA", 1, 50_000_000_000, "10766"),
    "BNI_VIRTUAL_ACCOUNT": Channel("VA", 1, 50_000_000, "8808"),
    "BRI_VIRTUAL_ACCOUNT": Channel("VA", 1, 50_000_000_000, "26215"),
    "MANDIRI_VIRTUAL_ACCOUNT": Channel("VA", 1, 50_000_000_000, "88608"),
    "PERMATA_VIRTUAL_ACCOUNT": Channel("VA", 1, 9_999_999_999, "8214"),
    "BSI_VIRTUAL_ACCOUNT": Channel("VA", 1, 50_000_000_000, "9347"),
    "CIMB_VIRTUAL_ACCOUNT": Channel("VA", 1, 50_000_000, "5919"),
}

# Default error bodies per HTTP status (codes from the v3 OpenAPI unless marked).
DEFAULT_ERRORS: dict[int, tuple[str, str]] = {
    400: ("API_VALIDATION_ERROR",
          "Fields or values in the payment request does not comply with our API specification."),
    401: ("INVALID_API_KEY", "API key is invalid"),  # GUESS: not in the v3 OpenAPI
    403: ("INVALID_MERCHANT_SETTINGS", "Merchant credentials met with an error with the provider."),
    404: ("DATA_NOT_FOUND", "ID specified in request cannot be found."),
    # The OpenAPI's Http409DuplicateError literally enumerates "DATA_NOT_FOUND"; kept as documented.
    409: ("DATA_NOT_FOUND", "Duplication is not allowed."),
    429: ("RATE_LIMIT_EXCEEDED", "Too many requests."),  # GUESS
    500: ("SERVER_ERROR", "An unexpected error occured, our team has been notified and will troubleshoot the issue"),
    503: ("CHANNEL_UNAVAILABLE", "The channel requested is currently experiencing unexpected issues."),
}

_JSON = web.RequestKey("json", object)  # the parsed body, for the handlers
NO_TOKEN = object()  # pass as `token=` to send a webhook without x-callback-token


class SeenRequest(NamedTuple):
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    json: Any  # parsed body, None if none or not JSON


@dataclass(frozen=True)
class Delivery:
    event: str
    webhook_id: str
    url: str
    headers: dict[str, str]
    body: bytes
    status: int

    @property
    def payload(self) -> dict:
        return json.loads(self.body)


class _ApiError(Exception):
    def __init__(self, status: int, error_code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error_code, self.message = status, error_code, message




def _now() -> datetime:
    return datetime.now(timezone.utc)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _error_body(status: int, error_code: str | None = None, message: str | None = None) -> dict:
    default_code, default_message = DEFAULT_ERRORS.get(status, ("SERVER_ERROR", "Unexpected error"))
    return {"error_code": error_code or default_code, "message": message or default_message}


class XenditServer(FakeServer):
    NAME = "Xendit"
    NO_TOKEN = NO_TOKEN

    def __init__(self, secret_key: str = "xnd_development_astapa_tests", callback_token: str = "test-callback-token",
                 webhook_url: str | None = None, port: int | None = None, business_id: str | None = None,
                 require_api_version: bool = True) -> None:
        super().__init__(port)
        self.secret_key = secret_key
        self.callback_token = callback_token
        self.webhook_url = webhook_url
        self.business_id = business_id or secrets.token_hex(12)
        self.require_api_version = require_api_version
        self.webhook_timeout = 30.0  # Xendit gives up on a webhook after 30 s (apidocs/payout-webhook-notification)
        self._prs: dict[str, dict] = {}
        self._internal: dict[str, dict] = {}  # per PR: idempotency key, payments
        self._idempotency: dict[str, str] = {}  # idempotency-key -> payment_request_id
        self._seen: list[SeenRequest] = []
        self._deliveries: list[Delivery] = []
        self._failures: list[tuple[str, int, Any]] = []  # (which, status, body)
        self._hangs: list[tuple[str, float]] = []  # (which, seconds)
        self._background: list[threading.Thread] = []

    # ----------------------------------------------------------------- lifecycle

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_post("/v3/payment_requests", self._create)
        router.add_get("/v3/payment_requests/{id}", self._get)
        router.add_post("/v3/payment_requests/{id}/simulate", self._simulate)
        router.add_post("/v3/payment_requests/{id}/cancel", self._cancel)
        router.add_get("/web/{id}", self._checkout_page)

    # ----------------------------------------------------------------- inspection

    @property
    def requests(self) -> list[SeenRequest]:
        """Every HTTP request seen, in order (also unauthorised, failed and hung ones)."""
        with self._lock:
            return list(self._seen)

    @property
    def payment_requests(self) -> dict[str, dict]:
        """payment_request_id -> the payment request as GET would return it now (a copy)."""
        with self._lock:
            return copy.deepcopy(self._prs)

    def payment_request(self, payment_request_id: str) -> dict:
        with self._lock:
            return copy.deepcopy(self._pr(payment_request_id))

    def created(self) -> list[SeenRequest]:
        """The create calls seen (idempotent replays included)."""
        return [seen for seen in self.requests if seen.method == "POST" and seen.path == "/v3/payment_requests"]

    @property
    def webhooks(self) -> list[Delivery]:
        """Every webhook delivered, in order, with Astapa's answer."""
        with self._lock:
            return list(self._deliveries)

    def wait_for_webhooks(self, count: int, timeout: float = 10) -> list[Delivery]:
        """For webhooks sent in the background (after POST .../simulate)."""
        deadline = time.monotonic() + timeout
        while True:
            delivered = self.webhooks
            if len(delivered) >= count:
                return delivered
            if time.monotonic() >= deadline:
                raise AssertionError(f"expected {count} webhook(s) within {timeout}s, {len(delivered)} sent")
            time.sleep(0.02)

    # ----------------------------------------------------------------- fault injection

    def fail_next(self, status: int = 500, body: Any = None, *, which: str = "create", times: int = 1) -> None:
        """The next `times` matching requests answer `status` with `body` (default: Xendit's error
        body for that status; a dict is sent as JSON, str/bytes raw). `which`: "create", "get",
        "simulate", "cancel" or "any". Auth is still checked first."""
        assert which in ("create", "get", "simulate", "cancel", "any"), which
        with self._lock:
            self._failures.extend([(which, status, body)] * times)

    def hang_next(self, seconds: float, *, which: str = "any", times: int = 1) -> None:
        """The next `times` matching requests wait `seconds` before being handled. After the wait
        the request is processed normally (a create still creates, like a lost answer)."""
        assert which in ("create", "get", "simulate", "cancel", "any"), which
        with self._lock:
            self._hangs.extend([(which, seconds)] * times)

    # ----------------------------------------------------------------- state changes + webhooks

    def simulate_payment(self, payment_request_id: str, amount: float | None = None, currency: str | None = None,
                         *, token: Any = None, webhook_id: str | None = None) -> int:
        """The payer pays: a new payment, the request SUCCEEDED (a REUSABLE_PAYMENT_CODE stays
        ACCEPTING_PAYMENTS), and `payment.capture` is sent now. `amount`/`currency` override what
        the webhook reports (to test a mismatch). Returns Astapa's HTTP status."""
        payload = self._pay(payment_request_id, amount, currency)
        return self._deliver(PAYMENT_CAPTURE, payload, token=token, webhook_id=webhook_id)

    def fail(self, payment_request_id: str, failure_code: str = "USER_DECLINED_PAYMENT", *, send: bool = True,
             token: Any = None, webhook_id: str | None = None) -> int | None:
        """The payment attempt fails: request FAILED with `failure_code`; `payment.failure` is sent
        unless send=False. Returns Astapa's HTTP status (None if not sent)."""
        with self._lock:
            pr = self._pr(payment_request_id)
            self._require_active(pr)
            payment = self._new_payment(pr, pr.get("request_amount"), pr["currency"], FAILED, failure_code)
            if pr["type"] != "REUSABLE_PAYMENT_CODE":
                pr["status"] = FAILED
                pr["failure_code"] = failure_code
            pr["latest_payment_id"] = payment["payment_id"]
            pr["updated"] = payment["updated"]
            payload = copy.deepcopy(payment)
        return self._deliver(PAYMENT_FAILURE, payload, token=token, webhook_id=webhook_id) if send else None

    def expire(self, payment_request_id: str, *, send: bool = True, token: Any = None,
               webhook_id: str | None = None) -> int | None:
        """The request expires: EXPIRED; `payment_request.expiry` is sent unless send=False."""
        with self._lock:
            pr = self._pr(payment_request_id)
            self._require_active(pr)
            pr["status"] = EXPIRED
            pr["updated"] = _iso(_now())
            payload = copy.deepcopy(pr)
        return self._deliver(PAYMENT_REQUEST_EXPIRY, payload, token=token, webhook_id=webhook_id) if send else None

    def send_webhook(self, event_name: str, payment_request_id: str, *, token: Any = None,
                     webhook_id: str | None = None, status: str | None = None, amount: float | None = None,
                     currency: str | None = None, failure_code: str | None = None, data: dict | None = None,
                     parallel: int | None = None, url: str | None = None) -> int | list[int]:
        """Send any documented event about a payment request *without* changing its state: for
        wrong tokens (token="..." or NO_TOKEN), duplicates (reuse a `webhook_id`), out-of-order or
        stale events. Payment events reuse the request's latest payment if it has one. `data` is
        merged into the payload's data last. With parallel=N the identical delivery (same body,
        same webhook-id) is sent N times concurrently and the list of statuses is returned."""
        assert event_name in EVENTS, f"unknown event {event_name!r}; one of {EVENTS}"
        with self._lock:
            pr = self._pr(payment_request_id)
            if event_name == PAYMENT_REQUEST_EXPIRY:
                payload = copy.deepcopy(pr)
                payload["status"] = status or EXPIRED
            else:
                payment = self._internal[payment_request_id]["payments"].get(pr.get("latest_payment_id") or "")
                if payment is None:
                    payment = self._payment_object(pr, pr.get("request_amount"), pr["currency"], SUCCEEDED, None)
                payment = copy.deepcopy(payment)
                payment["status"] = status or (SUCCEEDED if event_name == PAYMENT_CAPTURE else FAILED)
                if event_name == PAYMENT_FAILURE:
                    payment["failure_code"] = failure_code or payment.get("failure_code") or "USER_DECLINED_PAYMENT"
                    payment.pop("captures", None)
                elif failure_code:
                    payment["failure_code"] = failure_code
                payload = copy.deepcopy(payment)
        if amount is not None:
            payload["request_amount"] = amount
            for capture in payload.get("captures", []):
                capture["capture_amount"] = amount
        if currency is not None:
            payload["currency"] = currency
        payload.update(data or {})
        return self._deliver(event_name, payload, token=token, webhook_id=webhook_id, parallel=parallel, url=url)

    def redeliver(self, delivery: Delivery | None = None, *, parallel: int | None = None,
                  url: str | None = None) -> int | list[int]:
        """Send an earlier delivery again, byte for byte (same webhook-id): a Xendit retry."""
        if delivery is None:
            delivered = self.webhooks
            assert delivered, "nothing delivered yet"
            delivery = delivered[-1]
        return self._post(delivery.event, delivery.webhook_id, url or delivery.url, dict(delivery.headers),
                          delivery.body, parallel)

    # ----------------------------------------------------------------- internals: state

    def _pr(self, payment_request_id: str) -> dict:
        try:
            return self._prs[payment_request_id]
        except KeyError:
            raise KeyError(f"no payment request {payment_request_id!r}") from None

    @staticmethod
    def _require_active(pr: dict) -> None:
        if pr["status"] not in ACTIVE:
            raise ValueError(f"payment request {pr['payment_request_id']} is {pr['status']}, not active")

    def _pay(self, payment_request_id: str, amount: float | None, currency: str | None) -> dict:
        with self._lock:
            pr = self._pr(payment_request_id)
            self._require_active(pr)
            paid = pr.get("request_amount") if amount is None else amount
            payment = self._new_payment(pr, paid, currency or pr["currency"], SUCCEEDED, None)
            if pr["type"] != "REUSABLE_PAYMENT_CODE":
                pr["status"] = SUCCEEDED
            pr["latest_payment_id"] = payment["payment_id"]
            pr["updated"] = payment["updated"]
            return copy.deepcopy(payment)

    def _payment_object(self, pr: dict, amount: Any, currency: str, status: str, failure_code: str | None) -> dict:
        now = _iso(_now())
        payment = {
            "payment_id": f"py-{uuid.uuid4()}",
            "business_id": self.business_id,
            "reference_id": pr["reference_id"],
            "payment_request_id": pr["payment_request_id"],
            "type": pr["type"],
            "country": pr["country"],
            "currency": currency,
            "request_amount": amount,
            "capture_method": pr["capture_method"],
            "channel_code": pr["channel_code"],
            "channel_properties": copy.deepcopy(pr["channel_properties"]),
            "status": status,
            "payment_details": self._payment_details(pr),
            "created": now,
            "updated": now,
        }
        if status == SUCCEEDED:
            payment["captures"] = [{"capture_id": f"cptr-{uuid.uuid4()}", "capture_amount": amount,
                                    "capture_timestamp": now}]
        if failure_code:
            payment["failure_code"] = failure_code
        for optional in ("customer_id", "description", "metadata"):
            if optional in pr:
                payment[optional] = copy.deepcopy(pr[optional])
        return payment

    def _new_payment(self, pr: dict, amount: Any, currency: str, status: str, failure_code: str | None) -> dict:
        payment = self._payment_object(pr, amount, currency, status, failure_code)
        self._internal[pr["payment_request_id"]]["payments"][payment["payment_id"]] = payment
        return payment

    @staticmethod
    def _payment_details(pr: dict) -> dict:
        # Field names from Payments_API_PaymentDetails; values invented.
        kind = CHANNELS[pr["channel_code"]].kind
        if kind == "VA":
            return {"payer_name": pr["channel_properties"].get("display_name", ""),
                    "issuer_name": pr["channel_code"].removesuffix("_VIRTUAL_ACCOUNT"),
                    "receipt_id": str(random.randint(10**9, 10**10 - 1))}
        if kind == "QR":
            return {"issuer_name": "GOPAY", "receipt_id": str(random.randint(10**9, 10**10 - 1))}
        return {"issuer_name": pr["channel_code"], "receipt_id": str(random.randint(10**9, 10**10 - 1))}

    # ----------------------------------------------------------------- internals: webhooks

    def _deliver(self, event: str, data: dict, *, token: Any = None, webhook_id: str | None = None,
                 parallel: int | None = None, url: str | None = None) -> int | list[int]:
        target = url or self.webhook_url
        if not target:
            raise RuntimeError("XenditServer.webhook_url is not set")
        envelope = {"event": event, "business_id": self.business_id, "created": _iso(_now()), "data": data,
                    "api_version": "v3"}
        body = json.dumps(envelope).encode()
        webhook_id = webhook_id or str(uuid.uuid4())  # GUESS: the id's format is not documented
        headers = {"Content-Type": "application/json", "webhook-id": webhook_id}
        token = self.callback_token if token is None else token
        if token is not NO_TOKEN:
            headers["x-callback-token"] = token
        return self._post(event, webhook_id, target, headers, body, parallel)

    def _post(self, event: str, webhook_id: str, url: str, headers: dict[str, str], body: bytes,
              parallel: int | None) -> int | list[int]:
        def send_once() -> int:
            response = http.post(url, data=body, headers=headers, timeout=self.webhook_timeout)
            with self._lock:
                self._deliveries.append(Delivery(event, webhook_id, url, dict(headers), body, response.status_code))
            return response.status_code

        if parallel is None:
            return send_once()
        barrier = threading.Barrier(parallel)
        statuses: list[Any] = [None] * parallel

        def worker(index: int) -> None:
            barrier.wait()
            try:
                statuses[index] = send_once()
            except Exception as exc:  # noqa: BLE001 (reported below)
                statuses[index] = exc

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(parallel)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        errors = [status for status in statuses if isinstance(status, Exception)]
        if errors:
            raise errors[0]
        return statuses

    def _deliver_later(self, event: str, data: dict) -> None:
        def run() -> None:
            time.sleep(0.05)  # after the simulate response has gone out
            try:
                self._deliver(event, data)
            except Exception:  # noqa: BLE001 (no webhook_url or Astapa down: Xendit just logs it)
                pass

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        self._background.append(thread)

    # ----------------------------------------------------------------- internals: HTTP

    @web.middleware
    async def _middleware(self, request: web.Request, handler) -> web.StreamResponse:
        raw = await request.read()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        which = self._which(request)
        with self._lock:
            self._seen.append(SeenRequest(request.method, request.path,
                                          {k.lower(): v for k, v in request.headers.items()}, parsed))
            hang = self._take(self._hangs, which)
        if hang is not None:
            await asyncio.sleep(hang[1])
        if not request.path.startswith("/v3/"):
            return await handler(request)
        try:
            self._authenticate(request)
            with self._lock:
                failure = self._take(self._failures, which)
            if failure is not None:
                _, status, body = failure
                if body is None:
                    body = _error_body(status)
                if isinstance(body, (dict, list)):
                    return web.json_response(body, status=status)
                return web.Response(body=body if isinstance(body, bytes) else body.encode(), status=status,
                                    content_type="text/html" if isinstance(body, str) else "application/octet-stream")
            if self.require_api_version and request.headers.get("api-version") != API_VERSION:
                # GUESS: the docs list the header (enum 2024-11-11) but do not mark it required.
                raise _ApiError(400, "API_VALIDATION_ERROR", f"api-version header must be {API_VERSION}")
            if request.method == "POST" and raw and parsed is None:
                raise _ApiError(400, "API_VALIDATION_ERROR", "Request body must be a JSON object")
            request[_JSON] = parsed
            return await handler(request)
        except _ApiError as error:
            return web.json_response(_error_body(error.status, error.error_code, error.message), status=error.status)

    @staticmethod
    def _which(request: web.Request) -> str:
        path = request.path.rstrip("/")
        if path == "/v3/payment_requests" and request.method == "POST":
            return "create"
        if path.endswith("/simulate"):
            return "simulate"
        if path.endswith("/cancel"):
            return "cancel"
        if path.startswith("/v3/payment_requests/") and request.method == "GET":
            return "get"
        return "other"

    @staticmethod
    def _take(queue: list, which: str):
        for index, item in enumerate(queue):
            if item[0] in ("any", which):
                return queue.pop(index)
        return None

    def _authenticate(self, request: web.Request) -> None:
        header = request.headers.get("Authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic" or not encoded:
            raise _ApiError(401, "INVALID_API_KEY", "API key format is invalid")
        try:
            username, sep, password = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise _ApiError(401, "INVALID_API_KEY", "API key format is invalid") from None
        if not sep or password != "" or not secrets.compare_digest(username, self.secret_key):
            raise _ApiError(401, "INVALID_API_KEY", "API key is invalid")

    async def _create(self, request: web.Request) -> web.Response:
        body = request[_JSON]
        key = request.headers.get("idempotency-key")
        with self._lock:
            # GUESS: `idempotency-key` is documented for /payment_requests v2 (SDK), not in the v3
            # OpenAPI. Same key -> the same payment request (as it is now), nothing new created.
            if key and key in self._idempotency:
                return web.json_response(copy.deepcopy(self._prs[self._idempotency[key]]), status=201)
            pr = self._build(body)
            self._prs[pr["payment_request_id"]] = pr
            self._internal[pr["payment_request_id"]] = {"idempotency_key": key, "payments": {}}
            if key:
                self._idempotency[key] = pr["payment_request_id"]
            return web.json_response(copy.deepcopy(pr), status=201)

    async def _get(self, request: web.Request) -> web.Response:
        with self._lock:
            pr = self._prs.get(request.match_info["id"])
            if pr is None:
                raise _ApiError(404, "DATA_NOT_FOUND", "ID specified in request cannot be found.")
            return web.json_response(copy.deepcopy(pr))

    async def _simulate(self, request: web.Request) -> web.Response:
        body = request[_JSON] or {}
        if not isinstance(body, dict):
            raise _ApiError(400, "API_VALIDATION_ERROR", "Request body must be a JSON object")
        amount = body.get("amount")
        if amount is not None and (isinstance(amount, bool) or not isinstance(amount, (int, float)) or amount < 0):
            raise _ApiError(400, "API_VALIDATION_ERROR", "amount must be a number")
        pr_id = request.match_info["id"]
        with self._lock:
            pr = self._prs.get(pr_id)
            if pr is None:
                raise _ApiError(404, "DATA_NOT_FOUND", "ID specified in request cannot be found.")
            if pr["status"] not in ACTIVE:
                # GUESS: the simulate docs only list 500; this code is from the cancel endpoint.
                raise _ApiError(400, "INACTIVE_PAYMENT_REQUEST", "Payment request is already inactive.")
        try:
            payload = self._pay(pr_id, amount, None)
        except ValueError:  # paid, expired or canceled meanwhile
            raise _ApiError(400, "INACTIVE_PAYMENT_REQUEST", "Payment request is already inactive.") from None
        self._deliver_later(PAYMENT_CAPTURE, payload)
        return web.json_response({"status": "PENDING", "message": "A simulated payment for the specified payment "
                                  "request id is being processed. You will be informed of the result via a webhook."})

    async def _cancel(self, request: web.Request) -> web.Response:
        with self._lock:
            pr = self._prs.get(request.match_info["id"])
            if pr is None:
                raise _ApiError(404, "DATA_NOT_FOUND", "ID specified in request cannot be found.")
            if pr["status"] not in ACTIVE:
                raise _ApiError(400, "INACTIVE_PAYMENT_REQUEST", "Payment request is already inactive.")
            pr["status"] = CANCELED
            pr["updated"] = _iso(_now())
            return web.json_response(copy.deepcopy(pr))

    async def _checkout_page(self, request: web.Request) -> web.Response:
        pr_id = request.match_info["id"]
        with self._lock:
            known = pr_id in self._prs
        if not known:
            return web.Response(status=404, text="unknown payment request")
        return web.Response(content_type="text/html",
                            text=f"<!doctype html><title>Fake Xendit checkout</title><p>Payment request {pr_id}</p>")

    # ----------------------------------------------------------------- validation + building

    def _build(self, body: Any) -> dict:
        def invalid(message: str, code: str = "API_VALIDATION_ERROR") -> _ApiError:
            return _ApiError(400, code, message)

        if not isinstance(body, dict):
            raise invalid("Request body must be a JSON object")
        kind = body.get("type")
        required = ["reference_id", "type", "country", "currency", "channel_code", "channel_properties"]
        if kind != "REUSABLE_PAYMENT_CODE":
            required.append("request_amount")
        missing = [name for name in required if body.get(name) is None]
        if missing:
            raise invalid(f"{', '.join(missing)} is required")
        if "payment_token_id" in body:
            raise invalid("payment_token_id is not supported by the fake Xendit")
        reference_id = body["reference_id"]
        if not isinstance(reference_id, str) or not 1 <= len(reference_id) <= 255:
            raise invalid("reference_id must be a string of 1 to 255 characters")
        if kind not in TYPES:
            raise invalid(f"type must be one of {', '.join(TYPES)}")
        if body["country"] not in COUNTRIES:
            raise invalid(f"country must be one of {', '.join(COUNTRIES)}")
        currency = body["currency"]
        if not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency):
            raise invalid("currency must be an ISO 4217 code")
        amount = body.get("request_amount")
        if amount is not None and (isinstance(amount, bool) or not isinstance(amount, (int, float)) or amount < 0):
            raise invalid("request_amount must be a number, at least 0")
        capture_method = body.get("capture_method", "AUTOMATIC")
        if capture_method not in ("AUTOMATIC", "MANUAL"):
            raise invalid("capture_method must be AUTOMATIC or MANUAL")
        description = body.get("description")
        if description is not None and (not isinstance(description, str) or not 1 <= len(description) <= 1000):
            raise invalid("description must be a string of 1 to 1000 characters")
        metadata = body.get("metadata")
        if metadata is not None and (not isinstance(metadata, dict) or len(metadata) > 50):
            raise invalid("metadata must be an object of at most 50 keys")
        props = body["channel_properties"]
        if not isinstance(props, dict):
            raise invalid("channel_properties must be an object")

        channel_code = body["channel_code"]
        channel = CHANNELS.get(channel_code) if isinstance(channel_code, str) else None
        if channel is None:
            # GUESS: the error for an unknown or inactive channel is not documented.
            raise invalid(f"channel_code {channel_code!r} is not supported or not activated", "INVALID_VALUE_ERROR")
        if body["country"] != "ID" or currency != "IDR":
            raise invalid(f"{channel_code} only supports country ID and currency IDR", "INVALID_VALUE_ERROR")
        if amount is not None and not channel.min_amount <= amount <= channel.max_amount:
            raise invalid(f"request_amount for {channel_code} must be between {channel.min_amount:.0f} and "
                          f"{channel.max_amount:.0f}", "INVALID_VALUE_ERROR")
        if kind == "REUSABLE_PAYMENT_CODE" and channel.kind not in ("QR", "VA"):
            raise invalid(f"{channel_code} does not support REUSABLE_PAYMENT_CODE", "INVALID_VALUE_ERROR")

        props = copy.deepcopy(props)
        for name in ("success_return_url", "failure_return_url", "cancel_return_url"):
            if name in props:
                self._check_return_url(name, props[name])
        if "expires_at" in props:
            try:
                datetime.fromisoformat(str(props["expires_at"]).replace("Z", "+00:00"))
            except ValueError:
                raise invalid("channel_properties.expires_at must be an ISO 8601 date-time") from None

        pr_id = f"pr-{uuid.uuid4()}"
        if channel.kind == "QR":
            status = ACCEPTING_PAYMENTS if kind == "REUSABLE_PAYMENT_CODE" else REQUIRES_ACTION
            actions = [{"type": "PRESENT_TO_CUSTOMER", "descriptor": "QR_STRING",
                        "value": _qris_string(pr_id, amount if kind != "REUSABLE_PAYMENT_CODE" else None)}]
        elif channel.kind == "REDIRECT_EWALLET":
            # GUESS: which of success/failure_return_url each wallet requires is in the (unreadable)
            # channel-data widget; success_return_url is required here, the others optional.
            if not props.get("success_return_url"):
                raise invalid("channel_properties.success_return_url is required")
            status = REQUIRES_ACTION
            actions = [{"type": "REDIRECT_CUSTOMER", "descriptor": "WEB_URL", "value": f"{self.url}/web/{pr_id}"},
                       {"type": "REDIRECT_CUSTOMER", "descriptor": "DEEPLINK_URL",
                        "value": f"{channel_code.lower()}://pay?payment_request_id={pr_id}"}]
        elif channel.kind == "PUSH_EWALLET":
            number = props.get("account_mobile_number")
            if not number:
                raise invalid("channel_properties.account_mobile_number is required")
            if not isinstance(number, str) or not re.fullmatch(r"\+[1-9][0-9]{7,14}", number):
                raise invalid("channel_properties.account_mobile_number must be in E.164 format, e.g. +628123456789")
            # GUESS: OVO approves by push notification in the app, so nothing to show or open.
            status, actions = REQUIRES_ACTION, []
        else:  # VA
            display_name = props.get("display_name")
            if not isinstance(display_name, str) or not display_name.strip():
                raise invalid("channel_properties.display_name is required")
            number = props.get("virtual_account_number")
            if number is not None and (not isinstance(number, str) or not re.fullmatch(r"[0-9]{6,20}", number)):
                raise invalid("channel_properties.virtual_account_number must be digits")
            number = number or self._va_number(channel)
            # Default expiry as in the create example (created + 48 h).
            props.setdefault("expires_at", _iso(_now() + timedelta(hours=48)))
            # GUESS: the docs disagree (REUSABLE_PAYMENT_CODE VA is ACCEPTING_PAYMENTS in the BRI VA
            # guide, REQUIRES_ACTION in the get/create examples); the BRI guide is followed.
            status = ACCEPTING_PAYMENTS if kind == "REUSABLE_PAYMENT_CODE" else REQUIRES_ACTION
            actions = [{"type": "PRESENT_TO_CUSTOMER", "descriptor": "VIRTUAL_ACCOUNT_NUMBER", "value": number}]

        now = _iso(_now())
        pr: dict[str, Any] = {"business_id": self.business_id, "reference_id": reference_id,
                              "payment_request_id": pr_id}
        if body.get("customer_id"):
            pr["customer_id"] = body["customer_id"]
        elif isinstance(body.get("customer"), dict):
            pr["customer_id"] = f"cust-{uuid.uuid4()}"
        pr.update({"type": kind, "country": body["country"], "currency": currency})
        if amount is not None:
            pr["request_amount"] = amount
        pr.update({"capture_method": capture_method, "channel_code": channel_code, "channel_properties": props,
                   "actions": actions, "status": status})
        for optional in ("description", "metadata", "items", "shipping_information"):
            if body.get(optional) is not None:
                pr[optional] = copy.deepcopy(body[optional])
        pr.update({"created": now, "updated": now})
        return pr

    @staticmethod
    def _check_return_url(name: str, value: Any) -> None:
        # routing-payment-channels: 11..255 characters, must be HTTPS. Plain http is let through for
        # loopback hosts only, so tests can use a local Astapa.
        if not isinstance(value, str) or not 11 <= len(value) <= 255:
            raise _ApiError(400, "API_VALIDATION_ERROR", f"channel_properties.{name} must be 11 to 255 characters")
        parts = urlsplit(value)
        host = parts.hostname or ""
        try:
            loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
            raise _ApiError(400, "API_VALIDATION_ERROR", f"channel_properties.{name} must be an HTTPS URL")

    def _va_number(self, channel: Channel) -> str:
        taken = {action["value"] for pr in self._prs.values() for action in pr["actions"]
                 if action["descriptor"] == "VIRTUAL_ACCOUNT_NUMBER"}
        while True:
            number = channel.va_prefix + "".join(random.choices("0123456789", k=16 - len(channel.va_prefix)))
            if number not in taken:
                return number


def _tlv(tag: str, value: str) -> str:
    return f"{tag}{len(value):02d}{value}"


def _crc16(data: str) -> str:
    crc = 0xFFFF
    for byte in data.encode():
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return f"{crc:04X}"


def _qris_string(pr_id: str, amount: Any) -> str:
    """An EMVCo-shaped QRIS payload (valid TLV and CRC; not a scannable merchant)."""
    parts = [_tlv("00", "01"), _tlv("01", "12" if amount is not None else "11"),
             _tlv("26", _tlv("00", "ID.CO.QRIS.WWW") + _tlv("01", "936000140000000000")),
             _tlv("52", "5999"), _tlv("53", "360")]
    if amount is not None:
        parts.append(_tlv("54", f"{amount:g}" if isinstance(amount, float) else str(amount)))
    parts += [_tlv("58", "ID"), _tlv("59", "FAKE XENDIT"), _tlv("60", "JAKARTA"),
              _tlv("62", _tlv("05", pr_id[3:28]))]
    body = "".join(parts) + "6304"
    return body + _crc16(body)
