"""RFC 8414 authorization server metadata and the OpenID Provider configuration.

They list exactly what exists: endpoints, grants, authentication methods and algorithms.
"""

from astapa.oauth.grants import GRANTS

AUTH_METHODS = ["client_secret_basic", "client_secret_post"]


def authorization_server_metadata(issuer: str) -> dict:
    return {
        "issuer": issuer,
        "token_endpoint": f"{issuer}/oauth/token",
        "jwks_uri": f"{issuer}/.well-known/jwks.json",
        "introspection_endpoint": f"{issuer}/oauth/introspect",
        "revocation_endpoint": f"{issuer}/oauth/revoke",
        "grant_types_supported": sorted(GRANTS),
        "response_types_supported": [],
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "introspection_endpoint_auth_methods_supported": AUTH_METHODS,
        "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }


def openid_configuration(issuer: str) -> dict:
    return authorization_server_metadata(issuer)
