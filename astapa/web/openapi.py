"""The OpenAPI 3.1 description of Astapa's HTTP API.

``SPEC`` is served as ``json.dumps(SPEC, indent=2, sort_keys=False) + "\\n"`` at
``GET /openapi.json``; the same text is committed as ``openapi.json`` and a test checks that
the two are equal. Keep this a plain, JSON-serialisable literal: update it whenever an
endpoint, parameter, response or header changes.
"""


def _metadata_operation(operation_id: str, summary: str, description: str) -> dict:
    """A discovery document's operation; there are two documents with one content."""
    return {
        "operationId": operation_id,
        "summary": summary,
        "description": description,
        "tags": ["discovery"],
        "parameters": [{"$ref": "#/components/parameters/IfNoneMatch"}],
        "responses": {
            "200": {"$ref": "#/components/responses/Metadata"},
            "304": {"$ref": "#/components/responses/NotModified"},
        },
    }


def _token_operation(operation_id: str, summary: str, description: str) -> dict:
    """The token endpoint's operation; it is served at two paths."""
    return {
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
            "413": {"$ref": "#/components/responses/PayloadTooLarge"},
            "503": {"$ref": "#/components/responses/TemporarilyUnavailable"},
        },
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
            "(RFC 8414 / OpenID Connect), the JWK Set, the token endpoint (client_credentials "
            "grant), token introspection (RFC 7662) and token revocation (RFC 7009). "
            "Clients authenticate with client_secret_basic (HTTP Basic) or client_secret_post "
            "(client_id and client_secret in the request body)."
        ),
    },
    "servers": [{"url": "/"}],
    "tags": [
        {"name": "health", "description": "Readiness of the service."},
        {
            "name": "discovery",
            "description": "Authorization server metadata and signing keys.",
        },
        {
            "name": "oauth",
            "description": "OAuth 2.0 token, introspection and revocation endpoints.",
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
        "/.well-known/jwks.json": {
            "get": {
                "operationId": "getJwks",
                "summary": "JSON Web Key Set",
                "description": (
                    "The public keys that verify access tokens. Every `kid` found in an access "
                    "token's header is listed here; after a key rotation the previous key stays "
                    "listed until every token it signed has expired."
                ),
                "tags": ["discovery"],
                "parameters": [{"$ref": "#/components/parameters/IfNoneMatch"}],
                "responses": {
                    "200": {
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
                    "304": {"$ref": "#/components/responses/NotModified"},
                },
            }
        },
        "/oauth/token": {"post": _token_operation(
            "postOAuthToken",
            "Obtain an access token",
            "The OAuth 2.0 token endpoint (RFC 6749 §3.2). The only grant supported "
            "now is `client_credentials`. The client authenticates with HTTP Basic "
            "(`client_secret_basic`) or with `client_id` and `client_secret` in the "
            "body (`client_secret_post`). `POST /api/platform/token` is an alias.",
        )},
        "/api/platform/token": {"post": _token_operation(
            "postPlatformToken",
            "Obtain an access token (alias of /oauth/token)",
            "Alias of `POST /oauth/token`: same parameters, responses and errors. "
            "The JSON body shown in the docs is accepted as is, e.g. "
            '`{"grant_type": "client_credentials", "client_id": "...", '
            '"client_secret": "..."}` with `Content-Type: application/json`; '
            "`application/x-www-form-urlencoded` and HTTP Basic work too.",
        )},
        "/oauth/introspect": {
            "post": {
                "operationId": "introspectToken",
                "summary": "Introspect a token (RFC 7662)",
                "description": (
                    "Reports whether a token is active and, if so, its claims. Any client of "
                    "the project that issued the token may ask; it authenticates as at the "
                    "token endpoint (HTTP Basic or `client_id`/`client_secret` in the body). "
                    'An expired, revoked, unknown, malformed or foreign token gets `{"active": '
                    "false}`."
                ),
                "tags": ["oauth"],
                "security": [{"clientBasic": []}, {}],
                "requestBody": {"$ref": "#/components/requestBodies/TokenOperationRequest"},
                "responses": {
                    "200": {
                        "description": "The introspection result.",
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
                    "400": {"$ref": "#/components/responses/BadRequest"},
                    "401": {"$ref": "#/components/responses/InvalidClient"},
                    "413": {"$ref": "#/components/responses/PayloadTooLarge"},
                },
            }
        },
        "/oauth/revoke": {
            "post": {
                "operationId": "revokeToken",
                "summary": "Revoke a token (RFC 7009)",
                "description": (
                    "Revokes a token issued to the authenticated client; introspection then "
                    "reports a revoked access token as inactive. Answers 200 with an empty body "
                    "for any token: unknown, malformed, already revoked, or issued to another "
                    "client (which is not revoked). Client authentication is required (HTTP "
                    "Basic or `client_id`/`client_secret` in the body)."
                ),
                "tags": ["oauth"],
                "security": [{"clientBasic": []}, {}],
                "requestBody": {"$ref": "#/components/requestBodies/TokenOperationRequest"},
                "responses": {
                    "200": {"description": "Processed (empty body)."},
                    "400": {"$ref": "#/components/responses/BadRequest"},
                    "401": {"$ref": "#/components/responses/InvalidClient"},
                    "413": {"$ref": "#/components/responses/PayloadTooLarge"},
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
                    "request body (form or JSON) instead of the Authorization header."
                ),
            }
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
            }
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
        },
        "requestBodies": {
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
                        "example": {
                            "grant_type": "client_credentials",
                            "client_id": "cl_8Yt3xQ",
                            "client_secret": "cs_...",
                            "scope": "orders:read",
                            "resource": "https://api.example.com",
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
                            "token_endpoint": "https://auth.example.com/oauth/token",
                            "jwks_uri": "https://auth.example.com/.well-known/jwks.json",
                            "introspection_endpoint": "https://auth.example.com/oauth/introspect",
                            "revocation_endpoint": "https://auth.example.com/oauth/revoke",
                            "grant_types_supported": ["client_credentials"],
                            "token_endpoint_auth_methods_supported": [
                                "client_secret_basic",
                                "client_secret_post",
                            ],
                            "introspection_endpoint_auth_methods_supported": [
                                "client_secret_basic",
                                "client_secret_post",
                            ],
                            "revocation_endpoint_auth_methods_supported": [
                                "client_secret_basic",
                                "client_secret_post",
                            ],
                            "response_types_supported": [],
                            "subject_types_supported": ["public"],
                            "id_token_signing_alg_values_supported": ["RS256"],
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
                    "An access token was issued. See the `TokenResponse` and "
                    "`AccessTokenClaims` schemas."
                ),
                "headers": {
                    "Cache-Control": {"$ref": "#/components/headers/CacheControlNoStore"},
                    "Pragma": {"$ref": "#/components/headers/PragmaNoCache"},
                },
                "content": {
                    "application/json": {
                        "schema": {"$ref": "#/components/schemas/TokenResponse"},
                        "example": {
                            "access_token": "eyJhbGciOiJSUzI1NiIsInR5cCI6ImF0K2p3dCIsImtpZCI6ImtfMmYxYzllMGEifQ...",
                            "token_type": "Bearer",
                            "expires_in": 3600,
                            "scope": "orders:read",
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
                                    "error_description": "missing grant_type",
                                },
                            },
                            "invalid_grant": {
                                "summary": "The grant is invalid, expired or revoked",
                                "value": {"error": "invalid_grant"},
                            },
                            "unsupported_grant_type": {
                                "summary": "The grant type is not supported",
                                "value": {
                                    "error": "unsupported_grant_type",
                                    "error_description": "grant_type must be client_credentials",
                                },
                            },
                            "invalid_scope": {
                                "summary": "A requested scope is not granted to the client",
                                "value": {
                                    "error": "invalid_scope",
                                    "error_description": "scope not granted: admin",
                                },
                            },
                            "unauthorized_client": {
                                "summary": "The client may not use this grant type",
                                "value": {"error": "unauthorized_client"},
                            },
                            "invalid_target": {
                                "summary": "The resource is not an acceptable absolute URI",
                                "value": {
                                    "error": "invalid_target",
                                    "error_description": "resource must be an absolute URI",
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
                            "error_description": "missing token",
                        },
                    }
                },
            },
            "InvalidClient": {
                "description": (
                    "Client authentication failed (unknown client, wrong secret or no "
                    "credentials). "
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
                            "error_description": "event store busy, retry later",
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
                            "`invalid_target` or `temporarily_unavailable`."
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
                "description": "Parameters of a token request.",
                "required": ["grant_type"],
                "properties": {
                    "grant_type": {
                        "type": "string",
                        "enum": ["client_credentials"],
                        "description": "The grant type. Only `client_credentials` for now.",
                    },
                    "scope": {
                        "type": "string",
                        "description": (
                            "Space-separated scopes. Omitted means every scope granted to the "
                            "client; asking for a scope not granted to it is `invalid_scope`."
                        ),
                        "examples": ["orders:read orders:write"],
                    },
                    "resource": {
                        "type": "string",
                        "format": "uri",
                        "description": (
                            "Absolute URI of the protected resource (RFC 8707). It becomes the "
                            "token's `aud`; without it `aud` is the client_id. Not an absolute "
                            "URI: `invalid_target`."
                        ),
                        "examples": ["https://api.example.com"],
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
            "TokenResponse": {
                "type": "object",
                "description": (
                    "A successful token response (RFC 6749 §5.1). `access_token` is an RS256 "
                    "JWT whose header carries `typ: at+jwt` and a `kid` listed in "
                    "`/.well-known/jwks.json`; its claims are described by `AccessTokenClaims`. "
                    "No refresh token is issued for client_credentials."
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
                },
            },
            "AccessTokenClaims": {
                "type": "object",
                "description": (
                    "Claims of a client_credentials access token. The JWT is signed with RS256; "
                    "its header has `alg: RS256`, `typ: at+jwt` and `kid`."
                ),
                "required": ["sub", "client_id", "project_id", "iss", "aud", "exp", "iat", "jti"],
                "properties": {
                    "sub": {"type": "string", "description": "The client_id."},
                    "client_id": {"type": "string", "description": "The client_id."},
                    "scope": {"type": "string", "description": "Space-separated scopes granted."},
                    "project_id": {"type": "string", "description": "The client's project."},
                    "iss": {"type": "string", "description": "The issuer."},
                    "aud": {
                        "type": "string",
                        "description": "The `resource` asked for, else the client_id.",
                    },
                    "exp": {"type": "integer", "description": "Expiry, seconds since the epoch."},
                    "iat": {"type": "integer", "description": "Issue time, seconds since the epoch."},
                    "jti": {"type": "string", "description": "Unique token id."},
                },
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
                    "Authorization server metadata (RFC 8414, OpenID Connect Discovery 1.0). "
                    "Endpoint URLs are absolute, under the issuer."
                ),
                "required": [
                    "issuer",
                    "token_endpoint",
                    "jwks_uri",
                    "introspection_endpoint",
                    "revocation_endpoint",
                    "grant_types_supported",
                    "token_endpoint_auth_methods_supported",
                    "introspection_endpoint_auth_methods_supported",
                    "revocation_endpoint_auth_methods_supported",
                    "response_types_supported",
                    "subject_types_supported",
                    "id_token_signing_alg_values_supported",
                ],
                "properties": {
                    "issuer": {"type": "string", "format": "uri"},
                    "token_endpoint": {"type": "string", "format": "uri"},
                    "jwks_uri": {"type": "string", "format": "uri"},
                    "introspection_endpoint": {"type": "string", "format": "uri"},
                    "revocation_endpoint": {"type": "string", "format": "uri"},
                    "grant_types_supported": {
                        "type": "array",
                        "items": {"type": "string"},
                        "examples": [["client_credentials"]],
                    },
                    "token_endpoint_auth_methods_supported": {
                        "type": "array",
                        "items": {"type": "string"},
                        "examples": [["client_secret_basic", "client_secret_post"]],
                    },
                    "introspection_endpoint_auth_methods_supported": {
                        "type": "array",
                        "items": {"type": "string"},
                        "examples": [["client_secret_basic", "client_secret_post"]],
                    },
                    "revocation_endpoint_auth_methods_supported": {
                        "type": "array",
                        "items": {"type": "string"},
                        "examples": [["client_secret_basic", "client_secret_post"]],
                    },
                    "response_types_supported": {
                        "type": "array",
                        "items": {"type": "string"},
                        "description": "Empty for now: there is no authorization endpoint yet.",
                        "examples": [[]],
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
