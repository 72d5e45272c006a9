"""The server's own apps (the demo at /demo, the console at /dashboard) are OAuth clients of
their projects like any app of our users: each starts the code flow with PKCE here."""

import secrets
from dataclasses import dataclass
from urllib.parse import urlencode

from astapa.oauth.pkce import s256

# The state of a sign-in an app started again by itself (never in token_urlsafe's alphabet).
RESUMED = "again~"


@dataclass(frozen=True)
class SignInRequest:
    url: str  # the hosted sign-in page, with the authorization request
    state: str
    verifier: str  # the PKCE verifier, for the app to keep until its callback


def sign_in_request(client_id: str, redirect_uri: str, resume: bool) -> SignInRequest:
    """An authorization request for `client_id`; `resume`: the app asks again by itself,
    without a form (prompt=none), after a callback it was not waiting for."""
    verifier, state = secrets.token_urlsafe(48), secrets.token_urlsafe(16)
    if resume:
        state = RESUMED + state
    params = {
        "response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "scope": "openid email",
        "state": state, "code_challenge": s256(verifier), "code_challenge_method": "S256",
        "nonce": secrets.token_urlsafe(16),
    }
    if resume:
        params["prompt"] = "none"
    return SignInRequest(f"/auth/login?{urlencode(params)}", state, verifier)
