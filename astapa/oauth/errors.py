"""RFC 6749 §5.2 error objects (and their RFC 7009 / 8707 siblings).

Every error has a class-level wire `error` and HTTP `status`, a fixed ASCII `description`
that is safe to send, and an optional private `detail` that is logged, never sent.
"""



class OAuthError(Exception):
    error = "invalid_request"
    status = 400
    description = ""
    # Set by `via` once client and redirect_uri are valid: the error goes back to the client
    # (RFC 6749 §4.1.2.1) instead of an error page.
    redirect_uri: str | None = None
    state: str | None = None
    issuer: str | None = None  # the authorization server answering (RFC 9207 `iss`)

    def __init__(self, description: str | None = None, detail: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(description or self.description)
        if description is not None:
            self.description = description
        self.detail = detail
        self.headers = dict(headers or {})

    def via(self, redirect_uri: str, state: str | None, issuer: str | None = None) -> "OAuthError":
        self.redirect_uri, self.state, self.issuer = redirect_uri, state, issuer
        return self

    def body(self) -> dict:
        body = {"error": self.error}
        if self.description:
            body["error_description"] = self.description
        return body


class InvalidRequestError(OAuthError):
    """The request is missing a parameter, repeats one, or is otherwise malformed."""
    error = "invalid_request"


class RequestTooLargeError(OAuthError):
    """The body is larger than any OAuth request needs."""
    error = "invalid_request"
    status = 413
    description = "request body too large"


class InvalidClientError(OAuthError):
    """Client authentication failed (RFC 6749 §5.2)."""
    error = "invalid_client"
    status = 401
    description = "client authentication failed"


class InvalidGrantError(OAuthError):
    """The grant is invalid, expired, revoked or was issued to another client."""
    error = "invalid_grant"
    description = "grant request is invalid"


class UnauthorizedClientError(OAuthError):
    """The client may not use this grant type."""
    error = "unauthorized_client"
    description = "the client is not allowed to use this grant type"


class UnsupportedGrantTypeError(OAuthError):
    """The grant type is not supported by this server."""
    error = "unsupported_grant_type"
    description = "unsupported grant_type"


class InvalidScopeError(OAuthError):
    """The scope asked for is malformed or exceeds what the client was granted."""
    error = "invalid_scope"
    description = "requested scope is invalid or not granted to this client"


class InvalidTargetError(OAuthError):
    """RFC 8707 §2: the resource is invalid or not acceptable."""
    error = "invalid_target"
    description = "resource must be an absolute URI without a fragment, at most 2048 characters"


class UnsupportedResponseTypeError(OAuthError):
    """RFC 6749 §4.1.2.1: only response_type=code is supported."""
    error = "unsupported_response_type"
    description = "only response_type=code is supported"


class AccessDeniedError(OAuthError):
    """The user declined."""
    error = "access_denied"
    description = "the user cancelled the sign-in"


class LoginRequiredError(OAuthError):
    """OIDC Core §3.1.2.6: prompt=none and nobody is signed in."""
    error = "login_required"
    description = "the user is not signed in"


class InteractionRequiredError(OAuthError):
    """OIDC Core §3.1.2.6: prompt=none, and the sign-in needs the user (a second factor)."""
    error = "interaction_required"
    description = "the user must take part in the sign-in (a second factor)"


class ConsentRequiredError(OAuthError):
    """OIDC Core §3.1.2.6: prompt=none, and the user has not allowed this client yet."""
    error = "consent_required"
    description = "the user has not allowed this application yet"


class RequestNotSupportedError(OAuthError):
    """OIDC Core §6: request objects (`request`) are not supported."""
    error = "request_not_supported"
    description = "the request parameter is not supported"


class RequestUriNotSupportedError(OAuthError):
    """OIDC Core §6: request objects by reference (`request_uri`) are not supported."""
    error = "request_uri_not_supported"
    description = "the request_uri parameter is not supported"


class InvalidTokenError(OAuthError):
    """RFC 6750 §3.1: the bearer token is expired, revoked, malformed or not ours."""
    error = "invalid_token"
    status = 401
    description = "the access token is invalid"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail=detail, headers={
            "WWW-Authenticate": 'Bearer realm="astapa", error="invalid_token"'})


class TooManyAttemptsError(OAuthError):
    """Throttled after repeated failures (RFC 6819 §5.1.4.2.3)."""
    error = "invalid_request"
    status = 429
    description = "too many failed attempts, retry later"

    def __init__(self, retry_after: int, detail: str | None = None) -> None:
        super().__init__(detail=detail, headers={"Retry-After": str(retry_after)})


class TemporarilyUnavailableError(OAuthError):
    """The event store is busy; try again shortly."""
    error = "temporarily_unavailable"
    status = 503
    description = "the server is busy, retry shortly"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail=detail, headers={"Retry-After": "1"})


class ServerError(OAuthError):
    """Something unexpected; never carries a cause on the wire."""
    error = "server_error"
    status = 500
    description = "internal error"


# -- the management API's answers beyond RFC 6749 (same shape: error, error_description) --

class ForbiddenError(OAuthError):
    """Authenticated, but this client may not do this."""
    error = "access_denied"
    status = 403


class NotFoundError(OAuthError):
    """No such user or plan in the caller's project (another project's look the same)."""
    error = "not_found"
    status = 404


class ResourceConflictError(OAuthError):
    """The thing to create exists already."""
    error = "conflict"
    status = 409


# -- RFC 7591 §3.2.2 dynamic registration errors --

class InvalidClientMetadataError(OAuthError):
    error = "invalid_client_metadata"
    description = "client metadata is invalid"


class InvalidRedirectUriError(OAuthError):
    error = "invalid_redirect_uri"
    description = "a redirect URI is invalid"


def registration_error(error: str, description: str) -> OAuthError:
    kind = InvalidRedirectUriError if error == "invalid_redirect_uri" else InvalidClientMetadataError
    return kind(description)
