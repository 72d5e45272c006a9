"""A fake GitHub for tests: a real OAuth app server plus the two REST calls a login needs, not a mock.

Like XenditServer, it runs in its own thread (its own asyncio loop, aiohttp) on a loopback port.
One server plays both hosts, laid out like GitHub Enterprise Server: the web flow under `url`
(github.com) and the REST API under `api_url` = url + "/api/v3" (api.github.com). State survives
stop() and start() on the same port.

Wire format (docs.github.com "Authorizing OAuth apps", "Troubleshooting authorization request
errors", "Troubleshooting OAuth app access token request errors", REST "Users" and "Emails"):
  GET  /login/oauth/authorize       plays the user, who agrees (or not, `deny_next`) and is
                                    302'd back to redirect_uri?code=<20 hex>&state=...
  POST /login/oauth/access_token    code exchange. Params in the (url-encoded or JSON) body or
                                    the query. The answer is url-encoded unless Accept asks for
                                    JSON; errors are HTTP 200 with {"error", "error_description",
                                    "error_uri"}.
  GET  /api/v3/user                 Authorization: Bearer <t> or token <t>
  GET  /api/v3/user/emails          needs the user:email (or user) scope
API errors are {"message", "documentation_url", "status"} (status as a string, as GitHub sends).
PKCE: only S256 (github.blog changelog 2025-07-14, "Only the S256 code challenge method is
accepted").

Test controls are plain, thread-safe methods and attributes: add_account(), deny_next,
next_account, redirect_uris, api_versions, fail_next(), garbage_next(), hang_next(), plus
`requests` and `authorizations` for assertions. Faults apply to the back-channel endpoints only
(token, user, emails), never to the browser-facing /login/oauth/authorize.

Where the docs leave things open, the choice made is marked GUESS in a comment.
"""

import base64
import copy
import html
import json
import secrets
import string
import time
from typing import Any, Callable
from urllib.parse import parse_qsl, urlencode, urlsplit

from aiohttp import web

from tests.fakes.base import FaultyFakeServer, redirect, s256, with_query
from tests.fakes.base import SeenRequest as BaseSeenRequest

CODE_LIFETIME = 600  # "authorization codes expire after 10 minutes" (Authorizing OAuth apps)
DEFAULT_API_VERSION = "2022-11-28"
WHICH = ("token", "user", "emails", "any")
DOCS = "https://docs.github.com"
TOKEN_ERRORS_URI = f"{DOCS}/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/"
AUTH_ERRORS_URI = f"{DOCS}/apps/managing-oauth-apps/troubleshooting-authorization-request-errors/"
USER_DOCS = f"{DOCS}/rest/users/users#get-the-authenticated-user"
EMAILS_DOCS = f"{DOCS}/rest/users/emails#list-email-addresses-for-the-authenticated-user"

TOKEN_ERRORS = {
    "incorrect_client_credentials": ("The client_id and/or client_secret passed are incorrect.",
                                     f"{TOKEN_ERRORS_URI}#incorrect-client-credentials"),
    "redirect_uri_mismatch": ("The redirect_uri MUST match the registered callback URL for this application.",
                              f"{AUTH_ERRORS_URI}#redirect-uri-mismatch2"),
    "bad_verification_code": ("The code passed is incorrect or expired.", f"{TOKEN_ERRORS_URI}#bad-verification-code"),
}

_PARAMS = web.RequestKey("params", dict)


class SeenRequest(BaseSeenRequest):
    """`form` is the url-encoded (or JSON object) body."""

    @property
    def accept(self) -> str | None:
        """The Accept header (GitHub recommends application/vnd.github+json for the API)."""
        return self.headers.get("accept")

    @property
    def api_version(self) -> str | None:
        """The X-GitHub-Api-Version header, None if not sent."""
        return self.headers.get("x-github-api-version")


def _page(status: int, title: str, detail: str) -> web.Response:
    body = (f"<!DOCTYPE html><html><head><title>{html.escape(title)}</title></head><body>"
            f"<h1>{html.escape(title)}</h1><p>{html.escape(detail)}</p></body></html>")
    return web.Response(status=status, text=body, content_type="text/html")


def _api_error(status: int, message: str, documentation_url: str = f"{DOCS}/rest") -> web.Response:
    return web.json_response({"message": message, "documentation_url": documentation_url, "status": str(status)},
                             status=status)


def _callback_allows(callback: str, redirect_uri: str) -> bool:
    """GitHub's rule: scheme, host and port must match the registered callback URL exactly and the
    path must be the callback's path or below it ("Redirect URLs" in Authorizing OAuth apps)."""
    if callback == redirect_uri:
        return True
    cb, ru = urlsplit(callback), urlsplit(redirect_uri)
    if (cb.scheme, cb.netloc) != (ru.scheme, ru.netloc):
        return False
    base = cb.path.rstrip("/")
    return ru.path == cb.path or ru.path.startswith(base + "/")


class GitHubServer(FaultyFakeServer):
    NAME = "GitHub"
    WHICH = WHICH
    SEEN = SeenRequest
    GARBAGE = ("<!DOCTYPE html><html><head><title>Unicorn! · GitHub</title></head>"
               "<body><p>No server is currently available to service your request.</p></body></html>")
    def __init__(self, client_id: str = "Iv1.github-client-id", client_secret: str = "github-client-secret",
                 now: Callable[[], float] = time.time, port: int | None = None) -> None:
        super().__init__(port)
        self.client_id = client_id
        self.client_secret = client_secret
        self.now = now
        self.redirect_uris: set[str] = set()  # registered callback URL(s); empty: anything goes
        self.api_versions: set[str] = {DEFAULT_API_VERSION}  # accepted X-GitHub-Api-Version values
        self.deny_next = False
        self.next_account: int | None = None  # an id; None: the first account added. Not reset after use.
        self._codes: dict[str, dict] = {}
        self._tokens: dict[str, dict] = {}

    # ----------------------------------------------------------------- lifecycle

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/v3"

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_get("/login/oauth/authorize", self._authorize)
        router.add_post("/login/oauth/access_token", self._access_token)
        router.add_get("/api/v3/user", self._user)
        router.add_get("/api/v3/user/emails", self._emails)

    # ----------------------------------------------------------------- accounts

    def add_account(self, id: int, login: str, emails: list[tuple[str, bool, bool]], name: str | None = None,
                    public_email: str | None = None, *, created_at: str = "2020-01-01T00:00:00Z") -> dict:
        """A GitHub user the fake user signs in as. `emails`: (email, primary, verified) tuples.
        `public_email` is /user's `email` (None: no public email). Adding the same id again
        replaces it. Returns a copy of the account."""
        account = {"id": int(id), "login": login, "emails": [tuple(e) for e in emails], "name": name,
                   "public_email": public_email, "created_at": created_at}
        with self._lock:
            self._accounts[int(id)] = account
            return copy.deepcopy(account)

    # ----------------------------------------------------------------- internals: HTTP

    @web.middleware
    async def _middleware(self, request: web.Request, handler) -> web.StreamResponse:
        raw = await request.read()
        form: dict[str, Any] = {}
        if raw and request.content_type == "application/x-www-form-urlencoded":
            form = dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
        elif raw and request.content_type == "application/json":
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = None
            form = {k: str(v) for k, v in parsed.items()} if isinstance(parsed, dict) else {}
        request[_PARAMS] = {**{k: request.query[k] for k in request.query}, **form}
        which = self._which(request)
        self._record(request, form)
        injected = await self._injected(which)
        if injected is not None:
            return injected
        return await handler(request)

    @staticmethod
    def _which(request: web.Request) -> str:
        return {"/login/oauth/access_token": "token", "/api/v3/user": "user",
                "/api/v3/user/emails": "emails"}.get(request.path.rstrip("/"), "other")

    def _default_error(self, status: int) -> web.Response:
        # GUESS: GitHub's 5xx bodies are not documented; the API's error shape is used.
        return _api_error(status, "Server Error" if status >= 500 else "Error")

    # ----------------------------------------------------------------- web flow

    async def _authorize(self, request: web.Request) -> web.Response:
        params = {k: request.query[k] for k in request.query}
        client_id = params.get("client_id", "")
        if client_id != self.client_id:
            return _page(404, "Page not found · GitHub", "This is not the web page you are looking for.")
        sent_redirect = params.get("redirect_uri")
        if sent_redirect:
            if self.redirect_uris and not any(_callback_allows(cb, sent_redirect) for cb in self.redirect_uris):
                # GUESS: the status of GitHub's "Be careful!" page; 200 as a plain rendered page.
                return _page(200, "Redirect URI mismatch · GitHub",
                             "Be careful! The redirect_uri is not associated with this application.")
            redirect_uri = sent_redirect
        elif len(self.redirect_uris) == 1:  # left out: GitHub uses the app's callback URL
            redirect_uri = next(iter(self.redirect_uris))
        else:
            # GUESS: a fake app with no (or several) callback URLs cannot pick one.
            return _page(200, "Redirect URI mismatch · GitHub",
                         "Be careful! The redirect_uri is not associated with this application.")
        state = params.get("state")
        challenge = params.get("code_challenge")
        method = params.get("code_challenge_method")
        if (challenge or method) and (method != "S256" or not challenge):
            # GUESS: how GitHub refuses plain (or a half-given) PKCE is not documented.
            back = [("error", "invalid_request"),
                    ("error_description", "Only the S256 code challenge method is supported.")]
            return redirect(with_query(redirect_uri, back + ([("state", state)] if state is not None else [])))
        scopes: list[str] = []
        for scope in params.get("scope", "").replace(",", " ").split():
            if scope not in scopes:
                scopes.append(scope)
        record = {"client_id": client_id, "redirect_uri": sent_redirect, "scope": params.get("scope"),
                  "state": state, "code_challenge": challenge, "code_challenge_method": method,
                  "allow_signup": params.get("allow_signup"), "params": params, "account": None,
                  "denied": False, "code": None}
        with self._lock:
            if self.deny_next:
                self.deny_next = False
                record["denied"] = True
                self._authorizations.append(record)
                back = [("error", "access_denied"),
                        ("error_description", "The user has denied your application access."),
                        ("error_uri", f"{AUTH_ERRORS_URI}#access-denied")]
                if state is not None:
                    back.append(("state", state))
                return redirect(with_query(redirect_uri, back))
            account_id = self.next_account if self.next_account is not None else next(iter(self._accounts), None)
            if account_id is None or int(account_id) not in self._accounts:
                return web.Response(status=500, content_type="text/plain",
                                    text=f"fake GitHub: no account {account_id!r}; call add_account() first")
            code = secrets.token_hex(10)
            self._codes[code] = {"client_id": client_id, "redirect_uri": redirect_uri, "account": int(account_id),
                                 "scopes": scopes, "code_challenge": challenge, "issued_at": self.now(),
                                 "used": False}
            record["account"], record["code"] = int(account_id), code
            self._authorizations.append(record)
        back = [("code", code)] + ([("state", state)] if state is not None else [])
        return redirect(with_query(redirect_uri, back))

    @staticmethod
    def _token_answer(request: web.Request, body: dict[str, str]) -> web.Response:
        if "application/json" in request.headers.get("Accept", ""):
            return web.json_response(body)
        # GitHub's default answer is form-encoded (GUESS: errors are form-encoded the same way).
        return web.Response(body=urlencode(body).encode(), headers={
            "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})

    def _token_error(self, request: web.Request, error: str) -> web.Response:
        description, uri = TOKEN_ERRORS[error]
        # Token errors are HTTP 200 (troubleshooting-oauth-app-access-token-request-errors).
        return self._token_answer(request, {"error": error, "error_description": description, "error_uri": uri})

    async def _access_token(self, request: web.Request) -> web.Response:
        params = request[_PARAMS]
        client_id, client_secret = params.get("client_id", ""), params.get("client_secret", "")
        if client_id != self.client_id or not secrets.compare_digest(client_secret.encode(),
                                                                    self.client_secret.encode()):
            return self._token_error(request, "incorrect_client_credentials")
        code = params.get("code", "")
        with self._lock:
            grant = self._codes.get(code)
            if (grant is None or grant["used"] or grant["client_id"] != client_id
                    or self.now() - grant["issued_at"] > CODE_LIFETIME):
                return self._token_error(request, "bad_verification_code")
            # GUESS: a refused exchange (redirect_uri or PKCE) leaves the code usable; leaving out
            # redirect_uri is allowed (it is optional in the docs).
            redirect_uri = params.get("redirect_uri")
            if redirect_uri and redirect_uri != grant["redirect_uri"]:
                return self._token_error(request, "redirect_uri_mismatch")
            verifier = params.get("code_verifier")
            if grant["code_challenge"] is not None and (
                    not verifier or not secrets.compare_digest(s256(verifier).encode(),
                                                               grant["code_challenge"].encode())):
                return self._token_error(request, "bad_verification_code")  # GUESS: the error for PKCE
            grant["used"] = True
            alphabet = string.ascii_letters + string.digits
            token = "gho_" + "".join(secrets.choice(alphabet) for _ in range(36))
            self._tokens[token] = {"account": grant["account"], "scopes": list(grant["scopes"])}
        return self._token_answer(request, {"access_token": token, "token_type": "bearer",
                                            "scope": ",".join(grant["scopes"])})

    # ----------------------------------------------------------------- REST API

    def _authenticate(self, request: web.Request, docs: str) -> tuple[dict, list[str]] | web.Response:
        version = request.headers.get("X-GitHub-Api-Version")
        if version is not None and version not in self.api_versions:
            # GUESS: the wording of GitHub's unsupported-version error.
            return _api_error(400, f"API version {version} is not supported.", f"{DOCS}/rest/about-the-rest-api/"
                                                                                "api-versions")
        header = request.headers.get("Authorization", "")
        if not header.strip():
            return _api_error(401, "Requires authentication", docs)
        scheme, _, token = header.partition(" ")
        with self._lock:
            grant = self._tokens.get(token.strip()) if scheme.lower() in ("bearer", "token") else None
            if grant is None or grant["account"] not in self._accounts:
                return _api_error(401, "Bad credentials")
            return copy.deepcopy(self._accounts[grant["account"]]), list(grant["scopes"])

    def _api_headers(self, request: web.Request, scopes: list[str], accepted: str) -> dict[str, str]:
        return {"X-OAuth-Scopes": ", ".join(scopes), "X-Accepted-OAuth-Scopes": accepted,
                "X-GitHub-Media-Type": "github.v3; format=json",
                "X-GitHub-Api-Version-Selected": request.headers.get("X-GitHub-Api-Version", DEFAULT_API_VERSION)}

    async def _user(self, request: web.Request) -> web.Response:
        authenticated = self._authenticate(request, USER_DOCS)
        if isinstance(authenticated, web.Response):
            return authenticated
        account, scopes = authenticated
        uid, login = account["id"], account["login"]
        api = self.api_url
        user = {
            "login": login, "id": uid,
            "node_id": base64.b64encode(f"04:User{uid}".encode()).decode(),  # the legacy global id format
            "avatar_url": f"https://avatars.githubusercontent.com/u/{uid}?v=4", "gravatar_id": "",
            "url": f"{api}/users/{login}", "html_url": f"https://github.com/{login}",
            "followers_url": f"{api}/users/{login}/followers",
            "following_url": f"{api}/users/{login}/following{{/other_user}}",
            "gists_url": f"{api}/users/{login}/gists{{/gist_id}}",
            "starred_url": f"{api}/users/{login}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{api}/users/{login}/subscriptions",
            "organizations_url": f"{api}/users/{login}/orgs", "repos_url": f"{api}/users/{login}/repos",
            "events_url": f"{api}/users/{login}/events{{/privacy}}",
            "received_events_url": f"{api}/users/{login}/received_events",
            "type": "User", "user_view_type": "public", "site_admin": False,
            "name": account["name"], "company": None, "blog": "", "location": None,
            "email": account["public_email"], "hireable": None, "bio": None, "twitter_username": None,
            "notification_email": account["public_email"],
            "public_repos": 0, "public_gists": 0, "followers": 0, "following": 0,
            "created_at": account["created_at"], "updated_at": account["created_at"],
        }
        return web.json_response(user, headers=self._api_headers(request, scopes, ""))

    async def _emails(self, request: web.Request) -> web.Response:
        authenticated = self._authenticate(request, EMAILS_DOCS)
        if isinstance(authenticated, web.Response):
            return authenticated
        account, scopes = authenticated
        if not {"user", "user:email"} & set(scopes):
            return _api_error(404, "Not Found", EMAILS_DOCS)  # GUESS: the answer without user:email
        emails = []
        for email, primary, verified in account["emails"]:
            # GUESS: visibility is "public" for the public email, "private" for a primary that is
            # not public, null for the others (the docs only show the primary's).
            visibility = "public" if email == account["public_email"] else ("private" if primary else None)
            emails.append({"email": email, "primary": bool(primary), "verified": bool(verified),
                           "visibility": visibility})
        return web.json_response(emails, headers=self._api_headers(request, scopes, "user, user:email"))
