"""Projects (each is also the app's own OAuth client), machine clients, and the client index."""

from types import MappingProxyType
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from astapa.domain.errors import AlreadyLiveError, ClientNotFoundError, ClientSecretlessError
from astapa.domain.errors import ResourceTakenError
from astapa.domain.ids import index_id
from astapa.domain.refresh import DEFAULT_PIN_REFRESH_TTL, DEFAULT_REUSE_GRACE

# A user without two-factor sign-in may sign in without it this long after a project
# starts requiring it (or after they sign up, if later), in seconds.
DEFAULT_TWO_FACTOR_GRACE = 7 * 86400
MAX_TWO_FACTOR_GRACE = 90 * 86400

# Seconds the secret a rotation replaces keeps working: time to deploy the new one
# everywhere the old one is configured, with no failed request in between.
ROTATION_GRACE = 86400


def kept_on_rotation(secret_hash: str, now: float, revoke_old: bool) -> tuple[str | None, float | None]:
    """What a rotation keeps of the secret it replaces: its hash and until when (epoch
    seconds), or nothing with `revoke_old` (a leaked secret). One previous secret at most:
    an older one, still valid or not, is forgotten."""
    return (None, None) if revoke_old else (secret_hash, now + ROTATION_GRACE)


class Project(Aggregate):
    """A developer's project; its own confidential OAuth client signs users in.

    A change's `by` names who asked for it, for the project's log: `api` for the management
    API, `cli` for the command line; None from the console (which records its own
    ConsoleAction, naming the console user on each event) and in events older than the
    field."""

    # Sign-in providers configured: provider -> OAuth client id. Replaced, never changed in
    # place; the class-level default serves projects created before providers existed.
    providers = MappingProxyType({})
    # Protected resources (RFC 8707): URI -> the scopes it defines. Replaced, never changed
    # in place. Dynamic client registration (RFC 7591) is off unless turned on.
    resources = MappingProxyType({})
    allow_registration = False
    access_token_ttl = None  # the server's default, for projects made before the setting
    # Refresh families' lifetimes (domain/refresh.py): after a password, magic link or
    # social sign-in (None: the server's default), and after a PIN sign-in, which the
    # project offers only with pin_sign_in.
    refresh_ttl: int | None = None
    pin_sign_in = False
    pin_refresh_ttl = DEFAULT_PIN_REFRESH_TTL
    # Two-factor sign-in for every user (since the event that turned it on: the read
    # models keep when), and how long each user may still sign in without it.
    two_factor_required = False
    two_factor_grace = DEFAULT_TWO_FACTOR_GRACE
    # Provider -> the SHA-256 of its client secret, as ProviderConfigured recorded it: what
    # going live copies (the secret itself is in DATA_DIR/keys/providers/).
    provider_secret_hashes = MappingProxyType({})
    # A sandbox project's live twin, once it went live (WentLive); a live twin's sandbox is
    # `sandbox_project_id`, set when it is created.
    live_project_id: str | None = None
    # The own client's secret before the last rotation, still accepted until
    # previous_secret_valid_until (epoch seconds); None: there is none.
    previous_secret_hash: str | None = None
    previous_secret_valid_until: float | None = None
    # How the hosted pages show the project (BrandingChanged, branding.py); "": their default.
    display_name = ""
    logo_url = ""
    primary_color = ""

    @event("Created")
    def __init__(
        self,
        project_id: str,
        name: str,
        client_id: str,
        secret_hash: str,
        redirect_uris: list[str],
        mode: str,
        scopes: list[str],
        require_verified_email: bool = False,  # absent from events older than the setting
        allow_registration: bool = False,  # likewise
        refresh_reuse_grace: int = DEFAULT_REUSE_GRACE,  # likewise
        post_logout_redirect_uris: list[str] | None = None,  # likewise
        sandbox_project_id: str | None = None,  # a live twin's sandbox (absent: not a twin)
        by: str | None = None,  # who made it: "cli", "api", a console user (absent: not said)
    ) -> None:
        self.project_id = project_id
        self.name = name
        self.client_id = client_id
        self.secret_hash = secret_hash
        self.redirect_uris = list(redirect_uris)
        self.mode = mode
        self.scopes = list(scopes)
        self.require_verified_email = require_verified_email
        self.allow_registration = allow_registration
        self.refresh_reuse_grace = refresh_reuse_grace
        # Where RP-initiated logout may send the browser back (OpenID Connect RP-Initiated
        # Logout 1.0 §3), matched byte for byte like redirect_uris.
        self.post_logout_redirect_uris = list(post_logout_redirect_uris or [])
        self.sandbox_project_id = sandbox_project_id

    @staticmethod
    def create_id(project_id: str) -> UUID:
        return index_id("project", project_id)

    def check_can_go_live(self) -> None:
        """Only a sandbox goes live, and once: AlreadyLiveError names the live project."""
        if self.mode != "sandbox":
            raise AlreadyLiveError(self.project_id, self.project_id)
        if self.live_project_id is not None:
            raise AlreadyLiveError(self.project_id, self.live_project_id)

    @event("WentLive")
    def go_live(self, project_id: str, live_project_id: str) -> None:
        """The sandbox's live twin was created (its Created names this project back)."""
        self.live_project_id = live_project_id

    @event("RegistrationPolicyChanged")
    def change_registration_policy(self, project_id: str, allow_registration: bool, by: str | None = None) -> None:
        """Whether the project's authorization server takes RFC 7591 registrations."""
        self.allow_registration = allow_registration

    @event("ResourceAdded")
    def add_resource(self, project_id: str, uri: str, scopes: list[str], by: str | None = None) -> None:
        """A protected resource (an API, an MCP server) tokens may be issued for (RFC 8707);
        adding a known URI again replaces its scopes."""
        self.resources = {**self.resources, uri: list(scopes)}

    @event("RedirectUriAdded")
    def add_redirect_uri(self, project_id: str, redirect_uri: str) -> None:
        """The event names the project_id too, for read models keyed by it."""
        self.redirect_uris.append(redirect_uri)

    @event("PaymentsConfigured")
    def configure_payments(self, project_id: str, secret_key_hash: str, callback_token_hash: str | None,
                           by: str | None = None) -> None:
        """The project's own Xendit key (and webhook token): kept in DATA_DIR/keys/xendit/,
        only their SHA-256 here."""
        self.xendit_secret_key_hash = secret_key_hash

    @event("ProviderConfigured")
    def configure_provider(self, project_id: str, provider: str, client_id: str, client_secret_hash: str,
                           by: str | None = None) -> None:
        """Google or GitHub sign-in: the OAuth client id, and only the SHA-256 of its secret
        (the secret is kept in DATA_DIR/keys/providers/)."""
        self.providers = {**self.providers, provider: client_id}
        self.provider_secret_hashes = {**self.provider_secret_hashes, provider: client_secret_hash}

    @event("ProviderRemoved")
    def remove_provider(self, project_id: str, provider: str, by: str | None = None) -> None:
        self.providers = {k: v for k, v in self.providers.items() if k != provider}
        self.provider_secret_hashes = {k: v for k, v in self.provider_secret_hashes.items() if k != provider}

    @event("SignInPolicyChanged")
    def change_sign_in_policy(self, project_id: str, require_verified_email: bool, by: str | None = None) -> None:
        """With require_verified_email, sign-in waits until the user's address is verified."""
        self.require_verified_email = require_verified_email

    @event("PostLogoutRedirectUrisChanged")
    def change_post_logout_redirect_uris(self, project_id: str, post_logout_redirect_uris: list[str],
                                         by: str | None = None) -> None:
        """The project's own client's post-logout redirect URIs, all of them (replaced)."""
        self.post_logout_redirect_uris = list(post_logout_redirect_uris)

    @event("RefreshReuseGraceChanged")
    def change_refresh_reuse_grace(self, project_id: str, refresh_reuse_grace: int, by: str | None = None) -> None:
        """How many seconds after a rotation the previous refresh token may come back once
        (a client retrying after a lost response); 0: never (RefreshFamily)."""
        self.refresh_reuse_grace = refresh_reuse_grace

    @event("BrandingChanged")
    def change_branding(self, project_id: str, display_name: str, logo_url: str, primary_color: str,
                        by: str | None = None) -> None:
        """The display name, logo (https) and primary colour (WCAG AA against white) the
        hosted pages show, all three at once; "" for a page default."""
        self.display_name = display_name
        self.logo_url = logo_url
        self.primary_color = primary_color

    @event("ScopesChanged")
    def change_scopes(self, project_id: str, scopes: list[str], by: str | None = None) -> None:
        """The scopes the project grants its own client, beyond OpenID's (replaced)."""
        self.scopes = list(scopes)

    @event("AccessTokenTtlChanged")
    def change_access_token_ttl(self, project_id: str, access_token_ttl: int | None, by: str | None = None) -> None:
        """How long the access tokens of the project's own client live, in seconds (None: the
        server's default)."""
        self.access_token_ttl = access_token_ttl

    @event("RefreshTtlChanged")
    def change_refresh_ttl(self, project_id: str, refresh_ttl: int | None, by: str | None = None) -> None:
        """How long refresh tokens from a password, magic link or social sign-in live, in
        seconds from the sign-in (None: the server's default)."""
        self.refresh_ttl = refresh_ttl

    @event("PinSignInChanged")
    def change_pin_sign_in(self, project_id: str, pin_sign_in: bool, by: str | None = None) -> None:
        """Whether people may set a PIN for a browser and sign in there with it. Turned
        off, no PIN is accepted (the PINs set stay, for when it is turned on again)."""
        self.pin_sign_in = pin_sign_in

    @event("PinRefreshTtlChanged")
    def change_pin_refresh_ttl(self, project_id: str, pin_refresh_ttl: int, by: str | None = None) -> None:
        """How long refresh tokens from a PIN sign-in live, in seconds from the sign-in."""
        self.pin_refresh_ttl = pin_refresh_ttl

    @event("TwoFactorPolicyChanged")
    def change_two_factor_policy(self, project_id: str, two_factor_required: bool, two_factor_grace: int,
                                 by: str | None = None) -> None:
        """Whether every user must sign in with a second factor; one without it may still
        sign in for `two_factor_grace` seconds after this (or after signing up, if later),
        then sets it up while signing in."""
        self.two_factor_required = two_factor_required
        self.two_factor_grace = two_factor_grace

    @event("Renamed")
    def rename(self, project_id: str, name: str, by: str | None = None) -> None:
        """The project's name, which is also its own client's (sign-in pages show it)."""
        self.name = name

    @event("RedirectUrisChanged")
    def change_redirect_uris(self, project_id: str, redirect_uris: list[str], by: str | None = None) -> None:
        """The own client's redirect URIs, all of them (replaced): a URI left out is
        refused from then on."""
        self.redirect_uris = list(redirect_uris)

    @event("SecretRotated")
    def rotate_secret(self, project_id: str, secret_hash: str, previous_secret_hash: str | None,
                      previous_valid_until: float | None, by: str | None = None) -> None:
        """The own client's new secret, by its hash (kept_on_rotation says what of the old)."""
        self.secret_hash = secret_hash
        self.previous_secret_hash = previous_secret_hash
        self.previous_secret_valid_until = previous_valid_until

    @event("PreviousSecretRevoked")
    def revoke_previous_secret(self, project_id: str, by: str | None = None) -> None:
        """The secret before the last rotation stops working now, before its time."""
        self.previous_secret_hash = None
        self.previous_secret_valid_until = None


class Client(Aggregate):
    """A client of a project besides its own: a machine client (a backend, an AI agent, an
    MCP server) made with the CLI, or a client that registered itself (RFC 7591).

    `auth_method` is how it authenticates at the token endpoint (RFC 7591 §2 names):
    `client_secret_basic`/`client_secret_post` (a secret; only its hash is kept),
    `private_key_jwt` (RFC 7523: public keys inline or at `jwks_uri`), or `none` (a public
    client). Fields after `token_ttl` are absent from events older than them.

    A deleted client keeps its aggregate (and its id, taken for good in ClientIndex) but
    authenticates no more and changes no more. `by` is as in Project's events.
    """

    previous_secret_hash: str | None = None  # as Project's
    previous_secret_valid_until: float | None = None
    deleted = False

    @event("Created")
    def __init__(
        self,
        client_id: str,
        project_id: str,
        name: str,
        secret_hash: str | None,
        scopes: list[str],
        token_ttl: int | None,
        auth_method: str = "client_secret_basic",
        jwks: dict | None = None,
        jwks_uri: str | None = None,
        redirect_uris: list[str] | None = None,
        grant_types: list[str] | None = None,
        registered: bool = False,
        post_logout_redirect_uris: list[str] | None = None,
        by: str | None = None,
    ) -> None:
        self.client_id = client_id
        self.project_id = project_id
        self.name = name
        self.secret_hash = secret_hash
        self.scopes = list(scopes)
        self.token_ttl = token_ttl
        self.auth_method = auth_method
        self.jwks = jwks
        self.jwks_uri = jwks_uri
        self.redirect_uris = list(redirect_uris or [])
        self.grant_types = list(grant_types or ["client_credentials"])
        self.registered = registered
        self.post_logout_redirect_uris = list(post_logout_redirect_uris or [])

    @staticmethod
    def create_id(client_id: str) -> UUID:
        return index_id("machine-client", client_id)

    def check_exists(self) -> None:
        if self.deleted:
            raise ClientNotFoundError(self.client_id)

    def check_rotatable(self) -> None:
        """Only a client that authenticates with a secret has one to rotate."""
        self.check_exists()
        if self.secret_hash is None:
            raise ClientSecretlessError(self.client_id, self.auth_method)

    @event("SecretRotated")
    def rotate_secret(self, client_id: str, secret_hash: str, previous_secret_hash: str | None,
                      previous_valid_until: float | None, by: str | None = None) -> None:
        """The new secret, by its hash (kept_on_rotation says what of the old)."""
        self.secret_hash = secret_hash
        self.previous_secret_hash = previous_secret_hash
        self.previous_secret_valid_until = previous_valid_until

    @event("PreviousSecretRevoked")
    def revoke_previous_secret(self, client_id: str, by: str | None = None) -> None:
        """The secret before the last rotation stops working now, before its time."""
        self.previous_secret_hash = None
        self.previous_secret_valid_until = None

    @event("Deleted")
    def delete(self, client_id: str, by: str | None = None) -> None:
        """The event names the client_id, for read models keyed by it."""
        self.deleted = True


class ClientIndex(Aggregate):
    """One per client_id across projects and machine clients: keeps client ids unique."""

    @event("Registered")
    def __init__(self, client_id: str, kind: str, owner_id: UUID) -> None:
        self.client_id = client_id
        self.kind = kind
        self.owner_id = owner_id

    @staticmethod
    def create_id(client_id: str) -> UUID:
        return index_id("client", client_id)


class ResourceIndex(Aggregate):
    """One per protected resource (RFC 8707), by its canonical URI across projects: a
    resource is one project's (and its live twin's, which copies it), so no project can
    have tokens issued for another's API. Two projects registering one URI at once collide
    on this aggregate's version."""

    @event("Registered")
    def __init__(self, uri: str, project_id: str) -> None:
        self.uri = uri
        self.project_id = project_id

    @staticmethod
    def create_id(uri: str) -> UUID:
        """`uri`: canonical (domain/resources.py), so two spellings are one resource."""
        return index_id("resource", uri)

    def check_may_register(self, project: "Project") -> None:
        """The owner, or a twin of it, may register the resource again (new scopes)."""
        if self.project_id not in (project.project_id, project.sandbox_project_id, project.live_project_id):
            raise ResourceTakenError(self.uri, self.project_id)


class ClientAssertion(Aggregate):
    """A private_key_jwt assertion's `jti`, used once (RFC 7523 §3 item 7): a second use
    collides with this aggregate. Only the jti's SHA-256 is kept."""

    @event("Used")
    def __init__(self, client_id: str, jti_hash: str, expires_at: float) -> None:
        self.client_id = client_id
        self.expires_at = expires_at

    @staticmethod
    def create_id(client_id: str, jti_hash: str) -> UUID:
        return index_id("client-assertion", f"{client_id}/{jti_hash}")


class Consent(Aggregate):
    """What a user let a third-party client have, per project, user and client: for each
    resource (RFC 8707) the tokens are for, the scopes allowed there. An authorization for
    scopes already allowed at the same resource skips the consent page; another resource,
    or more scopes, asks again.

    `resource` in the events is the resource as registered, or None for tokens without
    one (whose `aud` is the client_id). Events older than it have none: their default,
    UNKNOWN, matches no request, so such a consent covers nothing and the user is asked
    once more."""

    UNKNOWN = ""  # not a resource (those are absolute URIs), nor None

    @event("Granted")
    def __init__(self, project_id: str, sub: str, client_id: str, scopes: list[str],
                 resource: str | None = UNKNOWN) -> None:
        self.project_id = project_id
        self.sub = sub
        self.client_id = client_id
        self.scopes = list(scopes)  # every scope allowed, at whichever resource
        self.allowed: dict[str | None, list[str]] = {resource: sorted(scopes)}

    @staticmethod
    def create_id(project_id: str, sub: str, client_id: str) -> UUID:
        return index_id("consent", f"{project_id}/{sub}/{client_id}")

    def covers(self, scopes: tuple[str, ...] | list[str], resource: str | None) -> bool:
        """Whether the user allowed `scopes` for tokens for `resource` (None: no resource)."""
        return resource != self.UNKNOWN and resource in self.allowed and set(scopes) <= set(self.allowed[resource])

    @event("Extended")
    def extend(self, scopes: list[str], resource: str | None = UNKNOWN) -> None:
        self.scopes = sorted(set(self.scopes) | set(scopes))
        self.allowed = {**self.allowed, resource: sorted(set(self.allowed.get(resource, ())) | set(scopes))}
