"""Google as an OpenID Connect relying party (OpenID Connect Core 1.0 §3.1; Google's
"OpenID Connect" guide): discovery, the authorization code flow with state, nonce and PKCE
S256, the code exchanged at the token endpoint with the client secret, and the ID token
checked here: RS256 signature by a key of Google's JWKS (cached per Cache-Control, fetched
again when a token names an unknown kid), `iss`, `aud`/`azp`, `exp`, `iat`, `nonce`.
"""

from urllib.parse import urlencode

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from astapa.app import UpstreamAccount
from astapa.domain.identities import GOOGLE
from astapa.providers import Http, ProviderClient, ProviderError, max_age, string

WHO = "Google"
SCOPE = "openid email profile"
LEEWAY = 60  # seconds of clock difference tolerated on exp and iat
REFETCH_AFTER = 10  # seconds: an unknown kid fetches the JWKS again at most this often
# Google's ID tokens name either form of its issuer (Google's guide, "Validating an ID token").
ISSUER_ALIASES = {"https://accounts.google.com": {"https://accounts.google.com", "accounts.google.com"}}
# Addresses Google owns: for any other, Google speaks for the address only with `hd`
# (a Workspace domain); see checklist C-97.
GOOGLE_DOMAINS = ("gmail.com", "googlemail.com")


class Google:
    def __init__(self, http: Http, discovery_url: str) -> None:
        self.http = http
        self.discovery_url = discovery_url
        self._discovery: dict | None = None
        self._discovery_until = 0.0
        self._keys: KeySet | None = None
        self._keys_until = 0.0
        self._keys_fetched_at = float("-inf")

    async def discovery(self, now: float) -> dict:
        if self._discovery is None or now >= self._discovery_until:
            status, document, headers = await self.http.json(WHO, "GET", self.discovery_url)
            if status != 200:
                raise ProviderError(f"{WHO} discovery answered {status}")
            for name in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri"):
                value = string(document, name, WHO)
                if not value.startswith(("https://", "http://")):
                    raise ProviderError(f"{WHO} discovery has a bad {name}")
            self._discovery = document
            self._discovery_until = now + max_age(headers, 3600)
        return self._discovery

    async def authorization_url(self, client: ProviderClient, redirect_uri: str, state: str, nonce: str,
                                challenge: str, login_hint: str | None, now: float) -> str:
        endpoint = (await self.discovery(now))["authorization_endpoint"]
        query = {"response_type": "code", "client_id": client.client_id, "redirect_uri": redirect_uri,
                 "scope": SCOPE, "state": state, "nonce": nonce, "code_challenge": challenge,
                 "code_challenge_method": "S256"}
        if login_hint:
            query["login_hint"] = login_hint
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(query)}"

    async def account(self, client: ProviderClient, redirect_uri: str, code: str, verifier: str, nonce: str,
                      now: float) -> UpstreamAccount:
        discovery = await self.discovery(now)
        status, answer, _ = await self.http.json(WHO, "POST", discovery["token_endpoint"], data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
            "client_id": client.client_id, "client_secret": client.client_secret, "code_verifier": verifier,
        }, headers={"Accept": "application/json"})
        if status != 200:
            error = answer.get("error") if isinstance(answer, dict) else None
            raise ProviderError(f"{WHO} token endpoint answered {status} {error!r:.80}",
                                unavailable=status >= 500 or error is None)
        claims = await self.check_id_token(string(answer, "id_token", WHO), client.client_id, nonce,
                                           discovery["issuer"], now)
        email = claims.get("email")
        verified = claims.get("email_verified") in (True, "true")
        if not isinstance(email, str) or not email:
            raise ProviderError(f"{WHO} gave no email address (is the email scope allowed?)", unavailable=False)
        domain = email.rpartition("@")[2].lower()
        trusted = verified and (domain in GOOGLE_DOMAINS or isinstance(claims.get("hd"), str))
        return UpstreamAccount(GOOGLE, claims["sub"], email, verified, trusted)

    async def check_id_token(self, value: str, client_id: str, nonce: str, issuer: str, now: float) -> dict:
        try:
            header = jws.extract_compact(value.encode("ascii")).protected
        except (JoseError, ValueError, UnicodeError):
            raise ProviderError(f"{WHO} sent an ID token that is not a JWS", unavailable=False) from None
        if header.get("alg") != "RS256":
            raise ProviderError(f"{WHO} ID token alg {header.get('alg')!r:.40} refused", unavailable=False)
        key_set = await self.key_set(header.get("kid"), discovery_jwks=(await self.discovery(now))["jwks_uri"],
                                     now=now)
        try:
            claims = jwt.decode(value, key_set, algorithms=["RS256"]).claims
        except (JoseError, ValueError):
            raise ProviderError(f"{WHO} ID token signature does not verify", unavailable=False) from None
        problems = []
        if claims.get("iss") not in ISSUER_ALIASES.get(issuer, {issuer}):
            problems.append("iss")
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if client_id not in audiences or (len(audiences) > 1 and claims.get("azp") != client_id):
            problems.append("aud")
        if "azp" in claims and claims["azp"] != client_id:
            problems.append("azp")
        exp, iat = claims.get("exp"), claims.get("iat")
        if not isinstance(exp, (int, float)) or now >= exp + LEEWAY:
            problems.append("exp")
        if not isinstance(iat, (int, float)) or iat > now + LEEWAY:
            problems.append("iat")
        if not isinstance(claims.get("nonce"), str) or claims["nonce"] != nonce:
            problems.append("nonce")
        if not isinstance(claims.get("sub"), str) or not claims["sub"] or len(claims["sub"]) > 255:
            problems.append("sub")
        if problems:
            raise ProviderError(f"{WHO} ID token refused: {', '.join(problems)}", unavailable=False)
        return claims

    async def key_set(self, kid: object, discovery_jwks: str, now: float) -> KeySet:
        """Google's keys, cached; fetched again when expired, or when a token names a kid
        we do not have (Google rotates its keys) and the last fetch is not too recent."""
        known = self._keys is not None and now < self._keys_until and _has_kid(self._keys, kid)
        if not known and (self._keys is None or now >= self._keys_until
                          or now - self._keys_fetched_at >= REFETCH_AFTER):
            status, document, headers = await self.http.json(WHO, "GET", discovery_jwks)
            if status != 200:
                raise ProviderError(f"{WHO} JWKS answered {status}")
            try:
                keys = [k for k in document["keys"] if isinstance(k, dict) and k.get("kty") == "RSA"]
                self._keys = KeySet.import_key_set({"keys": keys})
            except (JoseError, ValueError, KeyError, TypeError):
                raise ProviderError(f"{WHO} JWKS is not a key set") from None
            self._keys_until = now + max_age(headers, 3600)
            self._keys_fetched_at = now
        if self._keys is None or not _has_kid(self._keys, kid):
            raise ProviderError(f"{WHO} ID token signed by unknown key {kid!r:.60}", unavailable=False)
        return self._keys


def _has_kid(keys: KeySet, kid: object) -> bool:
    return isinstance(kid, str) and any(k.kid == kid for k in keys.keys)
