"""Client metadata (RFC 7591 §2) from the two ways a third-party client introduces itself
to a project: a Client ID Metadata Document (its client_id is the https URL of a JSON
document describing it; draft-ietf-oauth-client-id-metadata-document) and dynamic
registration (RFC 7591).

Both are checked by the same rules: redirect URIs as at registration (https, loopback
http, or a private-use scheme; no fragment, no wildcard), only the code flow with refresh,
and for private_key_jwt a public JWK Set or a jwks_uri. A metadata-document client has no
secret to share, so it is public (`none`) or uses private_key_jwt.
"""

from dataclasses import dataclass
from urllib.parse import urlsplit

from astapa.domain.clients import ClientRecord, ProjectRecord, third_party_scopes
from astapa.oauth.authorize import LOOPBACK_HOSTS, check_redirect_uri
from astapa.oauth.client_keys import public_key_set
from astapa.oauth.errors import InvalidScopeError
from astapa.oauth.scopes import parse_scope

AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt", "none")
DOCUMENT_AUTH_METHODS = ("private_key_jwt", "none")
GRANT_TYPES = ("authorization_code", "refresh_token")
MAX_REDIRECT_URIS = 20
MAX_NAME = 200


class DocumentError(Exception):
    """A fetched document (a client's metadata document or key set) cannot be used; the
    message says why (for logs and error details)."""


class MetadataError(Exception):
    """RFC 7591 §3.2.2: `error` is invalid_redirect_uri or invalid_client_metadata."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


@dataclass(frozen=True)
class ClientMetadata:
    name: str
    redirect_uris: tuple[str, ...]
    auth_method: str
    grant_types: tuple[str, ...]
    scopes: tuple[str, ...]  # those asked for (empty: all the project offers)
    jwks: dict | None
    jwks_uri: str | None
    application_type: str

    def response(self) -> dict:
        """The metadata as the registration response and the docs show it."""
        body = {
            "client_name": self.name,
            "redirect_uris": list(self.redirect_uris),
            "token_endpoint_auth_method": self.auth_method,
            "grant_types": list(self.grant_types),
            "response_types": ["code"],
            "application_type": self.application_type,
        }
        if self.scopes:
            body["scope"] = " ".join(self.scopes)
        if self.jwks is not None:
            body["jwks"] = self.jwks
        if self.jwks_uri is not None:
            body["jwks_uri"] = self.jwks_uri
        return body


def parse_metadata(document: object, allowed_methods: tuple[str, ...], default_method: str,
                   default_name: str) -> ClientMetadata:
    if not isinstance(document, dict):
        raise MetadataError("invalid_client_metadata", "client metadata must be a JSON object")
    name = document.get("client_name", default_name)
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= MAX_NAME or not name.isprintable():
        raise MetadataError("invalid_client_metadata", f"client_name must be 1 to {MAX_NAME} printable characters")
    uris = document.get("redirect_uris")
    if not isinstance(uris, list) or not 1 <= len(uris) <= MAX_REDIRECT_URIS \
            or not all(isinstance(u, str) for u in uris):
        raise MetadataError("invalid_redirect_uri",
                            f"redirect_uris must list 1 to {MAX_REDIRECT_URIS} URIs")
    try:
        redirect_uris = tuple(dict.fromkeys(check_redirect_uri(u) for u in uris))
    except ValueError as e:
        raise MetadataError("invalid_redirect_uri", str(e)) from None
    application_type = _application_type(document.get("application_type"), redirect_uris)
    method = document.get("token_endpoint_auth_method", default_method)
    if method not in allowed_methods:
        raise MetadataError("invalid_client_metadata",
                            f"token_endpoint_auth_method must be one of {', '.join(allowed_methods)}")
    grant_types = document.get("grant_types", ["authorization_code"])
    if not isinstance(grant_types, list) or not grant_types \
            or not all(isinstance(g, str) and g in GRANT_TYPES for g in grant_types):
        raise MetadataError("invalid_client_metadata",
                            "grant_types may hold only authorization_code and refresh_token")
    response_types = document.get("response_types", ["code"])
    if response_types != ["code"]:
        raise MetadataError("invalid_client_metadata", "response_types must be [\"code\"]")
    scope = document.get("scope")
    try:
        scopes = tuple(parse_scope(scope) or ()) if isinstance(scope, str) or scope is None else None
    except InvalidScopeError:
        scopes = None
    if scopes is None:
        raise MetadataError("invalid_client_metadata", "scope must be a space-separated string of scopes")
    jwks, jwks_uri = document.get("jwks"), document.get("jwks_uri")
    if method == "private_key_jwt":
        if (jwks is None) == (jwks_uri is None):
            raise MetadataError("invalid_client_metadata", "private_key_jwt needs jwks or jwks_uri (one of them)")
        if jwks is not None:
            try:
                jwks = public_key_set(jwks)
            except ValueError as e:
                raise MetadataError("invalid_client_metadata", f"jwks: {e}") from None
        elif not isinstance(jwks_uri, str) or not jwks_uri.startswith(("https://", "http://")) \
                or len(jwks_uri) > 2048:
            raise MetadataError("invalid_client_metadata", "jwks_uri must be an https URL")
    else:
        jwks, jwks_uri = None, None
    # Refresh tokens come with the code flow here (rotated for public clients).
    return ClientMetadata(name=name.strip(), redirect_uris=redirect_uris, auth_method=method,
                          grant_types=GRANT_TYPES, scopes=scopes, jwks=jwks, jwks_uri=jwks_uri,
                          application_type=application_type)


def _application_type(value: object, redirect_uris: tuple[str, ...]) -> str:
    """OIDC Registration §2: web clients use https redirect URIs on real hosts; native
    ones loopback http or a private-use scheme. Without it, the URIs decide."""
    native = [u for u in redirect_uris if urlsplit(u).scheme != "https"
              or urlsplit(u).hostname in LOOPBACK_HOSTS]
    if value is None:
        return "native" if native else "web"
    if value == "web":
        if native:
            raise MetadataError("invalid_redirect_uri", "a web client's redirect URIs must be https on a real host")
        return "web"
    if value == "native":
        return "native"
    raise MetadataError("invalid_client_metadata", "application_type must be web or native")


def is_metadata_url(client_id: str) -> bool:
    return client_id.startswith(("https://", "http://"))


def check_metadata_url(url: str) -> None:
    """The draft's rules for the client_id URL itself: a path, no fragment, no dot
    segments, no user info."""
    parts = urlsplit(url)
    segments = parts.path.split("/")
    if not parts.path or parts.path == "/" or "." in segments or ".." in segments \
            or parts.fragment or "@" in parts.netloc:
        raise DocumentError("a client_id URL needs a path, and no fragment, dot segment or user info")


def metadata_document(url: str, document: object) -> ClientMetadata:
    """A Client ID Metadata Document's metadata; DocumentError if it is not usable."""
    if not isinstance(document, dict) or document.get("client_id") != url:
        raise DocumentError("the document's client_id is not its URL")
    if "client_name" not in document:
        raise DocumentError("the document has no client_name")
    try:
        return parse_metadata(document, DOCUMENT_AUTH_METHODS, "none", url)
    except MetadataError as e:
        raise DocumentError(f"{e.error}: {e.description}") from None


def metadata_client(url: str, project: ProjectRecord, metadata: ClientMetadata) -> ClientRecord:
    """A metadata-document client as a client of the project."""
    return ClientRecord(
        client_id=url, kind="metadata", project_id=project.project_id, secret_hash=None,
        scopes=tuple(third_party_scopes(project.scopes, metadata.scopes)), token_ttl=None, grant_types=metadata.grant_types, name=metadata.name,
        redirect_uris=metadata.redirect_uris, require_verified_email=project.require_verified_email,
        mode=project.mode, providers=project.providers, auth_method=metadata.auth_method,
        jwks=metadata.jwks, jwks_uri=metadata.jwks_uri, resources=project.resources,
        allow_registration=project.allow_registration, refresh_reuse_grace=project.refresh_reuse_grace,
        foreign_resources=project.foreign_resources, refresh_ttl=project.refresh_ttl, pin_sign_in=project.pin_sign_in,
        pin_refresh_ttl=project.pin_refresh_ttl, two_factor_required_since=project.two_factor_required_since,
        two_factor_grace=project.two_factor_grace,
    )
