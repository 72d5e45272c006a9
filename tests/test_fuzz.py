"""Every operation of openapi.json, fuzzed with Schemathesis against a real server.

Schemathesis generates requests from the description, valid ones and invalid ones, sends
them to a server of the test suite (loopback only) and applies its default checks to each
answer: never a 5xx, a status, content type, headers and body the description has for it,
invalid data refused, valid data accepted, a missing credential refused, an unlisted
method 405 with the right `Allow`. Hypothesis is derandomized, so each run sends the same
requests and CI is stable; `max_examples` bounds it (some 3800 requests, 20 to 50 s on two
shared cores; `pytest -m "not fuzz"` leaves it out).

What the fuzzer cannot know comes from the server's state, as credentials do, and only
where the generated value is valid and not the part a negative case breaks: the project's
client, HTTP Basic for it (or the body's own credentials: one method per request, RFC 6749
§2.3), a user's bearer token and `sub`, Xendit's callback token, a registered
`redirect_uri`, a plan key, a CSRF cookie with its form token, the authorization request a
page carries, a plan end in the future, a new client's public keys, a machine client
whose secret to rotate (never the one to delete), and a plan to archive (never the one
paid for); the user the cases share is never the one a DELETE erases (that case keeps its
generated `sub`). The operations on the project itself (its settings, secret, clients,
resources and log) run with a second project, so that what they change (the redirect URIs,
registration, the secret) leaves the other cases' state alone; a rotated secret is the one
the next case sends. Five answers are refusals that the checks cannot read as such, and are
taken as the description says they are:

- the token endpoint's 400 `invalid_grant`, `invalid_scope`, `invalid_target` or
  `unauthorized_client` (RFC 6749 §5.2): the request is well formed, the grant, scope or
  resource is not one this server issued or registered (no generated value can be);
- the authorization endpoint's 303 back to the client with `error` (RFC 6749 §4.1.2.1):
  how it refuses a request once the client and redirect_uri are known;
- a posted form's, a mailed link's or a provider's return's 400 HTML page, for the person
  at the browser: the form again with what to fix (an address that is not one, a common
  password, a provider not set up), a used link, or a sign-in that cannot go on; rules of
  content and state a schema cannot carry. (The authorization request's own pages are
  held to every check.)
- registration's 400 `invalid_client_metadata` or `invalid_redirect_uri` (RFC 7591 §2: a
  server may refuse any metadata value; rules between fields are beyond a schema).
- a project settings change's 400 `invalid_redirect_uri`: which redirect URIs a project
  takes depends on its mode (a sandbox takes http on any host, a live project does not);
  and its 400 naming a `branding.` field: whether a colour is readable against white (WCAG
  contrast) and whether a logo URL's host is a plain host name are beyond a schema.
- a new webhook's 400 naming its `url` (an https URL whose host resolves to a public
  address: what a name resolves to is beyond a schema), or the project's limit of webhooks.

A Xendit key the project's own keys are set to is one of its mode (a sandbox's `own`
takes a development key): the server's state, like the credentials.
"""

import datetime
import itertools
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import schemathesis
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, settings
from jwt.algorithms import ECAlgorithm
from schemathesis.config import SchemathesisConfig
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import (
    negative_data_rejection,
    positive_data_acceptance,
)

from astapa.clock import FakeClock
from astapa.keys import generate_key
from astapa.oauth.client_metadata import DocumentError
from astapa.web.appkeys import clients_key
from tests.conftest import ServerThread, project_on, run_cli, wait_for_client
from tests.fakes.xendit import XenditServer
from tests.flows import REDIRECT_URI, exchange, hidden_fields
from tests.oauth.test_authorization_code import signed_up

ROOT = Path(__file__).resolve().parent.parent
# Schemathesis' defaults, whatever schemathesis.toml a working directory may hold.
schema = schemathesis.openapi.from_path(str(ROOT / "openapi.json"), config=SchemathesisConfig())

XENDIT_KEY = "xnd_development_fuzz"
CALLBACK_TOKEN = "fuzz-callback-token"
MANY = 100_000  # failures a throttle allows: the fuzzer's own requests must not lock it out
PRO = {"key": "pro", "name": "Pro", "price": 149000, "currency": "IDR", "interval": "month"}
RETIRED = {**PRO, "key": "retired", "name": "Retired"}  # the plan cases archive: never `pro`, which others pay for
PLAN_ARCHIVAL = "/api/platform/plans/{key}/archive"

TOKEN_ENDPOINTS = {"/oauth/token", "/api/platform/token", "/projects/{project_id}/oauth/token"}
GRANT_REFUSALS = {"invalid_grant", "invalid_scope", "invalid_target", "unauthorized_client"}
REGISTRATION = "/projects/{project_id}/oauth/register"
METADATA_REFUSALS = {"invalid_client_metadata", "invalid_redirect_uri"}
PROJECT_ITSELF = ("/api/platform/project", "/api/platform/clients", "/api/platform/resources", "/api/platform/events")
PROJECT_SETTINGS = "/api/platform/project"
PROJECT_ROTATION = "/api/platform/project/rotate-secret"
PROJECT_PAYMENTS = "/api/platform/project/payments"
WEBHOOKS = "/api/platform/webhooks"
USER = "/api/platform/users/{sub}"
OWN_XENDIT_KEY = "xnd_development_fuzz-own-key"
PUBLIC_KEYS = {"keys": [{**ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1()).public_key(), as_dict=True),
                         "kid": "fuzz", "use": "sig"}]}
AUTHORIZATION_PAGES = {"/oauth/authorize", "/projects/{project_id}/oauth/authorize", "/auth/login", "/auth/signup",
                       "/auth/forgot-password", "/auth/resend-verification"}
BODY_CREDENTIALS = ("client_secret", "client_assertion", "client_assertion_type")


class Fuzzed:
    """The server and the state a case may use."""

    def __init__(self, server, project: dict, own: dict, machine: dict, tokens: dict, sub: str,
                 page: requests.Response) -> None:
        self.server = server
        self.project = project
        self.basic = (project["client_id"], project["client_secret"])
        self.own = own  # the project the operations on the project itself change
        self.machine = machine  # a client of `own`, whose secret they rotate (none deletes it)
        self.access_token = tokens["access_token"]
        self.sub = sub
        self.csrf_cookie = page.cookies["astapa_csrf"]
        fields = hidden_fields(page.text)
        self.csrf_token = fields["csrf_token"]
        self.authorization = fields["authorization"]


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory, key_pool):
    with XenditServer(secret_key=XENDIT_KEY, callback_token=CALLBACK_TOKEN) as xendit:
        thread = ServerThread(
            tmp_path_factory.mktemp("data"), FakeClock(), new_key=_keys_from(key_pool),
            xendit_secret_key=XENDIT_KEY, xendit_callback_token=CALLBACK_TOKEN, xendit_api_url=xendit.url,
            client_auth_failures=MANY, grant_failures=MANY, login_failures_per_account=MANY,
            login_failures_per_ip=MANY, link_requests_per_ip=MANY, registrations_per_ip=MANY,
            external_sign_ins_per_ip=MANY)
        server = thread.start()
        try:
            # Client ID Metadata Documents and jwks_uri: nothing leaves loopback.
            server.web_app[clients_key].documents._fetch = _no_fetching
            project = project_on(server, "orders:read")
            own = project_on(server, "orders:read", name="settings")
            machine = run_cli("client", "create", "--data-dir", str(server.data_dir), "--project",
                              own["project_id"], "--name", "machine")
            run_cli("project", "update", "--data-dir", str(server.data_dir), "--project", project["project_id"],
                    "--allow-registration")
            wait_for_client(server, project)
            for plan in (PRO, RETIRED):
                assert requests.post(f"{server.url}/api/platform/plans", json=plan, auth=(
                    project["client_id"], project["client_secret"]), timeout=10).status_code == 201
            _, params = signed_up(server, project)
            tokens = exchange(server.url, project, params["code"]).json()
            sub = requests.get(f"{server.url}/oauth/userinfo", timeout=10,
                               headers={"Authorization": f"Bearer {tokens['access_token']}"}).json()["sub"]
            page = requests.get(f"{server.url}/auth/login", timeout=10, params={
                "client_id": project["client_id"], "redirect_uri": REDIRECT_URI, "response_type": "code"})
            wait_for_client(server, machine)
            yield Fuzzed(server, project, own, machine, tokens, sub, page)
        finally:
            thread.stop()
        violations = thread.violations
        assert not violations, "answers openapi.json does not describe:\n" + "\n".join(violations)


def _keys_from(key_pool):
    """The session's pool of signing keys, in order (as the new_key fixture hands them out)."""
    taken = itertools.count()
    return lambda vault: generate_key(vault, key_pool.get(next(taken)))


async def _no_fetching(url: str):
    raise DocumentError("the fuzz test fetches no documents")


@schema.parametrize()
@settings(max_examples=8, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_every_operation_conforms_to_openapi_json(fuzzed: Fuzzed, case):
    operation = case.operation
    headers, auth = _with_known_state(fuzzed, case)
    kwargs = {"base_url": fuzzed.server.url, "timeout": 10, "auth": auth, "headers": headers or None}
    response = case.call(**kwargs)
    if operation.path == PROJECT_ROTATION and response.status_code == 200:
        fuzzed.own = {**fuzzed.own, "client_secret": response.json()["client_secret"]}
    case.validate_response(response, headers=headers or None, transport_kwargs=kwargs,
                           excluded_checks=_refusals_read_as_described(case, response))


def _with_known_state(fuzzed: Fuzzed, case) -> tuple[dict, tuple[str, str] | None]:
    """Put the server's own values where the case has valid ones; the credentials to send."""
    operation, body = case.operation, case.body
    path, query, cookies = ParameterLocation.PATH, ParameterLocation.QUERY, ParameterLocation.COOKIE
    _put(case, path, case.path_parameters, "project_id", fuzzed.project["project_id"])
    if not (operation.path == USER and operation.method.upper() == "DELETE"):
        _put(case, path, case.path_parameters, "sub", fuzzed.sub)  # never erased: the other cases' user
    if operation.method.upper() == "POST":
        _put(case, path, case.path_parameters, "client_id", fuzzed.machine["client_id"])
    _put(case, query, case.query, "client_id", fuzzed.project["client_id"])
    _put(case, query, case.query, "redirect_uri", REDIRECT_URI)
    _put(case, cookies, case.cookies, "astapa_csrf", fuzzed.csrf_cookie)
    if operation.method.upper() == "POST" and operation.path.startswith("/auth/"):
        _put(case, ParameterLocation.BODY, body, "csrf_token", fuzzed.csrf_token)
        _put(case, ParameterLocation.BODY, body, "authorization", fuzzed.authorization)
    if operation.path.startswith("/api/platform/"):
        _put(case, ParameterLocation.BODY, body, "plan", PRO["key"])
        if isinstance(body, dict) and "expires_at" in body and not _negated(case, ParameterLocation.BODY):
            _in_the_future(fuzzed, body)
    if operation.path == "/api/platform/users/{sub}/claims" and case.path_parameters.get("sub") == fuzzed.sub:
        _claims_back_to_none(fuzzed)  # at most 50 claims: each case starts again from none
    if operation.path == "/api/platform/clients" and isinstance(body, dict) and isinstance(body.get("jwks"), dict):
        negated = _negated(case, ParameterLocation.BODY)
        if negated is not None and "jwks" not in negated:
            body["jwks"] = PUBLIC_KEYS
    if operation.path == PLAN_ARCHIVAL:
        _put(case, path, case.path_parameters, "key", RETIRED["key"])
    if operation.path == PROJECT_PAYMENTS:
        _put(case, ParameterLocation.BODY, body, "secret_key", OWN_XENDIT_KEY)
    project = fuzzed.own if operation.path.startswith(PROJECT_ITSELF) else fuzzed.project

    names = {name for requirement in operation.definition.raw.get("security") or [] for name in requirement}
    negated = _negated(case, ParameterLocation.HEADER)
    if negated is None or {"Authorization", "x-callback-token"} & negated:
        return {}, None  # the credentials are what this case leaves out or breaks
    if "bearerAccessToken" in names:
        return ({} if _given(body, "access_token") else {"Authorization": f"Bearer {fuzzed.access_token}"}), None
    if "xenditCallbackToken" in names:
        return {"x-callback-token": CALLBACK_TOKEN}, None
    # With HTTP Basic only (no `{}` alternative), a body's client_id and client_secret are
    # not the caller's (a sign-in provider's): Basic always, the body as generated.
    basic_only = {} not in (operation.definition.raw.get("security") or [])
    if "clientBasic" in names and (basic_only or not any(_given(body, name) for name in BODY_CREDENTIALS)):
        if not basic_only:
            _put(case, ParameterLocation.BODY, body, "client_id", project["client_id"])  # Basic's own
        return {}, (project["client_id"], project["client_secret"])
    return {}, None


def _negated(case, location: ParameterLocation) -> set[str] | None:
    """The names a negative case breaks at `location`: empty for a valid location, None
    when the location is broken but the names are not known."""
    meta = case.meta
    if meta is None or not meta.is_negative_at(location):
        return set()
    data = meta.phase.data
    names = set()
    if getattr(data, "parameter", None) and getattr(data, "parameter_location", None) == location:
        names.add(data.parameter)
    for mutation in getattr(data, "mutations", ()):
        if mutation.parameter_location == location:
            if mutation.parameter:
                names.add(mutation.parameter)
            elif mutation.path:
                names.add(str(mutation.path[0]))
    return names or None


def _put(case, location: ParameterLocation, container, name: str, value: str) -> None:
    """`value` in place of a generated string that is valid where it stands."""
    negated = _negated(case, location)
    if negated is not None and name not in negated and isinstance(container, dict) \
            and isinstance(container.get(name), str):
        container[name] = value


def _given(body, name: str) -> bool:
    """A parameter sent with a value (empty or null counts as omitted, RFC 6749 §3.1)."""
    return isinstance(body, dict) and body.get(name) not in (None, "")


def _in_the_future(fuzzed: Fuzzed, body: dict) -> None:
    moment = fuzzed.server.clock.now() + 30 * 86400
    if isinstance(body["expires_at"], str):
        body["expires_at"] = datetime.datetime.fromtimestamp(moment, datetime.UTC).isoformat()
    elif isinstance(body["expires_at"], (int, float)) and not isinstance(body["expires_at"], bool):
        body["expires_at"] = moment


def _claims_back_to_none(fuzzed: Fuzzed) -> None:
    url = f"{fuzzed.server.url}/api/platform/users/{fuzzed.sub}"
    claims = requests.get(url, auth=fuzzed.basic, timeout=10).json()["custom_claims"]
    removed = {name: None for name in claims if name != "plan"}
    if removed:
        assert requests.patch(f"{url}/claims", json=removed, auth=fuzzed.basic, timeout=10).status_code == 200


def _refusals_read_as_described(case, response) -> list:
    """The checks that would misread a refusal the description gives (the module's docstring)."""
    operation, status = case.operation, response.status_code
    media = (response.headers.get("content-type") or [""])[0]
    if operation.path in TOKEN_ENDPOINTS and status == 400 and response.json().get("error") in GRANT_REFUSALS:
        return [positive_data_acceptance]
    # RFC 7591 §2: the server "MAY reject or replace any of the client's requested metadata
    # values"; rules between fields (a key set that holds no public key, both jwks and
    # jwks_uri, redirect URIs for the application type) are beyond a schema.
    if operation.path == REGISTRATION and status == 400 and response.json().get("error") in METADATA_REFUSALS:
        return [positive_data_acceptance]
    if operation.path == PROJECT_SETTINGS and status == 400 and (
            response.json().get("error") == "invalid_redirect_uri"
            or response.json().get("error_description", "").startswith("branding.")):
        return [positive_data_acceptance]
    if operation.path == WEBHOOKS and status == 400 and response.json().get("error_description", "").startswith(
            ("url:", "a project has at most")):
        return [positive_data_acceptance]
    if operation.path in AUTHORIZATION_PAGES and operation.method.upper() == "GET" and status == 303:
        location = (response.headers.get("location") or [""])[0]
        if "error" in parse_qs(urlsplit(location).query):
            return [negative_data_rejection]
    if "pages" in operation.tags and status == 400 and media.startswith("text/html") \
            and not (operation.path in AUTHORIZATION_PAGES and operation.method.upper() == "GET"):
        return [positive_data_acceptance]
    return []
