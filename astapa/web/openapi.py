"""The OpenAPI 3.1 description of Astapa's HTTP API.

``SPEC`` is served as ``json.dumps(SPEC, indent=2, sort_keys=False) + "\\n"`` at
``GET /openapi.json``; the same text is committed as ``openapi.json`` and a test checks that
the two are equal. Keep this a plain, JSON-serialisable literal: update it whenever an
endpoint, parameter, response or header changes.
"""


# The path parameter of every route of a project's own authorization server.
_PROJECT_ID = {"$ref": "#/components/parameters/ProjectId"}


def _metadata_operation(operation_id: str, summary: str, description: str, project: bool = False) -> dict:
    """A discovery document's operation: the service's (two paths, one content) or a
    project's own authorization server's (four paths, one content)."""
    parameters = [{"$ref": "#/components/parameters/IfNoneMatch"}]
    responses = {
        "200": {"$ref": "#/components/responses/Metadata"},
        "304": {"$ref": "#/components/responses/NotModified"},
    }
    if project:
        parameters.insert(0, _PROJECT_ID)
        responses = {
            "200": {"$ref": "#/components/responses/ProjectMetadata"},
            "304": {"$ref": "#/components/responses/NotModified"},
            "404": {"$ref": "#/components/responses/ProjectNotFound"},
        }
    return {
        "operationId": operation_id,
        "summary": summary,
        "description": description,
        "tags": ["discovery"],
        "parameters": parameters,
        "responses": responses,
    }


def _jwks_operation(operation_id: str, summary: str, description: str, project: bool = False) -> dict:
    """The JWK Set; a project's own authorization server publishes the same keys."""
    return {
        "operationId": operation_id,
        "summary": summary,
        "description": description,
        "tags": ["discovery"],
        "parameters": [*([_PROJECT_ID] if project else []), {"$ref": "#/components/parameters/IfNoneMatch"}],
        "responses": {
            "200": {"$ref": "#/components/responses/JWKS"},
            "304": {"$ref": "#/components/responses/NotModified"},
        },
    }


def _token_operation(operation_id: str, summary: str, description: str, project: bool = False) -> dict:
    """The token endpoint's operation: the service's (two paths) or a project's own."""
    operation = {
        "operationId": operation_id,
        "summary": summary,
        "description": description,
        "tags": ["oauth"],
        "security": [{"clientBasic": []}, {}],
        "requestBody": {"$ref": "#/components/requestBodies/TokenRequest"},
        "responses": {
            "200": {"$ref": "#/components/responses/TokenIssued"},
            "400": {"$ref": "#/components/responses/TokenBadRequest"},
            "401": {"$ref": "#/components/responses/InvalidClient"},
            **({"404": {"$ref": "#/components/responses/ProjectNotFound"}} if project else {}),
            "413": {"$ref": "#/components/responses/PayloadTooLarge"},
            "429": {"$ref": "#/components/responses/Throttled"},
            "503": {"$ref": "#/components/responses/TemporarilyUnavailable"},
        },
    }
    if project:
        operation["parameters"] = [_PROJECT_ID]
    return operation


def _introspect_operation(operation_id: str, summary: str, description: str, project: bool = False) -> dict:
    """Token introspection (RFC 7662): the service's or a project's own."""
    operation = {
        "operationId": operation_id,
        "summary": summary,
        "description": description,
        "tags": ["oauth"],
        "security": [{"clientBasic": []}, {}],
        "requestBody": {"$ref": "#/components/requestBodies/TokenOperationRequest"},
        "responses": {
            "200": {"$ref": "#/components/responses/Introspection"},
            "400": {"$ref": "#/components/responses/BadRequest"},
            "401": {"$ref": "#/components/responses/InvalidClient"},
            **({"404": {"$ref": "#/components/responses/ProjectNotFound"}} if project else {}),
            "413": {"$ref": "#/components/responses/PayloadTooLarge"},
            "429": {"$ref": "#/components/responses/Throttled"},
            "503": {"$ref": "#/components/responses/TemporarilyUnavailable"},
        },
    }
    if project:
        operation["parameters"] = [_PROJECT_ID]
    return operation


def _revoke_operation(operation_id: str, summary: str, description: str, project: bool = False) -> dict:
    """Token revocation (RFC 7009): the service's or a project's own."""
    operation = {
        "operationId": operation_id,
        "summary": summary,
        "description": description,
        "tags": ["oauth"],
        "security": [{"clientBasic": []}, {}],
        "requestBody": {"$ref": "#/components/requestBodies/TokenOperationRequest"},
        "responses": {
            "200": {"description": "Processed (empty body)."},
            "400": {"$ref": "#/components/responses/BadRequest"},
            "401": {"$ref": "#/components/responses/InvalidClient"},
            **({"404": {"$ref": "#/components/responses/ProjectNotFound"}} if project else {}),
            "413": {"$ref": "#/components/responses/PayloadTooLarge"},
            "429": {"$ref": "#/components/responses/Throttled"},
            "503": {"$ref": "#/components/responses/TemporarilyUnavailable"},
        },
    }
    if project:
        operation["parameters"] = [_PROJECT_ID]
    return operation


def _html_response(description: str, headers: dict | None = None) -> dict:
    """A hosted page: HTML, never cached, under the pages' own Content-Security-Policy."""
    return {
        "description": description,
        "headers": {
            "Content-Security-Policy": {"$ref": "#/components/headers/ContentSecurityPolicyPage"},
            "Cache-Control": {"$ref": "#/components/headers/CacheControlNoStore"},
            "Pragma": {"$ref": "#/components/headers/PragmaNoCache"},
            **(headers or {}),
        },
        "content": {"text/html": {"schema": {"type": "string"}}},
    }


def _form_page(description: str, headers: dict | None = None) -> dict:
    """A page holding a form: it sets the CSRF cookie when the browser has none."""
    return _html_response(description, {
        "Set-Cookie": {"$ref": "#/components/headers/SetCsrfCookie"},
        **(headers or {}),
    })


def _redirect_response(description: str, starts_session: bool) -> dict:
    """A 303 back to the client's redirect_uri (RFC 6749 §4.1.2 / §4.1.2.1)."""
    headers = {"Location": {"$ref": "#/components/headers/AuthorizationLocation"}}
    if starts_session:
        headers["Set-Cookie"] = {"$ref": "#/components/headers/SetSessionCookie"}
    return {
        "description": description,
        "headers": {
            **headers,
            "Content-Security-Policy": {"$ref": "#/components/headers/ContentSecurityPolicyPage"},
            "Cache-Control": {"$ref": "#/components/headers/CacheControlNoStore"},
            "Pragma": {"$ref": "#/components/headers/PragmaNoCache"},
        },
    }


# The RFC 6749 §4.1.1 authorization request, as the query of the pages that take it.
_AUTHORIZATION_PARAMETERS = [
    {"$ref": f"#/components/parameters/{name}"}
    for name in ("ClientId", "RedirectUri", "ResponseType", "State", "Scope", "CodeChallenge",
                 "CodeChallengeMethod", "Nonce", "Prompt", "MaxAge", "LoginHint", "Resource")
]


def _authorize_operation(operation_id: str, summary: str, description: str, signs_in: bool,
                         project: bool = False) -> dict:
    """GET of a page that takes an authorization request: sign-in (three paths, and a
    project's own authorization endpoint, whose client_id may be a metadata document's
    URL) or sign-up."""
    parameters = list(_AUTHORIZATION_PARAMETERS)
    if project:
        parameters = [_PROJECT_ID, {"$ref": "#/components/parameters/ProjectClientId"}, *parameters[1:]]
    if signs_in:
        parameters.append({"$ref": "#/components/parameters/SessionCookie"})
    return {
        "operationId": operation_id,
        "summary": summary,
        "description": description,
        "tags": ["pages"],
        "parameters": parameters,
        "responses": {
            "200": {"$ref": "#/components/responses/SignInPage" if signs_in
                    else "#/components/responses/SignUpPage"},
            "303": {"$ref": "#/components/responses/AuthorizationResponse" if signs_in
                    else "#/components/responses/AuthorizationErrorResponse"},
            "400": {"$ref": "#/components/responses/InvalidAuthorizationPage"},
            "503": {"$ref": "#/components/responses/PageUnavailable"},
        },
    }


def _sign_in_operation(operation_id: str, summary: str, description: str, failures: dict,
                       check_inbox: dict | None = None) -> dict:
    """POST of the sign-in or sign-up form; `failures` are the responses only it has, and
    `check_inbox` its 200 ("check your inbox") when it may answer one."""
    return {
        "operationId": operation_id,
        "summary": summary,
        "description": description,
        "tags": ["pages"],
        "parameters": [{"$ref": "#/components/parameters/CsrfCookie"}],
        "requestBody": {"$ref": "#/components/requestBodies/SignInForm"},
        "responses": {
            **({"200": check_inbox} if check_inbox else {}),
            "303": {"$ref": "#/components/responses/SignInFormRedirect"},
            "400": {"$ref": "#/components/responses/InvalidAuthorizationPage"},
            "403": _form_page(
                "CSRF check failed (no or wrong `csrf_token`, no CSRF cookie, or `Origin` / "
                "`Sec-Fetch-Site` say the POST came from another site): the form again, with a "
                "fresh token and \"This form has expired. Please try again.\" Nothing is checked "
                "or recorded."
            ),
            **failures,
            "413": {"$ref": "#/components/responses/PayloadTooLarge"},
            "503": {"$ref": "#/components/responses/PageUnavailable"},
        },
    }


def _email_form_operation(operation_id: str, summary: str, description: str) -> dict:
    """GET of a page that asks for an email address to mail a link to."""
    return {
        "operationId": operation_id,
        "summary": summary,
        "description": description,
        "tags": ["pages"],
        "parameters": list(_AUTHORIZATION_PARAMETERS),
        "responses": {
            "200": {"$ref": "#/components/responses/EmailFormPage"},
            "303": {"$ref": "#/components/responses/AuthorizationErrorResponse"},
            "400": {"$ref": "#/components/responses/InvalidAuthorizationPage"},
            "503": {"$ref": "#/components/responses/PageUnavailable"},
        },
    }


def _ask_for_link_operation(operation_id: str, summary: str, description: str) -> dict:
    """POST of a page that asks for a mailed link: one answer for every address."""
    return {
        "operationId": operation_id,
        "summary": summary,
        "description": description,
        "tags": ["pages"],
        "parameters": [{"$ref": "#/components/parameters/CsrfCookie"}],
        "requestBody": {"$ref": "#/components/requestBodies/EmailForm"},
        "responses": {
            "200": {"$ref": "#/components/responses/CheckInboxPage"},
            "303": {"$ref": "#/components/responses/AuthorizationErrorResponse"},
            "400": _form_page(
                "Either the form again with \"Enter a valid email address.\", or, when "
                "`authorization` names an unknown client or an unregistered, missing or repeated "
                "redirect_uri, the error page of `GET /oauth/authorize`. Nothing is mailed."
            ),
            "403": _form_page(
                "CSRF check failed (no or wrong `csrf_token`, no CSRF cookie, or `Origin` / "
                "`Sec-Fetch-Site` say the POST came from another site): the form again, with a "
                "fresh token and \"This form has expired. Please try again.\" Nothing is mailed "
                "or counted."
            ),
            "413": {"$ref": "#/components/responses/PayloadTooLarge"},
            "429": {"$ref": "#/components/responses/LinkRequestsThrottled"},
            "503": {"$ref": "#/components/responses/PageUnavailable"},
        },
    }


def _link_page_operation(operation_id: str, summary: str, description: str) -> dict:
    """GET (and HEAD) of a mailed link: a page with a button; the link is not used."""
    return {
        "operationId": operation_id,
        "summary": summary,
        "description": description,
        "tags": ["pages"],
        "parameters": [{"$ref": "#/components/parameters/LinkToken"}],
        "responses": {
            "200": {"$ref": "#/components/responses/LinkPage"},
            "303": {"$ref": "#/components/responses/AuthorizationErrorResponse"},
            "400": {"$ref": "#/components/responses/DeadLinkPage"},
            "503": {"$ref": "#/components/responses/PageUnavailable"},
        },
    }


def _use_link_operation(operation_id: str, summary: str, description: str, form: str,
                        failures: dict | None = None) -> dict:
    """POST of a mailed link's page: uses the link and sends the user back with a code."""
    return {
        "operationId": operation_id,
        "summary": summary,
        "description": description,
        "tags": ["pages"],
        "parameters": [{"$ref": "#/components/parameters/CsrfCookie"}],
        "requestBody": {"$ref": f"#/components/requestBodies/{form}"},
        "responses": {
            "200": {"$ref": "#/components/responses/ConsentPage"},
            "303": {"$ref": "#/components/responses/AuthorizationResponse"},
            "400": {"$ref": "#/components/responses/DeadLinkPage"},
            "403": _form_page(
                "CSRF check failed (no or wrong `csrf_token`, no CSRF cookie, or `Origin` / "
                "`Sec-Fetch-Site` say the POST came from another site): the link's page again, "
                "with a fresh token and \"This form has expired. Please try again.\" The link is "
                "not used."
            ),
            **(failures or {}),
            "413": {"$ref": "#/components/responses/PayloadTooLarge"},
            "503": {"$ref": "#/components/responses/PageUnavailable"},
        },
    }


def _userinfo_operation(operation_id: str, summary: str, description: str, project: bool = False) -> dict:
    """The signed-in user, read with their access token: two paths, and a project's own."""
    operation = {
        "operationId": operation_id,
        "summary": summary,
        "description": description,
        "tags": ["users"],
        "security": [{"bearerAccessToken": []}],
        "responses": {
            "200": {"$ref": "#/components/responses/UserInfo"},
            "400": {"$ref": "#/components/responses/TokenInQuery"},
            "401": {"$ref": "#/components/responses/InvalidToken"},
        },
    }
    if project:
        operation["parameters"] = [_PROJECT_ID]
    return operation


def _json_error(description: str, examples: dict[str, tuple[str, str]]) -> dict:
    """An error answer of the management API: `{"error", "error_description"}`, never
    cached; `examples` names each (error, error_description) it may carry."""
    shown = {
        name: {"summary": description_, "value": {"error": error, "error_description": description_}}
        for name, (error, description_) in examples.items()
    }
    return {
        "description": description,
        "headers": {
            "Cache-Control": {"$ref": "#/components/headers/CacheControlNoStore"},
            "Pragma": {"$ref": "#/components/headers/PragmaNoCache"},
        },
        "content": {
            "application/json": {
                "schema": {"$ref": "#/components/schemas/OAuthError"},
                "examples": shown,
            }
        },
    }


def _json_ok(description: str, schema: str, example: dict) -> dict:
    """A success of the management API: JSON, never cached."""
    return {
        "description": description,
        "headers": {
            "Cache-Control": {"$ref": "#/components/headers/CacheControlNoStore"},
            "Pragma": {"$ref": "#/components/headers/PragmaNoCache"},
        },
        "content": {
            "application/json": {
                "schema": {"$ref": f"#/components/schemas/{schema}"},
                "example": example,
            }
        },
    }


# What every JSON body of the management API may be refused for before its fields are read.
_BODY_ERRORS = {
    "not_json": ("invalid_request", "send JSON with Content-Type: application/json"),
    "bad_json": ("invalid_request", "body is not valid JSON"),
    "not_object": ("invalid_request", "the JSON body must be an object"),
    "credentials": ("invalid_request", "client_id and client_secret must be strings"),
    "two_methods": ("invalid_request", "use one client authentication method, not two"),
}


def _management_body(description: str, schema: str, examples: dict) -> dict:
    """A management API request body: a JSON object, client_secret_post credentials allowed."""
    return {
        "description": (
            f"{description} `application/json` only (a non-empty body of another type is "
            "400); `client_id` and `client_secret` may be sent in it instead of HTTP Basic "
            "(not both). Bodies over 64 KiB are rejected with 413."
        ),
        "required": True,
        "content": {
            "application/json": {
                "schema": {"$ref": f"#/components/schemas/{schema}"},
                "examples": examples,
            }
        },
    }


def _management_operation(operation_id: str, summary: str, description: str, responses: dict,
                          parameters: list | None = None, request_body: dict | None = None,
                          of_user: bool = False) -> dict:
    """An operation of the management API: the project's own client only (HTTP Basic, or
    client_secret_post in a JSON body); `of_user` when the path names a user (404)."""
    common = {
        "401": {"$ref": "#/components/responses/InvalidClient"},
        "403": {"$ref": "#/components/responses/ManagementForbidden"},
        "429": {"$ref": "#/components/responses/ManagementThrottled"},
    }
    if of_user:
        common["404"] = {"$ref": "#/components/responses/UserNotFound"}
    if request_body is not None:
        common["413"] = {"$ref": "#/components/responses/PayloadTooLarge"}
        common["503"] = {"$ref": "#/components/responses/ManagementUnavailable"}
    operation = {
        "operationId": operation_id,
        "summary": summary,
        "description": description,
        "tags": ["management"],
        "security": [{"clientBasic": []}, {}] if request_body is not None else [{"clientBasic": []}],
    }
    if parameters:
        operation["parameters"] = parameters
    if request_body is not None:
        operation["requestBody"] = request_body
    merged = {**common, **responses}
    operation["responses"] = {status: merged[status] for status in sorted(merged)}
    return operation


# Examples of the management API's objects.
_PRO_PLAN = {
    "key": "pro",
    "name": "Pro",
    "price": 149000,
    "currency": "IDR",
    "interval": "month",
    "claims": {"max_projects": 20, "support": "priority"},
}
_FREE_PLAN = {"key": "free", "name": "Free", "price": 0, "currency": "IDR", "interval": "once", "claims": {}}
_USER = {
    "sub": "4503599627370497",
    "email": "ada@example.org",
    "email_verified": True,
    "custom_claims": {"max_projects": 20, "support": "priority", "plan": "pro", "team": "research"},
    "created_at": "2026-01-01T09:30:00.123456+00:00",
    "disabled": False,
    "identities": [{"provider": "github", "subject": "583231", "email": "ada@example.org",
                    "linked_at": "2026-01-20T16:42:07.318250+00:00"}],
    "plan_expires_at": "2026-07-01T00:00:00Z",
}
_OTHER_USER = {
    "sub": "4503599627370498",
    "email": "grace@example.org",
    "email_verified": False,
    "custom_claims": {"plan": "free"},
    "created_at": "2026-01-02T14:05:11.004210+00:00",
    "disabled": False,
    "identities": [],
}

# Examples of payments (see `Payment`), their fields in the order the server writes them.
_PAYMENT_FIELDS = (
    "payment_id", "end_user_id", "status", "amount", "currency", "plan", "method", "expires_at",
    "created_at", "qr_string", "checkout_url", "virtual_account_number", "bank_code",
    "plan_assigned", "plan_period_end", "amount_mismatch",
)


def _payment(**fields) -> dict:
    base = {
        "payment_id": "pay_5f2c8e1a9b3d4c6e7f8a9b0c",
        "end_user_id": "4503599627370497",
        "status": "PENDING",
        "amount": 149000,
        "currency": "IDR",
        "plan": "pro",
        "expires_at": "2026-03-01T11:15:30.250113Z",
        "created_at": "2026-03-01T10:15:30.250113Z",
    }
    merged = {**base, **fields}
    return {name: merged[name] for name in _PAYMENT_FIELDS if name in merged}


_QRIS_PAYMENT = _payment(
    method="QRIS", qr_string="00020101021226590013ID.CO.QRIS.WWW0215ID10243136428...6304A1B2")
_GOPAY_PAYMENT = _payment(
    payment_id="pay_0d9e8f7a6b5c4d3e2f1a0b9c", method="GOPAY",
    checkout_url="https://pay.example/gopay/pr-1fdaf346-dd2e-4b6c-b938-124c7167a822")
_OVO_PAYMENT = _payment(payment_id="pay_7c6b5a4f3e2d1c0b9a8f7e6d", method="OVO")
_VA_PAYMENT = _payment(
    payment_id="pay_a1b2c3d4e5f60718293a4b5c", method="BANK_TRANSFER",
    expires_at="2026-02-01T10:00:00.512310Z", created_at="2026-02-01T09:00:00.512310Z",
    virtual_account_number="8808999912345678", bank_code="BCA")
_SETTLED_PAYMENT = _payment(**{
    **_VA_PAYMENT, "status": "SUCCEEDED", "plan_assigned": True,
    "plan_period_end": "2026-03-01T09:03:12.104551Z",
})
_FAILED_PAYMENT = _payment(
    payment_id="pay_9f8e7d6c5b4a39281706f5e4", status="FAILED", method="QRIS",
    expires_at="2026-01-20T09:10:00.000000Z", created_at="2026-01-20T08:10:00.000000Z")


def _payment_answer(description: str, examples: dict[str, tuple[str, dict]]) -> dict:
    """A payment as the management API answers it: JSON, never cached; `examples` names
    each (summary, payment) shown."""
    return {
        "description": description,
        "headers": {
            "Cache-Control": {"$ref": "#/components/headers/CacheControlNoStore"},
            "Pragma": {"$ref": "#/components/headers/PragmaNoCache"},
        },
        "content": {
            "application/json": {
                "schema": {"$ref": "#/components/schemas/Payment"},
                "examples": {name: {"summary": summary, "value": value}
                             for name, (summary, value) in examples.items()},
            }
        },
    }


def _webhook_example(event: str, status: str, payment: dict) -> dict:
    """A Xendit Payments API v3 webhook about one of our payments."""
    data = {
        "payment_request_id": "pr-1fdaf346-dd2e-4b6c-b938-124c7167a822",
        "reference_id": payment["payment_id"],
        "business_id": "5f27a14a9bf05c73dd040bc8",
        "type": "PAY",
        "country": "ID",
        "currency": payment["currency"],
        "request_amount": payment["amount"],
        "channel_code": "QRIS",
        "status": status,
        "created": "2026-03-01T10:15:31.004Z",
        "updated": "2026-03-01T10:17:02.518Z",
    }
    if event == "payment.capture":
        data["payment_id"] = "py-1402feb0-bb79-47ae-9d1e-e69394d3949c"
        data["captures"] = [{
            "capture_id": "py-1402feb0-bb79-47ae-9d1e-e69394d3949c",
            "capture_amount": payment["amount"],
            "capture_timestamp": "2026-03-01T10:17:02.518Z",
        }]
    elif event == "payment.failure":
        data["payment_id"] = "py-1402feb0-bb79-47ae-9d1e-e69394d3949c"
        data["failure_code"] = "INSUFFICIENT_BALANCE"
    return {
        "event": event,
        "business_id": "5f27a14a9bf05c73dd040bc8",
        "created": "2026-03-01T10:17:02.611Z",
        "api_version": "v3",
        "data": data,
    }


SPEC: dict = {
    "openapi": "3.1.0",
    "info": {
        "title": "Astapa",
        "version": "0.1.0",
        "description": (
            "Astapa is an event-sourced OAuth 2.0 authorization server: every state change is "
            "an event appended to an event store, and read models are projections of that log. "
            "This document describes its HTTP API as it exists now: health, discovery "
            "(RFC 8414 / OpenID Connect), the JWK Set, the authorization endpoint and the "
            "hosted sign-in, sign-up and sign-out pages (RFC 6749 §4.1 with PKCE, RFC 7636), "
            "sign-in with Google or GitHub (the hosted forms' \"Continue with\" buttons and "
            "the page the provider sends the browser back to), "
            "the pages that ask for and open mailed links (password reset, sign-in links, "
            "email verification), "
            "the token endpoint (authorization_code, refresh_token and client_credentials "
            "grants), token introspection (RFC 7662), token revocation (RFC 7009), OpenID "
            "Connect UserInfo, revoking every token of one user, and the management API a "
            "project's backend calls with the project's own client: the project's plans, its "
            "users (look-up, listing, disabling), their custom claims and plan, each user's "
            "history, and payments for a plan through Xendit (QRIS, GoPay, OVO, bank transfer "
            "virtual accounts), with the webhook Xendit calls when a payment succeeds, fails or "
            "expires; a succeeded payment puts the user on its plan. "
            "Each project also has its own authorization server, with the issuer "
            "`<issuer>/projects/{project_id}` (for clients that discover it from a protected "
            "resource, as MCP clients do): its metadata (RFC 8414 and OpenID Connect discovery, "
            "at the well-known URIs both ways of building them give), the same endpoints under "
            "its issuer, Client ID Metadata Documents as client ids, and, for projects that allow "
            "it, dynamic client registration (RFC 7591). Such third-party clients must use PKCE "
            "and get a code only once the user allowed them on a consent page. "
            "Clients authenticate with client_secret_basic (HTTP Basic), client_secret_post "
            "(client_id and client_secret in the request body), private_key_jwt (a JWT signed "
            "with the client's own key, RFC 7523), or, public clients, with their client_id "
            "alone (`none`); tokens may be bound to a protected resource (RFC 8707), which a "
            "project may restrict to the resources it registered. "
            "`astapa serve --demo` also serves a small demo client under `/demo` "
            "(`GET /demo`, `GET /demo/start`, `GET /demo/callback`, `POST /demo/refresh`) to try "
            "the flow by hand; those routes exist only in that mode and are not described here."
        ),
    },
    "servers": [{"url": "/"}],
    "tags": [
        {"name": "health", "description": "Readiness of the service."},
        {
            "name": "discovery",
            "description": (
                "Authorization server metadata and signing keys: the service's, and each "
                "project's own authorization server's."
            ),
        },
        {
            "name": "oauth",
            "description": (
                "OAuth 2.0 token, introspection and revocation endpoints, the service's and each "
                "project's own, and dynamic client registration (RFC 7591) at a project's own "
                "authorization server."
            ),
        },
        {
            "name": "pages",
            "description": (
                "Hosted HTML pages for browsers: the authorization endpoint (the service's and "
                "each project's own), sign-in, sign-up and sign-out forms, the consent page of "
                "third-party clients, the return from Google and GitHub sign-in, the pages that "
                "ask for and open mailed links (password reset, sign-in links, email "
                "verification) (no JavaScript), and their stylesheet."
            ),
        },
        {
            "name": "users",
            "description": "The signed-in user (OpenID Connect UserInfo) and revoking a user's tokens.",
        },
        {
            "name": "management",
            "description": (
                "Server to server, with the project's own client (HTTP Basic, or `client_id` "
                "and `client_secret` in a JSON body); a machine client is refused with 403. "
                "Only the caller's project's plans and users exist for it: another project's "
                "user is 404. JSON in and out, never cached; errors are `{\"error\", "
                "\"error_description\"}`: `invalid_request` (400), `invalid_client` (401), "
                "`access_denied` (403), `not_found` (404), `conflict` (409), "
                "`payment_provider_error` (502, payments only), `temporarily_unavailable` "
                "(503). Every change is an event naming the client that made it (see a user's "
                "history)."
            ),
        },
        {
            "name": "webhooks",
            "description": (
                "Callbacks from Xendit (its Payments API v3 webhooks), authenticated by "
                "Xendit's callback token, not by a client."
            ),
        },
        {"name": "meta", "description": "This API description."},
    ],
    "paths": {
        "/healthz": {
            "get": {
                "operationId": "getHealth",
                "summary": "Readiness check",
                "description": (
                    "Answers 200 once the server is ready to take traffic, and 503 before that."
                ),
                "tags": ["health"],
                "responses": {
                    "200": {
                        "description": "The server is ready.",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/Health"},
                                "example": {"status": "ok"},
                            }
                        },
                    },
                    "503": {
                        "description": "The server is still starting.",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/Health"},
                                "example": {"status": "starting"},
                            }
                        },
                    },
                },
            }
        },
        "/.well-known/openid-configuration": {"get": _metadata_operation(
            "getOpenIdConfiguration",
            "OpenID Connect discovery document",
            "The issuer's metadata in the OpenID Connect Discovery 1.0 format. Same "
            "content as `/.well-known/oauth-authorization-server`.",
        )},
        "/.well-known/oauth-authorization-server": {"get": _metadata_operation(
            "getOAuthAuthorizationServerMetadata",
            "OAuth 2.0 authorization server metadata (RFC 8414)",
            "The issuer's metadata as defined by RFC 8414. Same content as "
            "`/.well-known/openid-configuration`.",
        )},
        "/.well-known/jwks.json": {"get": _jwks_operation(
            "getJwks",
            "JSON Web Key Set",
            "The public keys that verify access tokens. Every `kid` found in an access "
            "token's header is listed here; after a key rotation the previous key stays "
            "listed until every token it signed has expired. Every project's own "
            "authorization server publishes the same keys.",
        )},
        "/oauth/token": {"post": _token_operation(
            "postOAuthToken",
            "Obtain an access token",
            "The OAuth 2.0 token endpoint (RFC 6749 §3.2). The client authenticates as it "
            "was registered to: with a secret, by HTTP Basic (`client_secret_basic`) or with "
            "`client_id` and `client_secret` in the body (`client_secret_post`); with a JWT "
            "signed by its own key (`private_key_jwt`, RFC 7523: `client_assertion_type` and "
            "`client_assertion`, see `TokenRequest`); or, a public client (`none`), with its "
            "`client_id` alone. One method per request (two: `invalid_request`). A grant type "
            "the client may not use is `unauthorized_client` (a project's own client has all "
            "three; machine clients `client_credentials`; clients of the code flow created with "
            "`--redirect-uri`, registered clients and metadata-document clients "
            "`authorization_code` and `refresh_token`). Grants:\n\n"
            "- `authorization_code` (RFC 6749 §4.1.3): `code`, `redirect_uri` (exactly the one "
            "of the authorization request) and, when the request had a `code_challenge`, the "
            "`code_verifier` (RFC 7636; a verifier without a challenge is refused too). A code "
            "is single-use and lives 60 seconds by default. An unknown, expired, used or "
            "mismatched code is `invalid_grant`; a wrong client, `redirect_uri` or verifier "
            "also burns the code, and presenting a used code again revokes the refresh token "
            "family its first redemption started. An optional `resource` (RFC 8707) must name "
            "the authorization request's resource (`invalid_target` otherwise).\n"
            "- `refresh_token` (RFC 6749 §6): `refresh_token` and an optional `scope` that "
            "may narrow the granted scopes, never widen them (`invalid_scope`). Every use "
            "rotates the token: the response carries a new refresh token and the one presented "
            "stops working. Presenting a rotated token again is reuse: it revokes the whole "
            "family (every refresh token of that sign-in, and access tokens issued from it are "
            "no longer accepted by UserInfo) and answers `invalid_grant`; of two concurrent "
            "refreshes with one token, one wins and the other is treated as reuse. A refresh "
            "token expires after 30 days unused or 90 days after sign-in (defaults), and stops "
            "working when the user is disabled or their tokens are revoked "
            "(`POST /api/platform/revoke`); a token of another client is `invalid_grant` "
            "without revoking anything. An optional `resource` must name the sign-in's "
            "resource (`invalid_target` otherwise).\n"
            "- `client_credentials` (RFC 6749 §4.4): `scope` and `resource` (RFC 8707); no "
            "refresh token.\n\n"
            "The two user grants answer with `access_token`, `refresh_token` and, when the "
            "granted scope includes `openid`, an `id_token`; the user's claims are read as "
            "they are at each grant. When the client's project registered resources "
            "(`astapa resource add`), `resource` must be one of them at every grant. Tokens "
            "issued here carry the service's issuer as `iss`; a project's own authorization "
            "server has its own token endpoint (`POST /projects/{project_id}/oauth/token`). "
            "`POST /api/platform/token` is an alias.",
        )},
        "/api/platform/token": {"post": _token_operation(
            "postPlatformToken",
            "Obtain an access token (alias of /oauth/token)",
            "Alias of `POST /oauth/token`: same parameters, responses and errors. "
            "The JSON body shown in the docs is accepted as is, e.g. "
            '`{"grant_type": "client_credentials", "client_id": "...", '
            '"client_secret": "..."}` or `{"grant_type": "refresh_token", "refresh_token": '
            '"...", "client_id": "...", "client_secret": "..."}` with `Content-Type: '
            "application/json`; `application/x-www-form-urlencoded` and HTTP Basic work too.",
        )},
        "/oauth/introspect": {"post": _introspect_operation(
            "introspectToken",
            "Introspect a token (RFC 7662)",
            "Reports whether a token is active and, if so, its claims. Any confidential "
            "client of the project the token was issued in may ask; it authenticates as at the "
            "token endpoint (HTTP Basic, `client_id`/`client_secret` in the body, or a "
            "private_key_jwt `client_assertion`); a public client (`none`) is "
            "`invalid_client`. Failed client authentications are counted and throttled as at "
            "the token endpoint (429). An expired, revoked, unknown, malformed or foreign "
            'token gets `{"active": false}`; tokens of the project\'s own authorization server '
            "(`iss` `<issuer>/projects/{project_id}`) are introspected here too.",
        )},
        "/oauth/revoke": {"post": _revoke_operation(
            "revokeToken",
            "Revoke a token (RFC 7009)",
            "Revokes a token issued to the authenticated client. A refresh token revokes "
            "its whole family (sign-in): the refresh token stops working at once, and "
            "the family's access tokens are refused by userinfo and reported inactive "
            "by introspection. An access token is revoked alone. `token_type_hint` is "
            "only a hint: both kinds are tried. Answers 200 with an empty body "
            "for any token: unknown, malformed, already revoked, or issued to another "
            "client (which is not revoked). The client authenticates as at the token endpoint "
            "(HTTP Basic, `client_id`/`client_secret` in the body, or a private_key_jwt "
            "`client_assertion`); a public client (`none`, RFC 7009 §2.1) sends only its "
            "`client_id`. Failed client authentications are counted and throttled as at the "
            "token endpoint (429). Answers once the read models reflect the revocation (503 "
            "when they lag).",
        )},
        "/oauth/authorize": {"get": _authorize_operation(
            "authorize",
            "Authorization endpoint (RFC 6749 §4.1.1)",
            "Starts the authorization code flow in the user's browser. The request is checked "
            "in the order of RFC 6749 §4.1.2.1: anything wrong with `client_id` or "
            "`redirect_uri` (unknown client, `redirect_uri` missing, repeated or not registered "
            "byte for byte (a public client's loopback `http` redirect URI with any port, RFC "
            "8252 §7.3), query over 16 KiB or malformed) is a 400 error page and is never "
            "redirected; once both are valid, every other error goes back to `redirect_uri` "
            "with `error`, `error_description`, `state` and `iss`. Parameters sent without a "
            "value count as omitted; no parameter may repeat (`invalid_request`), and more "
            "than one `resource` is `invalid_target`. Public clients and third-party clients "
            "(registered with RFC 7591 or known by a Client ID Metadata Document) must send "
            "PKCE with S256 (`invalid_request` without).\n\n"
            "If the browser has a live session (cookie `astapa_session`) of the client's "
            "project, `prompt` does not contain `login`, `max_age` is not 0, the sign-in is "
            "not older than `max_age` seconds and the user is still enabled with their tokens "
            "not revoked (and, when the project requires a verified email address, the "
            "address is verified), the user is sent straight back with a code (303). "
            "Otherwise `prompt=none` answers `login_required` (303; `consent_required` when a "
            "third-party client still needs the user's consent), and any other request "
            "gets the sign-in form (200), whose links lead to the sign-up form and to "
            "`GET /auth/forgot-password`. "
            "A third-party client gets no code until the signed-in user allowed it what it "
            "asks for: where the code would be issued (here with a reusable session, or after "
            "signing in, signing up or using a mailed link) the answer is the consent page "
            "(200, see `ConsentPage`), answered with `POST /auth/consent`. The answer is "
            "remembered per user and client: asking again for scopes already allowed goes "
            "straight back, asking for more (or `prompt=consent`) asks again. "
            "`GET /auth/login` is the same page.",
            signs_in=True,
        )},
        "/auth/login": {
            "get": _authorize_operation(
                "showLogin",
                "Sign-in page (same as /oauth/authorize)",
                "Same handler, parameters and responses as `GET /oauth/authorize`: the sign-in "
                "form for an authorization request, or straight back to the client when a "
                "session can be reused.",
                signs_in=True,
            ),
            "post": _sign_in_operation(
                "submitLogin",
                "Submit the sign-in form",
                "Checks the form's `authorization` (the original query string, validated again "
                "as in `GET /oauth/authorize`: a bad client or redirect_uri is the 400 page, "
                "other errors go back to the client), then the CSRF token (403), then "
                "`action`: `cancel` sends the user back with `access_denied`.\n\n"
                "`action=magic_link` (the \"Email me a sign-in link\" button) reads only `email` "
                "and asks for a sign-in link exactly as `POST /auth/forgot-password` asks for a "
                "reset link: the same \"check your inbox\" page (200) whether or not the address "
                "has an account. When it has one that is not disabled, a link to "
                "`GET /auth/magic-link` is mailed (single use, valid 15 minutes), within the "
                "per-address limit of action mails (default 5 an hour; past it nothing is sent "
                "and the answer is the same). Link requests are counted per client IP (429).\n\n"
                "`action=google` or `action=github` (the \"Continue with Google\" and \"Continue "
                "with GitHub\" buttons, shown for the providers turned on for the project with "
                "`astapa project providers`) starts sign-in with that provider; no password is "
                "read (`email` only refills the form on an error). The answer is a 303 to the "
                "provider's authorization page with a fresh `state`, PKCE S256, for Google a "
                "`nonce`, the authorization request's `login_hint` (Google's `login_hint`, "
                "GitHub's `login`) and `redirect_uri` `<issuer>/auth/callback/<provider>`, and it "
                "sets the binding cookie `astapa_external`: the provider must send the browser "
                "back to `GET /auth/callback/{provider}`, in this browser, within 10 minutes. A "
                "provider not turned on for the project, or whose client secret is missing on "
                "this server, is the form again (400); Google not answering (its discovery "
                "document) is the form again (502).\n\n"
                "Otherwise the password is checked (bcrypt, once, also for an unknown email). On "
                "success a new session starts (cookie `astapa_session`, or "
                "`__Host-astapa_session` when the issuer is https) and the user goes back to "
                "`redirect_uri` with a code (303). When the project requires a verified email "
                "address (`astapa project create --require-verified-email`) and the user's is "
                "not verified yet, the right password starts no session: the answer is the "
                "\"check your inbox\" page (200) and the verification link (`GET "
                "/auth/verify-email`) is mailed again, within the per-address limit; sign-in "
                "waits until the address is verified. Failures are counted per account and per "
                "client IP (defaults: 10 and 100 in 15 minutes); past the limit every attempt is "
                "refused with 429 until the window moves on, a correct password included.\n\n"
                "`link_offer` (a hidden field, only in the form `GET /auth/callback/{provider}` "
                "shows when the provider's address belongs to an account that must sign in to "
                "link) is the `state` of that Google or GitHub sign-in. When the password is "
                "right and the offer is for this very account, was made in this browser (cookie "
                "`astapa_external`) less than 10 minutes ago and was not used yet, the identity "
                "is linked in the same save as the sign-in (`User.IdentityLinked`, `how` "
                "`signed_in`): from then on Continue with that provider signs this user in. An "
                "account whose address is not verified is linked only when the provider vouched "
                "for that same address, which verifies it and ends every refresh token and "
                "session the account had before (`User.TokensRevoked`, reason `email "
                "verified`). Any other offer (expired, used, made for another account or in "
                "another browser, unknown, or an identity already linked) is ignored: a plain "
                "sign-in that links nothing. A wrong password is the form again (401), without "
                "the offer.",
                {
                    "400": _form_page(
                        "Either, with `action=magic_link`, the \"Sign in with a link\" form (it "
                        "posts back here with `action=magic_link`) with \"Enter a valid email "
                        "address.\", or, with `action=google` or `action=github`, the form with "
                        "\"<Provider> sign-in isn't set up for this app. Sign in another way.\" "
                        "(the provider is not turned on for the project, or its client secret is "
                        "missing), or, when `authorization` names an unknown client or an "
                        "unregistered, missing or repeated redirect_uri, the error page of "
                        "`GET /oauth/authorize`."
                    ),
                    "401": _form_page(
                        "Wrong email or password: the form again with \"Email or password is "
                        "incorrect.\" The same answer for an unknown email and a disabled account."
                    ),
                    "429": _form_page(
                        "Too many failed attempts for this account or from this IP address: the "
                        "form again, with a message and `Retry-After`. With `action=magic_link`: "
                        "too many link requests from this IP address (see "
                        "`POST /auth/forgot-password`), the \"Sign in with a link\" form with "
                        "\"Too many requests. Try again in N minutes.\" and `Retry-After`; "
                        "nothing is mailed. With `action=google` or `action=github`: more than "
                        "300 provider sign-ins started from this IP address in an hour, the form "
                        "with \"Too many attempts. Try again in N minutes.\".",
                        {"Retry-After": {"$ref": "#/components/headers/RetryAfter"}},
                    ),
                    "502": {"$ref": "#/components/responses/ProviderUnavailableForm"},
                },
                check_inbox=_form_page(
                    "\"Check your inbox\", with a link back to the sign-in page. After "
                    "`action=magic_link`: \"If an account exists for <email>, we have sent it a "
                    "sign-in link. The link works for 15 minutes.\", the same for a known, "
                    "unknown or disabled address and past the per-address limit. After the right "
                    "password of a user whose project requires a verified address they have not "
                    "verified: \"We have sent a link to <email>. Open it to verify your address "
                    "and continue.\", with a \"Send the link again\" button that posts to "
                    "`POST /auth/resend-verification`."
                ),
            ),
        },
        "/auth/signup": {
            "get": _authorize_operation(
                "showSignup",
                "Sign-up page",
                "The sign-up form for an authorization request: same query parameters as "
                "`GET /oauth/authorize`, validated the same way (a bad client or redirect_uri "
                "is the 400 page, other errors go back to the client). It never reuses a "
                "session and ignores `prompt` and `max_age`; `login_hint` pre-fills the email.",
                signs_in=False,
            ),
            "post": _sign_in_operation(
                "submitSignup",
                "Submit the sign-up form",
                "Checks `authorization`, the CSRF token and `action` as `POST /auth/login` "
                "does (`action=google` or `action=github` starts sign-in with that provider "
                "exactly as there, with the same answers; on the way back the provider's account "
                "signs in, is linked or makes a new account as `GET /auth/callback/{provider}` "
                "describes), then the email (normalised: NFC, domain lower-cased and "
                "IDNA-encoded; unique per project, case-insensitively) and the password (8 to 1024 "
                "characters, not one of the most common passwords). Creates the account and "
                "mails it a link to verify its address (`GET /auth/verify-email`, single use, "
                "valid 24 hours).\n\n"
                "Unless the project requires a verified email address, the same save starts a "
                "session (cookie `astapa_session`, or `__Host-astapa_session` when the issuer is "
                "https) and issues a code, and the user goes back to `redirect_uri` with the code "
                "(303); the account can sign in as soon as this answers. When the project "
                "requires one (`astapa project create --require-verified-email`), no session "
                "starts: the answer is the \"check your inbox\" page (200) and sign-in waits "
                "until the address is verified. An address that already has an account then "
                "gets the same page (not 409, so sign-up does not tell which addresses have "
                "accounts), and its owner is mailed that someone tried to sign up with it "
                "(within the per-address limit of action mails). Sign-up is not throttled.",
                {
                    "400": _form_page(
                        "Either the sign-up form again with the problem (\"Enter a valid email "
                        "address.\", \"Use at least 8 characters.\", \"Use at most 1024 "
                        "characters.\", \"This password is one of the most common ones. Choose "
                        "another.\"), or, with `action=google` or `action=github`, the form "
                        "with \"<Provider> sign-in isn't set up for this app. Sign in another "
                        "way.\", or, when `authorization` names an unknown client or an "
                        "unregistered, missing or repeated redirect_uri, the error page of "
                        "`GET /oauth/authorize`."
                    ),
                    "409": _form_page(
                        "An account with this email already exists in the project (which does "
                        "not require a verified email address): the form again, suggesting to "
                        "sign in instead."
                    ),
                    "429": _form_page(
                        "With `action=google` or `action=github`: more than 300 provider sign-ins "
                        "started from this IP address in an hour; the form with \"Too many "
                        "attempts. Try again in N minutes.\" and `Retry-After`.",
                        {"Retry-After": {"$ref": "#/components/headers/RetryAfter"}},
                    ),
                    "502": {"$ref": "#/components/responses/ProviderUnavailableForm"},
                },
                check_inbox=_form_page(
                    "Only when the project requires a verified email address: \"Check your "
                    "inbox\" (\"We have sent a link to <email>. Open it to verify your address "
                    "and continue.\"), with a \"Send the link again\" button that posts to "
                    "`POST /auth/resend-verification` and a link back to the sign-in page. The "
                    "same page for a new account and for an address that already has one."
                ),
            ),
        },
        "/auth/forgot-password": {
            "get": _email_form_operation(
                "showForgotPassword",
                "Forgot-password page",
                "The \"Reset your password\" page for an authorization request: an email field "
                "and a \"Send reset link\" button that posts to `POST /auth/forgot-password`. "
                "The sign-in page links here (\"Forgot password?\") with its own query. Same "
                "query parameters as `GET /oauth/authorize`, validated the same way (a bad "
                "client or redirect_uri is the 400 page, other errors go back to the client). "
                "It never reuses a session and ignores `prompt` and `max_age`; `login_hint` "
                "pre-fills the email.",
            ),
            "post": _ask_for_link_operation(
                "submitForgotPassword",
                "Ask for a password reset link",
                "Checks the form's `authorization` (the original query string, validated again "
                "as in `GET /oauth/authorize`: a bad client or redirect_uri is the 400 page, "
                "other errors go back to the client), then the CSRF token (403), then the email "
                "(400). The answer is the same \"check your inbox\" page (200) whether or not "
                "the address has an account, so it does not tell which addresses have one: "
                "what is mailed is decided after the page is answered.\n\n"
                "When the address has an account that is not disabled, a link to "
                "`GET /auth/reset-password` is mailed: single use, valid 15 minutes, leading "
                "back into this authorization request, and replacing any earlier reset link of "
                "the user (asking again for the same authorization request while the current "
                "link has more than half its lifetime left mails that link again). Action mails "
                "are limited per address (default 5 an hour, `ASTAPA_MAILS_PER_ADDRESS_PER_HOUR`, "
                "counted whether or not the address has an account); past the limit nothing is "
                "sent and the answer is the same. Requests are also counted per client IP "
                "(default 60 an hour, together with `POST /auth/resend-verification` and "
                "`action=magic_link` of `POST /auth/login`); past that, 429 with `Retry-After`.",
            ),
        },
        "/auth/reset-password": {
            "get": _link_page_operation(
                "showResetPassword",
                "Password reset link",
                "Opened from the password reset mail (`<issuer>/auth/reset-password?token=…`). "
                "Shows \"Choose a new password\" for the account's email and the client, with a "
                "new-password field and a \"Set new password\" button that posts to "
                "`POST /auth/reset-password`. Opening the link (GET or HEAD) never uses it, so "
                "mail scanners that fetch links cannot. A link that could not be used (missing, "
                "malformed or unknown token, expired, already used, replaced by a newer reset "
                "link, or of a disabled account) is the 400 page.",
            ),
            "post": _use_link_operation(
                "submitResetPassword",
                "Set a new password",
                "Uses a password reset link. The link is checked first (expired, already used, "
                "replaced by a newer reset link, unknown, or of a disabled account: the 400 "
                "page), then the authorization request it was asked from (validated again as "
                "in `GET /oauth/authorize`: a client or redirect_uri no longer valid is the 400 "
                "page, other errors go back to the client), then the CSRF token (403), then the "
                "new password (8 to 1024 characters, not one of the most common passwords: the "
                "page again, 400; the link is not used).\n\n"
                "Then, in one save: the link is used up, the password replaced, every refresh "
                "token and browser session of the user stops working (as with "
                "`POST /api/platform/revoke`), the address is marked verified (the link proved "
                "the mailbox), the user is mailed that their password changed, and a new "
                "session starts (cookie `astapa_session`, or `__Host-astapa_session` when the "
                "issuer is https); failed sign-ins counted for the account are forgotten. The "
                "user is signed in and goes back to the `redirect_uri` of the authorization "
                "request the link was asked from, with `code`, `state` and `iss` (303), in "
                "whichever browser opened the link.",
                "NewPasswordForm",
                {
                    "400": _form_page(
                        "Either \"This link can no longer be used\" (expired, already used, "
                        "replaced by a newer reset link, unknown, or of a disabled account), or "
                        "the page again with the password's problem (\"Use at least 8 "
                        "characters.\", \"Use at most 1024 characters.\", \"This password is one "
                        "of the most common ones. Choose another.\"; the link is not used), or, "
                        "when the link's authorization request names a client or redirect_uri "
                        "that is no longer valid, the error page of `GET /oauth/authorize`."
                    ),
                },
            ),
        },
        "/auth/magic-link": {
            "get": _link_page_operation(
                "showMagicLink",
                "Sign-in link",
                "Opened from the sign-in link mail (`<issuer>/auth/magic-link?token=…`), asked "
                "for with the sign-in page's \"Email me a sign-in link\" (`POST /auth/login` "
                "with `action=magic_link`). Shows \"Sign in to <client>\" (\"Continue as "
                "<email>.\") with a \"Sign in\" button that posts to `POST /auth/magic-link`. "
                "Opening the link (GET or HEAD) never uses it, so mail scanners that fetch "
                "links cannot. A link that could not be used (missing, malformed or unknown "
                "token, expired, already used, replaced by a newer sign-in link, or of a "
                "disabled account) is the 400 page.",
            ),
            "post": _use_link_operation(
                "submitMagicLink",
                "Sign in with a mailed link",
                "Uses a sign-in link, checked as `POST /auth/reset-password` checks its link "
                "(expired, already used, replaced by a newer sign-in link, unknown, or of a "
                "disabled account: the 400 page), then its authorization request, then the "
                "CSRF token (403). In one save the link is used up, the address is marked "
                "verified (the link proved the mailbox; when it was not verified yet, every "
                "refresh token and browser session the user had before stops working, as "
                "whoever signed in before may not own the mailbox) and a new session starts "
                "(cookie "
                "`astapa_session`, or `__Host-astapa_session` when the issuer is https); the "
                "user goes back to the `redirect_uri` of the authorization request the link was "
                "asked from, with `code`, `state` and `iss` (303). Sign-in links are single use "
                "and valid 15 minutes.",
                "LinkForm",
            ),
        },
        "/auth/verify-email": {
            "get": _link_page_operation(
                "showVerifyEmail",
                "Email verification link",
                "Opened from the verification mail (`<issuer>/auth/verify-email?token=…`), sent "
                "at sign-up, at sign-in while a project that requires a verified address waits "
                "for it, and by `POST /auth/resend-verification`. Shows \"Verify your email "
                "address\" (\"Confirm <email> for <client>.\") with a \"Verify email address\" "
                "button that posts to `POST /auth/verify-email`. Opening the link (GET or HEAD) "
                "never uses it, so mail scanners that fetch links cannot. A link that could not "
                "be used (missing, malformed or unknown token, expired, already used, replaced "
                "by a newer verification link, or of a disabled account) is the 400 page.",
            ),
            "post": _use_link_operation(
                "submitVerifyEmail",
                "Verify the email address",
                "Uses a verification link, checked as `POST /auth/reset-password` checks its "
                "link (expired, already used, replaced by a newer verification link, unknown, or "
                "of a disabled account: the 400 page), then its authorization request, then the "
                "CSRF token (403). In one save the link is used up, the address is verified "
                "(tokens issued from now on carry `email_verified: true`, and a project that "
                "requires a verified address lets the user sign in), every refresh token and "
                "browser session the user had before stops working (`User.TokensRevoked`, "
                "reason `email verified`: whoever signed in before the mailbox was proved may "
                "not own it) and a new session starts "
                "(cookie `astapa_session`, or `__Host-astapa_session` when the issuer is https); "
                "the user goes back to the `redirect_uri` of the authorization request the link "
                "was asked from, with `code`, `state` and `iss` (303). Verification links are "
                "single use and valid 24 hours.",
                "LinkForm",
            ),
        },
        "/auth/resend-verification": {
            "get": _email_form_operation(
                "showResendVerification",
                "Resend-verification page",
                "The \"Verify your email address\" page for an authorization request: an email "
                "field and a \"Send the link again\" button that posts to "
                "`POST /auth/resend-verification`. Same query parameters and validation as "
                "`GET /auth/forgot-password`; `login_hint` pre-fills the email.",
            ),
            "post": _ask_for_link_operation(
                "submitResendVerification",
                "Ask for the verification link again",
                "Mails the email verification link again, with the checks, answers and limits "
                "of `POST /auth/forgot-password`: the same \"check your inbox\" page (200) "
                "whether or not the address has an account. A link to `GET /auth/verify-email` "
                "(single use, valid 24 hours, replacing the earlier one) is mailed only when "
                "the address has an account that is neither disabled nor verified yet, within "
                "the per-address limit of action mails (default 5 an hour). The \"check your "
                "inbox\" page of sign-up and sign-in posts here (\"Send the link again\").",
            ),
        },
        "/auth/callback/{provider}": {
            "get": {
                "operationId": "providerCallback",
                "summary": "Return from Google or GitHub sign-in",
                "description": (
                    "Where Google and GitHub send the browser back after `action=google` or "
                    "`action=github` of `POST /auth/login` or `POST /auth/signup`. Register "
                    "exactly `<issuer>/auth/callback/google` as an authorized redirect URI of "
                    "the project's Google OAuth client (a web application client, scopes "
                    "`openid email profile`) and `<issuer>/auth/callback/github` as the "
                    "authorization callback URL of its GitHub OAuth app (scopes `read:user "
                    "user:email`); give their client ids and secrets to `astapa project "
                    "providers` (the secrets are kept in `DATA_DIR/keys`, never in events).\n\n"
                    "The `state` must be one this server issued, unused, less than 10 minutes old, "
                    "for this provider, and started in this browser (the binding cookie "
                    "`astapa_external`, compared by hash): otherwise the answer is a 400 page that "
                    "never redirects, since nothing says where the user came from. A state is "
                    "accepted once. The authorization request it was "
                    "started for is then validated again as in `GET /oauth/authorize` (a client or "
                    "redirect_uri no longer valid is the 400 page, other errors go back to the "
                    "client). With `error` (the user said no, or the provider refused) the sign-in "
                    "form says so (400). Otherwise the code is exchanged server-side with the "
                    "project's client secret and the PKCE verifier: at Google for an ID token, "
                    "checked here (RS256 signature by a key of Google's JWKS, `iss`, `aud`/`azp`, "
                    "`exp`, `iat`, `nonce`), whose `sub` and `email` name the account; at GitHub "
                    "for an access token, with which `GET /user` gives the account id and "
                    "`GET /user/emails` the primary address. A refused code or ID token, or no "
                    "address, is the form with an error (400); a provider that is down, slow "
                    "(10 seconds a call) or answers garbage is the form with an error (502).\n\n"
                    "The account the provider proves then goes through the linking rules "
                    "(checklist C-96 to C-101):\n\n"
                    "- An identity is the provider's user id (Google's `sub`, GitHub's numeric "
                    "id) in the project, never the address: one already linked signs its user in, "
                    "whatever the address is now (C-96).\n"
                    "- An address the provider does not call verified makes no account and no "
                    "link (400). The provider vouches for an address (C-97) only when Google "
                    "marks it verified and it is a `gmail.com` / `googlemail.com` address or the "
                    "ID token has `hd` (a Google Workspace domain), or when it is GitHub's "
                    "verified primary address.\n"
                    "- When the address belongs to an account, the identity is linked silently "
                    "(`User.IdentityLinked`, `how` `verified_email`) and the user signed in only "
                    "when the provider vouches for the address and the account's address is "
                    "verified too. Otherwise (the provider does not speak for the address, or the "
                    "account's address is unverified and may have been registered by someone "
                    "else: C-98) nothing is linked: the sign-in form offers the link, and "
                    "the account's owner accepts it by signing in with the account's password on "
                    "that form, in this browser, within 10 minutes (`link_offer` of "
                    "`POST /auth/login`, once, for that account only: C-101). An unverified "
                    "account is linked that way only when the provider vouched for its very "
                    "address, which verifies it and ends every refresh token and session it had "
                    "before (C-99).\n"
                    "- Otherwise a new account is made (`User.Registered`, then "
                    "`User.IdentityLinked` with `how` `registered`), without a password (\"Forgot "
                    "password?\" sets one) and its address verified, when the provider vouches for "
                    "the address. When it does not (Google, for an address outside Gmail and "
                    "Workspace), no account is made: the sign-up form asks the person to sign up "
                    "with their address; once it is verified, the provider's sign-in offers the "
                    "link.\n\n"
                    "A new session starts (cookie `astapa_session`, or `__Host-astapa_session` "
                    "when the issuer is https) and the user goes back to the client's "
                    "`redirect_uri` with `code`, `state` and `iss` (303). A disabled account is "
                    "refused (403)."
                ),
                "tags": ["pages"],
                "parameters": [
                    {
                        "name": "provider",
                        "in": "path",
                        "required": True,
                        "description": "The provider; any other value is 404.",
                        "schema": {"type": "string", "enum": ["google", "github"]},
                    },
                    {
                        "name": "state",
                        "in": "query",
                        "required": True,
                        "description": (
                            "The `state` this server sent to the provider, returned as is. "
                            "Missing, malformed, unknown, already used, expired (10 minutes), of "
                            "the other provider or started in another browser: the 400 page that "
                            "never redirects."
                        ),
                        "schema": {"type": "string", "maxLength": 200},
                    },
                    {
                        "name": "code",
                        "in": "query",
                        "required": False,
                        "description": (
                            "The provider's authorization code, exchanged once, server-side. "
                            "Missing (without `error`) or over 2048 characters: the form with "
                            "\"We couldn't confirm your <Provider> sign-in.\" (400)."
                        ),
                        "schema": {"type": "string", "maxLength": 2048},
                    },
                    {
                        "name": "error",
                        "in": "query",
                        "required": False,
                        "description": (
                            "The provider's error (RFC 6749 §4.1.2.1): `access_denied` (the user "
                            "said no at the provider) is \"You cancelled signing in with "
                            "<Provider>.\", any other \"We couldn't confirm your <Provider> "
                            "sign-in.\"; both on the sign-in form (400), the state spent."
                        ),
                        "schema": {"type": "string"},
                        "example": "access_denied",
                    },
                    {
                        "name": "error_description",
                        "in": "query",
                        "required": False,
                        "description": "Sent by the provider with `error`; not shown (only logged as the reason).",
                        "schema": {"type": "string"},
                    },
                    {"$ref": "#/components/parameters/ExternalSignInCookie"},
                ],
                "responses": {
                    "200": _form_page(
                        "Either the sign-in form with a notice and a link offer, when the "
                        "provider's address belongs to an account that must sign in to link "
                        "(not both sides verified): \"You already have an account with <email>. "
                        "Sign in to it to link your <Provider> account; after that, Continue with "
                        "<Provider> signs you in.\", the email filled in, the hidden field "
                        "`link_offer` and no Continue with buttons; nothing is linked and no "
                        "session starts yet (see `link_offer` of `POST /auth/login`). Or, when the "
                        "project requires a verified email address and the linked account's "
                        "address is still unverified, \"Check your inbox\" (\"We have sent a link "
                        "to <email>. Open it to verify your address and continue.\") with a \"Send "
                        "the link again\" button that posts to `POST /auth/resend-verification`; "
                        "the verification link is mailed (within the per-address limit of action "
                        "mails) and no session starts. Or, when the user is signed in for a "
                        "third-party client they have not yet allowed what it asks for, the "
                        "consent page (see `ConsentPage`; the session starts)."
                    ),
                    "303": {
                        "description": (
                            "Back to the client (RFC 6749 §4.1.2), see `Location`: with `code`, "
                            "`state` and `iss` when the user is signed in (an identity already "
                            "linked, one linked now because both sides verified the address, or "
                            "a new account); a new session starts. With an error (§4.1.2.1) when "
                            "the authorization request the sign-in was started for is no longer "
                            "valid for another reason than its client or redirect_uri."
                        ),
                        "headers": {
                            "Location": {"$ref": "#/components/headers/AuthorizationLocation"},
                            "Set-Cookie": {
                                "description": (
                                    "With a code: the session cookie (see `SetSessionCookie`), and "
                                    "`astapa_external` expired."
                                ),
                                "schema": {"type": "string"},
                            },
                            "Content-Security-Policy": {"$ref": "#/components/headers/ContentSecurityPolicyPage"},
                            "Cache-Control": {"$ref": "#/components/headers/CacheControlNoStore"},
                            "Pragma": {"$ref": "#/components/headers/PragmaNoCache"},
                        },
                    },
                    "400": _form_page(
                        "One of:\n\n"
                        "- \"This sign-in can't continue\" (\"This <Provider> sign-in has "
                        "expired, was already used, or was started in another browser. Go back to "
                        "the app and sign in again.\"): the `state` is missing, unknown, used, "
                        "expired, of the other provider, or the browser lacks the "
                        "`astapa_external` cookie it was started with. A page without a form that "
                        "never redirects.\n"
                        "- The sign-in form with an error, the state spent: \"You cancelled "
                        "signing in with <Provider>.\" (`error=access_denied`); \"We couldn't "
                        "confirm your <Provider> sign-in. Try again, or sign in another way.\" "
                        "(another `error`, no `code`, or a code or ID token refused: a spent code, "
                        "a bad signature, `iss`, `aud`, `azp`, `exp`, `iat`, `nonce` or `sub`, a "
                        "key Google does not list, no address from Google); \"Your <Provider> "
                        "account has no verified email address. Verify it at <Provider>, or sign "
                        "up with your email.\" (the provider does not call the address verified, "
                        "GitHub has no primary address, or the address is not usable); the "
                        "sign-up form, the address filled in, with \"<Provider> can't confirm that "
                        "<email> is yours. Sign up with your email here; once it is verified, "
                        "Continue with <Provider> offers to link.\" (a new address the provider "
                        "does not vouch for: Google outside Gmail and Workspace); "
                        "\"<Provider> sign-in isn't set up for this app. Sign in another way.\" "
                        "(the provider was turned off for the project meanwhile).\n"
                        "- The error page of `GET /oauth/authorize`, when the authorization "
                        "request the sign-in was started for no longer names a valid client and "
                        "redirect_uri."
                    ),
                    "403": _form_page(
                        "The account that would be signed in (an identity already linked, or an "
                        "address verified on both sides) is disabled: the sign-in form with \"This "
                        "account can't sign in.\" Nothing is linked; the state is spent."
                    ),
                    "404": {
                        "description": "`provider` is neither `google` nor `github`: `{\"error\": \"not_found\"}`.",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/OAuthError"},
                                "example": {"error": "not_found"},
                            }
                        },
                    },
                    "502": {"$ref": "#/components/responses/ProviderUnavailableForm"},
                    "503": {"$ref": "#/components/responses/PageUnavailable"},
                },
            },
        },
        "/auth/logout": {
            "get": {
                "operationId": "showLogout",
                "summary": "Sign-out confirmation page",
                "description": (
                    "A page with a form that posts to `POST /auth/logout`; nothing ends on a GET."
                ),
                "tags": ["pages"],
                "responses": {
                    "200": _form_page("The confirmation page, with its CSRF token."),
                },
            },
            "post": {
                "operationId": "submitLogout",
                "summary": "Sign out",
                "description": (
                    "Ends the browser session on the server (not only in the browser) and "
                    "expires the session cookie. If the CSRF check fails, the confirmation page "
                    "is shown again (200) and nothing ends. Signing out does not revoke refresh "
                    "or access tokens already issued to clients."
                ),
                "tags": ["pages"],
                "parameters": [
                    {"$ref": "#/components/parameters/CsrfCookie"},
                    {"$ref": "#/components/parameters/SessionCookie"},
                ],
                "requestBody": {
                    "description": "The confirmation form.",
                    "required": True,
                    "content": {
                        "application/x-www-form-urlencoded": {
                            "schema": {"$ref": "#/components/schemas/LogoutForm"},
                        }
                    },
                },
                "responses": {
                    "200": _html_response(
                        "\"You are signed out\" (the session cookie is expired), or the "
                        "confirmation page again when the CSRF check failed.",
                        {"Set-Cookie": {
                            "description": (
                                "Expires `astapa_session` (`__Host-astapa_session` when the issuer "
                                "is https). Not sent when the CSRF check failed."
                            ),
                            "schema": {"type": "string"},
                            "example": 'astapa_session=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; '
                                       "HttpOnly; Max-Age=0; Path=/; SameSite=Lax",
                        }},
                    ),
                    "413": {"$ref": "#/components/responses/PayloadTooLarge"},
                    "503": {"$ref": "#/components/responses/PageUnavailable"},
                },
            },
        },
        "/auth/consent": {
            "post": {
                "operationId": "submitConsent",
                "summary": "Answer the consent page",
                "description": (
                    "The consent page (see `ConsentPage`) posts here: the signed-in user allows "
                    "or denies a third-party client (one that registered itself with "
                    "`POST /projects/{project_id}/oauth/register`, or is known by its Client ID "
                    "Metadata Document) what its authorization request asks for. Checks the "
                    "form's `authorization` first (the request as the page carried it, validated "
                    "again as in `GET /oauth/authorize`, or as at the project's authorization "
                    "endpoint when it starts with `/projects/{project_id}?`: a bad client or "
                    "redirect_uri, or a client that does not ask for consent, is the 400 page; "
                    "other errors go back to the client), then the CSRF token (403), then "
                    "`action`.\n\n"
                    "`action=cancel` (Deny) sends the user back to `redirect_uri` with "
                    "`error=access_denied`, `state` and `iss`; nothing is recorded. "
                    "`action=allow` needs the browser's live session of the client's project "
                    "(cookie `astapa_session`, or `__Host-astapa_session` when the issuer is "
                    "https), whose user is still enabled, with their tokens not revoked and, when "
                    "the project requires it, their address verified; otherwise the sign-in form "
                    "(401). Then, in one save, the answer is remembered for this user and client "
                    "(the scopes asked for, added to any allowed before) and a code is issued: "
                    "the user goes back to `redirect_uri` with `code`, `state` and `iss` (the "
                    "issuer of the authorization server the request was made to) (303). Later "
                    "requests of the client for scopes already allowed get a code without the "
                    "page, unless they carry `prompt=consent`."
                ),
                "tags": ["pages"],
                "parameters": [
                    {"$ref": "#/components/parameters/CsrfCookie"},
                    {"$ref": "#/components/parameters/SessionCookie"},
                ],
                "requestBody": {"$ref": "#/components/requestBodies/ConsentForm"},
                "responses": {
                    "303": _redirect_response(
                        "Back to the client (RFC 6749 §4.1.2), see `Location`: with `code`, "
                        "`state` and `iss` after Allow; with `error=access_denied` after Deny; "
                        "with another error (§4.1.2.1) when the carried authorization request is "
                        "no longer valid once its client and redirect_uri are. Starts no session.",
                        starts_session=False,
                    ),
                    "400": _form_page(
                        "Either the consent page again with \"Choose Allow or Deny.\" (`action` "
                        "is neither `allow` nor `cancel`), or, when `authorization` names an "
                        "unknown client, a client that does not ask for consent, or an "
                        "unregistered, missing or repeated redirect_uri, the error page of "
                        "`GET /oauth/authorize`. No code is issued."
                    ),
                    "401": _form_page(
                        "`action=allow` without a live session of the client's project (no "
                        "session cookie, signed out, expired, of another project, the user "
                        "disabled or their tokens revoked, or an address the project requires "
                        "verified that is not): the sign-in form for the same authorization "
                        "request with \"Your sign-in has ended. Sign in again to continue.\" "
                        "No code is issued and nothing is remembered."
                    ),
                    "403": _form_page(
                        "CSRF check failed (no or wrong `csrf_token`, no CSRF cookie, or `Origin` / "
                        "`Sec-Fetch-Site` say the POST came from another site): the consent page "
                        "again, with a fresh token and \"This form has expired. Please try "
                        "again.\" Checked before `action`, so a forged Deny is refused too. Nothing "
                        "is recorded."
                    ),
                    "413": {"$ref": "#/components/responses/PayloadTooLarge"},
                    "503": {"$ref": "#/components/responses/PageUnavailable"},
                },
            },
        },
        "/oauth/userinfo": {"get": _userinfo_operation(
            "getUserInfo",
            "OpenID Connect UserInfo",
            "The user an end-user access token was issued for, as they are now. The access "
            "token goes in the `Authorization: Bearer` header only (RFC 6750 §2.1). An expired, "
            "revoked (directly, through its refresh token family, or by "
            "`POST /api/platform/revoke`), forged or malformed token, a client_credentials "
            "token (it has no user), a missing header or a user who no longer exists is 401 with "
            "`WWW-Authenticate`. Tokens of a project's own authorization server are accepted "
            "too. `GET /api/platform/users/me` is an alias.",
        )},
        "/api/platform/users/me": {"get": _userinfo_operation(
            "getPlatformCurrentUser",
            "The signed-in user (alias of /oauth/userinfo)",
            "Alias of `GET /oauth/userinfo`: same authentication, response and errors.",
        )},
        "/api/platform/revoke": {
            "post": {
                "operationId": "revokeUserTokens",
                "summary": "Revoke every token of one user",
                "description": (
                    "Every refresh token and browser session of one user of the caller's project "
                    "stops working, and access tokens issued from those refresh tokens are no "
                    "longer accepted by UserInfo; the user can sign in again. The client "
                    "authenticates as at the token endpoint (HTTP Basic, or `client_id` and "
                    "`client_secret` in the body) and must be the project's own client; another "
                    "client of the project is `invalid_client`. The body names the user by "
                    "exactly one of `end_user_id` and `email`; it is checked before the client "
                    "is authenticated. Answers once the read models reflect the revocation."
                ),
                "tags": ["users"],
                "security": [{"clientBasic": []}, {}],
                "requestBody": {
                    "description": (
                        "`application/json` or `application/x-www-form-urlencoded`. Bodies over "
                        "64 KiB are rejected with 413."
                    ),
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/RevokeUserRequest"},
                            "examples": {
                                "by_id": {
                                    "summary": "By user id, as a JSON number",
                                    "value": {"end_user_id": 4503599627370497},
                                },
                                "by_email": {
                                    "summary": "By email",
                                    "value": {"email": "ada@example.org"},
                                },
                            },
                        },
                        "application/x-www-form-urlencoded": {
                            "schema": {"$ref": "#/components/schemas/RevokeUserRequest"},
                        },
                    },
                },
                "responses": {
                    "200": {
                        "description": "Revoked.",
                        "headers": {
                            "Cache-Control": {"$ref": "#/components/headers/CacheControlNoStore"},
                            "Pragma": {"$ref": "#/components/headers/PragmaNoCache"},
                        },
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/RevokeUserResponse"},
                                "example": {"revoked": True},
                            }
                        },
                    },
                    "400": {
                        "description": (
                            "`invalid_request`: not exactly one of `end_user_id` and `email`, an "
                            "`end_user_id` that is not a user id, an invalid email address, a "
                            "body that is not a JSON object or a form, or a malformed "
                            "client authentication."
                        ),
                        "headers": {
                            "Cache-Control": {"$ref": "#/components/headers/CacheControlNoStore"},
                        },
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/OAuthError"},
                                "example": {
                                    "error": "invalid_request",
                                    "error_description": "send exactly one of end_user_id and email",
                                },
                            }
                        },
                    },
                    "401": {"$ref": "#/components/responses/InvalidClient"},
                    "404": {
                        "description": "No such user in the caller's project.",
                        "headers": {
                            "Cache-Control": {"$ref": "#/components/headers/CacheControlNoStore"},
                            "Pragma": {"$ref": "#/components/headers/PragmaNoCache"},
                        },
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/OAuthError"},
                                "example": {"error": "not_found", "error_description": "no such user"},
                            }
                        },
                    },
                    "413": {"$ref": "#/components/responses/PayloadTooLarge"},
                    "503": {"$ref": "#/components/responses/TemporarilyUnavailable"},
                },
            }
        },
        "/api/platform/plans": {
            "get": _management_operation(
                "listPlans",
                "The project's plans",
                "The project's plan catalog, oldest first: `free` (price 0, no claims, the plan "
                "of every new user, present in every project without being created) is always "
                "first, then the plans created with `POST /api/platform/plans`. HTTP Basic only "
                "(a GET has no body).",
                {
                    "200": _json_ok("The catalog.", "PlanList", {"plans": [_FREE_PLAN, _PRO_PLAN]}),
                },
            ),
            "post": _management_operation(
                "createPlan",
                "Create a plan",
                "Adds a plan to the project's catalog (change its name, price or claims later "
                "with `PATCH /api/platform/plans/{key}`; plans are never removed). The body is read as JSON first, then the client is authenticated, "
                "then the fields are checked (an unknown field first, then `key`, `name`, "
                "`price`, `currency`, `interval`, `claims`); the first problem is the 400. A key "
                "the project already has, `free` included, is 409. The plan's `claims` are "
                "copied to a user when the plan is assigned to them (`PUT "
                "/api/platform/users/{sub}/plan`, or `plan` in `PATCH "
                "/api/platform/users/{sub}/claims`), as they are at that moment; the user's own "
                "custom claims win over them. Answers 201 with the plan once it is recorded; "
                "after a 503 the plan may still have been created (retrying then answers 409).",
                {
                    "201": _json_ok("Created: the plan.", "Plan", _PRO_PLAN),
                    "400": _json_error(
                        "`invalid_request`: a body that is not a JSON object, malformed client "
                        "credentials in it, an unknown field, or a missing or invalid field.",
                        {
                            **_BODY_ERRORS,
                            "unknown_field": ("invalid_request", "unknown field 'tier'"),
                            "key": ("invalid_request",
                                    "key: 1 to 63 of a-z, 0-9, '_' and '-', starting with a letter or digit"),
                            "name": ("invalid_request", "name: a string of 1 to 100 characters"),
                            "price": ("invalid_request",
                                      "price: a whole number of the currency's unit, 0 or more"),
                            "currency": ("invalid_request",
                                         "currency: one of IDR, PHP, THB, VND, MYR, SGD, USD"),
                            "interval": ("invalid_request", "interval: one of month, year, once"),
                            "claims": ("invalid_request", "claims: a JSON object"),
                        },
                    ),
                    "409": _json_error(
                        "`conflict`: the project already has a plan with this key (every "
                        "project has `free`).",
                        {"conflict": ("conflict", "the project already has a plan with this key")},
                    ),
                },
                request_body=_management_body(
                    "The new plan.",
                    "NewPlan",
                    {
                        "monthly": {
                            "summary": "A monthly plan in rupiah, with claims",
                            "value": {
                                "key": "pro",
                                "name": "Pro",
                                "price": 149000,
                                "currency": "IDR",
                                "interval": "month",
                                "claims": {"max_projects": 20, "support": "priority"},
                            },
                        },
                        "client_secret_post": {
                            "summary": "With the client's credentials in the body",
                            "value": {
                                "key": "lifetime",
                                "name": "Lifetime",
                                "price": 199,
                                "currency": "USD",
                                "interval": "once",
                                "client_id": "cl_8Yt3xQ",
                                "client_secret": "cs_...",
                            },
                        },
                    },
                ),
            ),
        },
        "/api/platform/plans/{key}": {
            "patch": _management_operation(
                "changePlan",
                "Change a plan",
                "Changes a plan's `name`, `price` or `claims` (any of them; `key`, `currency` and "
                "`interval` stay) from now on: payments already made or still pending keep the "
                "price they were created with, and users already on the plan keep the claims "
                "they got with it. The fields are checked as at creation; `free` is built in "
                "(409); an unknown key is 404. Answers the plan as it now is.",
                {
                    "200": _json_ok("The plan as it now is.", "Plan", {**_PRO_PLAN, "price": 199000}),
                    "400": _json_error(
                        "`invalid_request`: no field, a field other than name, price and claims, "
                        "or an invalid one.",
                        {
                            **_BODY_ERRORS,
                            "fields": ("invalid_request", "send any of name, price and claims"),
                            "price": ("invalid_request",
                                      "price: a whole number of the currency's unit, 0 or more"),
                        },
                    ),
                    "404": _json_error("`not_found`: the project has no plan with this key.",
                                       {"not_found": ("not_found", "no such plan")}),
                    "409": _json_error("`conflict`: `free` cannot be changed.",
                                       {"conflict": ("conflict", "free is built in and cannot be changed")}),
                },
                parameters=[{"name": "key", "in": "path", "required": True, "description": "The plan's key.",
                             "schema": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,62}$"}}],
                request_body=_management_body(
                    "Any of `name`, `price`, `claims`.",
                    "PlanChange",
                    {"price": {"summary": "A new price", "value": {"price": 199000}}},
                ),
            ),
        },
        "/api/platform/users": {"get": _management_operation(
            "listUsers",
            "Find a user by email, or list the project's users",
            "Two forms. With `email`: the project's user with that address, looked up as at "
            "sign-in (Unicode NFC, the domain IDNA-encoded and the local part case-folded), "
            "as `{\"users\": [user]}`, or `{\"users\": []}` when there is none or the address "
            "is not a valid one; `limit` and `cursor` are ignored and there is no "
            "`next_cursor`.\n\n"
            "Without `email`: one page of the project's users in order of registration, at "
            "most `limit` of them, and `next_cursor`: pass it back as `cursor` for the next "
            "page, until it is null. A listing sees every user that existed when it started "
            "exactly once; users who register meanwhile come after all of them. Each page "
            "shows the users as they are when it is read. HTTP Basic only (a GET has no body).",
            {
                "200": _json_ok("The user found, or one page of users.", "UserList",
                                {"users": [_USER, _OTHER_USER], "next_cursor": "2"}),
                "400": _json_error(
                    "`invalid_request`: `limit` or `cursor` is not a whole number in its range "
                    "(a cursor not taken from `next_cursor`).",
                    {
                        "limit": ("invalid_request", "limit must be a whole number from 1 to 200"),
                        "cursor": ("invalid_request",
                                   "cursor must be a whole number from 0 to 4611686018427387904"),
                    },
                ),
            },
            parameters=[
                {"$ref": "#/components/parameters/UserEmail"},
                {"$ref": "#/components/parameters/UsersLimit"},
                {"$ref": "#/components/parameters/UsersCursor"},
            ],
        )},
        "/api/platform/users/{sub}": {
            "get": _management_operation(
                "getUser",
                "One user of the project",
                "The user as they are now: their custom claims as a token issued now would "
                "carry them. A `sub` that is not a user id, or the id of another project's user, "
                "is 404. HTTP Basic only (a GET has no body).",
                {"200": {"$ref": "#/components/responses/User"}},
                parameters=[{"$ref": "#/components/parameters/UserSub"}],
                of_user=True,
            ),
            "patch": _management_operation(
                "updateUser",
                "Disable or enable a user",
                "`{\"disabled\": true}` disables the user: they can no longer sign in (password, "
                "mailed sign-in link or an existing browser session), and every refresh token "
                "and browser session they have stops working at once; access tokens issued from "
                "those refresh tokens are no longer accepted by UserInfo nor reported active by "
                "introspection, as after `POST /api/platform/revoke` (events `User.Disabled` "
                "and `User.TokensRevoked`). `{\"disabled\": false}` enables them again "
                "(`User.Enabled`): they may sign in, and the tokens ended by disabling stay "
                "ended. Asking for the state the user is already in records nothing. Answers "
                "with the user once the read models reflect the change.",
                {
                    "200": {"$ref": "#/components/responses/User"},
                    "400": _json_error(
                        "`invalid_request`: a body that is not a JSON object, malformed client "
                        "credentials in it, or anything but `disabled` with a boolean.",
                        {
                            **_BODY_ERRORS,
                            "fields": ("invalid_request", 'send {"disabled": true} or {"disabled": false}'),
                        },
                    ),
                },
                parameters=[{"$ref": "#/components/parameters/UserSub"}],
                request_body=_management_body(
                    "The user's new state.",
                    "UserUpdate",
                    {
                        "disable": {"summary": "Disable the user", "value": {"disabled": True}},
                        "enable": {"summary": "Enable the user again", "value": {"disabled": False}},
                    },
                ),
                of_user=True,
            ),
        },
        "/api/platform/users/{sub}/claims": {"patch": _management_operation(
            "updateUserClaims",
            "Change a user's custom claims (the Claims API)",
            "Each key of the body is set to its value and each key given as `null` is removed "
            "(removing a claim the user does not have is fine); claims not named stay as they "
            "are. Values may be any JSON but `null`. A claim name is a letter then up to 63 "
            "letters, digits, `_`, `.`, `:` or `-`, and cannot be a registered JWT or OpenID "
            "Connect claim or one of Astapa's own (compared case-insensitively, see "
            "`ClaimsUpdate`). Afterwards the user's own custom claims, `plan` included, may "
            "number at most 50 and take at most 8192 bytes as compact UTF-8 JSON (a plan's "
            "claims do not count).\n\n"
            "`plan` is special: it must be the key of one of the project's plans and assigns "
            "that plan with no end, replacing the current plan, its claims and its end (as "
            "`PUT /api/platform/users/{sub}/plan` without `expires_at`); `null` puts the user "
            "back on `free`.\n\n"
            "All or nothing: on a 400 nothing changes. A change is recorded as events naming "
            "the client that made it (`User.ClaimsChanged` for the claims, `User.PlanAssigned` "
            "for `plan`). Answers with the user once the read models reflect it; UserInfo shows "
            "the new claims at once, and the next token refresh or sign-in carries them "
            "(access tokens already issued keep the claims they were issued with).",
            {
                "200": {"$ref": "#/components/responses/User"},
                "400": _json_error(
                    "`invalid_request`: a body that is not a JSON object, malformed client "
                    "credentials in it, a reserved or malformed claim name, too many or too "
                    "large claims, or a `plan` that is not one of the project's plans.",
                    {
                        **_BODY_ERRORS,
                        "reserved": ("invalid_request",
                                     "'email' is a registered claim name and cannot be a custom claim"),
                        "name": ("invalid_request",
                                 "'2fa' is not a custom claim name (a letter, then up to 63 letters, "
                                 "digits, '_', '.', ':' or '-')"),
                        "count": ("invalid_request", "a user holds at most 50 custom claims"),
                        "size": ("invalid_request",
                                 "a user's custom claims take at most 8192 bytes of JSON"),
                        "plan": ("invalid_request", "plan must be the key of one of the project's plans"),
                    },
                ),
            },
            parameters=[{"$ref": "#/components/parameters/UserSub"}],
            request_body=_management_body(
                "The claims to set (a value) and to remove (`null`).",
                "ClaimsUpdate",
                {
                    "set_and_remove": {
                        "summary": "Set one claim, remove another",
                        "value": {"team": "research", "beta": None},
                    },
                    "plan": {
                        "summary": "Move the user to a plan, with no end",
                        "value": {"plan": "pro"},
                    },
                    "free": {
                        "summary": "Back to the free plan",
                        "value": {"plan": None},
                    },
                },
            ),
            of_user=True,
        )},
        "/api/platform/users/{sub}/plan": {"put": _management_operation(
            "assignUserPlan",
            "Put a user on a plan, until a given time",
            "Assigns one of the project's plans, replacing the current plan, its claims and its "
            "end. The plan's claims are copied as they are now, under the user's own custom "
            "claims (the user's own win). With `expires_at` (in the future) the plan ends "
            "then: from that moment tokens, UserInfo and this API show the user on `free` "
            "without the plan's claims, and the scheduler records the end as a "
            "`User.PlanExpired` event (tokens never carry an ended plan, even when the "
            "scheduler is late). Without `expires_at` (or with `null`) the plan has no end. "
            "Recorded as a `User.PlanAssigned` event naming the client. Answers with the user "
            "(with `plan_expires_at` while a plan with an end runs) once the read models "
            "reflect the change; the next token refresh or sign-in carries the new claims.",
            {
                "200": {"$ref": "#/components/responses/User"},
                "400": _json_error(
                    "`invalid_request`: a body that is not a JSON object, malformed client "
                    "credentials in it, no `plan` string or another field, an `expires_at` "
                    "that is neither an RFC 3339 time with a zone nor a number, or not in the "
                    "future, or a `plan` that is not one of the project's plans.",
                    {
                        **_BODY_ERRORS,
                        "fields": ("invalid_request", 'send {"plan": KEY} and optionally "expires_at"'),
                        "expires_at": (
                            "invalid_request",
                            "expires_at: an RFC 3339 time with a zone, or seconds since the epoch",
                        ),
                        "past": ("invalid_request", "expires_at is in the past"),
                        "plan": ("invalid_request", "plan must be the key of one of the project's plans"),
                    },
                ),
            },
            parameters=[{"$ref": "#/components/parameters/UserSub"}],
            request_body=_management_body(
                "The plan, and when it ends.",
                "PlanAssignment",
                {
                    "until": {
                        "summary": "Pro until the end of June (UTC)",
                        "value": {"plan": "pro", "expires_at": "2026-07-01T00:00:00Z"},
                    },
                    "epoch": {
                        "summary": "Pro until a time given in seconds since the epoch",
                        "value": {"plan": "pro", "expires_at": 1782864000},
                    },
                    "no_end": {"summary": "Pro with no end", "value": {"plan": "pro"}},
                },
            ),
            of_user=True,
        )},
        "/api/platform/users/{sub}/events": {"get": _management_operation(
            "listUserEvents",
            "A user's history",
            "The events of one user, oldest first: those of their account, of their browser "
            "sessions and of their refresh token families (see `UserEvent` for the types and "
            "their `data`). Each names the client that caused it where there is one, and "
            "none holds a secret: no password hash, token, code or key. Read on from the "
            "`position` of the last event seen with `after`; a page shorter than `limit` is "
            "the end of the history for now. HTTP Basic only (a GET has no body).",
            {
                "200": _json_ok(
                    "The user's events after `after`, at most `limit`.",
                    "UserEvents",
                    {
                        "sub": "4503599627370497",
                        "events": [
                            {
                                "position": 812,
                                "type": "User.Registered",
                                "timestamp": "2026-01-01T09:30:00.123456+00:00",
                                "data": {"email": "ada@example.org"},
                            },
                            {
                                "position": 815,
                                "type": "RefreshFamily.Started",
                                "timestamp": "2026-01-01T09:30:01.402113+00:00",
                                "data": {"client_id": "cl_8Yt3xQ", "scopes": ["openid", "email"]},
                            },
                            {
                                "position": 1904,
                                "type": "User.PlanAssigned",
                                "timestamp": "2026-02-03T11:00:00.551020+00:00",
                                "data": {
                                    "plan": "pro",
                                    "plan_claims": {"max_projects": 20, "support": "priority"},
                                    "expires_at": 1782864000.0,
                                    "by": "cl_8Yt3xQ",
                                },
                            },
                            {
                                "position": 1911,
                                "type": "User.ClaimsChanged",
                                "timestamp": "2026-02-03T11:02:09.000311+00:00",
                                "data": {"changed": {"team": "research"}, "removed": ["beta"],
                                         "by": "cl_8Yt3xQ"},
                            },
                        ],
                    },
                ),
                "400": _json_error(
                    "`invalid_request`: `after` or `limit` is not a whole number in its range.",
                    {
                        "after": ("invalid_request",
                                  "after must be a whole number from 0 to 4611686018427387904"),
                        "limit": ("invalid_request", "limit must be a whole number from 1 to 1000"),
                    },
                ),
            },
            parameters=[
                {"$ref": "#/components/parameters/UserSub"},
                {"$ref": "#/components/parameters/EventsAfter"},
                {"$ref": "#/components/parameters/EventsLimit"},
            ],
            of_user=True,
        )},
        "/api/platform/users/{sub}/payments": {"get": _management_operation(
            "listUserPayments",
            "A user's payments",
            "The user's payments in the caller's project, newest first (the 500 newest), each "
            "as `GET /api/platform/payments/{payment_id}` shows it: those still waiting, "
            "succeeded (with `plan_assigned` once their plan was given), failed (refused by "
            "Xendit, or Xendit failed or did not answer) and expired. HTTP Basic only (a GET "
            "has no body).",
            {
                "200": _json_ok("The user's payments, newest first.", "PaymentList",
                                {"payments": [_QRIS_PAYMENT, _SETTLED_PAYMENT, _FAILED_PAYMENT]}),
            },
            parameters=[{"$ref": "#/components/parameters/UserSub"}],
            of_user=True,
        )},
        "/api/platform/payments": {"post": _management_operation(
            "createPayment",
            "Pay for a plan",
            "Creates a payment at Xendit (Payments API v3) for the price of one of the "
            "project's plans, for one user, by the chosen method, and answers 201 with what "
            "the payer needs: `qr_string` for QRIS (render it as a QR code), `checkout_url` "
            "for GoPay (and for OVO when Xendit gives one; otherwise the payer confirms in "
            "the OVO app on `mobile_number`), `virtual_account_number` and `bank_code` for "
            "BANK_TRANSFER. The amount and currency are the plan's price as it is now; the "
            "payment is `PENDING` until it is paid (`SUCCEEDED`), refused (`FAILED`) or "
            "`expires_at` passes (`EXPIRED`, 1 hour by default).\n\n"
            "The payment is recorded before Xendit is asked (its `payment_id` is Xendit's "
            "`reference_id` and idempotency key, so Xendit never charges twice for one "
            "payment), and Xendit's answer is recorded either way: when Xendit refuses the "
            "request (400) or fails or does not answer (502) the payment is `FAILED`, and "
            "appears so in the user's payments. After a 502 Xendit may still have taken it: "
            "a success webhook that arrives later still counts.\n\n"
            "Checked in this order: the JSON body, the client, the fields (an unknown field "
            "first, then `end_user_id`, `plan`, `method`, `bank_code`, `mobile_number`, "
            "`return_url`); then whether this server takes payments for the project's mode "
            "(503), the `Idempotency-Key` header, the user (404) and the plan (400: not one "
            "of the project's plans, or one that costs nothing, such as `free`).\n\n"
            "`Idempotency-Key`: a create retried with the same key (after a timeout, say) "
            "answers 201 with the same payment as it is now, and does not ask Xendit again "
            "unless Xendit's answer was never recorded. The key is the project's: it names "
            "one payment, whatever the other fields of the retry say; used for another user "
            "it is 400. After a 502 the payment of that key stays `FAILED`: try again with a "
            "new key. Without the header every create is a new payment.\n\n"
            "Settlement: once Xendit reports the payment succeeded (webhook, or the server's "
            "own look-up of payments pending for more than 5 minutes), its plan is assigned "
            "to the user exactly once, however often the webhook comes: a `User.PlanAssigned` "
            "event with `by` `payment <payment_id>`, the plan's claims as they were when the "
            "payment was created, replacing the user's current plan. The plan runs for the "
            "plan's interval, a calendar month or year from the later of now and the end of "
            "the period the user has already paid for on this plan (so paying early extends "
            "it); a `once` plan has no end. The payment then shows `plan_assigned` and "
            "`plan_period_end` (the user's `plan_expires_at`; null for `once`), and the user's "
            "next token refresh or sign-in carries the plan and its claims (access tokens "
            "already issued keep theirs). Poll `GET /api/platform/payments/{payment_id}` to follow a "
            "payment.",
            {
                "201": _payment_answer(
                    "Created, waiting for the payer (`PENDING`); or, for a retried "
                    "`Idempotency-Key`, that key's payment as it is now (any `status`).",
                    {
                        "qris": ("QRIS: the QR string to show", _QRIS_PAYMENT),
                        "gopay": ("GoPay: where to send the payer", _GOPAY_PAYMENT),
                        "ovo": ("OVO: the payer confirms in the OVO app", _OVO_PAYMENT),
                        "bank_transfer": ("BANK_TRANSFER: the virtual account to pay into", _VA_PAYMENT),
                        "retried": ("A retried create whose payment has been paid and settled",
                                    _SETTLED_PAYMENT),
                    },
                ),
                "400": _json_error(
                    "`invalid_request`: a body that is not a JSON object, malformed client "
                    "credentials in it, an unknown field, a missing or invalid field, an "
                    "`Idempotency-Key` that is empty, over 255 characters or already used for "
                    "another user's payment, a `plan` that is not one of the project's plans "
                    "or costs nothing, or a request Xendit refused (the payment is recorded as "
                    "`FAILED`; Xendit's reason is in `error_description`).",
                    {
                        **_BODY_ERRORS,
                        "unknown_field": ("invalid_request", "unknown field 'amount'"),
                        "end_user_id": ("invalid_request", "end_user_id: the user's sub"),
                        "plan_missing": ("invalid_request", "plan: the key of one of the project's plans"),
                        "method": ("invalid_request", "method: one of QRIS, GOPAY, OVO, BANK_TRANSFER"),
                        "bank_code": ("invalid_request",
                                      "bank_code: one of BCA, BNI, BRI, MANDIRI, PERMATA for BANK_TRANSFER"),
                        "bank_code_only": ("invalid_request", "bank_code is only for BANK_TRANSFER"),
                        "mobile_number": ("invalid_request",
                                          "mobile_number: the payer's OVO number, e.g. +6281234567890"),
                        "mobile_number_only": ("invalid_request", "mobile_number is only for OVO"),
                        "return_url": ("invalid_request",
                                       "return_url: an https URL the payer comes back to after GoPay"),
                        "idempotency_key": ("invalid_request", "Idempotency-Key: 1 to 255 characters"),
                        "idempotency_key_reused": ("invalid_request",
                                                   "this Idempotency-Key was used for another payment"),
                        "plan": ("invalid_request", "plan must be the key of one of the project's plans"),
                        "free_plan": ("invalid_request", "the plan 'free' costs nothing"),
                        "refused": ("invalid_request",
                                    "Xendit refused the payment (API_VALIDATION_ERROR: "
                                    "channel_properties.account_mobile_number is invalid)"),
                    },
                ),
                "404": _json_error(
                    "`not_found`: no user of the caller's project has `end_user_id` (another "
                    "project's user looks the same). Only for a new payment: a retried "
                    "`Idempotency-Key` answers with its payment.",
                    {"not_found": ("not_found", "no such user")},
                ),
                "502": _json_error(
                    "`payment_provider_error`: Xendit failed, rejected this server's key, "
                    "rate-limited it or did not answer in time (20 seconds by default). The "
                    "payment is recorded as `FAILED`; if Xendit did take it after all, its "
                    "success webhook still counts and settles it. To try again, create a new "
                    "payment (a new `Idempotency-Key`, or none).",
                    {"payment_provider_error": (
                        "payment_provider_error",
                        "Xendit could not take the payment now (Xendit did not answer: "
                        "TimeoutError); it is recorded as FAILED",
                    )},
                ),
                "503": {"$ref": "#/components/responses/PaymentsUnavailable"},
            },
            parameters=[{"$ref": "#/components/parameters/IdempotencyKey"}],
            request_body=_management_body(
                "The user, the plan and how they pay.",
                "NewPayment",
                {
                    "qris": {
                        "summary": "QRIS",
                        "value": {"end_user_id": "4503599627370497", "plan": "pro", "method": "QRIS"},
                    },
                    "gopay": {
                        "summary": "GoPay, back to the app afterwards",
                        "value": {"end_user_id": 4503599627370497, "plan": "pro", "method": "GOPAY",
                                  "return_url": "https://app.example/billing/done"},
                    },
                    "ovo": {
                        "summary": "OVO, the payer's mobile number",
                        "value": {"end_user_id": "4503599627370497", "plan": "pro", "method": "OVO",
                                  "mobile_number": "081234567890"},
                    },
                    "bank_transfer": {
                        "summary": "A BCA virtual account",
                        "value": {"end_user_id": "4503599627370497", "plan": "pro",
                                  "method": "BANK_TRANSFER", "bank_code": "BCA"},
                    },
                    "client_secret_post": {
                        "summary": "With the client's credentials in the body",
                        "value": {"end_user_id": "4503599627370497", "plan": "pro", "method": "QRIS",
                                  "client_id": "cl_8Yt3xQ", "client_secret": "cs_..."},
                    },
                },
            ),
        )},
        "/api/platform/payments/{payment_id}": {"get": _management_operation(
            "getPayment",
            "One payment",
            "A payment of the caller's project as it is now (see `Payment` for its statuses "
            "and fields); poll it to see it paid and its plan assigned (`plan_assigned`). "
            "HTTP Basic only (a GET has no body).",
            {
                "200": _payment_answer(
                    "The payment.",
                    {
                        "pending": ("Waiting for the payer", _QRIS_PAYMENT),
                        "settled": ("Paid, and its plan assigned", _SETTLED_PAYMENT),
                        "failed": ("Refused, or Xendit failed or did not answer", _FAILED_PAYMENT),
                    },
                ),
                "404": _json_error(
                    "`not_found`: `payment_id` is not a payment id, or no payment of the "
                    "caller's project has it (another project's payment looks the same).",
                    {"not_found": ("not_found", "no such payment")},
                ),
            },
            parameters=[{"$ref": "#/components/parameters/PaymentId"}],
        )},
        "/api/webhooks/xendit": {
            "post": {
                "operationId": "receiveXenditWebhook",
                "summary": "Xendit's payment webhooks",
                "description": (
                    "Where Xendit sends its Payments API v3 webhooks (configure "
                    "`<issuer>/api/webhooks/xendit` in Xendit's dashboard for `payment.capture`, "
                    "`payment.failure` and `payment_request.expiry`). No client authenticates: "
                    "the `x-callback-token` header must equal the server's "
                    "`ASTAPA_XENDIT_CALLBACK_TOKEN` (compared in constant time), checked before "
                    "the body is read; a wrong or missing token, or a server without one, is "
                    "401.\n\n"
                    "Then the body is read: `data.reference_id` is our `payment_id`. "
                    "`payment.capture` moves the payment to `data.status` (`SUCCEEDED`, or "
                    "`FAILED` and `CANCELED` as `FAILED`, `EXPIRED`), `payment.failure` to "
                    "`FAILED`, `payment_request.expiry` to `EXPIRED`; other events and other "
                    "statuses change nothing. A success counts only for the amount and "
                    "currency asked for (the sum of `data.captures[].capture_amount`, else "
                    "`data.request_amount`, and `data.currency`) and for the payment request "
                    "Xendit created for it (`data.payment_request_id`, when known): anything "
                    "else is "
                    "recorded as a mismatch (`amount_mismatch` on the payment), which is never "
                    "settled. A success is then settled at once: the plan is assigned to the "
                    "user exactly once (see `POST /api/platform/payments`).\n\n"
                    "Answers 200 `{\"received\": true}` for every body it can read, ours or not, "
                    "so Xendit stops retrying: a reference that is not one of our payments is "
                    "ignored. Duplicates and late or out-of-order deliveries are harmless: a "
                    "repeated success changes nothing, a failure or an expiry never undoes a "
                    "success, and a success after a failure or an expiry still counts (the "
                    "money was taken). Any other answer (400, 413, 503) makes Xendit retry."
                ),
                "tags": ["webhooks"],
                "security": [{"xenditCallbackToken": []}],
                "requestBody": {
                    "description": (
                        "Xendit's webhook envelope, as JSON (the Content-Type is not checked). "
                        "Bodies over 64 KiB are rejected with 413."
                    ),
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/XenditWebhook"},
                            "examples": {
                                "capture": {
                                    "summary": "payment.capture: paid",
                                    "value": _webhook_example("payment.capture", "SUCCEEDED", _QRIS_PAYMENT),
                                },
                                "failure": {
                                    "summary": "payment.failure",
                                    "value": _webhook_example("payment.failure", "FAILED", _QRIS_PAYMENT),
                                },
                                "expiry": {
                                    "summary": "payment_request.expiry",
                                    "value": _webhook_example("payment_request.expiry", "EXPIRED",
                                                              _QRIS_PAYMENT),
                                },
                            },
                        }
                    },
                },
                "responses": {
                    "200": {
                        "description": (
                            "Received: recorded when it was about one of our payments and "
                            "changed it, ignored otherwise."
                        ),
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/WebhookReceived"},
                                "example": {"received": True},
                            }
                        },
                    },
                    "400": _json_error(
                        "`invalid_request`: the body cannot be read, is not JSON, or is not an "
                        "object with a `data` object.",
                        {
                            "unreadable": ("invalid_request", "the request body cannot be read"),
                            "bad_json": ("invalid_request", "body is not valid JSON"),
                            "no_data": ("invalid_request", "a Xendit webhook has an event and its data"),
                        },
                    ),
                    "401": {
                        "description": (
                            "`invalid_token`: `x-callback-token` is missing or wrong, or the "
                            "server has no `ASTAPA_XENDIT_CALLBACK_TOKEN`. Nothing is read or "
                            "recorded."
                        ),
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/OAuthError"},
                                "example": {"error": "invalid_token",
                                            "error_description": "x-callback-token is wrong"},
                            }
                        },
                    },
                    "413": {"$ref": "#/components/responses/PayloadTooLarge"},
                    "503": {"$ref": "#/components/responses/TemporarilyUnavailable"},
                },
            }
        },
        "/static/astapa.css": {
            "get": {
                "operationId": "getStylesheet",
                "summary": "Stylesheet of the hosted pages",
                "description": "The CSS every hosted page links to.",
                "tags": ["pages"],
                "responses": {
                    "200": {
                        "description": "The stylesheet.",
                        "headers": {
                            "Cache-Control": {
                                "description": "Always `public, max-age=3600`.",
                                "schema": {"type": "string", "const": "public, max-age=3600"},
                            },
                        },
                        "content": {"text/css": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
        "/.well-known/oauth-authorization-server/projects/{project_id}": {"get": _metadata_operation(
            "getProjectOAuthAuthorizationServerMetadata",
            "A project's authorization server metadata (RFC 8414)",
            "The metadata of the project's own authorization server, whose issuer is "
            "`<issuer>/projects/{project_id}`, at the well-known URI RFC 8414 §3.1 builds for "
            "an issuer with a path (the well-known part inserted before the path), which is "
            "where MCP clients and other RFC 8414 clients look. The same endpoints as the "
            "service's, under the project's issuer; tokens from them carry that issuer. It "
            "also says `client_id_metadata_document_supported` (a `client_id` may be the URL "
            "of a Client ID Metadata Document), lists in `scopes_supported` the OpenID Connect "
            "scopes, the project's own and its resources', and has a `registration_endpoint` "
            "when the project takes RFC 7591 registrations (`astapa project create` / `update` "
            "with `--allow-registration`). Same content at "
            "`/.well-known/openid-configuration/projects/{project_id}`, "
            "`/projects/{project_id}/.well-known/openid-configuration` and "
            "`/projects/{project_id}/.well-known/oauth-authorization-server`. A change of the "
            "project shows within a minute (`Cache-Control: public, max-age=60`).",
            project=True,
        )},
        "/.well-known/openid-configuration/projects/{project_id}": {"get": _metadata_operation(
            "getProjectOpenIdConfigurationInserted",
            "A project's OpenID Connect discovery document (well-known part inserted)",
            "The project's authorization server metadata with the well-known part inserted "
            "before the issuer's path, as some clients try for OpenID Connect discovery. Same "
            "content as `/.well-known/oauth-authorization-server/projects/{project_id}`.",
            project=True,
        )},
        "/projects/{project_id}/.well-known/openid-configuration": {"get": _metadata_operation(
            "getProjectOpenIdConfiguration",
            "A project's OpenID Connect discovery document",
            "The project's authorization server metadata where OpenID Connect Discovery 1.0 "
            "§4 puts it: `/.well-known/openid-configuration` appended to the issuer "
            "`<issuer>/projects/{project_id}`. Same content as "
            "`/.well-known/oauth-authorization-server/projects/{project_id}`.",
            project=True,
        )},
        "/projects/{project_id}/.well-known/oauth-authorization-server": {"get": _metadata_operation(
            "getProjectOAuthAuthorizationServerMetadataAppended",
            "A project's authorization server metadata (well-known part appended)",
            "The project's authorization server metadata with the well-known part appended to "
            "the issuer, as some clients try. Same content as "
            "`/.well-known/oauth-authorization-server/projects/{project_id}`.",
            project=True,
        )},
        "/projects/{project_id}/.well-known/jwks.json": {"get": _jwks_operation(
            "getProjectJwks",
            "A project's JSON Web Key Set",
            "The `jwks_uri` of a project's own authorization server: the same keys as "
            "`/.well-known/jwks.json` (every authorization server of this service signs with "
            "them), with the same caching. Answered for any `project_id`.",
            project=True,
        )},
        "/projects/{project_id}/oauth/authorize": {"get": _authorize_operation(
            "authorizeAtProject",
            "A project's authorization endpoint",
            "The authorization endpoint of the project's own authorization server (issuer "
            "`<issuer>/projects/{project_id}`): the same parameters, checks, pages and "
            "responses as `GET /oauth/authorize`, with these differences. Only the project's "
            "clients are known: another project's client, or a `project_id` no project "
            "could have, is the 400 page. `client_id` may also be the https URL of a Client ID "
            "Metadata Document (see the `client_id` parameter); such a client, like one "
            "registered with `POST /projects/{project_id}/oauth/register`, is third-party: it "
            "must use PKCE with S256 and gets the consent page before its first code. The "
            "answers back to the client carry the project's issuer as `iss` (RFC 9207), and "
            "the code is redeemed at `POST /projects/{project_id}/oauth/token`, whose tokens "
            "carry it too. The sign-in, sign-up and mailed-link pages and the consent page "
            "carry the request as `/projects/{project_id}?<query>` (in their hidden "
            "`authorization` field and links, e.g. `/auth/signup?/projects/{project_id}?"
            "client_id=…`), so they answer for this server.",
            signs_in=True,
            project=True,
        )},
        "/projects/{project_id}/oauth/token": {"post": _token_operation(
            "postProjectToken",
            "A project's token endpoint",
            "The token endpoint of the project's own authorization server: the same grants, "
            "parameters, client authentication, throttling and errors as `POST /oauth/token`, "
            "for the project's clients only (a client of another project, or a `client_id` "
            "that is a Client ID Metadata Document's URL whose document cannot be fetched or "
            "used, is `invalid_client`). A metadata-document client authenticates as its "
            "document says: `none` (its `client_id` alone) or `private_key_jwt`. A "
            "private_key_jwt assertion's `aud` may name the project's issuer, this token "
            "endpoint, or the URL the request was sent to. Tokens (access and ID tokens) carry "
            "the project's issuer `<issuer>/projects/{project_id}` as `iss`. A `project_id` no "
            "project could have is 404.",
            project=True,
        )},
        "/projects/{project_id}/oauth/introspect": {"post": _introspect_operation(
            "introspectProjectToken",
            "Introspect a token at a project's server (RFC 7662)",
            "The introspection endpoint of the project's own authorization server: as "
            "`POST /oauth/introspect`, for confidential clients of the project (a public "
            "client is `invalid_client`). A `project_id` no project could have is 404.",
            project=True,
        )},
        "/projects/{project_id}/oauth/revoke": {"post": _revoke_operation(
            "revokeProjectToken",
            "Revoke a token at a project's server (RFC 7009)",
            "The revocation endpoint of the project's own authorization server: as "
            "`POST /oauth/revoke`, for the project's clients, public clients included (they "
            "send only `client_id`). A `project_id` no project could have is 404.",
            project=True,
        )},
        "/projects/{project_id}/oauth/userinfo": {"get": _userinfo_operation(
            "getProjectUserInfo",
            "OpenID Connect UserInfo at a project's server",
            "The `userinfo_endpoint` of the project's own authorization server: as "
            "`GET /oauth/userinfo`, and an access token of another project is 401 too.",
            project=True,
        )},
        "/projects/{project_id}/oauth/register": {
            "post": {
                "operationId": "registerProjectClient",
                "summary": "Register a client (RFC 7591)",
                "description": (
                    "Dynamic client registration at the project's own authorization server, for "
                    "MCP clients and other clients that register themselves. Only a project "
                    "created or updated with `--allow-registration` takes it (its metadata then "
                    "has `registration_endpoint`); otherwise, or for an unknown project, 404. "
                    "No authentication (open registration). Each client IP address may make 10 "
                    "registration requests an hour (default), counted before the body is read, "
                    "failed ones included; past that, 429 with `Retry-After`.\n\n"
                    "The body is the client's metadata (RFC 7591 §2) as `application/json`, "
                    "checked as described by `ClientMetadata`. The client gets a fresh "
                    "`client_id` and, for `client_secret_basic` and `client_secret_post`, a "
                    "`client_secret` (shown only in this response, kept only as a hash, never "
                    "expiring); `none` (a public client) and `private_key_jwt` (keys in `jwks` or "
                    "at `jwks_uri`) get no secret. It may use only the code flow with PKCE (S256) "
                    "and refresh tokens (rotated on every use), for the scopes it registered "
                    "among the project's and its resources' (all of them when it named none), "
                    "and is third-party: the user is asked on the consent page before it gets a "
                    "code. The answer (201) waits until the client can be used (5 seconds at "
                    "most by default)."
                ),
                "tags": ["oauth"],
                "parameters": [_PROJECT_ID],
                "requestBody": {"$ref": "#/components/requestBodies/ClientRegistration"},
                "responses": {
                    "201": _json_ok(
                        "The client is registered: its client information (RFC 7591 §3.2.1), "
                        "the metadata as the server holds it.",
                        "ClientInformation",
                        {
                            "client_id": "cid_5e0c1f9a2b7d4e8c3a6f0b1d",
                            "client_id_issued_at": 1767225600,
                            "client_name": "Agent Smith",
                            "redirect_uris": ["http://127.0.0.1/callback"],
                            "token_endpoint_auth_method": "none",
                            "grant_types": ["authorization_code", "refresh_token"],
                            "response_types": ["code"],
                            "application_type": "native",
                            "scope": "openid mcp:tools",
                        },
                    ),
                    "400": _json_error(
                        "The metadata is refused (RFC 7591 §3.2.2): `invalid_redirect_uri` for "
                        "`redirect_uris` (missing, empty, more than 20, not a string, or one that "
                        "is not https, loopback http or a private-use scheme, has a fragment, a "
                        "wildcard or user info, or is not https on a real host for "
                        "`application_type` `web`), `invalid_client_metadata` for anything else "
                        "(not JSON, not `application/json`, not an object, or a member that "
                        "breaks `ClientMetadata`'s rules); `invalid_request` when the body "
                        "cannot be read. Nothing is registered.",
                        {
                            "invalid_redirect_uri": (
                                "invalid_redirect_uri",
                                "redirect URI 'http://agent.example/cb' must use https (http only for loopback)",
                            ),
                            "not_json": ("invalid_client_metadata", "send the client metadata as application/json"),
                            "auth_method": (
                                "invalid_client_metadata",
                                "token_endpoint_auth_method must be one of client_secret_basic, "
                                "client_secret_post, private_key_jwt, none",
                            ),
                            "unknown_scope": (
                                "invalid_client_metadata",
                                "scope names scopes this project does not have: admin:everything",
                            ),
                            "keys": ("invalid_client_metadata", "private_key_jwt needs jwks or jwks_uri (one of them)"),
                        },
                    ),
                    "404": _json_error(
                        "The project does not take registrations, or there is no such project "
                        "(the same answer). For a `project_id` no project could have the body is "
                        "only `{\"error\": \"not_found\"}`.",
                        {"not_open": ("not_found", "this project does not take dynamic client registration")},
                    ),
                    "413": {"$ref": "#/components/responses/PayloadTooLarge"},
                    "429": {
                        "description": (
                            "This client IP address registered too many clients (10 an hour "
                            "by default; refused requests do not count); nothing is read or "
                            "registered until the window moves on."
                        ),
                        "headers": {
                            "Cache-Control": {"$ref": "#/components/headers/CacheControlNoStore"},
                            "Pragma": {"$ref": "#/components/headers/PragmaNoCache"},
                            "Retry-After": {"$ref": "#/components/headers/RetryAfter"},
                        },
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/OAuthError"},
                                "example": {"error": "invalid_request",
                                            "error_description": "too many failed attempts, retry later"},
                            }
                        },
                    },
                    "503": {"$ref": "#/components/responses/TemporarilyUnavailable"},
                },
            }
        },
        "/openapi.json": {
            "get": {
                "operationId": "getOpenApiDocument",
                "summary": "This OpenAPI document",
                "description": "The OpenAPI 3.1 description of this API (this document).",
                "tags": ["meta"],
                "responses": {
                    "200": {
                        "description": "The OpenAPI document.",
                        "content": {
                            "application/json": {
                                "schema": {"type": "object"},
                            }
                        },
                    }
                },
            }
        },
    },
    "components": {
        "securitySchemes": {
            "clientBasic": {
                "type": "http",
                "scheme": "basic",
                "description": (
                    "client_secret_basic: HTTP Basic with the client_id as user name and the "
                    "client_secret as password. "
                    "client_secret_post also works: send `client_id` and `client_secret` in the "
                    "request body (form or JSON) instead of the Authorization header. Clients "
                    "registered without a secret use the body instead: `private_key_jwt` "
                    "(`client_assertion_type` and `client_assertion`, RFC 7523) or, a public "
                    "client, `none` (`client_id` alone); see `ClientCredentials`."
                ),
            },
            "bearerAccessToken": {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT",
                "description": (
                    "An end-user access token (from the authorization_code or refresh_token "
                    "grant) in `Authorization: Bearer <token>` (RFC 6750 §2.1), never in the "
                    "query."
                ),
            },
            "xenditCallbackToken": {
                "type": "apiKey",
                "in": "header",
                "name": "x-callback-token",
                "description": (
                    "Xendit's webhook verification token (Xendit's dashboard, Webhooks), which "
                    "the server holds as `ASTAPA_XENDIT_CALLBACK_TOKEN`; compared in constant "
                    "time. Only `POST /api/webhooks/xendit` takes it."
                ),
            },
        },
        "parameters": {
            "IfNoneMatch": {
                "name": "If-None-Match",
                "in": "header",
                "required": False,
                "description": (
                    "An ETag from an earlier response; if it still matches, the server answers "
                    "304 Not Modified without a body."
                ),
                "schema": {"type": "string"},
            },
            "ClientId": {
                "name": "client_id",
                "in": "query",
                "required": True,
                "description": (
                    "The client's id. Missing, repeated or unknown: the 400 error page (never "
                    "redirected)."
                ),
                "schema": {"type": "string"},
                "example": "cl_8Yt3xQ",
            },
            "ProjectId": {
                "name": "project_id",
                "in": "path",
                "required": True,
                "description": (
                    "The project whose own authorization server answers (issuer "
                    "`<issuer>/projects/{project_id}`). An id no project could have (not 1 to 64 "
                    "letters, digits, `_` or `-`) is 404 at the metadata, token, introspection, "
                    "revocation and registration endpoints and the 400 page at the authorization "
                    "endpoint; the JWK Set does not depend on it, and UserInfo refuses a token "
                    "of another project. An unknown project knows no clients, and its metadata "
                    "is 404."
                ),
                "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"},
                "example": "prj_Qm2v7",
            },
            "ProjectClientId": {
                "name": "client_id",
                "in": "query",
                "required": True,
                "description": (
                    "A client of this project, or the https URL of a Client ID Metadata Document "
                    "(draft-ietf-oauth-client-id-metadata-document): a JSON document whose "
                    "`client_id` is that same URL, with `client_name` and `redirect_uris`, and "
                    "optionally `token_endpoint_auth_method` (`none`, the default, or "
                    "`private_key_jwt` with `jwks` or `jwks_uri`), `scope`, `grant_types`, "
                    "`response_types` and `application_type`, checked by the rules of "
                    "`ClientMetadata`. The URL must have a path and no fragment, dot segment or "
                    "user info. The document is fetched over https from public addresses only "
                    "(no redirects, at most 64 KiB, within 5 seconds) and kept as its "
                    "`Cache-Control` says (5 minutes without one, a day at most). Missing, "
                    "repeated, unknown, another project's client, or a document that cannot be "
                    "fetched or used: the 400 error page (never redirected)."
                ),
                "schema": {"type": "string"},
                "examples": {
                    "client": {"summary": "A client of the project", "value": "cl_8Yt3xQ"},
                    "document": {
                        "summary": "A Client ID Metadata Document's URL",
                        "value": "https://agent.example/oauth/client.json",
                    },
                },
            },
            "RedirectUri": {
                "name": "redirect_uri",
                "in": "query",
                "required": True,
                "description": (
                    "Where to send the user back. Must equal one of the client's registered "
                    "redirect URIs byte for byte (no normalisation, no wildcard); for a public "
                    "client, a loopback `http` URI (127.0.0.1, [::1] or localhost, which never "
                    "stand for each other) also with any port (RFC 8252 §7.3). Missing, "
                    "repeated or not registered: the 400 error page (never redirected). The "
                    "token request must send the same value."
                ),
                "schema": {"type": "string", "format": "uri"},
                "example": "https://app.example/callback",
            },
            "ResponseType": {
                "name": "response_type",
                "in": "query",
                "required": False,
                "description": (
                    "Only `code` (also the default when omitted); anything else is "
                    "`unsupported_response_type`."
                ),
                "schema": {"type": "string", "enum": ["code"], "default": "code"},
            },
            "State": {
                "name": "state",
                "in": "query",
                "required": False,
                "description": (
                    "Opaque value returned unchanged with the code or the error; recommended "
                    "against CSRF on the client's side."
                ),
                "schema": {"type": "string"},
                "example": "af0ifjsldkj",
            },
            "Scope": {
                "name": "scope",
                "in": "query",
                "required": False,
                "description": (
                    "Space-separated scopes: any of `openid`, `email`, `profile`, "
                    "`offline_access` and the scopes granted to the client (the project's "
                    "scopes; for a registered or metadata-document client, those it named among "
                    "the project's and its resources' scopes, all of them when it named none). "
                    "Anything else, or a malformed value, is `invalid_scope`. `openid` "
                    "adds an ID token to the token response and `email` puts the email claims "
                    "in it; `profile` and `offline_access` are accepted and change nothing (a refresh "
                    "token is always issued). Omitted: no scopes."
                ),
                "schema": {"type": "string"},
                "example": "openid email orders:read",
            },
            "CodeChallenge": {
                "name": "code_challenge",
                "in": "query",
                "required": False,
                "description": (
                    "PKCE (RFC 7636): BASE64URL(SHA-256(code_verifier)), 43 characters. When "
                    "sent, the token request must carry the matching `code_verifier`. Malformed: "
                    "`invalid_request`. Required from public clients and third-party clients "
                    "(registered or metadata-document ones): without it, `invalid_request`."
                ),
                "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{43}$"},
                "example": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            },
            "CodeChallengeMethod": {
                "name": "code_challenge_method",
                "in": "query",
                "required": False,
                "description": (
                    "Must be `S256` whenever `code_challenge` is sent: `plain`, or no method "
                    "(which means plain), is `invalid_request`, as is a method without a "
                    "challenge."
                ),
                "schema": {"type": "string", "enum": ["S256"]},
            },
            "Nonce": {
                "name": "nonce",
                "in": "query",
                "required": False,
                "description": (
                    "OpenID Connect: copied into the ID token's `nonce`. At most 512 characters "
                    "(`invalid_request`)."
                ),
                "schema": {"type": "string", "maxLength": 512},
            },
            "Prompt": {
                "name": "prompt",
                "in": "query",
                "required": False,
                "description": (
                    "OpenID Connect, space-separated: `login` always shows the form, even with "
                    "a live session; `none` never shows a page (a reusable session gives a "
                    "code, otherwise `login_required`, or `consent_required` for a third-party "
                    "client not yet allowed) and cannot be combined with other values; "
                    "`consent` shows a third-party client's consent page even when the user "
                    "allowed it before; `select_account` is accepted and changes nothing. Any other "
                    "value is `invalid_request`."
                ),
                "schema": {"type": "string"},
                "example": "login",
            },
            "MaxAge": {
                "name": "max_age",
                "in": "query",
                "required": False,
                "description": (
                    "OpenID Connect: a session signed in more than this many seconds ago is not "
                    "reused (the form is shown); 0 always shows the form. Not a non-negative "
                    "integer: `invalid_request`."
                ),
                "schema": {"type": "integer", "minimum": 0},
            },
            "LoginHint": {
                "name": "login_hint",
                "in": "query",
                "required": False,
                "description": "Pre-fills the form's email field.",
                "schema": {"type": "string"},
                "example": "ada@example.org",
            },
            "Resource": {
                "name": "resource",
                "in": "query",
                "required": False,
                "description": (
                    "RFC 8707: absolute URI of the protected resource, without fragment, at "
                    "most 2048 characters; it becomes the access tokens' `aud` (default: the "
                    "client_id). When the client's project registered resources (`astapa "
                    "resource add`), it must be one of them, compared forgiving the scheme's and "
                    "host's case, a default port and a trailing slash, and `aud` is the URI as "
                    "registered. Invalid, not registered, or sent more than once: "
                    "`invalid_target`."
                ),
                "schema": {"type": "string", "format": "uri"},
                "example": "https://api.example.com",
            },
            "SessionCookie": {
                "name": "astapa_session",
                "in": "cookie",
                "required": False,
                "description": (
                    "The hosted pages' browser session, set at sign-in or sign-up (named "
                    "`__Host-astapa_session` when the issuer is https). It lasts 1 hour idle "
                    "and 10 hours at most (defaults), belongs to one project, and stops working "
                    "at sign-out or when the user's tokens are revoked."
                ),
                "schema": {"type": "string"},
            },
            "CsrfCookie": {
                "name": "astapa_csrf",
                "in": "cookie",
                "required": True,
                "description": (
                    "The pre-session cookie set with every form (named `__Host-astapa_csrf` "
                    "when the issuer is https); the form's `csrf_token` must be derived from it."
                ),
                "schema": {"type": "string"},
            },
            "ExternalSignInCookie": {
                "name": "astapa_external",
                "in": "cookie",
                "required": True,
                "description": (
                    "The binding cookie set when `POST /auth/login` or `POST /auth/signup` "
                    "started the Google or GitHub sign-in (named `__Host-astapa_external` when "
                    "the issuer is https): the sign-in continues only in the browser that "
                    "started it. Without it, or with another browser's, the 400 page that never "
                    "redirects."
                ),
                "schema": {"type": "string", "minLength": 20, "maxLength": 100},
            },
            "LinkToken": {
                "name": "token",
                "in": "query",
                "required": True,
                "description": (
                    "The token of a mailed link, as the mail gives it. Missing, malformed, "
                    "unknown, for another kind of link, expired, already used, replaced by a "
                    "newer link, or of a disabled account: the 400 page."
                ),
                "schema": {"type": "string", "maxLength": 200},
            },
            "UserSub": {
                "name": "sub",
                "in": "path",
                "required": True,
                "description": (
                    "The user's id. Not a user id (a decimal number without leading zeros, at "
                    "most 16 digits), or the id of no user of the caller's project: 404."
                ),
                "schema": {"type": "string", "pattern": "^[1-9][0-9]{0,15}$"},
                "example": "4503599627370497",
            },
            "UserEmail": {
                "name": "email",
                "in": "query",
                "required": False,
                "description": (
                    "Look one user up by email address (normalised as at sign-in). Present: "
                    "the look-up form, `limit` and `cursor` are ignored."
                ),
                "schema": {"type": "string"},
                "example": "ada@example.org",
            },
            "UsersLimit": {
                "name": "limit",
                "in": "query",
                "required": False,
                "description": "The listing's page size. Not a whole number from 1 to 200: 400.",
                "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50},
            },
            "UsersCursor": {
                "name": "cursor",
                "in": "query",
                "required": False,
                "description": (
                    "Where the listing goes on: the `next_cursor` of the previous page, as "
                    "given (opaque). Omitted: from the first user. A value not taken from "
                    "`next_cursor` may be 400."
                ),
                "schema": {"type": "string"},
                "example": "50",
            },
            "EventsAfter": {
                "name": "after",
                "in": "query",
                "required": False,
                "description": (
                    "Only events with a greater `position`: the position of the last event "
                    "already read. Omitted: from the first. Not a whole number from 0 to 2^62: "
                    "400."
                ),
                "schema": {"type": "integer", "minimum": 0, "maximum": 4611686018427387904, "default": 0},
            },
            "EventsLimit": {
                "name": "limit",
                "in": "query",
                "required": False,
                "description": "At most this many events. Not a whole number from 1 to 1000: 400.",
                "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
            },
            "PaymentId": {
                "name": "payment_id",
                "in": "path",
                "required": True,
                "description": (
                    "The payment's id, as `POST /api/platform/payments` gave it. Not a payment "
                    "id, or the id of no payment of the caller's project: 404."
                ),
                "schema": {"type": "string", "pattern": "^pay_[0-9a-f]{24}$"},
                "example": "pay_5f2c8e1a9b3d4c6e7f8a9b0c",
            },
            "IdempotencyKey": {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "description": (
                    "Any string of 1 to 255 characters the caller picks for this payment "
                    "(a UUID, say), unique in the project: a create retried with the same key "
                    "answers 201 with the same payment (as it is now) and never makes a second "
                    "one. Used before for another user's payment: 400. Empty or too long: 400."
                ),
                "schema": {"type": "string", "minLength": 1, "maxLength": 255},
                "example": "order-2026-03-01-000123",
            },
        },
        "headers": {
            "ETag": {
                "description": "Entity tag of the representation; send it back in If-None-Match.",
                "schema": {"type": "string"},
            },
            "CacheControlPublic": {
                "description": "Caching policy of the document (public, with a max-age).",
                "schema": {"type": "string"},
            },
            "CacheControlNoStore": {
                "description": "Always `no-store`.",
                "schema": {"type": "string", "const": "no-store"},
            },
            "PragmaNoCache": {
                "description": "Always `no-cache`.",
                "schema": {"type": "string", "const": "no-cache"},
            },
            "RetryAfter": {
                "description": "Seconds to wait before retrying.",
                "schema": {"type": "integer", "minimum": 0},
            },
            "WWWAuthenticateBasic": {
                "description": (
                    'Sent as `Basic realm="astapa"` when the client tried HTTP Basic '
                    "authentication."
                ),
                "schema": {"type": "string"},
                "example": 'Basic realm="astapa"',
            },
            "WWWAuthenticateBearer": {
                "description": "The RFC 6750 §3 challenge, sent with every 401 of a bearer-token endpoint.",
                "schema": {"type": "string", "const": 'Bearer realm="astapa", error="invalid_token"'},
            },
            "ContentSecurityPolicyPage": {
                "description": (
                    "The hosted pages' policy: no script at all, styles and images only from "
                    "this origin, never framed."
                ),
                "schema": {"type": "string"},
                "example": (
                    "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
                    "object-src 'none'; frame-ancestors 'none'"
                ),
            },
            "AuthorizationLocation": {
                "description": (
                    "The client's `redirect_uri` with the response parameters added to its "
                    "query: `code`, `state` (when the request had one) and `iss` (the issuer, "
                    "RFC 9207) on success; `error`, `error_description`, `state` and `iss` on an "
                    "error."
                ),
                "schema": {"type": "string", "format": "uri"},
                "example": (
                    "https://app.example/callback?code=dQ7v9O1ar8gxDK1y2yPWudwNjg-oWKM2r6eyPE4U0Ko"
                    "&state=af0ifjsldkj&iss=https%3A%2F%2Fauth.example.com"
                ),
            },
            "SetSessionCookie": {
                "description": (
                    "Sent when a new session starts (sign-in or sign-up), not when a session is "
                    "reused: `astapa_session`, HttpOnly, SameSite=Lax, Path=/, Max-Age the "
                    "session's absolute lifetime (10 hours by default); named "
                    "`__Host-astapa_session` and Secure when the issuer is https."
                ),
                "schema": {"type": "string"},
                "example": "astapa_session=9987786c6de6458eabfa1aebf4bf6bb8.E8ZMK04y...; HttpOnly; "
                           "Max-Age=36000; Path=/; SameSite=Lax",
            },
            "SetExternalSignInCookie": {
                "description": (
                    "Sent when a Google or GitHub sign-in starts: `astapa_external`, a random "
                    "value binding the sign-in to this browser (the server keeps only its hash; "
                    "one the browser has already is kept), HttpOnly, SameSite=Lax (the "
                    "provider's redirect back is a top-level GET, which carries it), Path=/, "
                    "Max-Age 1200 (the 10 minutes of the trip to the provider plus the 10 "
                    "minutes of a link offer, defaults); named `__Host-astapa_external` and "
                    "Secure when the issuer is https. Expired when the callback signs the user "
                    "in."
                ),
                "schema": {"type": "string"},
                "example": "astapa_external=Yx3kq0S5b8Zr1Wc9mUeT2hLpNfD7vA4jGiOoQs6RtXw; HttpOnly; "
                           "Max-Age=1200; Path=/; SameSite=Lax",
            },
            "SetCsrfCookie": {
                "description": (
                    "Sent with a form when the browser has no CSRF cookie yet: `astapa_csrf`, "
                    "HttpOnly, SameSite=Lax, Path=/, a browser-session cookie; named "
                    "`__Host-astapa_csrf` and Secure when the issuer is https."
                ),
                "schema": {"type": "string"},
                "example": "astapa_csrf=mUI7Z0HxdCbW1YO4D9dnGvB8RIM5MztuY0uYCqb-VDU; HttpOnly; Path=/; "
                           "SameSite=Lax",
            },
        },
        "requestBodies": {
            "SignInForm": {
                "description": (
                    "The sign-in or sign-up form as the page posts it. Bodies over 64 KiB are "
                    "rejected with 413 (JSON)."
                ),
                "required": True,
                "content": {
                    "application/x-www-form-urlencoded": {
                        "schema": {"$ref": "#/components/schemas/SignInForm"},
                    }
                },
            },
            "EmailForm": {
                "description": (
                    "The form that asks for a mailed link, as the page posts it. Bodies over "
                    "64 KiB are rejected with 413 (JSON)."
                ),
                "required": True,
                "content": {
                    "application/x-www-form-urlencoded": {
                        "schema": {"$ref": "#/components/schemas/EmailForm"},
                    }
                },
            },
            "LinkForm": {
                "description": (
                    "The button of a mailed link's page, as the page posts it. Bodies over "
                    "64 KiB are rejected with 413 (JSON)."
                ),
                "required": True,
                "content": {
                    "application/x-www-form-urlencoded": {
                        "schema": {"$ref": "#/components/schemas/LinkForm"},
                    }
                },
            },
            "NewPasswordForm": {
                "description": (
                    "The password reset link's form, as the page posts it. Bodies over 64 KiB "
                    "are rejected with 413 (JSON)."
                ),
                "required": True,
                "content": {
                    "application/x-www-form-urlencoded": {
                        "schema": {"$ref": "#/components/schemas/NewPasswordForm"},
                    }
                },
            },
            "ConsentForm": {
                "description": (
                    "The consent page's form, as the page posts it. Bodies over 64 KiB are "
                    "rejected with 413 (JSON)."
                ),
                "required": True,
                "content": {
                    "application/x-www-form-urlencoded": {
                        "schema": {"$ref": "#/components/schemas/ConsentForm"},
                    }
                },
            },
            "ClientRegistration": {
                "description": (
                    "The client's metadata (RFC 7591 §2) as `application/json`; any other "
                    "`Content-Type` is `invalid_client_metadata`. Bodies over 64 KiB are "
                    "rejected with 413."
                ),
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {"$ref": "#/components/schemas/ClientMetadata"},
                        "examples": {
                            "public": {
                                "summary": "A public native client (an MCP client on the user's machine)",
                                "value": {
                                    "client_name": "Agent Smith",
                                    "redirect_uris": ["http://127.0.0.1/callback"],
                                    "token_endpoint_auth_method": "none",
                                    "grant_types": ["authorization_code", "refresh_token"],
                                    "scope": "openid mcp:tools",
                                },
                            },
                            "confidential": {
                                "summary": "A web client with a secret",
                                "value": {
                                    "client_name": "Agent Cloud",
                                    "redirect_uris": ["https://agent.example/cb"],
                                    "token_endpoint_auth_method": "client_secret_basic",
                                    "scope": "mcp:tools",
                                },
                            },
                            "private_key_jwt": {
                                "summary": "A web client with its own keys",
                                "value": {
                                    "client_name": "Agent Keys",
                                    "redirect_uris": ["https://agent.example/cb"],
                                    "token_endpoint_auth_method": "private_key_jwt",
                                    "jwks_uri": "https://agent.example/.well-known/jwks.json",
                                },
                            },
                        },
                    }
                },
            },
            "TokenRequest": {
                "description": (
                    "Token request parameters, as `application/x-www-form-urlencoded` (what "
                    "standard OAuth clients send) or `application/json`. Bodies over 64 KiB "
                    "are rejected with 413."
                ),
                "required": True,
                "content": {
                    "application/x-www-form-urlencoded": {
                        "schema": {"$ref": "#/components/schemas/TokenRequest"},
                    },
                    "application/json": {
                        "schema": {"$ref": "#/components/schemas/TokenRequest"},
                        "examples": {
                            "client_credentials": {
                                "summary": "A client's own token",
                                "value": {
                                    "grant_type": "client_credentials",
                                    "client_id": "cl_8Yt3xQ",
                                    "client_secret": "cs_...",
                                    "scope": "orders:read",
                                    "resource": "https://api.example.com",
                                },
                            },
                            "authorization_code": {
                                "summary": "Redeem an authorization code (with PKCE)",
                                "value": {
                                    "grant_type": "authorization_code",
                                    "code": "dQ7v9O1ar8gxDK1y2yPWudwNjg-oWKM2r6eyPE4U0Ko",
                                    "redirect_uri": "https://app.example/callback",
                                    "code_verifier": "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
                                    "client_id": "cl_8Yt3xQ",
                                    "client_secret": "cs_...",
                                },
                            },
                            "refresh_token": {
                                "summary": "Rotate a refresh token",
                                "value": {
                                    "grant_type": "refresh_token",
                                    "refresh_token": "5f0c3b1e9a4d4c7e8b2a6d1f0e9c8b7a.Xq3...",
                                    "client_id": "cl_8Yt3xQ",
                                    "client_secret": "cs_...",
                                },
                            },
                            "public_client": {
                                "summary": "A public client redeems a code (client_id alone, PKCE, a resource)",
                                "value": {
                                    "grant_type": "authorization_code",
                                    "code": "dQ7v9O1ar8gxDK1y2yPWudwNjg-oWKM2r6eyPE4U0Ko",
                                    "redirect_uri": "http://127.0.0.1:53117/callback",
                                    "code_verifier": "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
                                    "client_id": "cid_5e0c1f9a2b7d4e8c3a6f0b1d",
                                    "resource": "https://mcp.example/mcp",
                                },
                            },
                            "private_key_jwt": {
                                "summary": "A machine client authenticates with a signed JWT (RFC 7523)",
                                "value": {
                                    "grant_type": "client_credentials",
                                    "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                                    "client_assertion": "eyJhbGciOiJFUzI1NiIsImtpZCI6ImsxIn0.eyJpc3MiOiJjbF84WXQzeFEi...",
                                    "scope": "orders:read",
                                },
                            },
                        },
                    },
                },
            },
            "TokenOperationRequest": {
                "description": (
                    "The token to introspect or revoke, as `application/x-www-form-urlencoded` "
                    "or `application/json`. Bodies over 64 KiB are rejected with 413."
                ),
                "required": True,
                "content": {
                    "application/x-www-form-urlencoded": {
                        "schema": {"$ref": "#/components/schemas/TokenOperationRequest"},
                    },
                    "application/json": {
                        "schema": {"$ref": "#/components/schemas/TokenOperationRequest"},
                        "example": {"token": "eyJhbGciOiJSUzI1NiIs...", "token_type_hint": "access_token"},
                    },
                },
            },
        },
        "responses": {
            "Metadata": {
                "description": "The authorization server metadata.",
                "headers": {
                    "ETag": {"$ref": "#/components/headers/ETag"},
                    "Cache-Control": {"$ref": "#/components/headers/CacheControlPublic"},
                },
                "content": {
                    "application/json": {
                        "schema": {"$ref": "#/components/schemas/Metadata"},
                        "example": {
                            "issuer": "https://auth.example.com",
                            "authorization_endpoint": "https://auth.example.com/oauth/authorize",
                            "token_endpoint": "https://auth.example.com/oauth/token",
                            "jwks_uri": "https://auth.example.com/.well-known/jwks.json",
                            "userinfo_endpoint": "https://auth.example.com/oauth/userinfo",
                            "introspection_endpoint": "https://auth.example.com/oauth/introspect",
                            "revocation_endpoint": "https://auth.example.com/oauth/revoke",
                            "grant_types_supported": [
                                "authorization_code",
                                "client_credentials",
                                "refresh_token",
                            ],
                            "response_types_supported": ["code"],
                            "response_modes_supported": ["query"],
                            "code_challenge_methods_supported": ["S256"],
                            "authorization_response_iss_parameter_supported": True,
                            "scopes_supported": ["openid", "email", "profile", "offline_access"],
                            "prompt_values_supported": ["none", "login", "consent", "select_account"],
                            "token_endpoint_auth_methods_supported": [
                                "client_secret_basic",
                                "client_secret_post",
                                "private_key_jwt",
                                "none",
                            ],
                            "token_endpoint_auth_signing_alg_values_supported": [
                                "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384",
                                "ES512", "EdDSA",
                            ],
                            "introspection_endpoint_auth_methods_supported": [
                                "client_secret_basic",
                                "client_secret_post",
                                "private_key_jwt",
                            ],
                            "introspection_endpoint_auth_signing_alg_values_supported": [
                                "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384",
                                "ES512", "EdDSA",
                            ],
                            "revocation_endpoint_auth_methods_supported": [
                                "client_secret_basic",
                                "client_secret_post",
                                "private_key_jwt",
                                "none",
                            ],
                            "revocation_endpoint_auth_signing_alg_values_supported": [
                                "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384",
                                "ES512", "EdDSA",
                            ],
                            "subject_types_supported": ["public"],
                            "id_token_signing_alg_values_supported": ["RS256"],
                            "claims_supported": [
                                "sub",
                                "iss",
                                "aud",
                                "exp",
                                "iat",
                                "auth_time",
                                "nonce",
                                "at_hash",
                                "email",
                                "email_verified",
                            ],
                        },
                    }
                },
            },
            "JWKS": {
                "description": "The JWK Set.",
                "headers": {
                    "ETag": {"$ref": "#/components/headers/ETag"},
                    "Cache-Control": {
                        "description": "Always `public, max-age=300`.",
                        "schema": {"type": "string", "const": "public, max-age=300"},
                    },
                },
                "content": {
                    "application/json": {
                        "schema": {"$ref": "#/components/schemas/JWKS"},
                        "example": {
                            "keys": [
                                {
                                    "kty": "RSA",
                                    "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
                                    "e": "AQAB",
                                    "kid": "k_2f1c9e0a",
                                    "use": "sig",
                                    "alg": "RS256",
                                }
                            ]
                        },
                    }
                },
            },
            "Introspection": {
                "description": "The introspection result.",
                "headers": {
                    "Cache-Control": {"$ref": "#/components/headers/CacheControlNoStore"},
                    "Pragma": {"$ref": "#/components/headers/PragmaNoCache"},
                },
                "content": {
                    "application/json": {
                        "schema": {"$ref": "#/components/schemas/IntrospectionResponse"},
                        "examples": {
                            "active": {
                                "summary": "An active client_credentials token",
                                "value": {
                                    "active": True,
                                    "sub": "cl_8Yt3xQ",
                                    "scope": "orders:read orders:write",
                                    "client_id": "cl_8Yt3xQ",
                                    "exp": 1767229200,
                                    "iat": 1767225600,
                                    "iss": "https://auth.example.com",
                                    "aud": "https://api.example.com",
                                    "jti": "at_4kPq9ZrW",
                                    "token_type": "Bearer",
                                    "project_id": "prj_Qm2v7",
                                },
                            },
                            "inactive": {
                                "summary": "An expired, revoked, unknown or foreign token",
                                "value": {"active": False},
                            },
                        },
                    }
                },
            },
            "ProjectMetadata": {
                "description": (
                    "The project's authorization server metadata: the service's document with "
                    "the project's issuer and endpoints, `client_id_metadata_document_supported`, "
                    "the project's scopes, and `registration_endpoint` when it takes "
                    "registrations."
                ),
                "headers": {
                    "ETag": {"$ref": "#/components/headers/ETag"},
                    "Cache-Control": {
                        "description": "Always `public, max-age=60`.",
                        "schema": {"type": "string", "const": "public, max-age=60"},
                    },
                },
                "content": {
                    "application/json": {
                        "schema": {"$ref": "#/components/schemas/Metadata"},
                        "example": {
                            "issuer": "https://auth.example.com/projects/prj_Qm2v7",
                            "authorization_endpoint": "https://auth.example.com/projects/prj_Qm2v7/oauth/authorize",
                            "token_endpoint": "https://auth.example.com/projects/prj_Qm2v7/oauth/token",
                            "jwks_uri": "https://auth.example.com/projects/prj_Qm2v7/.well-known/jwks.json",
                            "userinfo_endpoint": "https://auth.example.com/projects/prj_Qm2v7/oauth/userinfo",
                            "introspection_endpoint": "https://auth.example.com/projects/prj_Qm2v7/oauth/introspect",
                            "revocation_endpoint": "https://auth.example.com/projects/prj_Qm2v7/oauth/revoke",
                            "grant_types_supported": [
                                "authorization_code",
                                "client_credentials",
                                "refresh_token",
                            ],
                            "response_types_supported": ["code"],
                            "response_modes_supported": ["query"],
                            "code_challenge_methods_supported": ["S256"],
                            "authorization_response_iss_parameter_supported": True,
                            "scopes_supported": [
                                "openid", "email", "profile", "offline_access", "read", "mcp:tools",
                                "mcp:admin",
                            ],
                            "prompt_values_supported": ["none", "login", "consent", "select_account"],
                            "token_endpoint_auth_methods_supported": [
                                "client_secret_basic", "client_secret_post", "private_key_jwt", "none",
                            ],
                            "token_endpoint_auth_signing_alg_values_supported": [
                                "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384",
                                "ES512", "EdDSA",
                            ],
                            "introspection_endpoint_auth_methods_supported": [
                                "client_secret_basic", "client_secret_post", "private_key_jwt",
                            ],
                            "introspection_endpoint_auth_signing_alg_values_supported": [
                                "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384",
                                "ES512", "EdDSA",
                            ],
                            "revocation_endpoint_auth_methods_supported": [
                                "client_secret_basic", "client_secret_post", "private_key_jwt", "none",
                            ],
                            "revocation_endpoint_auth_signing_alg_values_supported": [
                                "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384",
                                "ES512", "EdDSA",
                            ],
                            "subject_types_supported": ["public"],
                            "id_token_signing_alg_values_supported": ["RS256"],
                            "claims_supported": [
                                "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash",
                                "email", "email_verified",
                            ],
                            "client_id_metadata_document_supported": True,
                            "registration_endpoint": "https://auth.example.com/projects/prj_Qm2v7/oauth/register",
                        },
                    }
                },
            },
            "ProjectNotFound": {
                "description": (
                    "`not_found`: the `project_id` is not one a project could have (every "
                    "project-server endpoint that checks it), or, for the metadata documents, no "
                    "project has it."
                ),
                "content": {
                    "application/json": {
                        "schema": {"$ref": "#/components/schemas/OAuthError"},
                        "examples": {
                            "malformed": {
                                "summary": "An id no project could have",
                                "value": {"error": "not_found"},
                            },
                            "unknown": {
                                "summary": "No such project (metadata documents)",
                                "value": {"error": "not_found", "error_description": "no such project"},
                            },
                        },
                    }
                },
            },
            "ConsentPage": _form_page(
                "The consent page a third-party client's user sees before its first code (and "
                "again when it asks for more, or with `prompt=consent`): \"Allow <client> "
                "access?\", where it sends the user back (the host of `redirect_uri`), a warning "
                "when every redirect URI of the client is on the user's own computer (loopback), "
                "what it asks for (each scope, described), the `resource` when one was asked "
                "for, and its `client_id`, with Allow and Deny buttons that post to "
                "`POST /auth/consent` (hidden `authorization` and `csrf_token`). When a session "
                "has just started, it also sets the session cookie."
            ),
            "SignInPage": _form_page(
                "The sign-in form (email, password, Sign in, Email me a sign-in link, Continue "
                "with Google and Continue with GitHub for the providers turned on for the "
                "project, and Cancel), naming the client, with links to the sign-up form and to "
                "\"Forgot password?\" (`GET /auth/forgot-password`); `login_hint` pre-fills the "
                "email. Or, for a third-party client with a reusable session whose user has not "
                "yet allowed what it asks for, the consent page (see `ConsentPage`)."
            ),
            "SignUpPage": _form_page(
                "The sign-up form (email, password of at least 8 characters, Sign up, Continue "
                "with Google and Continue with GitHub for the providers turned on for the "
                "project, and Cancel), naming the client, with a link to the sign-in form."
            ),
            "EmailFormPage": _form_page(
                "The form that asks for an email address to mail a link to (\"Reset your "
                "password\" with \"Send reset link\", or \"Verify your email address\" with "
                "\"Send the link again\"), with a link back to the sign-in page; `login_hint` "
                "pre-fills the email."
            ),
            "CheckInboxPage": _form_page(
                "\"Check your inbox\": \"If an account exists for <email>, we have sent it a link "
                "to choose a new password. The link works for 15 minutes.\" (for the "
                "verification link: \"If <email> has an account waiting to be verified, we have "
                "sent it the link again. The link works for 24 hours.\"), with a link back to "
                "the sign-in page. The same page whether or not the address has an account, "
                "whether or not a mail was sent, and past the per-address limit."
            ),
            "LinkRequestsThrottled": _form_page(
                "Too many link requests from this client IP address (default 60 an hour, "
                "`POST /auth/forgot-password`, `POST /auth/resend-verification` and "
                "`action=magic_link` of `POST /auth/login` together): the form again with "
                "\"Too many requests. Try again in N minutes.\" and `Retry-After`. Nothing is "
                "mailed.",
                {"Retry-After": {"$ref": "#/components/headers/RetryAfter"}},
            ),
            "LinkPage": _form_page(
                "The mailed link's page, naming the account's email and the client, with one "
                "button that posts the token back (the link is not used yet): \"Choose a new "
                "password\" with a new-password field and \"Set new password\", \"Sign in to "
                "<client>\" with \"Sign in\", or \"Verify your email address\" with \"Verify "
                "email address\"."
            ),
            "DeadLinkPage": _html_response(
                "\"This link can no longer be used\": the token is missing, malformed or unknown, "
                "or the link is for another page, expired, already used, replaced by a newer "
                "link of the same kind, or of a disabled account; the text says how to get a "
                "new one. Or, when the authorization request the link was asked from no longer "
                "names a valid client and redirect_uri, the error page of `GET /oauth/authorize`."
            ),
            "AuthorizationResponse": _redirect_response(
                "Back to the client (RFC 6749 §4.1.2), see `Location`. With a code when the user "
                "signed in, signed up, used a mailed link or had a reusable session (a new "
                "session also sets the "
                "session cookie); a third-party client only once the user allowed it (until "
                "then the answer is the consent page, 200). `iss` is the issuer of the "
                "authorization server the request was made to (a project's own: "
                "`<issuer>/projects/{project_id}`). With an error (§4.1.2.1) once `client_id` "
                "and `redirect_uri` are valid: `invalid_request` (repeated parameter, bad or "
                "(for a public or third-party client) missing PKCE parameters, bad "
                "`prompt`, `max_age` or `nonce`), `unsupported_response_type`, "
                "`unauthorized_client` (the client may not use the code flow), `invalid_scope`, "
                "`invalid_target`, `login_required` (`prompt=none` without a reusable session), "
                "`consent_required` (`prompt=none`, a third-party client not yet allowed) "
                "or `access_denied` (the user pressed Cancel).",
                starts_session=True,
            ),
            "AuthorizationErrorResponse": _redirect_response(
                "Back to the client with an error (RFC 6749 §4.1.2.1), see `Location`: "
                "`invalid_request`, `unsupported_response_type`, `unauthorized_client`, "
                "`invalid_scope` or `invalid_target`.",
                starts_session=False,
            ),
            "SignInFormRedirect": {
                "description": (
                    "Either back to the client, as `AuthorizationResponse`: with a code after a "
                    "sign-in or sign-up (a new session sets the session cookie; a third-party "
                    "client's user not yet asked gets the consent page instead, 200), with "
                    "`access_denied` after Cancel, or with another error of the authorization "
                    "request. Or, after `action=google` or `action=github`, to the provider's "
                    "authorization page (Google's `authorization_endpoint` from its discovery "
                    "document, GitHub's `/login/oauth/authorize`) with `client_id`, "
                    "`redirect_uri` (`<issuer>/auth/callback/<provider>`), `scope`, a fresh "
                    "`state`, `code_challenge` with `code_challenge_method=S256`, for Google "
                    "`response_type=code` and a `nonce`, and the request's `login_hint` "
                    "(Google's `login_hint`, GitHub's `login`); this answer sets the binding "
                    "cookie `astapa_external` and starts no session."
                ),
                "headers": {
                    "Location": {
                        "description": (
                            "The client's `redirect_uri` with the response parameters (see "
                            "`AuthorizationLocation`), or the provider's authorization URL."
                        ),
                        "schema": {"type": "string", "format": "uri"},
                        "example": (
                            "https://github.com/login/oauth/authorize?client_id=Iv1.8a61f9b3a7aba766"
                            "&redirect_uri=https%3A%2F%2Fauth.example.com%2Fauth%2Fcallback%2Fgithub"
                            "&scope=read%3Auser+user%3Aemail&state=k7Hq2Vx9.Zp4rT8mWc1yB6nLs0dFjE3uQaGhKo5iXvR"
                            "&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
                            "&code_challenge_method=S256"
                        ),
                    },
                    "Set-Cookie": {
                        "description": (
                            "The session cookie when a new session starts (see "
                            "`SetSessionCookie`), or `astapa_external` when a Google or GitHub "
                            "sign-in starts (see `SetExternalSignInCookie`)."
                        ),
                        "schema": {"type": "string"},
                    },
                    "Content-Security-Policy": {"$ref": "#/components/headers/ContentSecurityPolicyPage"},
                    "Cache-Control": {"$ref": "#/components/headers/CacheControlNoStore"},
                    "Pragma": {"$ref": "#/components/headers/PragmaNoCache"},
                },
            },
            "ProviderUnavailableForm": _form_page(
                "Google or GitHub could not be used: unreachable, slower than 10 seconds a call, "
                "an error status, an answer that is not JSON or over 1 MiB, or a discovery "
                "document or key set that is not what Google documents. The sign-in form (the "
                "sign-up form when starting from it) with \"<Provider> isn't answering right "
                "now. Try again in a moment, or sign in another way.\" On the way back the "
                "state is spent: the user starts again."
            ),
            "InvalidAuthorizationPage": _html_response(
                "\"This sign-in link is not valid\": the client is unknown, or `client_id` or "
                "`redirect_uri` is missing, repeated or (for redirect_uri) not registered, or "
                "the query is over 16 KiB or malformed. Shown to the user, never redirected."
            ),
            "PageUnavailable": _html_response(
                "\"Please try again\": the event store was busy or a concurrent change "
                "conflicted; the user may simply retry."
            ),
            "UserInfo": {
                "description": "The user, as they are now.",
                "headers": {
                    "Cache-Control": {"$ref": "#/components/headers/CacheControlNoStore"},
                    "Pragma": {"$ref": "#/components/headers/PragmaNoCache"},
                },
                "content": {
                    "application/json": {
                        "schema": {"$ref": "#/components/schemas/UserInfo"},
                        "example": {
                            "sub": "4503599627370497",
                            "email": "ada@example.org",
                            "email_verified": False,
                            "custom_claims": {"plan": "free"},
                            "created_at": "2026-01-01T09:30:00.123456+00:00",
                            "disabled": False,
                            "identities": [],
                        },
                    }
                },
            },
            "TokenInQuery": {
                "description": (
                    "`access_token` was sent in the query string (RFC 6750 §2.3 is not "
                    "supported): `invalid_request`."
                ),
                "headers": {
                    "Cache-Control": {"$ref": "#/components/headers/CacheControlNoStore"},
                },
                "content": {
                    "application/json": {
                        "schema": {"$ref": "#/components/schemas/OAuthError"},
                        "example": {
                            "error": "invalid_request",
                            "error_description": "send the access token in the Authorization header",
                        },
                    }
                },
            },
            "InvalidToken": {
                "description": (
                    "No bearer token, or one that is expired, revoked, forged, malformed, a "
                    "client_credentials token, or for a user who no longer exists (RFC 6750 §3.1)."
                ),
                "headers": {
                    "Cache-Control": {"$ref": "#/components/headers/CacheControlNoStore"},
                    "Pragma": {"$ref": "#/components/headers/PragmaNoCache"},
                    "WWW-Authenticate": {"$ref": "#/components/headers/WWWAuthenticateBearer"},
                },
                "content": {
                    "application/json": {
                        "schema": {"$ref": "#/components/schemas/OAuthError"},
                        "example": {
                            "error": "invalid_token",
                            "error_description": "the access token is invalid",
                        },
                    }
                },
            },
            "NotModified": {
                "description": "The representation matches If-None-Match; no body.",
                "headers": {"ETag": {"$ref": "#/components/headers/ETag"}},
            },
            "TokenIssued": {
                "description": (
                    "Tokens were issued. See the `TokenResponse`, `AccessTokenClaims` and "
                    "`IdTokenClaims` schemas."
                ),
                "headers": {
                    "Cache-Control": {"$ref": "#/components/headers/CacheControlNoStore"},
                    "Pragma": {"$ref": "#/components/headers/PragmaNoCache"},
                },
                "content": {
                    "application/json": {
                        "schema": {"$ref": "#/components/schemas/TokenResponse"},
                        "examples": {
                            "client_credentials": {
                                "summary": "client_credentials: an access token only",
                                "value": {
                                    "access_token": "eyJhbGciOiJSUzI1NiIsInR5cCI6ImF0K2p3dCIsImtpZCI6ImtfMmYxYzllMGEifQ...",
                                    "token_type": "Bearer",
                                    "expires_in": 3600,
                                    "scope": "orders:read",
                                },
                            },
                            "user": {
                                "summary": "authorization_code or refresh_token, scope with openid",
                                "value": {
                                    "access_token": "eyJhbGciOiJSUzI1NiIsInR5cCI6ImF0K2p3dCIsImtpZCI6ImtfMmYxYzllMGEifQ...",
                                    "token_type": "Bearer",
                                    "expires_in": 3600,
                                    "refresh_token": "5f0c3b1e9a4d4c7e8b2a6d1f0e9c8b7a.Xq3...",
                                    "scope": "openid email",
                                    "id_token": "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImtfMmYxYzllMGEifQ...",
                                },
                            },
                        },
                    }
                },
            },
            "TokenBadRequest": {
                "description": (
                    "The token request was rejected (RFC 6749 §5.2, RFC 8707 for "
                    "`invalid_target`)."
                ),
                "headers": {
                    "Cache-Control": {"$ref": "#/components/headers/CacheControlNoStore"},
                },
                "content": {
                    "application/json": {
                        "schema": {"$ref": "#/components/schemas/OAuthError"},
                        "examples": {
                            "invalid_request": {
                                "summary": "A required parameter is missing or malformed",
                                "value": {
                                    "error": "invalid_request",
                                    "error_description": "grant_type is required",
                                },
                            },
                            "invalid_grant": {
                                "summary": (
                                    "The code or refresh token is invalid, expired, used, "
                                    "revoked, or bound to another client, redirect_uri or "
                                    "PKCE challenge"
                                ),
                                "value": {
                                    "error": "invalid_grant",
                                    "error_description": "grant request is invalid",
                                },
                            },
                            "unsupported_grant_type": {
                                "summary": "The grant type is not supported",
                                "value": {
                                    "error": "unsupported_grant_type",
                                    "error_description": "unsupported grant_type",
                                },
                            },
                            "invalid_scope": {
                                "summary": (
                                    "A requested scope is not granted to the client (or, on "
                                    "refresh, not in the original grant)"
                                ),
                                "value": {
                                    "error": "invalid_scope",
                                    "error_description": (
                                        "requested scope is invalid or not granted to this client"
                                    ),
                                },
                            },
                            "unauthorized_client": {
                                "summary": "The client may not use this grant type",
                                "value": {
                                    "error": "unauthorized_client",
                                    "error_description": "the client is not allowed to use this grant type",
                                },
                            },
                            "invalid_target": {
                                "summary": "The resource is not an acceptable absolute URI",
                                "value": {
                                    "error": "invalid_target",
                                    "error_description": (
                                        "resource must be an absolute URI without a fragment, "
                                        "at most 2048 characters"
                                    ),
                                },
                            },
                            "resource_not_registered": {
                                "summary": "The project registered resources, and this is not one",
                                "value": {
                                    "error": "invalid_target",
                                    "error_description": "the resource is not registered for this project",
                                },
                            },
                            "resource_mismatch": {
                                "summary": (
                                    "authorization_code or refresh_token: not the resource the "
                                    "grant was issued for"
                                ),
                                "value": {
                                    "error": "invalid_target",
                                    "error_description": "resource differs from the one the grant was issued for",
                                },
                            },
                        },
                    }
                },
            },
            "BadRequest": {
                "description": "The request is malformed (e.g. `token` is missing).",
                "headers": {
                    "Cache-Control": {"$ref": "#/components/headers/CacheControlNoStore"},
                },
                "content": {
                    "application/json": {
                        "schema": {"$ref": "#/components/schemas/OAuthError"},
                        "example": {
                            "error": "invalid_request",
                            "error_description": "token is required",
                        },
                    }
                },
            },
            "InvalidClient": {
                "description": (
                    "Client authentication failed: unknown client (or, at a project's own "
                    "server, a client of another project, or a Client ID Metadata Document that "
                    "cannot be fetched or used), wrong secret, no credentials, a method other "
                    "than the one the client registered (e.g. only `client_id` for a "
                    "confidential client), a public client at the introspection endpoint, or a "
                    "refused `client_assertion` (bad signature, unknown key, wrong `iss`/`sub`/"
                    "`aud`, expired or valid for more than an hour, no `jti`, or a `jti` already "
                    "used). "
                    '`WWW-Authenticate: Basic realm="astapa"` is sent when HTTP Basic was used.'
                ),
                "headers": {
                    "Cache-Control": {"$ref": "#/components/headers/CacheControlNoStore"},
                    "WWW-Authenticate": {"$ref": "#/components/headers/WWWAuthenticateBasic"},
                },
                "content": {
                    "application/json": {
                        "schema": {"$ref": "#/components/schemas/OAuthError"},
                        "example": {
                            "error": "invalid_client",
                            "error_description": "client authentication failed",
                        },
                    }
                },
            },
            "Throttled": {
                "description": (
                    "Too many failed client authentications (20, at the token, introspection and "
                    "revocation endpoints together), or, at the token endpoint, refused codes and "
                    "refresh tokens (100), for this client_id from this address in 5 minutes; "
                    "every request for it is refused until the window passes (checklist C-36)."
                ),
                "headers": {
                    "Cache-Control": {"$ref": "#/components/headers/CacheControlNoStore"},
                    "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."},
                },
                "content": {
                    "application/json": {
                        "schema": {"$ref": "#/components/schemas/OAuthError"},
                        "example": {"error": "invalid_request",
                                    "error_description": "too many failed attempts, retry later"},
                    }
                },
            },
            "PayloadTooLarge": {
                "description": "The request body is larger than 64 KiB.",
                "headers": {
                    "Cache-Control": {"$ref": "#/components/headers/CacheControlNoStore"},
                },
                "content": {
                    "application/json": {
                        "schema": {"$ref": "#/components/schemas/OAuthError"},
                        "example": {
                            "error": "invalid_request",
                            "error_description": "request body too large",
                        },
                    }
                },
            },
            "User": _json_ok(
                "The user, as they are now (after a change, once the read models reflect it).",
                "User",
                _USER,
            ),
            "UserNotFound": _json_error(
                "`not_found`: `sub` is not a user id, or no user of the caller's project has it "
                "(another project's user looks the same).",
                {"not_found": ("not_found", "no such user")},
            ),
            "ManagementForbidden": _json_error(
                "`access_denied`: the client authenticated, but it is a machine client of the "
                "project, not the project's own client.",
                {"access_denied": ("access_denied",
                                   "only the project's own client may use the management API")},
            ),
            "ManagementThrottled": {
                "description": (
                    "Too many failed client authentications (unknown client or wrong secret; "
                    "20 by default, counted together with the token endpoint's) for this "
                    "client_id from this address in 5 minutes: every request for it is refused, "
                    "right credentials included, until the window passes."
                ),
                "headers": {
                    "Cache-Control": {"$ref": "#/components/headers/CacheControlNoStore"},
                    "Pragma": {"$ref": "#/components/headers/PragmaNoCache"},
                    "Retry-After": {"$ref": "#/components/headers/RetryAfter"},
                },
                "content": {
                    "application/json": {
                        "schema": {"$ref": "#/components/schemas/OAuthError"},
                        "example": {"error": "invalid_request",
                                    "error_description": "too many failed attempts, retry later"},
                    }
                },
            },
            "ManagementUnavailable": {
                "description": (
                    "`temporarily_unavailable`: the event store is busy (the change may still be "
                    "made a moment later; retrying is safe), or the change was recorded but the "
                    "read models did not reflect it in time (5 seconds by default). Retry after "
                    "the given delay."
                ),
                "headers": {
                    "Cache-Control": {"$ref": "#/components/headers/CacheControlNoStore"},
                    "Pragma": {"$ref": "#/components/headers/PragmaNoCache"},
                    "Retry-After": {"$ref": "#/components/headers/RetryAfter"},
                },
                "content": {
                    "application/json": {
                        "schema": {"$ref": "#/components/schemas/OAuthError"},
                        "example": {
                            "error": "temporarily_unavailable",
                            "error_description": "the server is busy, retry shortly",
                        },
                    }
                },
            },
            "PaymentsUnavailable": {
                "description": (
                    "`temporarily_unavailable`. Either this server cannot take payments for "
                    "the project, and retrying will not help until it is reconfigured (nothing "
                    "is recorded; no `Retry-After`; the `error_description` says which): it has "
                    "no Xendit secret key (`ASTAPA_XENDIT_SECRET_KEY`), or its key is not for "
                    "the project's mode (a `sandbox` project needs a key starting "
                    "`xnd_development_`, a `live` one `xnd_production_`). Or, with `Retry-After` "
                    "and \"the server is busy, retry shortly\", the event store is busy (retrying "
                    "is safe), or the payment was recorded but the read models did not reflect it "
                    "in time (5 seconds by default): retry with the same `Idempotency-Key` to get it."
                ),
                "headers": {
                    "Cache-Control": {"$ref": "#/components/headers/CacheControlNoStore"},
                    "Pragma": {"$ref": "#/components/headers/PragmaNoCache"},
                    "Retry-After": {"$ref": "#/components/headers/RetryAfter"},
                },
                "content": {
                    "application/json": {
                        "schema": {"$ref": "#/components/schemas/OAuthError"},
                        "example": {
                            "error": "temporarily_unavailable",
                            "error_description": "the server is busy, retry shortly",
                        },
                    }
                },
            },
            "TemporarilyUnavailable": {
                "description": "The event store is busy; retry after the given delay.",
                "headers": {
                    "Cache-Control": {"$ref": "#/components/headers/CacheControlNoStore"},
                    "Retry-After": {"$ref": "#/components/headers/RetryAfter"},
                },
                "content": {
                    "application/json": {
                        "schema": {"$ref": "#/components/schemas/OAuthError"},
                        "example": {
                            "error": "temporarily_unavailable",
                            "error_description": "the server is busy, retry shortly",
                        },
                    }
                },
            },
        },
        "schemas": {
            "Health": {
                "type": "object",
                "required": ["status"],
                "properties": {
                    "status": {
                        "type": "string",
                        "enum": ["ok", "starting"],
                        "description": "`ok` when ready (200), `starting` before (503).",
                    }
                },
            },
            "OAuthError": {
                "type": "object",
                "description": "An OAuth 2.0 error response (RFC 6749 §5.2).",
                "required": ["error"],
                "properties": {
                    "error": {
                        "type": "string",
                        "description": (
                            "Error code: `invalid_request`, `invalid_client`, `invalid_grant`, "
                            "`unauthorized_client`, `unsupported_grant_type`, `invalid_scope`, "
                            "`invalid_target`, `invalid_token` (RFC 6750), "
                            "`temporarily_unavailable`, `not_found` (`POST "
                            "/api/platform/revoke` and the management API: no such user; "
                            "`GET /auth/callback/{provider}`: no such provider), "
                            "`access_denied` (the management API: not the project's own "
                            "client), `conflict` (the management API: it exists already) or "
                            "`payment_provider_error` (creating a payment: Xendit failed or "
                            "did not answer). Xendit's webhook answers `invalid_token` for a "
                            "wrong `x-callback-token`. Dynamic client registration (RFC 7591 "
                            "§3.2.2) answers `invalid_redirect_uri` and "
                            "`invalid_client_metadata`, and `not_found` when the project does not "
                            "take registrations."
                        ),
                        "examples": ["invalid_request"],
                    },
                    "error_description": {
                        "type": "string",
                        "description": "Human-readable detail, for developers.",
                    },
                },
            },
            "TokenRequest": {
                "type": "object",
                "description": (
                    "Parameters of a token request; which apply depends on `grant_type`. "
                    "Parameters of another grant are ignored."
                ),
                "required": ["grant_type"],
                "properties": {
                    "grant_type": {
                        "type": "string",
                        "enum": ["authorization_code", "refresh_token", "client_credentials"],
                        "description": (
                            "The grant type. Missing: `invalid_request`; another value: "
                            "`unsupported_grant_type`; one the client may not use: "
                            "`unauthorized_client`."
                        ),
                    },
                    "code": {
                        "type": "string",
                        "maxLength": 512,
                        "description": (
                            "authorization_code: the code from the redirect. Missing: "
                            "`invalid_request`; unknown, expired (60 s by default), already used "
                            "or issued to another client: `invalid_grant`."
                        ),
                    },
                    "redirect_uri": {
                        "type": "string",
                        "format": "uri",
                        "description": (
                            "authorization_code: exactly the `redirect_uri` of the authorization "
                            "request. Missing or different: `invalid_grant`, and the code is "
                            "burnt."
                        ),
                    },
                    "code_verifier": {
                        "type": "string",
                        "pattern": "^[A-Za-z0-9._~-]{43,128}$",
                        "description": (
                            "authorization_code: the PKCE verifier (RFC 7636), 43 to 128 "
                            "unreserved characters, required when the authorization request had a "
                            "`code_challenge` and refused when it had none. Wrong, missing or "
                            "unexpected: `invalid_grant`, and the code is burnt; malformed: "
                            "`invalid_grant`, the code untouched."
                        ),
                    },
                    "refresh_token": {
                        "type": "string",
                        "description": (
                            "refresh_token: the latest refresh token of the family. Missing: "
                            "`invalid_request`; unknown, expired, revoked, of another client, "
                            "or already rotated (which revokes the family): `invalid_grant`."
                        ),
                    },
                    "scope": {
                        "type": "string",
                        "description": (
                            "client_credentials: space-separated scopes; omitted means every "
                            "scope granted to the client, and a scope not granted to it is "
                            "`invalid_scope`. refresh_token: a subset of the scopes of the "
                            "original grant (omitted: all of them); more is `invalid_scope`. "
                            "Ignored by authorization_code, whose scopes come from the "
                            "authorization request."
                        ),
                        "examples": ["orders:read orders:write"],
                    },
                    "resource": {
                        "type": "string",
                        "format": "uri",
                        "description": (
                            "RFC 8707, at most one (more: `invalid_target`); not an absolute URI "
                            "without fragment of at most 2048 characters: `invalid_target`. "
                            "client_credentials: the protected resource the token is for; it "
                            "becomes the token's `aud` (without it `aud` is the client_id). "
                            "authorization_code and refresh_token: optional; the tokens always "
                            "keep the `resource` of the authorization request as `aud` (the "
                            "client_id when it had none), and a `resource` sent here must name "
                            "that same resource (a grant without one accepts none): "
                            "`invalid_target` otherwise. When the client's project registered "
                            "resources (`astapa resource add`), only those are accepted, compared "
                            "forgiving the scheme's and host's case, a default port and a "
                            "trailing slash, and `aud` is the URI as registered; another is "
                            "`invalid_target`."
                        ),
                        "examples": ["https://api.example.com"],
                    },
                },
                "allOf": [
                    {"$ref": "#/components/schemas/ClientCredentials"},
                    {
                        "if": {"properties": {"grant_type": {"const": "authorization_code"}}},
                        "then": {"required": ["code", "redirect_uri"]},
                    },
                    {
                        "if": {"properties": {"grant_type": {"const": "refresh_token"}}},
                        "then": {"required": ["refresh_token"]},
                    },
                ],
            },
            "TokenOperationRequest": {
                "type": "object",
                "description": "Parameters of an introspection (RFC 7662) or revocation (RFC 7009) request.",
                "required": ["token"],
                "properties": {
                    "token": {"type": "string", "description": "The token."},
                    "token_type_hint": {
                        "type": "string",
                        "description": (
                            "Optional hint, e.g. `access_token` or `refresh_token`; the server "
                            "may ignore it."
                        ),
                        "examples": ["access_token"],
                    },
                },
                "allOf": [{"$ref": "#/components/schemas/ClientCredentials"}],
            },
            "ClientCredentials": {
                "type": "object",
                "description": (
                    "Client authentication in the body (RFC 6749 §2.3, RFC 7523 §2.2), as the "
                    "client was registered to authenticate; one method per request (a secret "
                    "together with an assertion, or either with HTTP Basic credentials: "
                    "`invalid_request`). `client_secret_basic` sends none of these but the "
                    "`Authorization: Basic` header (a `client_id` in the body must then be the "
                    "header's). `client_secret_post`: `client_id` and `client_secret`. "
                    "`private_key_jwt`: `client_assertion_type` and `client_assertion` (and "
                    "optionally `client_id`). `none` (a public client): `client_id` alone."
                ),
                "properties": {
                    "client_id": {
                        "type": "string",
                        "description": (
                            "The client's id: required for client_secret_post and public "
                            "clients; with private_key_jwt optional, and then equal to the "
                            "assertion's `sub` (`invalid_client` otherwise). At a project's own "
                            "server it may be a Client ID Metadata Document's URL."
                        ),
                    },
                    "client_secret": {
                        "type": "string",
                        "description": (
                            "client_secret_post: the client's secret (omit with HTTP Basic). "
                            "Never in the query string (`invalid_request`)."
                        ),
                    },
                    "client_assertion_type": {
                        "type": "string",
                        "const": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                        "description": (
                            "private_key_jwt (RFC 7523): always this value; any other, or "
                            "without `client_assertion`: `invalid_request`."
                        ),
                    },
                    "client_assertion": {
                        "type": "string",
                        "maxLength": 8192,
                        "description": (
                            "private_key_jwt: a JWT signed with one of the keys the client "
                            "registered (`jwks`, or fetched from its `jwks_uri`, fetched again "
                            "at most every 10 seconds when no key verifies it), with one of the "
                            "algorithms of `token_endpoint_auth_signing_alg_values_supported`; "
                            "claims `iss` and `sub` both the client_id, an `aud` naming the "
                            "authorization server (its issuer, its token endpoint, or the URL "
                            "the request was sent to), an `exp` in the future and at most an "
                            "hour away, `iat`/`nbf` (when present) not in the future, and a "
                            "`jti` of 1 to 256 characters that is used only once. Anything "
                            "else: `invalid_client`."
                        ),
                    },
                },
            },
            "TokenResponse": {
                "type": "object",
                "description": (
                    "A successful token response (RFC 6749 §5.1). `access_token` is an RS256 "
                    "JWT whose header carries `typ: at+jwt` and a `kid` listed in "
                    "`/.well-known/jwks.json`; its claims are described by `AccessTokenClaims`. "
                    "The authorization_code and refresh_token grants always add a "
                    "`refresh_token`, and an `id_token` when the granted scope includes "
                    "`openid`. No refresh token is issued for client_credentials."
                ),
                "required": ["access_token", "token_type", "expires_in"],
                "properties": {
                    "access_token": {"type": "string", "description": "The access token (a JWT)."},
                    "token_type": {"type": "string", "const": "Bearer"},
                    "expires_in": {
                        "type": "integer",
                        "minimum": 1,
                        "description": "Lifetime in seconds: 3600 unless the client has its own token TTL.",
                        "examples": [3600],
                    },
                    "scope": {
                        "type": "string",
                        "description": "Space-separated scopes granted; absent when none.",
                    },
                    "refresh_token": {
                        "type": "string",
                        "description": (
                            "authorization_code and refresh_token grants: an opaque refresh "
                            "token, single-use (each refresh returns the next one). It lives 30 "
                            "days unused and 90 days from sign-in at most (defaults)."
                        ),
                    },
                    "id_token": {
                        "type": "string",
                        "description": (
                            "authorization_code and refresh_token grants, when the granted scope "
                            "includes `openid`: an OpenID Connect ID token, an RS256 JWT (`typ: "
                            "JWT`) whose claims are described by `IdTokenClaims`."
                        ),
                    },
                },
            },
            "AccessTokenClaims": {
                "type": "object",
                "description": (
                    "Claims of an access token (RFC 9068). The JWT is signed with RS256; its "
                    "header has `alg: RS256`, `typ: at+jwt` and `kid`. Tokens of the user grants "
                    "also carry the user's claims as they were at the grant, and `sid`."
                ),
                "required": ["sub", "client_id", "project_id", "iss", "aud", "exp", "iat", "jti"],
                "properties": {
                    "sub": {
                        "type": "string",
                        "description": (
                            "client_credentials: the client_id. User grants: the user's id (a "
                            "decimal string below 2^53)."
                        ),
                    },
                    "client_id": {"type": "string", "description": "The client_id."},
                    "scope": {"type": "string", "description": "Space-separated scopes granted."},
                    "project_id": {"type": "string", "description": "The client's project."},
                    "iss": {
                        "type": "string",
                        "description": (
                            "The issuer of the token endpoint that issued it: the service's, or "
                            "`<issuer>/projects/{project_id}` for a project's own server."
                        ),
                    },
                    "aud": {
                        "type": "string",
                        "description": "The `resource` asked for, else the client_id.",
                    },
                    "exp": {"type": "integer", "description": "Expiry, seconds since the epoch."},
                    "iat": {"type": "integer", "description": "Issue time, seconds since the epoch."},
                    "jti": {"type": "string", "description": "Unique token id."},
                    "email": {"type": "string", "description": "User grants: the user's email."},
                    "email_verified": {
                        "type": "boolean",
                        "description": "User grants: whether the email is verified.",
                    },
                    "custom_claims": {
                        "type": "object",
                        "description": "User grants: the user's custom claims, e.g. `{\"plan\": \"free\"}`.",
                    },
                    "sid": {
                        "type": "string",
                        "description": (
                            "User grants: the sign-in (refresh token family) the token came "
                            "from; revoking the family revokes the token."
                        ),
                    },
                },
            },
            "IdTokenClaims": {
                "type": "object",
                "description": (
                    "Claims of an OpenID Connect ID token (OIDC Core §2). The JWT is signed with "
                    "RS256; its header has `alg: RS256`, `typ: JWT` and `kid`."
                ),
                "required": ["iss", "sub", "aud", "exp", "iat", "auth_time", "at_hash"],
                "properties": {
                    "iss": {
                        "type": "string",
                        "description": "The issuer of the token endpoint that issued it, as in the access token.",
                    },
                    "sub": {"type": "string", "description": "The user's id."},
                    "aud": {"type": "string", "description": "The client_id."},
                    "exp": {
                        "type": "integer",
                        "description": "Expiry, seconds since the epoch (the access token's lifetime).",
                    },
                    "iat": {"type": "integer", "description": "Issue time, seconds since the epoch."},
                    "auth_time": {
                        "type": "integer",
                        "description": "When the user signed in (entered their password).",
                    },
                    "at_hash": {
                        "type": "string",
                        "description": "Left half of the SHA-256 of the access token, base64url.",
                    },
                    "nonce": {
                        "type": "string",
                        "description": (
                            "The authorization request's `nonce`, when it had one; only in the "
                            "ID token of the authorization_code grant."
                        ),
                    },
                    "email": {
                        "type": "string",
                        "description": "When the granted scope includes `email`.",
                    },
                    "email_verified": {
                        "type": "boolean",
                        "description": "When the granted scope includes `email`.",
                    },
                },
            },
            "UserInfo": {
                "$ref": "#/components/schemas/User",
                "description": (
                    "The user as UserInfo shows them, read when the request is made: the same "
                    "object as the management API's `User`."
                ),
            },
            "SignInForm": {
                "type": "object",
                "description": "The fields of the sign-in and sign-up forms.",
                "required": ["authorization", "csrf_token"],
                "properties": {
                    "email": {"type": "string", "description": "The user's email address."},
                    "password": {
                        "type": "string",
                        "description": (
                            "The password; sign-up requires 8 to 1024 characters and not one of "
                            "the most common passwords. Ignored with `action=magic_link`, "
                            "`google` or `github`."
                        ),
                    },
                    "csrf_token": {
                        "type": "string",
                        "description": "The token from the page's hidden field, bound to the CSRF cookie.",
                    },
                    "authorization": {
                        "type": "string",
                        "description": (
                            "The authorization request's query string exactly as the page "
                            "received it (a hidden field), so `state` returns byte for byte; "
                            "prefixed with `/projects/{project_id}?` when the request was made to "
                            "a project's own authorization endpoint."
                        ),
                        "examples": [
                            "client_id=cl_8Yt3xQ&redirect_uri=https%3A%2F%2Fapp.example%2Fcallback"
                            "&response_type=code&state=af0ifjsldkj"
                        ],
                    },
                    "action": {
                        "type": "string",
                        "enum": ["login", "signup", "magic_link", "google", "github", "cancel"],
                        "description": (
                            "The button pressed: `cancel` sends the user back with "
                            "`access_denied`; on the sign-in form, `magic_link` (\"Email me a "
                            "sign-in link\") mails a sign-in link instead of checking the "
                            "password; on either form, `google` or `github` (\"Continue with "
                            "Google\" / \"Continue with GitHub\") starts sign-in with that "
                            "provider: 303 to its authorization URL, with the binding cookie "
                            "`astapa_external` set; `login` or `signup` (any other value) submits."
                        ),
                    },
                    "link_offer": {
                        "type": "string",
                        "maxLength": 200,
                        "description": (
                            "Sign-in form only, a hidden field present when "
                            "`GET /auth/callback/{provider}` offered a link: the `state` of the "
                            "Google or GitHub sign-in whose identity a successful password "
                            "sign-in to the offered account, in the same browser, within 10 "
                            "minutes, links (once). Ignored when it cannot be used."
                        ),
                    },
                },
            },
            "EmailForm": {
                "type": "object",
                "description": (
                    "The fields of the forms that ask for a mailed link (forgot password, "
                    "verification link again)."
                ),
                "required": ["authorization", "csrf_token", "email"],
                "properties": {
                    "email": {
                        "type": "string",
                        "description": "The account's email address; not a valid address: 400.",
                    },
                    "csrf_token": {
                        "type": "string",
                        "description": "The token from the page's hidden field, bound to the CSRF cookie.",
                    },
                    "authorization": {
                        "type": "string",
                        "description": (
                            "The authorization request's query string exactly as the page "
                            "received it (a hidden field; prefixed with `/projects/{project_id}?` "
                            "for a project's own authorization endpoint); the mailed link leads "
                            "back into it."
                        ),
                        "examples": [
                            "client_id=cl_8Yt3xQ&redirect_uri=https%3A%2F%2Fapp.example%2Fcallback"
                            "&response_type=code&state=af0ifjsldkj"
                        ],
                    },
                    "action": {
                        "type": "string",
                        "enum": ["send", "resend"],
                        "description": "The button pressed; ignored.",
                    },
                },
            },
            "LinkForm": {
                "type": "object",
                "description": "The fields of a sign-in or verification link's page.",
                "required": ["csrf_token", "token"],
                "properties": {
                    "csrf_token": {
                        "type": "string",
                        "description": "The token from the page's hidden field, bound to the CSRF cookie.",
                    },
                    "token": {
                        "type": "string",
                        "description": "The mailed link's token (a hidden field).",
                    },
                },
            },
            "NewPasswordForm": {
                "type": "object",
                "description": "The fields of the password reset link's page.",
                "required": ["csrf_token", "token", "password"],
                "properties": {
                    "csrf_token": {
                        "type": "string",
                        "description": "The token from the page's hidden field, bound to the CSRF cookie.",
                    },
                    "token": {
                        "type": "string",
                        "description": "The mailed link's token (a hidden field).",
                    },
                    "password": {
                        "type": "string",
                        "description": (
                            "The new password: 8 to 1024 characters, not one of the most common "
                            "passwords."
                        ),
                    },
                },
            },
            "ConsentForm": {
                "type": "object",
                "description": "The fields of the consent page.",
                "required": ["authorization", "csrf_token", "action"],
                "properties": {
                    "csrf_token": {
                        "type": "string",
                        "description": "The token from the page's hidden field, bound to the CSRF cookie.",
                    },
                    "authorization": {
                        "type": "string",
                        "description": (
                            "The authorization request as the page carried it (a hidden field): "
                            "its query string, prefixed with `/projects/{project_id}?` when it "
                            "was made to a project's own authorization endpoint."
                        ),
                        "examples": [
                            "/projects/prj_Qm2v7?response_type=code&client_id=cid_5e0c1f9a2b7d4e8c3a6f0b1d"
                            "&redirect_uri=http%3A%2F%2F127.0.0.1%3A53117%2Fcallback"
                            "&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
                            "&code_challenge_method=S256&state=af0ifjsldkj&scope=openid+mcp%3Atools"
                        ],
                    },
                    "action": {
                        "type": "string",
                        "enum": ["allow", "cancel"],
                        "description": (
                            "The button pressed: `allow` (Allow) issues the code and remembers "
                            "the answer; `cancel` (Deny) sends `access_denied` back. Anything "
                            "else: the page again (400)."
                        ),
                    },
                },
            },
            "ClientMetadata": {
                "type": "object",
                "description": (
                    "Client metadata (RFC 7591 §2, OpenID Connect Registration), for "
                    "`POST /projects/{project_id}/oauth/register`; a Client ID Metadata Document "
                    "is checked by the same rules (there `client_id` must be the document's URL, "
                    "`client_name` is required, and `token_endpoint_auth_method` may only be "
                    "`none`, the default, or `private_key_jwt`). Members not listed are ignored. "
                    "A problem with `redirect_uris` is `invalid_redirect_uri`, any other "
                    "`invalid_client_metadata`."
                ),
                "required": ["redirect_uris"],
                "properties": {
                    "redirect_uris": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": 20,
                        "items": {"type": "string"},
                        "description": (
                            "1 to 20 absolute URIs without fragment, wildcard or user info: "
                            "https, http only to a loopback host (127.0.0.1, [::1], localhost; "
                            "for a public client any port is then accepted at the authorization "
                            "endpoint), or a private-use scheme with a dot "
                            "(`com.example.app:/callback`, RFC 8252 §7.1). Repeats are dropped; "
                            "the authorization request must use one of them."
                        ),
                        "examples": [["http://127.0.0.1/callback"]],
                    },
                    "client_name": {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": 200,
                        "description": (
                            "1 to 200 printable characters (trimmed), shown on the consent page; "
                            "default `Unnamed application`."
                        ),
                        "examples": ["Agent Smith"],
                    },
                    "token_endpoint_auth_method": {
                        "type": "string",
                        "enum": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
                        "default": "client_secret_basic",
                        "description": (
                            "How the client authenticates at the token, introspection and "
                            "revocation endpoints. The two secret methods get a `client_secret` "
                            "(either method then works); `private_key_jwt` needs exactly one of "
                            "`jwks` and `jwks_uri`; `none` is a public client."
                        ),
                    },
                    "grant_types": {
                        "type": "array",
                        "minItems": 1,
                        "items": {"type": "string", "enum": ["authorization_code", "refresh_token"]},
                        "description": (
                            "Only `authorization_code` and `refresh_token` (anything else, or an "
                            "empty list: `invalid_client_metadata`); the client gets both either "
                            "way."
                        ),
                    },
                    "response_types": {
                        "type": "array",
                        "items": {"type": "string", "const": "code"},
                        "description": "Exactly `[\"code\"]` when sent.",
                    },
                    "scope": {
                        "type": "string",
                        "description": (
                            "Space-separated scopes the client may ask for: OpenID Connect's "
                            "(`openid`, `email`, `profile`, `offline_access`) and the project's "
                            "own and its resources' scopes (another: `invalid_client_metadata`). "
                            "Omitted: every scope the project offers."
                        ),
                        "examples": ["openid mcp:tools"],
                    },
                    "application_type": {
                        "type": "string",
                        "enum": ["web", "native"],
                        "description": (
                            "Omitted: `native` when any redirect URI is not https on a real host "
                            "(loopback or a private-use scheme), else `web`. `web` with such a "
                            "redirect URI: `invalid_redirect_uri`."
                        ),
                    },
                    "jwks": {
                        "type": "object",
                        "description": (
                            "private_key_jwt: the client's public keys, a JWK or a JWK Set of 1 "
                            "to 10 RSA, EC or OKP keys, without private members (`d`, `p`, `k`, "
                            "...). Ignored for other methods."
                        ),
                    },
                    "jwks_uri": {
                        "type": "string",
                        "format": "uri",
                        "maxLength": 2048,
                        "description": (
                            "private_key_jwt: the https URL where the client publishes its JWK "
                            "Set, fetched under the rules of Client ID Metadata Documents and "
                            "kept as its `Cache-Control` says. Ignored for other methods."
                        ),
                    },
                },
            },
            "ClientInformation": {
                "type": "object",
                "description": (
                    "A registered client (RFC 7591 §3.2.1): its id, its secret when it has one, "
                    "and its metadata as the server holds it."
                ),
                "required": [
                    "client_id", "client_id_issued_at", "client_name", "redirect_uris",
                    "token_endpoint_auth_method", "grant_types", "response_types", "application_type",
                ],
                "properties": {
                    "client_id": {"type": "string", "examples": ["cid_5e0c1f9a2b7d4e8c3a6f0b1d"]},
                    "client_id_issued_at": {
                        "type": "integer",
                        "description": "When it was registered, seconds since the epoch.",
                    },
                    "client_secret": {
                        "type": "string",
                        "description": (
                            "`client_secret_basic` and `client_secret_post` only: the secret, "
                            "shown only here (the server keeps its hash)."
                        ),
                    },
                    "client_secret_expires_at": {
                        "type": "integer",
                        "const": 0,
                        "description": "With `client_secret`: 0, it does not expire.",
                    },
                    "client_name": {"type": "string"},
                    "redirect_uris": {"type": "array", "items": {"type": "string"}},
                    "token_endpoint_auth_method": {
                        "type": "string",
                        "enum": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
                    },
                    "grant_types": {
                        "type": "array",
                        "items": {"type": "string"},
                        "description": "Always `[\"authorization_code\", \"refresh_token\"]`.",
                    },
                    "response_types": {"type": "array", "items": {"type": "string", "const": "code"}},
                    "application_type": {"type": "string", "enum": ["web", "native"]},
                    "scope": {
                        "type": "string",
                        "description": "The scopes it registered; absent when it named none (it may ask for all).",
                    },
                    "jwks": {"type": "object", "description": "private_key_jwt: the keys it registered."},
                    "jwks_uri": {"type": "string", "description": "private_key_jwt: where its keys are."},
                },
            },
            "LogoutForm": {
                "type": "object",
                "description": "The sign-out confirmation form.",
                "required": ["csrf_token"],
                "properties": {
                    "csrf_token": {
                        "type": "string",
                        "description": "The token from the page's hidden field, bound to the CSRF cookie.",
                    },
                },
            },
            "RevokeUserRequest": {
                "type": "object",
                "description": (
                    "Names one user of the caller's project by exactly one of `end_user_id` and "
                    "`email`, plus client_secret_post credentials when HTTP Basic is not used."
                ),
                "oneOf": [{"required": ["end_user_id"]}, {"required": ["email"]}],
                "properties": {
                    "end_user_id": {
                        "description": (
                            "The user's id (`sub`): a string of at most 16 digits, or a JSON "
                            "number."
                        ),
                        "oneOf": [
                            {"type": "string", "pattern": "^[0-9]{1,16}$"},
                            {"type": "integer", "minimum": 0, "maximum": 9999999999999999},
                        ],
                        "examples": ["4503599627370497"],
                    },
                    "email": {
                        "type": "string",
                        "description": "The user's email (matched case-insensitively, as at sign-in).",
                        "examples": ["ada@example.org"],
                    },
                    "client_id": {
                        "type": "string",
                        "description": "client_secret_post: the client's id (omit with HTTP Basic).",
                    },
                    "client_secret": {
                        "type": "string",
                        "description": "client_secret_post: the client's secret (omit with HTTP Basic).",
                    },
                },
            },
            "RevokeUserResponse": {
                "type": "object",
                "required": ["revoked"],
                "properties": {"revoked": {"type": "boolean", "const": True}},
            },
            "Plan": {
                "type": "object",
                "description": "A plan of the project's catalog.",
                "required": ["key", "name", "price", "currency", "interval", "claims"],
                "properties": {
                    "key": {
                        "type": "string",
                        "pattern": "^[a-z0-9][a-z0-9_-]{0,62}$",
                        "description": (
                            "The plan's key, unique in the project; users' `plan` claim holds it."
                        ),
                        "examples": ["pro"],
                    },
                    "name": {"type": "string", "minLength": 1, "maxLength": 100, "examples": ["Pro"]},
                    "price": {
                        "type": "integer",
                        "minimum": 0,
                        "maximum": 1000000000000,
                        "description": (
                            "An integer in the currency's unit as Xendit takes it: whole rupiah "
                            "for IDR (149000 is Rp 149.000)."
                        ),
                        "examples": [149000],
                    },
                    "currency": {"type": "string", "enum": ["IDR", "PHP", "THB", "VND", "MYR", "SGD", "USD"]},
                    "interval": {
                        "type": "string",
                        "enum": ["month", "year", "once"],
                        "description": "How often the price is paid: monthly, yearly or once.",
                    },
                    "claims": {
                        "type": "object",
                        "description": (
                            "Claims that come with the plan: copied to a user when the plan is "
                            "assigned to them (as they are then), under the user's own custom "
                            "claims, which win over them; dropped when the plan ends or another "
                            "plan is assigned."
                        ),
                        "examples": [{"max_projects": 20, "support": "priority"}],
                    },
                },
            },
            "PlanChange": {
                "type": "object",
                "description": "What to change in a plan: any of these.",
                "minProperties": 1,
                "properties": {
                    "name": {"type": "string", "minLength": 1, "maxLength": 100},
                    "price": {"type": "integer", "minimum": 0, "maximum": 1000000000000},
                    "claims": {"type": "object"},
                    "client_id": {"type": "string"},
                    "client_secret": {"type": "string"},
                },
            },
            "NewPlan": {
                "type": "object",
                "description": (
                    "A plan to create, plus client_secret_post credentials when HTTP Basic is "
                    "not used. Any other field is 400."
                ),
                "required": ["key", "name", "price", "currency", "interval"],
                "additionalProperties": False,
                "properties": {
                    "key": {
                        "type": "string",
                        "pattern": "^[a-z0-9][a-z0-9_-]{0,62}$",
                        "description": (
                            "1 to 63 of a-z, 0-9, `_` and `-`, starting with a letter or digit; "
                            "not a key the project has (`free` included: 409)."
                        ),
                        "examples": ["pro"],
                    },
                    "name": {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": 100,
                        "description": (
                            "1 to 100 characters once leading and trailing white space is "
                            "removed (it is kept without them)."
                        ),
                        "examples": ["Pro"],
                    },
                    "price": {
                        "type": "integer",
                        "minimum": 0,
                        "maximum": 1000000000000,
                        "description": (
                            "A whole number of the currency's unit (whole rupiah for IDR), "
                            "0 to 10^12; not a boolean or a fraction."
                        ),
                        "examples": [149000],
                    },
                    "currency": {"type": "string", "enum": ["IDR", "PHP", "THB", "VND", "MYR", "SGD", "USD"]},
                    "interval": {"type": "string", "enum": ["month", "year", "once"]},
                    "claims": {
                        "type": "object",
                        "default": {},
                        "description": "Claims that come with the plan (see `Plan`); default none.",
                    },
                    "client_id": {
                        "type": "string",
                        "description": "client_secret_post: the client's id (omit with HTTP Basic).",
                    },
                    "client_secret": {
                        "type": "string",
                        "description": "client_secret_post: the client's secret (omit with HTTP Basic).",
                    },
                },
            },
            "PlanList": {
                "type": "object",
                "required": ["plans"],
                "properties": {
                    "plans": {
                        "type": "array",
                        "description": "Oldest first; `free` is always first.",
                        "items": {"$ref": "#/components/schemas/Plan"},
                    }
                },
            },
            "User": {
                "type": "object",
                "description": (
                    "A user as the management API and UserInfo show them, read when the request "
                    "is made."
                ),
                "required": ["sub", "email", "email_verified", "custom_claims", "created_at", "disabled",
                             "identities"],
                "properties": {
                    "sub": {
                        "type": "string",
                        "description": "The user's id, a decimal string below 2^53.",
                        "examples": ["4503599627370497"],
                    },
                    "email": {"type": "string", "description": "The email, as normalised at sign-up."},
                    "email_verified": {"type": "boolean"},
                    "custom_claims": {
                        "type": "object",
                        "description": (
                            "The custom claims as a token issued now would carry them: the "
                            "claims of the user's plan under the user's own (which win), "
                            "always with `plan`, the key of the user's plan. Once a plan's end "
                            "has passed: the user's own claims with `plan` `free`."
                        ),
                        "examples": [{"max_projects": 20, "support": "priority", "plan": "pro",
                                      "team": "research"}],
                    },
                    "created_at": {
                        "type": "string",
                        "format": "date-time",
                        "description": "When the account was created (ISO 8601, UTC).",
                    },
                    "disabled": {"type": "boolean", "description": "Whether the account is disabled."},
                    "identities": {
                        "type": "array",
                        "description": (
                            "The Google and GitHub accounts linked to the user, oldest first "
                            "(empty when none): each signs in as this user (see "
                            "`GET /auth/callback/{provider}`)."
                        ),
                        "items": {"$ref": "#/components/schemas/Identity"},
                    },
                    "plan_expires_at": {
                        "type": "string",
                        "format": "date-time",
                        "description": (
                            "When the user's plan ends (RFC 3339, UTC, `Z`); only while a plan "
                            "with an end runs: assigned with `expires_at`, or paid for with a "
                            "payment of a `month` or `year` plan."
                        ),
                        "examples": ["2026-07-01T00:00:00Z"],
                    },
                },
            },
            "Identity": {
                "type": "object",
                "description": "A Google or GitHub account linked to a user.",
                "required": ["provider", "subject", "email", "linked_at"],
                "properties": {
                    "provider": {"type": "string", "enum": ["google", "github"]},
                    "subject": {
                        "type": "string",
                        "description": (
                            "The provider's id of the account (Google's `sub`, GitHub's numeric "
                            "user id as a string): what signs in, whatever its address is later."
                        ),
                        "examples": ["583231"],
                    },
                    "email": {
                        "type": "string",
                        "description": "The address the provider gave when the account was linked (normalised).",
                    },
                    "linked_at": {
                        "type": "string",
                        "format": "date-time",
                        "description": "When it was linked (RFC 3339, UTC).",
                        "examples": ["2026-01-20T16:42:07.318250+00:00"],
                    },
                },
            },
            "UserList": {
                "type": "object",
                "required": ["users"],
                "properties": {
                    "users": {
                        "type": "array",
                        "description": (
                            "With `email`: the user with that address, or none. Without: one "
                            "page, in order of registration."
                        ),
                        "items": {"$ref": "#/components/schemas/User"},
                    },
                    "next_cursor": {
                        "type": ["string", "null"],
                        "description": (
                            "Listing only (absent with `email`): the `cursor` of the next page, "
                            "an opaque string; null on the last page."
                        ),
                        "examples": ["50"],
                    },
                },
            },
            "UserUpdate": {
                "type": "object",
                "description": (
                    "Exactly `disabled`, plus client_secret_post credentials when HTTP Basic is "
                    "not used."
                ),
                "required": ["disabled"],
                "additionalProperties": False,
                "properties": {
                    "disabled": {
                        "type": "boolean",
                        "description": "true disables the user, false enables them.",
                    },
                    "client_id": {
                        "type": "string",
                        "description": "client_secret_post: the client's id (omit with HTTP Basic).",
                    },
                    "client_secret": {
                        "type": "string",
                        "description": "client_secret_post: the client's secret (omit with HTTP Basic).",
                    },
                },
            },
            "ClaimsUpdate": {
                "type": "object",
                "description": (
                    "Claim name to new value; `null` removes the claim. `client_id` and "
                    "`client_secret` are client_secret_post credentials, not claims. Names: a "
                    "letter, then up to 63 letters, digits, `_`, `.`, `:` or `-`; these are "
                    "reserved, in any case: iss, sub, aud, exp, nbf, iat, jti, typ, cty, scope, "
                    "scp, client_id, azp, sid, nonce, auth_time, acr, amr, at_hash, c_hash, cnf, "
                    "act, may_act, events, project_id, custom_claims, email, email_verified, "
                    "name, given_name, family_name, middle_name, nickname, preferred_username, "
                    "profile, picture, website, gender, birthdate, zoneinfo, locale, "
                    "phone_number, phone_number_verified, address, updated_at, roles, groups, "
                    "entitlements. At most 50 claims and 8192 bytes of JSON result."
                ),
                "propertyNames": {"pattern": "^[A-Za-z][A-Za-z0-9_.:-]{0,63}$"},
                "properties": {
                    "plan": {
                        "type": ["string", "null"],
                        "description": (
                            "The key of one of the project's plans, assigned with no end; "
                            "`null`: back to `free`. Omitted: the plan does not change."
                        ),
                        "examples": ["pro"],
                    },
                    "client_id": {
                        "type": "string",
                        "description": "client_secret_post: the client's id (omit with HTTP Basic).",
                    },
                    "client_secret": {
                        "type": "string",
                        "description": "client_secret_post: the client's secret (omit with HTTP Basic).",
                    },
                },
                "additionalProperties": {
                    "description": "The claim's new value (any JSON), or `null` to remove it.",
                },
                "examples": [{"team": "research", "seats": 5, "beta": None}],
            },
            "PlanAssignment": {
                "type": "object",
                "description": (
                    "The plan and its optional end, plus client_secret_post credentials when "
                    "HTTP Basic is not used. Any other field is 400."
                ),
                "required": ["plan"],
                "additionalProperties": False,
                "properties": {
                    "plan": {
                        "type": "string",
                        "description": "The key of one of the project's plans (`free` included).",
                        "examples": ["pro"],
                    },
                    "expires_at": {
                        "description": (
                            "When the plan ends, in the future: an RFC 3339 time with a zone "
                            "offset or `Z`, or seconds since the epoch. Omitted or null: no end."
                        ),
                        "oneOf": [
                            {"type": "string", "format": "date-time"},
                            {"type": "number"},
                            {"type": "null"},
                        ],
                        "examples": ["2026-07-01T00:00:00Z", 1782864000],
                    },
                    "client_id": {
                        "type": "string",
                        "description": "client_secret_post: the client's id (omit with HTTP Basic).",
                    },
                    "client_secret": {
                        "type": "string",
                        "description": "client_secret_post: the client's secret (omit with HTTP Basic).",
                    },
                },
            },
            "UserEvents": {
                "type": "object",
                "required": ["sub", "events"],
                "properties": {
                    "sub": {"type": "string", "description": "The user's id, as in the path."},
                    "events": {
                        "type": "array",
                        "description": "Oldest first (by `position`).",
                        "items": {"$ref": "#/components/schemas/UserEvent"},
                    },
                },
            },
            "UserEvent": {
                "type": "object",
                "description": (
                    "One event of a user's history. `type` and the fields of `data`:\n\n"
                    "- `User.Registered`: `email`.\n"
                    "- `User.EmailVerified`: `email` (the address the link was mailed to, or "
                    "that Google or GitHub vouched for).\n"
                    "- `User.LinkIssued`: `purpose` (`verify_email`, `reset_password` or "
                    "`magic_link`).\n"
                    "- `User.PasswordChanged`: `reason` (`reset`).\n"
                    "- `User.TokensRevoked`: `reason` (`revoked by project`, `password reset`, "
                    "`email verified` (an unverified address proved by a mailed link or by a "
                    "Google or GitHub link accepted at sign-in) or `disabled`).\n"
                    "- `User.ClaimsChanged`: `changed` (the claims set, an object), `removed` "
                    "(the names removed), `by` (the client_id that made the change).\n"
                    "- `User.PlanAssigned`: `plan`, `plan_claims` (the plan's claims copied), "
                    "`expires_at` (seconds since the epoch, or null: no end), `by` (the "
                    "client_id, or `payment <payment_id>` when a succeeded payment assigned "
                    "it).\n"
                    "- `User.PlanExpired`: `plan` (the plan that ended; recorded by the "
                    "scheduler).\n"
                    "- `User.Disabled`, `User.Enabled`: `by`.\n"
                    "- `User.IdentityLinked` (a Google or GitHub account now signs in as the "
                    "user): `provider` (`google` or `github`), `subject` (the provider's id of "
                    "the account), `email` (the address the provider gave), `how` (`registered`: "
                    "the account was made from it; `verified_email`: linked silently, both sides "
                    "had the address verified; `signed_in`: the user accepted a link offer by "
                    "signing in with their password).\n"
                    "- `BrowserSession.Started` (a sign-in on the hosted pages): `auth_time`.\n"
                    "- `RefreshFamily.Started` (tokens issued at sign-in): `client_id`, `scopes`.\n"
                    "- `RefreshFamily.ReuseDetected` (a rotated refresh token was presented "
                    "again): no fields.\n"
                    "- `RefreshFamily.Revoked`: `reason` (`reuse`, `code reused` or `revoked by "
                    "client`).\n"
                    "- `Payment.Created`: `payment_id`, `plan`, `amount`, `currency`, `method`.\n"
                    "- `Payment.Succeeded`: `xendit_id`, `amount`, `currency`.\n"
                    "- `Payment.Failed`, `Payment.Expired`: `reason`.\n"
                    "- `Payment.AmountMismatched`: `amount`, `currency` (as Xendit reported them).\n"
                    "- `Payment.Settled`: `plan`, `period_end` (seconds since the epoch, or null "
                    "for a `once` plan)."
                ),
                "required": ["position", "type", "timestamp", "data"],
                "properties": {
                    "position": {
                        "type": "integer",
                        "minimum": 1,
                        "description": (
                            "The event's position in the event log: increasing, not "
                            "consecutive (other events come between). Pass the last one read "
                            "as `after`."
                        ),
                        "examples": [1911],
                    },
                    "type": {
                        "type": "string",
                        "description": "The event's type, `Aggregate.Event`.",
                        "examples": ["User.ClaimsChanged"],
                    },
                    "timestamp": {
                        "type": "string",
                        "format": "date-time",
                        "description": "When the event was recorded (ISO 8601, UTC).",
                        "examples": ["2026-02-03T11:02:09.000311+00:00"],
                    },
                    "data": {
                        "type": "object",
                        "description": "The fields an auditor needs, by `type`; never a secret.",
                        "examples": [{"changed": {"team": "research"}, "removed": ["beta"],
                                      "by": "cl_8Yt3xQ"}],
                    },
                },
            },
            "Payment": {
                "type": "object",
                "description": (
                    "A payment for a plan, read when the request is made. `status`: `PENDING` "
                    "(waiting for the payer; also while Xendit has not answered yet, without "
                    "the method's fields), `SUCCEEDED` (paid: final), `FAILED` (Xendit refused "
                    "it, failed or did not answer when it was created, or the payment failed), "
                    "`EXPIRED` (not paid by `expires_at`). A `FAILED` or `EXPIRED` payment "
                    "still becomes `SUCCEEDED` if Xendit reports it paid after all; nothing "
                    "moves a `SUCCEEDED` one. Optional fields are absent, not null, when they "
                    "do not apply (`plan_period_end` excepted)."
                ),
                "required": ["payment_id", "end_user_id", "status", "amount", "currency", "plan", "method",
                             "expires_at", "created_at"],
                "properties": {
                    "payment_id": {
                        "type": "string",
                        "pattern": "^pay_[0-9a-f]{24}$",
                        "description": "The payment's id; Xendit knows it as the payment request's `reference_id`.",
                        "examples": ["pay_5f2c8e1a9b3d4c6e7f8a9b0c"],
                    },
                    "end_user_id": {
                        "type": "string",
                        "description": "The paying user's id (`sub`).",
                        "examples": ["4503599627370497"],
                    },
                    "status": {"type": "string", "enum": ["PENDING", "SUCCEEDED", "FAILED", "EXPIRED"]},
                    "amount": {
                        "type": "integer",
                        "minimum": 1,
                        "description": (
                            "The plan's price when the payment was created, an integer in the "
                            "currency's unit as Xendit takes it (whole rupiah for IDR)."
                        ),
                        "examples": [149000],
                    },
                    "currency": {"type": "string", "enum": ["IDR", "PHP", "THB", "VND", "MYR", "SGD", "USD"]},
                    "plan": {"type": "string", "description": "The key of the plan paid for.", "examples": ["pro"]},
                    "method": {"type": "string", "enum": ["QRIS", "GOPAY", "OVO", "BANK_TRANSFER"]},
                    "expires_at": {
                        "type": "string",
                        "format": "date-time",
                        "description": (
                            "When a payment still waiting becomes `EXPIRED` (RFC 3339, UTC, "
                            "`Z`): 1 hour after `created_at` by default."
                        ),
                    },
                    "created_at": {
                        "type": "string",
                        "format": "date-time",
                        "description": "When the payment was created (RFC 3339, UTC, `Z`).",
                    },
                    "qr_string": {
                        "type": "string",
                        "description": "QRIS: the QR code's content, to render as a QR code for the payer to scan.",
                    },
                    "checkout_url": {
                        "type": "string",
                        "format": "uri",
                        "description": (
                            "GOPAY, and OVO when Xendit gives one: where to send the payer "
                            "(a web page or an app deep link)."
                        ),
                    },
                    "virtual_account_number": {
                        "type": "string",
                        "description": "BANK_TRANSFER: the virtual account the payer transfers the exact amount to.",
                        "examples": ["8808999912345678"],
                    },
                    "bank_code": {
                        "type": "string",
                        "enum": ["BCA", "BNI", "BRI", "MANDIRI", "PERMATA"],
                        "description": "BANK_TRANSFER: the bank of the virtual account.",
                    },
                    "plan_assigned": {
                        "type": "boolean",
                        "const": True,
                        "description": (
                            "Present once the succeeded payment's plan was assigned to the "
                            "user (exactly once per payment)."
                        ),
                    },
                    "plan_period_end": {
                        "type": ["string", "null"],
                        "format": "date-time",
                        "description": (
                            "With `plan_assigned`: when the plan paid for ends (RFC 3339, UTC, "
                            "`Z`), one calendar month or year after the later of the settlement "
                            "and the end of the period already paid for on this plan; null "
                            "for a `once` plan (no end)."
                        ),
                        "examples": ["2026-03-01T09:03:12.104551Z"],
                    },
                    "amount_mismatch": {
                        "type": "boolean",
                        "const": True,
                        "description": (
                            "Present when Xendit reported the payment paid with another amount "
                            "or currency, or for another payment request, than this one: "
                            "recorded, not settled (`status` does not change for it)."
                        ),
                    },
                },
            },
            "PaymentList": {
                "type": "object",
                "required": ["payments"],
                "properties": {
                    "payments": {
                        "type": "array",
                        "description": "Newest first (by `created_at`), at most 500.",
                        "items": {"$ref": "#/components/schemas/Payment"},
                    }
                },
            },
            "NewPayment": {
                "type": "object",
                "description": (
                    "The payment to create, plus client_secret_post credentials when HTTP Basic "
                    "is not used. Any other field is 400. `bank_code` is required for, and only "
                    "for, `BANK_TRANSFER`; `mobile_number` for, and only for, `OVO` (null counts "
                    "as absent)."
                ),
                "required": ["end_user_id", "plan", "method"],
                "additionalProperties": False,
                "properties": {
                    "end_user_id": {
                        "description": (
                            "The paying user's id (`sub`): a string, or a JSON number. A user "
                            "of the caller's project (404 otherwise)."
                        ),
                        "oneOf": [
                            {"type": "string", "pattern": "^[1-9][0-9]{0,15}$"},
                            {"type": "integer", "minimum": 1, "maximum": 9999999999999999},
                        ],
                        "examples": ["4503599627370497"],
                    },
                    "plan": {
                        "type": "string",
                        "minLength": 1,
                        "description": (
                            "The key of one of the project's plans with a price above 0 "
                            "(`free` and other free plans: 400)."
                        ),
                        "examples": ["pro"],
                    },
                    "method": {
                        "type": "string",
                        "enum": ["QRIS", "GOPAY", "OVO", "BANK_TRANSFER"],
                        "description": (
                            "QRIS (a QR code any QRIS app pays), GOPAY (a GoPay checkout), OVO "
                            "(a push to the payer's OVO app) or BANK_TRANSFER (a virtual "
                            "account)."
                        ),
                    },
                    "bank_code": {
                        "type": ["string", "null"],
                        "enum": ["BCA", "BNI", "BRI", "MANDIRI", "PERMATA", None],
                        "description": "BANK_TRANSFER only, and required there: the virtual account's bank.",
                    },
                    "mobile_number": {
                        "type": ["string", "null"],
                        "description": (
                            "OVO only, and required there: the payer's OVO mobile number, E.164 "
                            "(`+6281234567890`) or Indonesian (`081234567890`, read as +62); "
                            "spaces and `-` are ignored; 8 to 15 digits."
                        ),
                        "examples": ["+6281234567890", "081234567890"],
                    },
                    "return_url": {
                        "type": ["string", "null"],
                        "pattern": "^https://\\S{4,250}$",
                        "description": (
                            "GOPAY: where GoPay sends the payer back after paying or giving up "
                            "(an https URL). Default: the issuer's `/`. Ignored by the other "
                            "methods."
                        ),
                        "examples": ["https://app.example/billing/done"],
                    },
                    "client_id": {
                        "type": "string",
                        "description": "client_secret_post: the client's id (omit with HTTP Basic).",
                    },
                    "client_secret": {
                        "type": "string",
                        "description": "client_secret_post: the client's secret (omit with HTTP Basic).",
                    },
                },
                "allOf": [
                    {
                        "if": {"properties": {"method": {"const": "BANK_TRANSFER"}}, "required": ["method"]},
                        "then": {"required": ["bank_code"], "properties": {"bank_code": {"type": "string"}}},
                        "else": {"properties": {"bank_code": {"type": "null"}}},
                    },
                    {
                        "if": {"properties": {"method": {"const": "OVO"}}, "required": ["method"]},
                        "then": {"required": ["mobile_number"], "properties": {"mobile_number": {"type": "string"}}},
                        "else": {"properties": {"mobile_number": {"type": "null"}}},
                    },
                ],
            },
            "XenditWebhook": {
                "type": "object",
                "description": (
                    "Xendit's Payments API v3 webhook envelope; only the fields below are read, "
                    "others are ignored. A body that is not an object with a `data` object is "
                    "400; anything else is 200."
                ),
                "required": ["data"],
                "properties": {
                    "event": {
                        "type": "string",
                        "description": (
                            "`payment.capture`, `payment.failure` or `payment_request.expiry`; "
                            "any other event is acknowledged and ignored."
                        ),
                        "examples": ["payment.capture"],
                    },
                    "business_id": {"type": "string", "description": "Xendit's id of the merchant account."},
                    "created": {"type": "string", "format": "date-time"},
                    "data": {
                        "type": "object",
                        "description": (
                            "The payment request. Ignored unless `reference_id` is one of our "
                            "payment ids and `payment_request_id` a string."
                        ),
                        "properties": {
                            "payment_request_id": {
                                "type": "string",
                                "description": "Xendit's id of the payment request.",
                                "examples": ["pr-1fdaf346-dd2e-4b6c-b938-124c7167a822"],
                            },
                            "reference_id": {
                                "type": "string",
                                "description": "Our `payment_id`.",
                                "examples": ["pay_5f2c8e1a9b3d4c6e7f8a9b0c"],
                            },
                            "status": {
                                "type": "string",
                                "description": (
                                    "`payment.capture`: `SUCCEEDED` (paid), `FAILED` or "
                                    "`CANCELED` (failed), `EXPIRED`; other values change nothing. "
                                    "Not read for the other events."
                                ),
                                "examples": ["SUCCEEDED"],
                            },
                            "request_amount": {
                                "type": "number",
                                "description": "The amount asked for; the amount paid when there are no `captures`.",
                            },
                            "currency": {"type": "string", "examples": ["IDR"]},
                            "captures": {
                                "type": "array",
                                "description": "When present: the amount paid is the sum of their `capture_amount`.",
                                "items": {
                                    "type": "object",
                                    "properties": {"capture_amount": {"type": "number"}},
                                },
                            },
                            "payment_id": {
                                "type": "string",
                                "description": "Xendit's id of the payment made (recorded with a success).",
                                "examples": ["py-1402feb0-bb79-47ae-9d1e-e69394d3949c"],
                            },
                        },
                    },
                },
            },
            "WebhookReceived": {
                "type": "object",
                "required": ["received"],
                "properties": {"received": {"type": "boolean", "const": True}},
            },
            "IntrospectionResponse": {
                "description": "RFC 7662 introspection response.",
                "oneOf": [
                    {"$ref": "#/components/schemas/ActiveIntrospection"},
                    {"$ref": "#/components/schemas/InactiveIntrospection"},
                ],
            },
            "ActiveIntrospection": {
                "type": "object",
                "description": "An active token and its claims.",
                "required": [
                    "active",
                    "sub",
                    "client_id",
                    "exp",
                    "iat",
                    "iss",
                    "aud",
                    "jti",
                    "token_type",
                    "project_id",
                ],
                "properties": {
                    "active": {"type": "boolean", "const": True},
                    "sub": {"type": "string"},
                    "scope": {"type": "string", "description": "Space-separated scopes, when any."},
                    "client_id": {"type": "string"},
                    "exp": {"type": "integer"},
                    "iat": {"type": "integer"},
                    "iss": {"type": "string"},
                    "aud": {"type": "string"},
                    "jti": {"type": "string"},
                    "token_type": {"type": "string", "const": "Bearer"},
                    "project_id": {"type": "string"},
                },
            },
            "InactiveIntrospection": {
                "type": "object",
                "description": "An expired, revoked, unknown, malformed or foreign token.",
                "required": ["active"],
                "properties": {"active": {"type": "boolean", "const": False}},
                "additionalProperties": False,
            },
            "JWK": {
                "type": "object",
                "description": "An RSA public signing key.",
                "required": ["kty", "n", "e", "kid", "use", "alg"],
                "properties": {
                    "kty": {"type": "string", "const": "RSA"},
                    "n": {"type": "string", "description": "Modulus, base64url."},
                    "e": {"type": "string", "description": "Exponent, base64url."},
                    "kid": {"type": "string", "description": "Key id, as in access token headers."},
                    "use": {"type": "string", "const": "sig"},
                    "alg": {"type": "string", "const": "RS256"},
                },
            },
            "JWKS": {
                "type": "object",
                "description": "A JSON Web Key Set (RFC 7517 §5).",
                "required": ["keys"],
                "properties": {
                    "keys": {
                        "type": "array",
                        "items": {"$ref": "#/components/schemas/JWK"},
                    }
                },
            },
            "Metadata": {
                "type": "object",
                "description": (
                    "Authorization server metadata (RFC 8414, OpenID Connect Discovery 1.0): "
                    "the service's, or a project's own authorization server's. Endpoint URLs "
                    "are absolute, under the issuer."
                ),
                "required": [
                    "issuer",
                    "authorization_endpoint",
                    "token_endpoint",
                    "jwks_uri",
                    "userinfo_endpoint",
                    "introspection_endpoint",
                    "revocation_endpoint",
                    "grant_types_supported",
                    "response_types_supported",
                    "response_modes_supported",
                    "code_challenge_methods_supported",
                    "authorization_response_iss_parameter_supported",
                    "scopes_supported",
                    "prompt_values_supported",
                    "token_endpoint_auth_methods_supported",
                    "token_endpoint_auth_signing_alg_values_supported",
                    "introspection_endpoint_auth_methods_supported",
                    "introspection_endpoint_auth_signing_alg_values_supported",
                    "revocation_endpoint_auth_methods_supported",
                    "revocation_endpoint_auth_signing_alg_values_supported",
                    "subject_types_supported",
                    "id_token_signing_alg_values_supported",
                    "claims_supported",
                ],
                "properties": {
                    "issuer": {
                        "type": "string",
                        "format": "uri",
                        "description": (
                            "The service's issuer, or `<issuer>/projects/{project_id}` for a "
                            "project's own authorization server."
                        ),
                    },
                    "authorization_endpoint": {"type": "string", "format": "uri"},
                    "token_endpoint": {"type": "string", "format": "uri"},
                    "jwks_uri": {"type": "string", "format": "uri"},
                    "userinfo_endpoint": {"type": "string", "format": "uri"},
                    "introspection_endpoint": {"type": "string", "format": "uri"},
                    "revocation_endpoint": {"type": "string", "format": "uri"},
                    "grant_types_supported": {
                        "type": "array",
                        "items": {"type": "string"},
                        "examples": [["authorization_code", "client_credentials", "refresh_token"]],
                    },
                    "response_modes_supported": {
                        "type": "array",
                        "items": {"type": "string"},
                        "examples": [["query"]],
                    },
                    "code_challenge_methods_supported": {
                        "type": "array",
                        "items": {"type": "string"},
                        "description": "PKCE methods (RFC 7636): `S256` only, `plain` is refused.",
                        "examples": [["S256"]],
                    },
                    "authorization_response_iss_parameter_supported": {
                        "type": "boolean",
                        "description": "RFC 9207: authorization responses carry `iss`.",
                        "examples": [True],
                    },
                    "scopes_supported": {
                        "type": "array",
                        "items": {"type": "string"},
                        "description": (
                            "The service's document: the OpenID Connect scopes every client may "
                            "ask for (each project's own scopes come on top and are not listed). "
                            "A project's document: those, then the project's own scopes and its "
                            "resources' scopes."
                        ),
                        "examples": [["openid", "email", "profile", "offline_access"]],
                    },
                    "prompt_values_supported": {
                        "type": "array",
                        "items": {"type": "string"},
                        "examples": [["none", "login", "consent", "select_account"]],
                    },
                    "claims_supported": {
                        "type": "array",
                        "items": {"type": "string"},
                        "examples": [[
                            "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash",
                            "email", "email_verified",
                        ]],
                    },
                    "token_endpoint_auth_methods_supported": {
                        "type": "array",
                        "items": {"type": "string"},
                        "examples": [["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]],
                    },
                    "token_endpoint_auth_signing_alg_values_supported": {
                        "type": "array",
                        "items": {"type": "string"},
                        "description": "Algorithms a private_key_jwt `client_assertion` may be signed with.",
                        "examples": [[
                            "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384",
                            "ES512", "EdDSA",
                        ]],
                    },
                    "introspection_endpoint_auth_methods_supported": {
                        "type": "array",
                        "items": {"type": "string"},
                        "description": "No `none`: a public client cannot introspect.",
                        "examples": [["client_secret_basic", "client_secret_post", "private_key_jwt"]],
                    },
                    "introspection_endpoint_auth_signing_alg_values_supported": {
                        "type": "array",
                        "items": {"type": "string"},
                        "examples": [[
                            "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384",
                            "ES512", "EdDSA",
                        ]],
                    },
                    "revocation_endpoint_auth_methods_supported": {
                        "type": "array",
                        "items": {"type": "string"},
                        "examples": [["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]],
                    },
                    "revocation_endpoint_auth_signing_alg_values_supported": {
                        "type": "array",
                        "items": {"type": "string"},
                        "examples": [[
                            "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384",
                            "ES512", "EdDSA",
                        ]],
                    },
                    "client_id_metadata_document_supported": {
                        "type": "boolean",
                        "const": True,
                        "description": (
                            "A project's document only: a `client_id` may be the https URL of a "
                            "Client ID Metadata Document."
                        ),
                    },
                    "registration_endpoint": {
                        "type": "string",
                        "format": "uri",
                        "description": (
                            "A project's document only, when the project takes RFC 7591 "
                            "registrations: `POST /projects/{project_id}/oauth/register`."
                        ),
                    },
                    "response_types_supported": {
                        "type": "array",
                        "items": {"type": "string"},
                        "examples": [["code"]],
                    },
                    "subject_types_supported": {
                        "type": "array",
                        "items": {"type": "string"},
                        "examples": [["public"]],
                    },
                    "id_token_signing_alg_values_supported": {
                        "type": "array",
                        "items": {"type": "string"},
                        "examples": [["RS256"]],
                    },
                },
            },
        },
    },
}
