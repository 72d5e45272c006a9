"""RFC 8414 authorization server metadata and the OpenID Provider configuration.

They list exactly what exists: endpoints, grants, authentication methods and algorithms.
"""

from astapa.domain.sessions import ACR_VALUES
from astapa.oauth.authorize import OIDC_SCOPES
from astapa.oauth.client_keys import ALGORITHMS
from astapa.oauth.grants import GRANTS

AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]
# Introspection needs a confidential client; revocation takes public ones (RFC 7009 §2.1).
INTROSPECTION_AUTH_METHODS = AUTH_METHODS[:3]


def authorization_server_metadata(issuer: str) -> dict:
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/oauth/authorize",
        "token_endpoint": f"{issuer}/oauth/token",
        "jwks_uri": f"{issuer}/.well-known/jwks.json",
        "userinfo_endpoint": f"{issuer}/oauth/userinfo",
        "introspection_endpoint": f"{issuer}/oauth/introspect",
        "revocation_endpoint": f"{issuer}/oauth/revoke",
        "end_session_endpoint": f"{issuer}/oauth/logout",  # OpenID Connect RP-Initiated Logout 1.0
        "grant_types_supported": sorted(GRANTS),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": True,
        "scopes_supported": list(OIDC_SCOPES),
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "token_endpoint_auth_signing_alg_values_supported": ALGORITHMS,
        "introspection_endpoint_auth_methods_supported": INTROSPECTION_AUTH_METHODS,
        "introspection_endpoint_auth_signing_alg_values_supported": ALGORITHMS,
        "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
        "revocation_endpoint_auth_signing_alg_values_supported": ALGORITHMS,
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "amr", "nonce", "at_hash",
                             "email", "email_verified"],
        "acr_values_supported": list(ACR_VALUES),
        # Said outright: OIDC Discovery §3 takes request_uri support to be true when unsaid.
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "claims_parameter_supported": False,
    }


def openid_configuration(issuer: str) -> dict:
    return authorization_server_metadata(issuer)


def project_metadata(issuer: str, allow_registration: bool, scopes: tuple[str, ...]) -> dict:
    """A project's own authorization server (`issuer` is `{service issuer}/projects/{id}`):
    the same endpoints under its issuer, Client ID Metadata Documents, and RFC 7591
    registration when the project takes it; the scopes are OpenID's, the project's and its
    resources'. One document serves both RFC 8414 and OIDC discovery."""
    metadata = authorization_server_metadata(issuer)
    metadata["client_id_metadata_document_supported"] = True
    metadata["scopes_supported"] = list(dict.fromkeys([*OIDC_SCOPES, *scopes]))
    if allow_registration:
        metadata["registration_endpoint"] = f"{issuer}/oauth/register"
    return metadata
