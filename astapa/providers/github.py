"""GitHub OAuth apps ("Authorizing OAuth apps", web application flow): the browser goes to
/login/oauth/authorize with state and PKCE S256; the code is exchanged server-side at
/login/oauth/access_token with `Accept: application/json`; the account is GET /user, and
its address the primary one of GET /user/emails, which must be verified.
"""

from urllib.parse import urlencode

from astapa.app import UpstreamAccount
from astapa.domain.identities import GITHUB
from astapa.providers import Http, ProviderClient, ProviderError, string

WHO = "GitHub"
SCOPE = "read:user user:email"
API_HEADERS = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}


class GitHub:
    def __init__(self, http: Http, web_url: str, api_url: str) -> None:
        self.http = http
        self.web_url = web_url.rstrip("/")
        self.api_url = api_url.rstrip("/")

    async def authorization_url(self, client: ProviderClient, redirect_uri: str, state: str, nonce: str,
                                challenge: str, login_hint: str | None, now: float) -> str:
        query = {"client_id": client.client_id, "redirect_uri": redirect_uri, "scope": SCOPE, "state": state,
                 "code_challenge": challenge, "code_challenge_method": "S256"}
        if login_hint:
            query["login"] = login_hint
        return f"{self.web_url}/login/oauth/authorize?{urlencode(query)}"

    async def account(self, client: ProviderClient, redirect_uri: str, code: str, verifier: str, nonce: str,
                      now: float) -> UpstreamAccount:
        status, answer, _ = await self.http.json(WHO, "POST", f"{self.web_url}/login/oauth/access_token", data={
            "client_id": client.client_id, "client_secret": client.client_secret, "code": code,
            "redirect_uri": redirect_uri, "code_verifier": verifier,
        }, headers={"Accept": "application/json"})
        if isinstance(answer, dict) and "error" in answer:  # GitHub answers errors with 200
            raise ProviderError(f"{WHO} refused the code: {str(answer['error'])[:80]}", unavailable=False)
        if status != 200:
            raise ProviderError(f"{WHO} token endpoint answered {status}")
        headers = {**API_HEADERS, "Authorization": f"Bearer {string(answer, 'access_token', WHO)}"}
        status, user, _ = await self.http.json(WHO, "GET", f"{self.api_url}/user", headers=headers)
        if status != 200 or not isinstance(user, dict) or not isinstance(user.get("id"), int) \
                or isinstance(user.get("id"), bool):
            raise ProviderError(f"{WHO} /user answered {status} without an id")
        status, emails, _ = await self.http.json(WHO, "GET", f"{self.api_url}/user/emails", headers=headers)
        if status != 200 or not isinstance(emails, list):
            raise ProviderError(f"{WHO} /user/emails answered {status}")
        primary = next((e for e in emails if isinstance(e, dict) and e.get("primary") is True
                        and isinstance(e.get("email"), str)), None)
        if primary is None:
            return UpstreamAccount(GITHUB, str(user["id"]), "", False, False)
        verified = primary.get("verified") is True
        # GitHub has confirmed a verified address by mail: it speaks for it (C-97).
        return UpstreamAccount(GITHUB, str(user["id"]), primary["email"], verified, verified)
