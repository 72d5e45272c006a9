"""Issuing access tokens: signed off the event loop, recorded before they are handed out.

Signing is part of the issuing command, so it runs on the writer thread inside the batch
that records the Issued events: the RSA operations release the GIL, so the event loop keeps
serving meanwhile, and a whole batch costs one hand-off between threads instead of two per
token (measured: with a signing pool beside the writer, the thread hand-offs cost as much
as the signing they moved off the loop). A token is handed out only after its batch has
committed; if the save fails, the signed token is thrown away.

End-user grants are different: the writer also loads a refresh family and its user for
each of them, which makes the writer thread the bottleneck (measured: signing was a third
of its time). Their tokens are signed after the commit, in a small pool of their own,
where RSA (which releases the GIL) runs beside the writer's next batch.
"""

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, NamedTuple

from astapa.app import AstapaApplication, Decision, UserGrant
from astapa.clock import SystemClock
from astapa.crypto import TokenIds
from astapa.keys import KeySnapshot
from astapa.oauth.grants import authorization_code, client_credentials, refresh_token
from astapa.oauth.grants.outcomes import ClientToken, CodeRedemption, RefreshRotation, TokenRequest
from astapa.oauth.jwt import (
    access_token_claims,
    at_hash,
    id_token_claims,
    sign_in_claims,
    user_access_token_claims,
)
from astapa.store.writer import Writer


class Spend(NamedTuple):
    """A private_key_jwt assertion's jti, spent in the same save as the tokens it gets
    (so one assertion gets tokens once, and a refused grant spends nothing)."""

    client_id: str
    jti_hash: str
    expires_at: float


class TokenIssuer:
    def __init__(
        self,
        issuer: str,
        app: AstapaApplication,
        writer: Writer,
        keys: Callable[[], KeySnapshot],
        clock: SystemClock,
        on_issued: Callable[[str], None] = lambda grant_type: None,
    ) -> None:
        """`on_issued` hears the grant type of every token response handed out (the metrics)."""
        self.issuer = issuer
        self.app = app
        self.writer = writer
        self.keys = keys
        self.clock = clock
        self.on_issued = on_issued
        self.token_ids = TokenIds()
        self.signing = ThreadPoolExecutor(max_workers=2, thread_name_prefix="astapa-sign")

    def close(self) -> None:
        self.signing.shutdown(wait=True)

    async def issue(self, request: TokenRequest, spend: Spend | None = None) -> dict:
        """The token response for what a grant decided (oauth/grants/outcomes.py)."""
        match request:
            case CodeRedemption():
                return await self.redeem_code(request, spend)
            case RefreshRotation():
                return await self.refresh(request, spend)
            case ClientToken():
                return await self.client_token(request, spend)
        raise TypeError(f"not a token request: {request!r}")

    async def client_token(self, request: ClientToken, spend: Spend | None = None) -> dict:
        """RFC 6749 §4.4.3: the access token response, with no refresh token."""
        token = await self.access_token(
            client_id=request.client_id, project_id=request.project_id, subject=request.client_id,
            scopes=request.scopes, audience=request.audience, ttl=request.ttl, iss=request.issuer,
            spend=spend,
        )
        body = {"access_token": token, "token_type": "Bearer", "expires_in": request.ttl}
        if request.scopes:
            body["scope"] = " ".join(request.scopes)
        self.on_issued(client_credentials.GRANT_TYPE)
        return body

    async def access_token(
        self, client_id: str, project_id: str, subject: str, scopes: list[str],
        audience: str, ttl: int, iss: str | None = None, spend: Spend | None = None,
    ) -> str:
        """A signed JWT, returned once its Issued event has committed. `iss`: the
        authorization server answering (default the service's)."""
        now = int(self.clock.now())
        jti = self.token_ids.next()
        claims = access_token_claims(
            iss or self.issuer, client_id, project_id, subject, scopes, audience, now, now + ttl, jti
        )
        token, _ = await self.writer.run(self._issue, claims, scopes, spend)
        return token

    def _issue(self, claims: dict, scopes: list[str], spend: Spend | None = None) -> Decision:
        """The command the writer runs: record the issuance, sign the token."""
        spent = self._spend(spend)
        decision = self.app.issue_access_token(
            jti=claims["jti"], client_id=claims["client_id"], project_id=claims["project_id"],
            subject=claims["sub"], scopes=scopes, audience=claims["aud"], expires_at=claims["exp"],
        )
        decision.aggregates[:0] = spent
        decision.value = self.keys().sign(claims)
        return decision

    def _spend(self, spend: Spend | None) -> list:
        """The assertion's record, or ClientAssertionReusedError before anything else."""
        return [] if spend is None else self.app.use_client_assertion(*spend).aggregates

    # -- end-user grants: a redeemed code or a rotated refresh token ----------------------

    async def redeem_code(self, redemption: CodeRedemption, spend: Spend | None = None) -> dict:
        """RFC 6749 §4.1.3: the token response, once code, family and token are saved."""
        now = self.clock.now()
        unsigned, _ = await self.writer.run(self._redeem, redemption, now, self.token_ids.next(), spend)
        return await self._signed(unsigned, authorization_code.GRANT_TYPE)

    def _redeem(self, r: CodeRedemption, now: float, jti: str, spend: Spend | None) -> Decision:
        spent = self._spend(spend)
        decision = self.app.redeem_code(r.code, r.client_id, r.redirect_uri, r.verifier_challenge, now, r.resource,
                                        r.refresh_ttl, r.pin_refresh_ttl)
        decision.aggregates[:0] = spent
        return self._with_tokens(decision, now, jti, r.ttl, r.issuer or self.issuer)

    async def refresh(self, rotation: RefreshRotation, spend: Spend | None = None) -> dict:
        """RFC 6749 §6 with rotation: new refresh and access tokens, the claims as they are now."""
        now = self.clock.now()
        unsigned, _ = await self.writer.run(self._refresh, rotation, now, self.token_ids.next(), spend)
        return await self._signed(unsigned, refresh_token.GRANT_TYPE)

    def _refresh(self, r: RefreshRotation, now: float, jti: str, spend: Spend | None) -> Decision:
        spent = self._spend(spend)
        decision = self.app.rotate_refresh(r.family_key, r.secret, r.client_id, r.scopes, now, r.resource,
                                           r.reuse_grace, r.audience_allowed)
        decision.aggregates[:0] = spent
        return self._with_tokens(decision, now, jti, r.ttl, r.issuer or self.issuer)

    def _with_tokens(self, decision: Decision, now: float, jti: str, ttl: int, iss: str) -> Decision:
        """Add the access token's Issued event to the decision; its value becomes the
        response body with the claims still to sign."""
        if decision.error is not None:
            return decision
        grant: UserGrant = decision.value
        issued_at = int(now)
        scopes = list(grant.scopes)
        claims = user_access_token_claims(
            iss, grant.client_id, grant.project_id, grant.sub, grant.user_claims, scopes,
            grant.resource or grant.client_id, issued_at, issued_at + ttl, jti, grant.family_key,
            sign_in_claims(grant.auth_time, grant.amr, grant.acr),
        )
        decision.aggregates += self.app.issue_access_token(
            jti=jti, client_id=grant.client_id, project_id=grant.project_id, subject=grant.sub,
            scopes=scopes, audience=claims["aud"], expires_at=claims["exp"],
        ).aggregates
        body = {"access_token": claims, "token_type": "Bearer", "expires_in": ttl,
                "refresh_token": grant.refresh_token}
        if scopes:
            body["scope"] = " ".join(scopes)
        if "openid" in scopes:
            body["id_token"] = id_token_claims(
                iss, grant.client_id, grant.sub, grant.user_claims, scopes, issued_at,
                issued_at + ttl, grant.nonce, sign_in_claims(grant.auth_time, grant.amr, grant.acr),
            )  # at_hash is added when the access token is signed
        decision.value = body
        return decision

    async def _signed(self, body: dict, grant_type: str) -> dict:
        signed = await asyncio.get_running_loop().run_in_executor(self.signing, self._sign, body)
        self.on_issued(grant_type)
        return signed

    def _sign(self, body: dict) -> dict:
        """Sign the access token, then the ID token with the access token's at_hash."""
        keys = self.keys()
        access_token = keys.sign(body["access_token"])
        signed = {**body, "access_token": access_token}
        if "id_token" in body:
            signed["id_token"] = keys.sign({**body["id_token"], "at_hash": at_hash(access_token)},
                                           typ="JWT")
        return signed
