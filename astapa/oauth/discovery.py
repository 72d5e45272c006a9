"""RFC 8414 authorization server metadata and the OpenID Provider configuration.

They list exactly what exists: endpoints, grants, authentication methods and algorithms.
"""

from astapa.oauth.authorize import OIDC_SCOPES
from astapa.oauth.grants import GRANTS

AUTH_METHODS = ["client_secret_basic", "client_secret_post"]


def authorization_server_metadata(issuer: str) -> dict:
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/oauth/authorize",
        "token_endpoint": f"{issuer}/oauth/token",
        "jwks_uri": f"{issuer}/.well-known/jwks.json",
        "userinfo_endpoint": f"{issuer}/oauth/userinfo",
        "introspection_endpoint": f"{issuer}/oauth/introspect",
        "revocation_endpoint": f"{issuer}/oauth/revoke",
        "grant_types_supported": sorted(GRANTS),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": True,
        "scopes_supported": list(OIDC_SCOPES),
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "introspection_endpoint_auth_methods_supported": AUTH_METHODS,
        "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash",
                             "email", "email_verified"],
    }


def openid_configuration(issuer: str) -> dict:
    return authorization_server_metadata(issuer)
