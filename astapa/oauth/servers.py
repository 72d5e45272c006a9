"""Which authorization server answers: the service-wide one at the issuer, or a project's
own at `{issuer}/projects/{project_id}` (for clients that discover it from a protected
resource, as MCP clients do). Both have the same endpoints under their issuer; a
project's knows only that project's clients, and tokens from it carry its issuer.
"""

import re
from dataclasses import dataclass

PROJECT_ID = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")


@dataclass(frozen=True)
class AuthServer:
    issuer: str
    project_id: str | None = None  # None: the service-wide server

    def url(self, path: str) -> str:
        return f"{self.issuer}{path}"

    @property
    def token_endpoint(self) -> str:
        return self.url("/oauth/token")


def project_issuer(issuer: str, project_id: str) -> str:
    return f"{issuer}/projects/{project_id}"


def server_for(issuer: str, project_id: str | None) -> AuthServer | None:
    """The server a path names; None for a project id no project could have."""
    if project_id is None:
        return AuthServer(issuer)
    if not PROJECT_ID.match(project_id):
        return None
    return AuthServer(project_issuer(issuer, project_id), project_id)


def accepts_issuer(issuer: str, claims: dict) -> bool:
    """A token of ours names the service-wide issuer or its own project's."""
    iss, project_id = claims.get("iss"), claims.get("project_id")
    return iss == issuer or (isinstance(project_id, str) and iss == project_issuer(issuer, project_id))
