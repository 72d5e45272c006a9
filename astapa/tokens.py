"""Issuing access tokens: signed off the event loop, recorded before they are handed out."""

import asyncio
from concurrent.futures import Executor
from typing import Callable

from astapa.app import AstapaApplication
from astapa.clock import SystemClock
from astapa.keys import KeySnapshot
from astapa.oauth.jwt import access_token_claims
from astapa.secrets import TokenIds
from astapa.writer import Writer


class TokenIssuer:
    def __init__(
        self,
        issuer: str,
        app: AstapaApplication,
        writer: Writer,
        keys: Callable[[], KeySnapshot],
        signer: Executor,
        clock: SystemClock,
    ) -> None:
        self.issuer = issuer
        self.app = app
        self.writer = writer
        self.keys = keys
        self.signer = signer
        self.clock = clock
        self.token_ids = TokenIds()

    async def access_token(
        self, client_id: str, project_id: str, subject: str, scopes: list[str],
        audience: str, ttl: int,
    ) -> str:
        """Sign and record concurrently; return only once the Issued event has committed."""
        now = int(self.clock.now())
        jti = self.token_ids.next()
        claims = access_token_claims(
            self.issuer, client_id, project_id, subject, scopes, audience, now, now + ttl, jti
        )
        loop = asyncio.get_running_loop()
        signing = loop.run_in_executor(self.signer, self.keys().sign, claims)
        recording = self.writer.run(
            self.app.issue_access_token, jti=jti, client_id=client_id, project_id=project_id,
            subject=subject, scopes=scopes, audience=audience, expires_at=now + ttl,
        )
        token, _ = await asyncio.gather(signing, recording)
        return token
