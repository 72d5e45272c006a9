"""The client model: what an authorization server knows of a client and of its project,
and which scopes a third-party client may ask for. Read from the read models (queries.py)
or built from a client's metadata document; the protocol rules in oauth/ decide on it."""

from dataclasses import dataclass, field

from astapa.domain.branding import Branding
from astapa.domain.refresh import DEFAULT_PIN_REFRESH_TTL


@dataclass(frozen=True)
class ClientRecord:
    client_id: str
    kind: str  # "project" (the project's own client), "machine", "registered" (RFC 7591)
    # or "metadata" (a Client ID Metadata Document)
    project_id: str
    secret_hash: str | None
    scopes: tuple[str, ...]
    token_ttl: int | None
    grant_types: tuple[str, ...]
    name: str = ""
    redirect_uris: tuple[str, ...] = ()
    require_verified_email: bool = False  # the project's sign-in policy
    mode: str = "sandbox"  # or "live": which Xendit key its payments use
    providers: tuple[str, ...] = ()  # sign-in providers the project has configured
    # client_secret_basic / client_secret_post (either works), private_key_jwt, or none
    auth_method: str = "client_secret_basic"
    jwks: dict | None = None  # private_key_jwt: the registered public keys ...
    jwks_uri: str | None = None  # ... or where they are published
    resources: dict[str, tuple[str, ...]] = field(default_factory=dict)  # the project's (RFC 8707)
    # A project without resources of its own: the canonical URIs other projects registered.
    foreign_resources: frozenset[str] = frozenset()
    allow_registration: bool = False  # the project takes RFC 7591 registrations
    refresh_reuse_grace: int = 0  # the project's, in seconds (domain/refresh.py)
    # Where RP-initiated logout may send the browser back, matched byte for byte.
    post_logout_redirect_uris: tuple[str, ...] = ()
    branding: Branding | None = None  # the project's, when it set any
    # The project's refresh lifetimes in seconds (domain/refresh.py; None: the server's
    # default) and whether it offers PIN sign-in.
    refresh_ttl: int | None = None
    pin_sign_in: bool = False
    pin_refresh_ttl: int = DEFAULT_PIN_REFRESH_TTL
    # Two-factor sign-in required of every user since (epoch seconds; None: not required),
    # and how long a user without it may still sign in (from then, or from signing up).
    two_factor_required_since: float | None = None
    two_factor_grace: int = 0

    @property
    def shown_name(self) -> str:
        """The name the hosted pages and mails give the app: the project's display name for
        its own client; a third-party client is always named as it registered (the user
        must see who asks)."""
        if self.kind == "project" and self.branding is not None and self.branding.display_name:
            return self.branding.display_name
        return self.name
    # The secret before the last rotation, accepted while now < previous_secret_valid_until
    # (epoch seconds); None: there is none.
    previous_secret_hash: str | None = None
    previous_secret_valid_until: float | None = None
    # Set on the record authentication returns when the secret presented was the previous
    # one: it keeps the app working, but manages no credentials (web/management.py).
    by_previous_secret: bool = False

    @property
    def is_public(self) -> bool:
        return self.auth_method == "none"

    @property
    def third_party(self) -> bool:
        """Registered itself (RFC 7591) or described by its own metadata document: the user
        is asked before it gets anything."""
        return self.kind in ("registered", "metadata")


SECRET_METHODS = ("client_secret_basic", "client_secret_post")


def project_scopes(own: list[str], resources: dict[str, list[str]]) -> tuple[str, ...]:
    """What a third-party client may ask a project's users for, besides OpenID's scopes:
    the project's own scopes and those of its resources."""
    return tuple(dict.fromkeys([*own, *(s for scopes in resources.values() for s in scopes)]))


def third_party_scopes(offered: tuple[str, ...], asked: list[str] | tuple[str, ...]) -> list[str]:
    """What a third-party client may ask users for: the scopes it registered with (or its
    metadata document names), of those the project offers; all of them if it named none."""
    return [s for s in offered if s in asked] if asked else list(offered)


GRANT_TYPES = {
    "project": ("authorization_code", "refresh_token", "client_credentials"),
    "machine": ("client_credentials",),
    "registered": ("authorization_code", "refresh_token"),
}



@dataclass(frozen=True)
class ProjectRecord:
    """What a project's own authorization server needs to know about it."""

    project_id: str
    name: str
    require_verified_email: bool
    mode: str
    providers: tuple[str, ...]
    scopes: tuple[str, ...]  # its own and its resources' (what third-party clients may ask)
    resources: dict[str, tuple[str, ...]]
    allow_registration: bool
    refresh_reuse_grace: int = 0  # seconds (domain/refresh.py)
    foreign_resources: frozenset[str] = frozenset()  # as ClientRecord's
    live_project_id: str | None = None  # a sandbox's live twin, once it went live
    sandbox_project_id: str | None = None  # a live twin's sandbox
    pin_sign_in: bool = False  # the project offers PIN sign-in
    # As ClientRecord's: the project's refresh lifetimes and two-factor requirement.
    refresh_ttl: int | None = None
    pin_refresh_ttl: int = DEFAULT_PIN_REFRESH_TTL
    two_factor_required_since: float | None = None
    two_factor_grace: int = 0
