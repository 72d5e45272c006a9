"""Access tokens on the record: issuance and revocation are events; the JWT itself never is."""

from uuid import UUID

from eventsourcing.domain import Aggregate, event


class AccessToken(Aggregate):
    """Lives as long as the token: its id is the token's jti, so revocation is a load by id."""

    @event("Issued")
    def __init__(
        self,
        jti: str,
        client_id: str,
        project_id: str,
        subject: str,
        scopes: list[str],
        audience: str,
        expires_at: int,
    ) -> None:
        self.jti = jti
        self.client_id = client_id
        self.project_id = project_id
        self.subject = subject
        self.expires_at = expires_at
        self.revoked = False

    @staticmethod
    def create_id(jti: str) -> UUID:
        return UUID(hex=jti)

    def revoke(self, by_client_id: str) -> None:
        """Revoking twice records nothing the second time (RFC 7009 idempotence)."""
        if not self.revoked:
            self._revoked(by_client_id=by_client_id)

    @event("Revoked")
    def _revoked(self, by_client_id: str) -> None:
        self.revoked = True
