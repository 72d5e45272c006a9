"""OpenID Connect RP-Initiated Logout 1.0: the request a relying party sends the browser
with to the end_session_endpoint, and where the browser may go afterwards.

§2: `id_token_hint` (an ID token this issuer signed, expired or not), `client_id`,
`post_logout_redirect_uri`, `state`; `logout_hint` and `ui_locales` are optional and
ignored here. §3: the browser goes back only to a `post_logout_redirect_uri` registered
for the client, byte for byte, with `state` added; the client is the one `client_id`
names or, without it, the hint's `aud`, and when both are given they must agree. Anything
else is refused on a page, never redirected.
"""

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

from astapa.domain.clients import ClientRecord
from astapa.oauth.authorize import carry, response_url, uncarry

PARAMETERS = ("id_token_hint", "client_id", "post_logout_redirect_uri", "state", "logout_hint", "ui_locales")
MAX_FIELDS = 64


class LogoutRefused(Exception):
    """The logout request cannot be honoured as sent; the message is for the log."""


@dataclass(frozen=True)
class Hint:
    """What a valid id_token_hint says: the client it was issued to, and the user."""

    client_id: str
    sub: str

    @classmethod
    def of(cls, claims: dict | None) -> "Hint":
        if claims is None:
            raise LogoutRefused("id_token_hint is not an ID token this issuer signed")
        return cls(claims["aud"], claims["sub"])


@dataclass(frozen=True)
class LogoutRequest:
    client: ClientRecord | None  # the relying party, when one is named
    redirect_uri: str | None  # registered for the client
    state: str | None
    subject: tuple[str, str] | None  # (project_id, sub) of a valid hint: who asks to sign out

    def return_url(self) -> str | None:
        """Where the browser goes once signed out; None: the "You are signed out" page."""
        if self.redirect_uri is None or self.state is None:
            return self.redirect_uri
        return response_url(self.redirect_uri, {"state": self.state})

    def carried(self, project_id: str | None) -> str:
        """The request as the confirmation form carries it to the sign-out POST: what it
        needs to send the browser back (the hint has done its work)."""
        params = {"client_id": self.client.client_id if self.client else None,
                  "post_logout_redirect_uri": self.redirect_uri, "state": self.state}
        return carry(project_id, urlencode({k: v for k, v in params.items() if v is not None}))


def parameters(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """The request's parameters: each at most once (as RFC 6749 §3.1 has it for OAuth
    requests), an empty one absent, unknown ones ignored."""
    params: dict[str, str] = {}
    seen: set[str] = set()
    for name, value in pairs:
        if name in seen and name in PARAMETERS:
            raise LogoutRefused(f"{name} is repeated")
        seen.add(name)
        if name in PARAMETERS and value != "":
            params[name] = value
    return params


def query_parameters(query: str) -> dict[str, str]:
    try:
        return parameters(parse_qsl(query, keep_blank_values=True, errors="strict", max_num_fields=MAX_FIELDS))
    except (UnicodeDecodeError, ValueError) as e:
        if isinstance(e, LogoutRefused):
            raise
        raise LogoutRefused("the request is malformed") from None


def uncarried(carried: str) -> tuple[str | None, dict[str, str]]:
    """(project id of the issuer or None, parameters) of a request the form carried."""
    project_id, query = uncarry(carried)
    return project_id, query_parameters(query)


def client_id_of(params: dict[str, str], hint: Hint | None) -> str | None:
    """The relying party's client_id: as sent, or the hint's `aud`; both must agree."""
    client_id = params.get("client_id")
    if hint is not None and client_id is not None and client_id != hint.client_id:
        raise LogoutRefused("client_id is not the client the id_token_hint was issued to")
    return client_id or (hint.client_id if hint is not None else None)


def validate(params: dict[str, str], client: ClientRecord | None, hint: Hint | None) -> LogoutRequest:
    """`client`: the one client_id_of named, as the answering issuer knows it."""
    if client is None and client_id_of(params, hint) is not None:
        raise LogoutRefused(f"unknown client {client_id_of(params, hint)!r}")
    uri = params.get("post_logout_redirect_uri")
    if uri is not None:
        if client is None:
            raise LogoutRefused("post_logout_redirect_uri without client_id or id_token_hint")
        if uri not in client.post_logout_redirect_uris:
            raise LogoutRefused(f"post_logout_redirect_uri {uri!r} is not registered for {client.client_id!r}")
    subject = (client.project_id, hint.sub) if hint is not None and client is not None else None
    return LogoutRequest(client, uri, params.get("state"), subject)
