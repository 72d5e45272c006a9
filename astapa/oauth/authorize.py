"""RFC 6749 §4.1.1 authorization requests, with PKCE (RFC 7636), OIDC `nonce`/`prompt`/
`max_age`, RFC 8707 `resource` and the RFC 9207 `iss` response parameter.

§4.1.2.1 decides where an error goes: anything wrong with `client_id` or `redirect_uri`
is shown on an error page and never redirected (no open redirect); once both are valid,
every other error goes back to the client with `error`, `state` and `iss`, except that an
error found before the user has interacted goes back only to a vetted redirect URI (RFC
9700 §4.11.2, see redirect_vetted): else anyone could register a client and use Astapa as
an open redirector.
"""

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit

from astapa.domain.clients import ClientRecord
from astapa.domain.codes import CodeRequest
from astapa.domain.sessions import ACR_VALUES
from astapa.oauth import pkce
from astapa.oauth.errors import (
    InvalidRequestError,
    InvalidScopeError,
    OAuthError,
    RequestNotSupportedError,
    RequestUriNotSupportedError,
    UnauthorizedClientError,
    UnsupportedResponseTypeError,
)
from astapa.oauth.resources import resolve
from astapa.oauth.scopes import is_absolute_uri, parse_resource, parse_scope
from astapa.oauth.servers import AuthServer

# Scopes every project's users may be asked for, besides the project's own.
OIDC_SCOPES = ("openid", "email", "profile", "offline_access")
PROMPTS = frozenset({"none", "login", "consent", "select_account"})
MAX_QUERY = 16384
MAX_NONCE = 512


@dataclass(frozen=True)
class AuthorizationRequest:
    client: ClientRecord
    redirect_uri: str
    state: str | None
    scopes: tuple[str, ...]
    code_challenge: str | None
    nonce: str | None
    resource: str | None
    prompt: frozenset[str]
    max_age: int | None
    login_hint: str | None
    acr: str | None  # of the acr_values asked for, the one we offer (ACR_VALUES), if any
    # The request as received, carried through the sign-in form and mailed links; for a
    # project's own authorization server prefixed with `/projects/{id}` (see carry()).
    query: str
    issuer: str  # the authorization server answering: `iss` in the response (RFC 9207)

    def code_request(self) -> CodeRequest:
        return CodeRequest(
            project_id=self.client.project_id, client_id=self.client.client_id,
            redirect_uri=self.redirect_uri, scopes=self.scopes, code_challenge=self.code_challenge,
            nonce=self.nonce, resource=self.resource, consent=self.client.third_party,
            prompt_consent="consent" in self.prompt, acr=self.acr,
            two_factor_since=self.client.two_factor_required_since, two_factor_grace=self.client.two_factor_grace,
        )

    def refuse(self, error: OAuthError) -> OAuthError:
        """An error that goes back to the client (§4.1.2.1), once the user has answered."""
        return error.via(self.redirect_uri, self.state, self.issuer)

    def refuse_before_interaction(self, error: OAuthError) -> OAuthError:
        """An error found before the user did anything: back to the client only when its
        redirect URI was vetted, else shown on our page (RFC 9700 §4.11.2)."""
        return self.refuse(error) if redirect_vetted(self.client, self.redirect_uri) else error


PROJECT_PREFIX = "/projects/"


def carry(project_id: str | None, query: str) -> str:
    """The request as the pages carry it (a hidden field, the query of their links, mailed
    links): the raw query, prefixed with `/projects/{id}?` when it came to a project's own
    server. A query may hold "/" and "?", so `/auth/signup?/projects/p1?client_id=...` is
    a URL, and the pages' routes serve both servers."""
    return query if project_id is None else f"{PROJECT_PREFIX}{project_id}?{query}"


def uncarry(carried: str) -> tuple[str | None, str]:
    """(project id of the server or None, raw query) of a carried request."""
    if carried.startswith(PROJECT_PREFIX):
        head, _, query = carried.partition("?")
        return head[len(PROJECT_PREFIX):], query
    return None, carried


def without_login_hint(carried: str) -> str:
    """A carried request without its `login_hint` (an address, personal data): what a
    sign-in trip through Google or GitHub records, as the hint is needed only for the
    redirect to the provider, made before it is recorded."""
    project_id, query = uncarry(carried)
    pairs = parse_qsl(query, keep_blank_values=True)
    if all(name != "login_hint" for name, _ in pairs):
        return carried
    return carry(project_id, urlencode([(name, value) for name, value in pairs if name != "login_hint"]))


class PageError(OAuthError):
    """An error about the client or redirect_uri: shown on our page, never redirected."""


def parse_query(query: str) -> tuple[dict[str, str], set[str]]:
    """Parameters (empty values are absent, §3.1) and the names that were repeated."""
    if len(query) > MAX_QUERY:
        raise PageError("the request is too long")
    try:
        pairs = parse_qsl(query, keep_blank_values=True, errors="strict", max_num_fields=64)
    except (UnicodeDecodeError, ValueError):
        raise PageError("the request is malformed") from None
    params: dict[str, str] = {}
    repeated: set[str] = set()
    for name, value in pairs:
        if name in params or (name in repeated):
            repeated.add(name)
        if value != "":
            params.setdefault(name, value)
    return params, repeated


def client_id_of(params: dict[str, str], repeated: set[str]) -> str:
    if "client_id" in repeated:
        raise PageError("client_id is repeated")
    client_id = params.get("client_id")
    if client_id is None:
        raise PageError("client_id is missing")
    return client_id


def validate(query: str, client: ClientRecord | None, server: AuthServer) -> AuthorizationRequest:
    """The request `query` to `server` (carried: carry(server.project_id, query))."""
    params, repeated = parse_query(query)
    client_id = client_id_of(params, repeated)
    if client is None or client.client_id != client_id:
        raise PageError("this application is not registered", detail=f"unknown client {client_id!r}")
    if "redirect_uri" in repeated:
        raise PageError("redirect_uri is repeated")
    redirect_uri = params.get("redirect_uri")
    if redirect_uri is None:
        raise PageError("redirect_uri is missing")
    if holds_control_character(redirect_uri):  # before matching: urlsplit drops some of them
        raise PageError("this redirect_uri is not trustworthy: it holds a control character",
                        detail=f"redirect_uri with a control character {redirect_uri!r}")
    if not redirect_uri_matches(redirect_uri, client):
        raise PageError("this redirect_uri is not registered for the application",
                        detail=f"unregistered redirect_uri {redirect_uri!r}")
    state = params.get("state")
    try:
        return _validate_rest(params, repeated, client, redirect_uri, state, query, server)
    except OAuthError as e:
        if not redirect_vetted(client, redirect_uri):
            raise  # shown on our page: nobody vetted where it would go
        raise e.via(redirect_uri, state, server.issuer) from None


def redirect_vetted(client: ClientRecord, redirect_uri: str) -> bool:
    """Whether errors found before the user has interacted may go to `redirect_uri` at once
    (RFC 9700 §4.11.2): it was registered by the project's operator (the project's own
    client, clients made with the CLI), or it is a loopback URI (RFC 8252 §7.3), which
    reaches only the user's own machine. A self-registered (RFC 7591) or metadata-document
    client names any other URI it likes, and nobody vetted it."""
    if not client.third_party:
        return True
    parts = urlsplit(redirect_uri)
    return parts.scheme in ("http", "https") and parts.hostname in LOOPBACK_HOSTS and "@" not in parts.netloc


def redirect_uri_matches(uri: str, client: ClientRecord) -> bool:
    """Byte for byte (RFC 9700 §2.1); for a public client a loopback IP redirect URI also
    with any port (RFC 8252 §7.3): same scheme, host, path and query. `localhost`,
    127.0.0.1 and [::1] never stand for each other."""
    if uri in client.redirect_uris:
        return True
    if not client.is_public:
        return False
    given = urlsplit(uri)
    if given.scheme != "http" or given.hostname not in LOOPBACK_HOSTS or given.fragment:
        return False
    try:
        given.port
    except ValueError:
        return False
    for registered in client.redirect_uris:
        known = urlsplit(registered)
        if (known.scheme, known.hostname, known.path, known.query) == \
                (given.scheme, given.hostname, given.path, given.query) \
                and "@" not in known.netloc + given.netloc:
            return True
    return False


def _validate_rest(params: dict[str, str], repeated: set[str], client: ClientRecord,
                   redirect_uri: str, state: str | None, query: str,
                   server: AuthServer) -> AuthorizationRequest:
    if repeated - {"resource"}:
        raise InvalidRequestError(f"parameter {sorted(repeated)[0]!r} is repeated")
    response_type = params.get("response_type", "code")
    if response_type != "code":
        raise UnsupportedResponseTypeError()
    # Request objects would override what the query says: refused, never ignored (OIDC Core §6).
    if "request" in params:
        raise RequestNotSupportedError()
    if "request_uri" in params:
        raise RequestUriNotSupportedError()
    if "authorization_code" not in client.grant_types:
        raise UnauthorizedClientError("the client may not use the authorization code flow")
    scopes = parse_scope(params.get("scope")) or []
    allowed = set(OIDC_SCOPES) | set(client.scopes)
    if not set(scopes) <= allowed:
        raise InvalidScopeError(detail=f"not allowed: {sorted(set(scopes) - allowed)}")
    challenge = pkce.check_challenge(params.get("code_challenge"), params.get("code_challenge_method"))
    if challenge is None and (client.is_public or client.third_party):
        raise InvalidRequestError("code_challenge is required (PKCE with S256)")
    prompt = frozenset((params.get("prompt") or "").split())
    if not prompt <= PROMPTS or ("none" in prompt and len(prompt) > 1):
        raise InvalidRequestError("prompt is not valid")
    nonce = params.get("nonce")
    if nonce is not None and len(nonce) > MAX_NONCE:
        raise InvalidRequestError("nonce is too long")
    resources = tuple(v for k, v in parse_qsl(query, keep_blank_values=False) if k == "resource")
    resource = resolve(parse_resource(resources), client.resources, client.foreign_resources)
    return AuthorizationRequest(
        client=client, redirect_uri=redirect_uri, state=state, scopes=tuple(scopes),
        code_challenge=challenge, nonce=nonce, resource=resource, prompt=prompt,
        max_age=_max_age(params.get("max_age")), login_hint=params.get("login_hint"),
        acr=next((v for v in (params.get("acr_values") or "").split() if v in ACR_VALUES), None),
        query=carry(server.project_id, query), issuer=server.issuer,
    )


def _max_age(value: str | None) -> int | None:
    if value is None:
        return None
    if not (value.isascii() and value.isdigit()) or len(value) > 10:
        raise InvalidRequestError("max_age must be a non-negative integer")
    return int(value)


def response_url(redirect_uri: str, params: dict[str, str | None]) -> str:
    """redirect_uri with the response parameters added to its query (§4.1.2)."""
    query = urlencode({k: v for k, v in params.items() if v is not None})
    separator = "&" if urlsplit(redirect_uri).query else ("" if redirect_uri.endswith("?") else "?")
    return f"{redirect_uri}{separator}{query}"


def error_url(error: OAuthError, issuer: str) -> str:
    """`issuer`: the service's, for an error that does not name its server."""
    assert error.redirect_uri is not None
    return response_url(error.redirect_uri, {
        "error": error.error, "error_description": error.description or None,
        "state": error.state, "iss": error.issuer or issuer,
    })


LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


def holds_control_character(uri: str) -> bool:
    """Whether `uri` holds a control character: C0, DEL or C1 (Unicode's Cc). None belongs in
    a URI (RFC 3986 §2), urlsplit silently drops LF, CR and TAB (and leading C0 and spaces),
    and a Location header cannot carry them: refused wherever a redirect URI is given."""
    return any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in uri)


def check_redirect_uri(uri: str, mode: str = "live") -> str:
    """Registration rules (RFC 9700 §4.1, RFC 8252 §7.3): absolute, no fragment, no wildcard,
    no space or control character, https (http only for loopback); refuses javascript:,
    data: and the like by scheme. A sandbox project (`mode`) also takes http on any host,
    for development set-ups such as http://myapp.test/callback; nothing else is relaxed."""
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if not is_absolute_uri(uri) or "*" in uri or " " in uri or holds_control_character(uri):
        raise ValueError(f"redirect URI {uri!r} must be an absolute URI without fragment or wildcard")
    if "@" in parts.netloc:
        raise ValueError(f"redirect URI {uri!r} must not hold user information")
    if scheme == "https" and parts.netloc:
        return uri
    if scheme == "http" and (parts.hostname in LOOPBACK_HOSTS or (mode == "sandbox" and parts.hostname)):
        return uri
    if scheme == "http":
        raise ValueError(f"redirect URI {uri!r} must use https (http only for loopback)")
    if "." in scheme and not parts.netloc:  # RFC 8252 §7.1 private-use scheme: com.example.app:/cb
        return uri
    raise ValueError(f"redirect URI {uri!r} must be an https URL")
