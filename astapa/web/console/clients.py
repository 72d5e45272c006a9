"""A project's machine clients and protected resources: the list, a new client (a secret,
shown once, or its own public keys: a JWK or a JWKS URI), a client's secret rotated (the
new one shown once, the old one working 24 more hours unless revoked) or the client
deleted (after a confirmation page: no script), and a resource (RFC 8707) with its scopes.

The fields are checked as the CLI checks its arguments (inputs.py, client_keys.py,
resources.py), and each change is the CLI's command saved with a ConsoleAction naming the
console user. A client id in a path must be one of this project's, or the page is 404.
"""

from aiohttp import web

from astapa import inputs
from astapa.domain.clients import SECRET_METHODS
from astapa.domain.console import ADMIN
from astapa.domain.errors import ClientNotFoundError, ClientSecretlessError, ProjectClientKeptError, ResourceTakenError
from astapa.oauth.client_keys import key_set_from_json
from astapa.oauth.resources import check_resource_uri
from astapa.queries import clients_of, project_details, resource_registrant
from astapa.web.appkeys import application_key, reads_key
from astapa.web.console.frame import Console, console_page, sentence
from astapa.web.console.settings import revoke_previous, show_rotated
from astapa.web.pages import Respond, message, see_other

DONE = {"deleted": "Client deleted: it authenticates no more.", "revoked": "The old client secret no longer works.",
        "resource": "Resource saved."}
CREDENTIALS = {"secret": "A client secret", "jwk": "Public key (JWK JSON)", "jwks_uri": "JWKS URI"}
MAX_NAME = 100
CLIENT_ID = "{client_id:[A-Za-z0-9_-]{1,80}}"
MAX_KEY_TEXT = 16 * 1024


@console_page()
async def clients(console: Console) -> web.StreamResponse:
    """GET /dashboard/projects/{project_id}/clients."""
    return await _page(console)


async def _page(console: Console, status: int = 200, values: dict | None = None, errors: dict | None = None,
                error: str | None = None) -> web.Response:
    reads = console.request.app[reads_key]
    rows = await reads.query(clients_of, console.project_id)
    details = await reads.query(project_details, console.project_id)
    return console.render("console/clients.html", status=status, title="Machine clients", clients=rows,
                          resources=details["resources"], values={"credential": "secret", **(values or {})},
                          errors=errors or {}, error=error, credentials=CREDENTIALS, secret_methods=SECRET_METHODS,
                          notice=DONE.get(console.request.query.get("done", "")))


async def _client(console: Console) -> dict:
    """The client the path names, if it is this project's (else the answer is a 404 page:
    a client of another project is as unknown here as one that does not exist)."""
    rows = await console.request.app[reads_key].query(clients_of, console.project_id,
                                                      console.request.match_info["client_id"])
    if not rows:
        raise Respond(_not_found(console))
    return rows[0]


def _not_found(console: Console) -> web.Response:
    return message(console.request, "Not found", "This project has no such client.", 404,
                   back=f"{console.base}/clients", back_text="Machine clients")


# -- a new client -------------------------------------------------------------------------

@console_page(needs=ADMIN, changes=True)
async def create_client(console: Console) -> web.StreamResponse:
    """POST …/clients: the client, and the page after it with its secret, once."""
    values = {name: console.form.get(name, "") for name in ("name", "scopes", "token_ttl", "credential", "jwk",
                                                             "jwks_uri")}
    fields, errors = client_fields(values)
    if errors:
        return await _page(console, 400, values, errors)
    app = console.request.app[application_key]
    created = await console.change("create client", fields["name"], app.create_client, console.project_id,
                                   fields["name"], fields["scopes"], fields["token_ttl"], jwks=fields["jwks"],
                                   jwks_uri=fields["jwks_uri"])
    return console.render("console/client_created.html", title="Client created", created=created,
                          name=fields["name"])


def client_fields(values: dict[str, str]) -> tuple[dict, dict[str, str]]:
    """The new client's name, scopes, token lifetime and keys, and an error per field."""
    errors: dict[str, str] = {}
    fields: dict = {"name": values["name"].strip(), "scopes": [], "token_ttl": None, "jwks": None, "jwks_uri": None}
    if not fields["name"] or len(fields["name"]) > MAX_NAME or not fields["name"].isprintable():
        errors["name"] = f"Give the client a name of 1 to {MAX_NAME} printable characters."
    try:
        fields["scopes"] = inputs.scope_list(values["scopes"])
    except ValueError as e:
        errors["scopes"] = sentence(e)
    if values["token_ttl"].strip():
        try:
            fields["token_ttl"] = inputs.token_ttl(values["token_ttl"].strip())
        except ValueError as e:
            errors["token_ttl"] = sentence(e)
    credential = values["credential"]
    if credential not in CREDENTIALS:
        errors["credential"] = "Choose a client secret, a public key or a JWKS URI."
    elif credential == "jwk":
        try:
            if len(values["jwk"]) > MAX_KEY_TEXT:
                raise ValueError(f"the key must be at most {MAX_KEY_TEXT} characters")
            fields["jwks"] = key_set_from_json(values["jwk"])
        except ValueError as e:
            errors["jwk"] = sentence(e)
    elif credential == "jwks_uri":
        try:
            fields["jwks_uri"] = inputs.jwks_uri(values["jwks_uri"].strip())
        except ValueError as e:
            errors["jwks_uri"] = sentence(e)
    return fields, errors


# -- a client's secret --------------------------------------------------------------------

@console_page(needs=ADMIN, changes=True)
async def rotate_secret(console: Console) -> web.StreamResponse:
    """POST …/clients/{client_id}/rotate-secret: the new secret shown once."""
    client = await _client(console)
    try:
        return await show_rotated(console, client["client_id"],
                                  f"{console.base}/clients/{client['client_id']}/revoke-old-secret",
                                  f"{console.base}/clients")
    except ClientSecretlessError:
        return await _page(console, 409, error=f"{client['name']} authenticates with its own keys: it has no"
                           " secret to rotate.")
    except ClientNotFoundError:
        return _not_found(console)


@console_page(needs=ADMIN, changes=True)
async def revoke_old_secret(console: Console) -> web.StreamResponse:
    """POST …/clients/{client_id}/revoke-old-secret."""
    client = await _client(console)
    try:
        await revoke_previous(console, client["client_id"])
    except ClientNotFoundError:
        return _not_found(console)
    return see_other(f"{console.base}/clients?done=revoked")


# -- deleting a client --------------------------------------------------------------------

@console_page()
async def confirm_delete(console: Console) -> web.StreamResponse:
    """GET …/clients/{client_id}/delete: what deleting means, and the button (a viewer
    sees the page without it)."""
    client = await _client(console)
    return console.render("console/client_delete.html", title="Delete client", client=client)


@console_page(needs=ADMIN, changes=True)
async def delete_client(console: Console) -> web.StreamResponse:
    """POST …/clients/{client_id}/delete: the client authenticates no more."""
    client = await _client(console)
    app = console.request.app[application_key]
    try:
        await console.change("delete client", client["client_id"], app.delete_client, client["client_id"])
    except ClientNotFoundError:
        return _not_found(console)
    except ProjectClientKeptError:
        return await _page(console, 409, error="The project's own client goes only with the project: rotate its"
                           " secret instead.")
    return see_other(f"{console.base}/clients?done=deleted")


# -- resources ----------------------------------------------------------------------------

@console_page(needs=ADMIN, changes=True)
async def add_resource(console: Console) -> web.StreamResponse:
    """POST …/resources: a resource (an API, an MCP server) tokens may be issued for, with
    the scopes it defines; a known URI again replaces its scopes."""
    values = {"resource_uri": console.form.get("resource_uri", "").strip(),
              "resource_scopes": console.form.get("resource_scopes", "")}
    errors, scopes = {}, []
    try:
        check_resource_uri(values["resource_uri"])
    except ValueError as e:
        errors["resource_uri"] = sentence(e)
    try:
        scopes = inputs.scope_list(values["resource_scopes"])
    except ValueError as e:
        errors["resource_scopes"] = sentence(e)
    if errors:
        return await _page(console, 400, values, errors)
    # The read models too: a resource registered before resources were indexed has no
    # ResourceIndex for the command to collide with.
    if await console.request.app[reads_key].query(resource_registrant, console.project_id,
                                                  values["resource_uri"]) is not None:
        return await _page(console, 409, values, {"resource_uri": TAKEN})
    app = console.request.app[application_key]
    try:
        await console.change("add resource", values["resource_uri"], app.add_resource, console.project_id,
                             values["resource_uri"], scopes)
    except ResourceTakenError:
        return await _page(console, 409, values, {"resource_uri": TAKEN})
    return see_other(f"{console.base}/clients?done=resource")


TAKEN = "Another project registered this resource: tokens for it are that project's alone."
