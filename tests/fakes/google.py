"""A fake Google for tests: a real OpenID Connect provider on a loopback port, not a mock.

Like XenditServer, it runs in its own thread (its own asyncio loop, aiohttp) on a loopback port,
so the code under test talks HTTP to it exactly as it would to accounts.google.com. Point the
Google discovery URL at `server.discovery_url`. State survives stop() and start() on the same port.

Wire format (developers.google.com/identity/openid-connect/openid-connect and .../reference):
  GET  /.well-known/openid-configuration   discovery document (Cache-Control: public, max-age=3600)
  GET  /oauth2/v3/certs                    JWKS (RSA, RS256)
  GET  /o/oauth2/v2/auth                   authorization endpoint; plays the user, who agrees (or
                                           not, `deny_next`) and 302s back to the redirect_uri
  POST /token                              code exchange; client_secret_post or client_secret_basic
  GET  /v1/userinfo                        Bearer access token -> profile claims
Token errors are {"error", "error_description"}: 401 invalid_client "Unauthorized" for a wrong
secret ("The OAuth client was not found." for an unknown client id), 400 invalid_grant "Bad
Request" for an unknown, used or expired code, 400 redirect_uri_mismatch "Bad Request" when
redirect_uri differs from the authorize one, 400 invalid_grant "Missing code verifier." /
"Invalid code verifier." / "code_verifier or verifier is not needed." for PKCE (descriptions as
reported by users of the real endpoint in googleapis issue threads).

The ID token is an RS256 JWS (header alg, kid, typ JWT) with iss, azp, aud, sub, hd?, email,
email_verified, at_hash, nonce?, name?, picture?, given_name?, family_name?, iat, exp (iat + 3600),
iat taken from the injected `now` clock.

Test controls are plain, thread-safe methods and attributes: add_account(), deny_next,
next_account, redirect_uris, issuer, tamper_next_id_token() / id_token_overrides,
sign_next_with_unpublished_key(), rotate_key(), fail_next(), garbage_next(), hang_next(), plus
`requests`, `authorizations` and `jwks_fetches` for assertions. Faults apply to the back-channel
endpoints only (discovery, jwks, token, userinfo), never to the browser-facing /o/oauth2/v2/auth.

Where the docs leave things open, the choice made is marked GUESS in a comment.
"""

import base64
import binascii
import hashlib
import html
import secrets
import time
from typing import Any, Callable
from urllib.parse import parse_qsl, quote, unquote

from aiohttp import web

from tests.fakes.base import FaultyFakeServer, redirect, s256, with_query
from joserfc import jwt
from joserfc.jwk import RSAKey

CODE_LIFETIME = 600  # seconds; Google does not document it, RFC 6749 recommends at most 10 minutes
ACCESS_TOKEN_LIFETIME = 3599
ID_TOKEN_LIFETIME = 3600
USERINFO_EMAIL = "https://www.googleapis.com/auth/userinfo.email"
USERINFO_PROFILE = "https://www.googleapis.com/auth/userinfo.profile"
WHICH = ("token", "discovery", "jwks", "userinfo", "any")

_FORM = web.RequestKey("form", dict)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def at_hash(access_token: str) -> str:
    """OIDC Core 3.1.3.6: base64url of the left half of SHA-256 of the access token (RS256)."""
    return _b64url(hashlib.sha256(access_token.encode()).digest()[:16])


def _new_key(made: RSAKey | None = None) -> RSAKey:
    # GUESS: Google's kids are 40 hex digits (they look like SHA-1 thumbprints).
    parameters = {"kid": secrets.token_hex(20), "alg": "RS256", "use": "sig"}
    if made is not None:  # the same key material under a kid of its own (no import: that validates it again)
        return RSAKey(made.raw_value, made.raw_value, parameters=parameters)
    return RSAKey.generate_key(2048, parameters=parameters)


def _error_page(title: str, detail: str, status: int = 400) -> web.Response:
    # Google shows its own page for a bad client or redirect_uri and never redirects.
    body = (f"<!doctype html><html><head><title>{html.escape(title)}</title></head><body>"
            f"<h1>Access blocked: Authorization Error</h1><p>{html.escape(detail)}</p>"
            f"<p><b>{html.escape(title)}</b></p></body></html>")
    return web.Response(status=status, text=body, content_type="text/html")


class _OAuthError(Exception):
    def __init__(self, status: int, error: str, description: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(description)
        self.status, self.error, self.description, self.headers = status, error, description, headers or {}


class GoogleServer(FaultyFakeServer):
    NAME = "Google"
    WHICH = WHICH
    def __init__(self, client_id: str = "google-client-id.apps.googleusercontent.com",
                 client_secret: str = "google-client-secret", now: Callable[[], float] = time.time,
                 port: int | None = None, signing_key: RSAKey | None = None) -> None:
        """`signing_key`: the key to sign with first, made beforehand (a new one otherwise); it
        gets a kid of its own. Rotations always make new keys."""
        super().__init__(port)
        self.client_id = client_id
        self.client_secret = client_secret
        self.now = now
        self.redirect_uris: set[str] = set()  # empty: any redirect_uri is accepted
        self.deny_next = False
        self.next_account: str | None = None  # a sub; None: the first account added. Not reset after use.
        self.id_token_overrides: dict[str, Any] = {}
        self._issuer: str | None = None
        self._keys: list[RSAKey] = [_new_key(signing_key)]  # published; the last one signs
        self._unpublished_next = False
        self._codes: dict[str, dict] = {}
        self._tokens: dict[str, dict] = {}
        self._jwks_fetches = 0

    # ----------------------------------------------------------------- lifecycle

    @property
    def discovery_url(self) -> str:
        return f"{self.url}/.well-known/openid-configuration"

    @property
    def issuer(self) -> str:
        """The `issuer` in discovery and `iss` in ID tokens; default `url`. Set it to test a mismatch
        (Google's real value is https://accounts.google.com); set None to go back to the default."""
        return self._issuer if self._issuer is not None else self.url

    @issuer.setter
    def issuer(self, value: str | None) -> None:
        self._issuer = value

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_get("/.well-known/openid-configuration", self._discovery)
        router.add_get("/oauth2/v3/certs", self._jwks)
        router.add_get("/o/oauth2/v2/auth", self._authorize)
        router.add_post("/token", self._token)
        router.add_get("/v1/userinfo", self._userinfo)
        router.add_post("/v1/userinfo", self._userinfo)

    # ----------------------------------------------------------------- accounts

    def add_account(self, sub: str, email: str, email_verified: bool = True, hd: str | None = None,
                    name: str | None = None, *, given_name: str | None = None, family_name: str | None = None,
                    picture: str | None = None) -> dict:
        """A Google account the fake user signs in as. Adding the same sub again replaces it.
        Returns a copy of the account."""
        if name and given_name is None and family_name is None:
            given_name, _, family_name = name.partition(" ")
        account = {"sub": sub, "email": email, "email_verified": email_verified, "hd": hd, "name": name,
                   "given_name": given_name or None, "family_name": family_name or None, "picture": picture}
        with self._lock:
            self._accounts[sub] = account
            return dict(account)

    # ----------------------------------------------------------------- inspection


    @property
    def jwks_fetches(self) -> int:
        """How many requests reached /oauth2/v3/certs (failed ones included)."""
        with self._lock:
            return self._jwks_fetches

    @property
    def jwks(self) -> dict:
        """The JWKS as served now."""
        with self._lock:
            return {"keys": [key.as_dict(private=False) for key in self._keys]}

    @property
    def kid(self) -> str:
        """The kid of the current signing key."""
        with self._lock:
            return self._keys[-1].kid

    # ----------------------------------------------------------------- ID token tampering + keys

    def tamper_next_id_token(self, **claims: Any) -> None:
        """Override claims of the next ID token issued (None removes the claim), e.g.
        tamper_next_id_token(aud="someone-else", nonce=None). Cleared once used."""
        with self._lock:
            self.id_token_overrides = {**self.id_token_overrides, **claims}

    def sign_next_with_unpublished_key(self) -> None:
        """The next ID token is signed by a fresh key whose kid is not in the JWKS."""
        with self._lock:
            self._unpublished_next = True

    def rotate_key(self, keep_old: bool = False) -> str:
        """A new signing key (new kid) is published and signs from now on; the old ones stay in
        the JWKS only if keep_old. Returns the new kid."""
        key = _new_key()
        with self._lock:
            self._keys = [*self._keys, key] if keep_old else [key]
            return key.kid

    # ----------------------------------------------------------------- internals: HTTP

    @web.middleware
    async def _middleware(self, request: web.Request, handler) -> web.StreamResponse:
        raw = await request.read()
        form: dict[str, str] = {}
        if raw and request.content_type == "application/x-www-form-urlencoded":
            form = dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
        request[_FORM] = form
        which = self._which(request)
        self._record(request, form)
        if which == "jwks":
            with self._lock:
                self._jwks_fetches += 1
        injected = await self._injected(which)
        if injected is not None:
            return injected
        try:
            return await handler(request)
        except _OAuthError as error:
            return web.json_response({"error": error.error, "error_description": error.description},
                                     status=error.status, headers=error.headers)

    @staticmethod
    def _which(request: web.Request) -> str:
        return {"/token": "token", "/.well-known/openid-configuration": "discovery", "/oauth2/v3/certs": "jwks",
                "/v1/userinfo": "userinfo"}.get(request.path, "other")

    def _default_error(self, status: int) -> web.Response:
        # GUESS: Google's 5xx bodies on these endpoints are not documented.
        return web.json_response({"error": "internal_failure" if status >= 500 else "invalid_request",
                                  "error_description": "Backend Error" if status >= 500 else "Bad Request"},
                                 status=status)

    # ----------------------------------------------------------------- endpoints

    async def _discovery(self, request: web.Request) -> web.Response:
        base = self.url
        document = {
            "issuer": self.issuer,
            "authorization_endpoint": f"{base}/o/oauth2/v2/auth",
            "token_endpoint": f"{base}/token",
            "userinfo_endpoint": f"{base}/v1/userinfo",
            "jwks_uri": f"{base}/oauth2/v3/certs",
            "response_types_supported": ["code", "token", "id_token", "code token", "code id_token",
                                         "token id_token", "code token id_token", "none"],
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "claims_supported": ["aud", "email", "email_verified", "exp", "family_name", "given_name", "iat",
                                 "iss", "name", "picture", "sub"],
            "code_challenge_methods_supported": ["plain", "S256"],
            # Google's list, as published; this fake only implements authorization_code.
            "grant_types_supported": ["authorization_code", "refresh_token",
                                      "urn:ietf:params:oauth:grant-type:device_code",
                                      "urn:ietf:params:oauth:grant-type:jwt-bearer"],
        }
        return web.json_response(document, headers={"Cache-Control": "public, max-age=3600"})

    async def _jwks(self, request: web.Request) -> web.Response:
        # GUESS: Google's certs answer carries a max-age of a few hours; 5 h here.
        return web.json_response(self.jwks, headers={"Cache-Control": "public, max-age=18000, must-revalidate, "
                                                                      "no-transform"})

    async def _authorize(self, request: web.Request) -> web.Response:
        params = {k: request.query[k] for k in request.query}
        client_id = params.get("client_id", "")
        if client_id != self.client_id:
            return _error_page("Error 401: invalid_client", "The OAuth client was not found.")
        redirect_uri = params.get("redirect_uri", "")
        if not redirect_uri or (self.redirect_uris and redirect_uri not in self.redirect_uris):
            return _error_page("Error 400: redirect_uri_mismatch",
                               f"The redirect URI in the request, {redirect_uri}, does not match the ones "
                               "authorized for the OAuth client.")
        # GUESS: Google shows an "Error 400: invalid_request" page (no redirect) for these.
        if params.get("response_type") != "code":
            return _error_page("Error 400: invalid_request",
                               f"Invalid response_type: {params.get('response_type', '')}")
        requested = params.get("scope", "").split()
        if "openid" not in requested:
            return _error_page("Error 400: invalid_request", "This fake Google requires the openid scope.")
        challenge = params.get("code_challenge")
        method = params.get("code_challenge_method") or ("plain" if challenge else None)
        if method is not None and (method not in ("plain", "S256") or not challenge):
            return _error_page("Error 400: invalid_request", "Invalid code_challenge_method or code_challenge.")
        state = params.get("state")
        record = {"client_id": client_id, "redirect_uri": redirect_uri, "response_type": "code",
                  "scope": params.get("scope", ""), "state": state, "nonce": params.get("nonce"),
                  "code_challenge": challenge, "code_challenge_method": method, "params": params,
                  "account": None, "denied": False, "code": None}
        with self._lock:
            if self.deny_next:
                self.deny_next = False
                record["denied"] = True
                self._authorizations.append(record)
                back = [("error", "access_denied")] + ([("state", state)] if state is not None else [])
                return redirect(with_query(redirect_uri, back, quote_via=quote, safe="/:"))
            sub = self.next_account if self.next_account is not None else next(iter(self._accounts), None)
            if sub is None or sub not in self._accounts:
                return web.Response(status=500, content_type="text/plain",
                                    text=f"fake Google: no account {sub!r}; call add_account() first")
            granted = self._granted_scope(requested)
            code = "4/0Ab" + secrets.token_urlsafe(54)[:68]  # shaped like Google's ("4/0A" + ~70 chars)
            self._codes[code] = {"client_id": client_id, "redirect_uri": redirect_uri, "sub": sub,
                                 "scope": granted, "nonce": params.get("nonce"), "code_challenge": challenge,
                                 "code_challenge_method": method, "issued_at": self.now(), "used": False}
            record["account"], record["code"] = sub, code
            self._authorizations.append(record)
        back = ([("state", state)] if state is not None else []) + [
            ("code", code), ("scope", granted), ("authuser", "0"), ("prompt", "consent")]
        return redirect(with_query(redirect_uri, back, quote_via=quote, safe="/:"))

    @staticmethod
    def _granted_scope(requested: list[str]) -> str:
        granted: list[str] = []
        for scope in requested:
            scope = {"email": USERINFO_EMAIL, "profile": USERINFO_PROFILE}.get(scope, scope)
            if scope not in granted:
                granted.append(scope)
        return " ".join(granted)

    def _client_credentials(self, request: web.Request, form: dict[str, str]) -> tuple[str, str]:
        header = request.headers.get("Authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() == "basic" and encoded:
            try:
                user, sep, password = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                raise _OAuthError(401, "invalid_client", "Unauthorized") from None
            if not sep:
                raise _OAuthError(401, "invalid_client", "Unauthorized")
            # RFC 6749 2.3.1: both parts are form-url-encoded before Basic encoding.
            return unquote(user.replace("+", " ")), unquote(password.replace("+", " "))
        return form.get("client_id", ""), form.get("client_secret", "")

    async def _token(self, request: web.Request) -> web.Response:
        form = request[_FORM]
        client_id, client_secret = self._client_credentials(request, form)
        if client_id != self.client_id:
            raise _OAuthError(401, "invalid_client", "The OAuth client was not found.")
        if not secrets.compare_digest(client_secret.encode(), self.client_secret.encode()):
            raise _OAuthError(401, "invalid_client", "Unauthorized")
        grant_type = form.get("grant_type", "")
        if grant_type != "authorization_code":
            raise _OAuthError(400, "unsupported_grant_type", f"Invalid grant_type: {grant_type}")
        code = form.get("code")
        if not code:
            raise _OAuthError(400, "invalid_request", "Missing required parameter: code")
        if "redirect_uri" not in form:
            raise _OAuthError(400, "invalid_request", "Missing parameter: redirect_uri")
        verifier = form.get("code_verifier")
        with self._lock:
            grant = self._codes.get(code)
            if (grant is None or grant["used"] or grant["client_id"] != client_id
                    or self.now() - grant["issued_at"] > CODE_LIFETIME):
                raise _OAuthError(400, "invalid_grant", "Bad Request")
            # GUESS: a refused exchange (redirect_uri or PKCE) leaves the code usable.
            if form["redirect_uri"] != grant["redirect_uri"]:
                raise _OAuthError(400, "redirect_uri_mismatch", "Bad Request")
            if grant["code_challenge"] is not None:
                if not verifier:
                    raise _OAuthError(400, "invalid_grant", "Missing code verifier.")
                expected = s256(verifier) if grant["code_challenge_method"] == "S256" else verifier
                if not secrets.compare_digest(expected.encode(), grant["code_challenge"].encode()):
                    raise _OAuthError(400, "invalid_grant", "Invalid code verifier.")
            elif verifier:
                raise _OAuthError(400, "invalid_grant", "code_verifier or verifier is not needed.")
            grant["used"] = True
            access_token = "ya29.a0" + secrets.token_urlsafe(120)
            iat = int(self.now())
            self._tokens[access_token] = {"sub": grant["sub"], "scope": grant["scope"],
                                          "expires_at": iat + ACCESS_TOKEN_LIFETIME}
            id_token = self._id_token(grant, access_token, iat)
        return web.json_response({"access_token": access_token, "expires_in": ACCESS_TOKEN_LIFETIME,
                                  "scope": grant["scope"], "token_type": "Bearer", "id_token": id_token},
                                 headers={"Cache-Control": "no-cache, no-store, max-age=0, must-revalidate",
                                          "Pragma": "no-cache"})

    def _id_token(self, grant: dict, access_token: str, iat: int) -> str:
        """Called with the lock held."""
        account = self._accounts[grant["sub"]]
        claims: dict[str, Any] = {"iss": self.issuer, "azp": self.client_id, "aud": self.client_id,
                                  "sub": account["sub"]}
        if account["hd"]:
            claims["hd"] = account["hd"]
        claims.update({"email": account["email"], "email_verified": bool(account["email_verified"]),
                       "at_hash": at_hash(access_token)})
        if grant["nonce"] is not None:
            claims["nonce"] = grant["nonce"]
        for name in ("name", "picture", "given_name", "family_name"):
            if account[name]:
                claims[name] = account[name]
        claims.update({"iat": iat, "exp": iat + ID_TOKEN_LIFETIME})
        overrides, self.id_token_overrides = self.id_token_overrides, {}
        for name, value in overrides.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        key = self._keys[-1]
        if self._unpublished_next:
            self._unpublished_next = False
            key = _new_key()
        return jwt.encode({"alg": "RS256", "kid": key.kid, "typ": "JWT"}, claims, key)

    async def _userinfo(self, request: web.Request) -> web.Response:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        with self._lock:
            grant = self._tokens.get(token.strip()) if scheme.lower() == "bearer" else None
            if grant is None or self.now() >= grant["expires_at"]:
                # GUESS: the body of Google's userinfo 401 is not documented.
                raise _OAuthError(401, "invalid_request", "Invalid Credentials",
                                  {"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/", '
                                                       'error="invalid_token"'})
            account = dict(self._accounts[grant["sub"]])
        info: dict[str, Any] = {"sub": account["sub"]}
        for name in ("name", "given_name", "family_name", "picture"):
            if account[name]:
                info[name] = account[name]
        info.update({"email": account["email"], "email_verified": bool(account["email_verified"])})
        if account["hd"]:
            info["hd"] = account["hd"]
        return web.json_response(info)
