"""A project's settings: its name, its own client's redirect URIs, its sign-in rules, its
branding, Google and GitHub sign-in, its Xendit key, its own client's secret, and going
live. Each part is its own form posting to its own route, and each change is the command
the CLI runs, saved with a ConsoleAction naming the console user.

The forms carry the project's version: one shown before another change to the project is
refused (409, nothing changes), so one person's save never silently undoes another's.
Rotating the client secret and revoking the old one carry none: they overwrite nothing.
Secrets (the providers', the Xendit key) go to files under DATA_DIR/keys and only their
hashes into the log, exactly as the CLI does (project_files.py); no page shows them again.
A page shows a secret once, as it is made: a rotated client secret, a live twin's.
"""

from datetime import datetime
from typing import Awaitable

from aiohttp import web

from astapa import inputs
from astapa.app.console import StaleFormError
from astapa.console_queries import members_of, project_settings
from astapa.domain.branding import branding_errors
from astapa.domain.console import ADMIN, OWNER
from astapa.domain.errors import AlreadyLiveError, GoLiveRefusedError, RedirectUriRefusedError
from astapa.domain.identities import PROVIDERS
from astapa.domain.refresh import MAX_REUSE_GRACE
from astapa.payments.credentials import XenditCredentials
from astapa.project_files import (
    Twin,
    check_callback_token,
    check_xendit_key,
    payments_mode,
    save_payments,
    save_providers,
)
from astapa.web.appkeys import (
    application_key,
    await_read_model,
    clock_key,
    reads_key,
    vault_key,
    writer_key,
)
from astapa.web.console.frame import Console, console_page, sentence
from astapa.web.console.projects import name_error, redirect_uri_lines
from astapa.web.context import off_loop
from astapa.web.pages import see_other
from astapa.web.secret_files import PROVIDERS_FILE, XENDIT_FILE, secret_lock, went_live

DONE = {"name": "Name saved.", "redirect_uris": "Redirect URIs saved.", "sign_in": "Sign-in settings saved.",
        "provider": "Sign-in provider saved.", "provider_removed": "Sign-in provider removed.",
        "payments": "Xendit keys saved.", "revoked": "The old client secret no longer works.",
        "branding": "Branding saved."}
STALE = "This project changed since you opened the page; review and save again."
PROVIDER_NAMES = {"google": "Google", "github": "GitHub"}


@console_page()
async def settings(console: Console) -> web.StreamResponse:
    """GET /dashboard/projects/{project_id}/settings."""
    return await _page(console)


async def _page(console: Console, status: int = 200, values: dict | None = None, errors: dict | None = None,
                error: str | None = None, reasons: list[str] | None = None) -> web.Response:
    """The settings page; `values` and `errors`: a form shown again with what was typed
    (never a secret) and an error per field; `reasons`: why going live was refused."""
    web_app = console.request.app
    version = await off_loop(web_app[application_key].project_version, console.project_id)
    details = await web_app[reads_key].query(project_settings, console.project_id)
    payments = await off_loop(payments_mode, web_app[vault_key], console.project_id)
    shown = {"name": details["name"], "redirect_uris": "\n".join(details["redirect_uris"]),
             "require_verified_email": details["require_verified_email"],
             "allow_registration": details["allow_registration"],
             "refresh_reuse_grace": str(details["refresh_reuse_grace"]), "scopes": " ".join(details["scopes"]),
             "access_token_ttl": str(details["access_token_ttl"] or ""),
             "refresh_ttl": str(details["refresh_ttl"] or ""), "pin_sign_in": details["pin_sign_in"],
             "pin_refresh_ttl": str(details["pin_refresh_ttl"]), "two_factor_required": details["two_factor_required"],
             "two_factor_grace": str(details["two_factor_grace"]), **details["branding"], **(values or {})}
    return console.render("console/settings.html", status=status, title="Settings", details=details,
                          version=version, values=shown, errors=errors or {}, error=error, reasons=reasons or [],
                          providers=details["provider_clients"], provider_names=PROVIDER_NAMES, payments=payments,
                          max_grace=MAX_REUSE_GRACE,
                          previous_valid_until=still_valid(details["previous_secret_valid_until"],
                                                           web_app[clock_key].now()),
                          notice=DONE.get(console.request.query.get("done", "")))


async def _change(console: Console, action: str, done: str, command, *args, target: str | None = None,
                  versioned: bool = True, **kwargs) -> web.StreamResponse:
    """`command(*args)` with its ConsoleAction, if the form's version is the project's; then
    back to the page with a notice."""
    try:
        if versioned:
            kwargs["expected_version"] = form_version(console)
        await console.change(action, target or console.project_id, command, *args, **kwargs)
    except StaleFormError:
        return await _page(console, 409, error=STALE)
    return see_other(f"{console.base}/settings?done={done}")


def form_version(console: Console) -> int:
    """The project's version the form was shown at (-1, never current, when missing)."""
    value = console.form.get("version", "")
    return int(value) if value.isascii() and value.isdigit() and len(value) < 12 else -1


async def _is_stale(console: Console) -> bool:
    """Before writing a secret file: a stale form must change nothing, not even a file
    (by_console checks again, with the change)."""
    app = console.request.app[application_key]
    version = await off_loop(app.project_version, console.project_id)
    return version != form_version(console)


def still_valid(until: str | None, now: float) -> str | None:
    """A previous secret's end (ISO 8601, from the read model) when it is still ahead."""
    if until is None or datetime.fromisoformat(until.replace("Z", "+00:00")).timestamp() <= now:
        return None
    return until


# -- general ------------------------------------------------------------------------------

@console_page(needs=ADMIN, changes=True)
async def save_name(console: Console) -> web.StreamResponse:
    """POST …/settings/name."""
    name = console.form.get("name", "").strip()
    if error := name_error(name):
        return await _page(console, 400, {"name": name}, {"name": error})
    app = console.request.app[application_key]
    return await _change(console, "rename project", "name", app.rename_project, console.project_id, name)


@console_page(needs=ADMIN, changes=True)
async def save_redirect_uris(console: Console) -> web.StreamResponse:
    """POST …/settings/redirect-uris: the URIs replace those registered, so a sign-in
    naming one left out is refused from then on."""
    text = console.form.get("redirect_uris", "")
    uris, error = redirect_uri_lines(text, console.project["mode"])
    if error:
        return await _page(console, 400, {"redirect_uris": text}, {"redirect_uris": error})
    app = console.request.app[application_key]
    try:
        return await _change(console, "set redirect URIs", "redirect_uris", app.set_redirect_uris,
                             console.project_id, uris)
    except RedirectUriRefusedError as e:  # the project's mode changed meanwhile
        return await _page(console, 400, {"redirect_uris": text}, {"redirect_uris": sentence(e.args[0])})


@console_page(needs=ADMIN, changes=True)
async def save_sign_in(console: Console) -> web.StreamResponse:
    """POST …/settings/sign-in: the sign-in and token settings in one save."""
    form = console.form
    values = {"require_verified_email": "require_verified_email" in form,
              "allow_registration": "allow_registration" in form,
              "refresh_reuse_grace": form.get("refresh_reuse_grace", "").strip(),
              "scopes": form.get("scopes", "").strip(), "access_token_ttl": form.get("access_token_ttl", "").strip(),
              "refresh_ttl": form.get("refresh_ttl", "").strip(), "pin_sign_in": "pin_sign_in" in form,
              "pin_refresh_ttl": form.get("pin_refresh_ttl", "").strip(),
              "two_factor_required": "two_factor_required" in form,
              "two_factor_grace": form.get("two_factor_grace", "").strip()}
    changes, errors = {**values}, {}
    for name, read in (("refresh_reuse_grace", inputs.reuse_grace), ("scopes", inputs.scope_list),
                       ("access_token_ttl", lambda text: inputs.token_ttl(text) if text else None),
                       ("refresh_ttl", lambda text: inputs.refresh_ttl(text) if text else None),
                       ("pin_refresh_ttl", lambda text: inputs.refresh_ttl(text) if text else None),
                       ("two_factor_grace", lambda text: inputs.two_factor_grace(text) if text else None)):
        try:
            changes[name] = read(values[name])
        except ValueError as e:
            errors[name] = sentence(e)
    if errors:
        return await _page(console, 400, values, errors)
    for name in ("pin_refresh_ttl", "two_factor_grace"):
        if changes[name] is None:  # left empty: as it was
            del changes[name]
    app = console.request.app[application_key]
    return await _change(console, "change sign-in settings", "sign_in", app.update_project, console.project_id,
                         changes)


@console_page(needs=ADMIN, changes=True)
async def save_branding(console: Console) -> web.StreamResponse:
    """POST …/settings/branding: display name, logo URL (https) and primary colour (WCAG
    AA contrast against white, computed in domain/branding.py), each empty for the default."""
    values = {name: console.form.get(name, "").strip() for name in ("display_name", "logo_url", "primary_color")}
    errors = branding_errors(**values)
    if errors:
        return await _page(console, 400, values, errors)
    app = console.request.app[application_key]
    return await _change(console, "change branding", "branding", app.set_branding, console.project_id,
                         values["display_name"], values["logo_url"], values["primary_color"])


# -- Google and GitHub --------------------------------------------------------------------

@console_page(needs=ADMIN, changes=True)
async def save_provider(console: Console) -> web.StreamResponse:
    """POST …/settings/providers: a provider's client id and secret (the secret to its
    file, its hash to the log)."""
    provider = console.form.get("provider", "")
    if provider not in PROVIDERS:
        return await _page(console, 400, error="Choose Google or GitHub.")
    client_id = console.form.get("client_id", "").strip()
    secret = console.form.get("client_secret", "").strip()
    errors = {}
    for field, value in (("client_id", client_id), ("client_secret", secret)):
        try:
            inputs.provider_value(value)
        except ValueError as e:
            errors[f"{provider}_{field}"] = sentence(f"The {field.replace('_', ' ')} {e}")
    if errors:
        return await _page(console, 400, {f"{provider}_client_id": client_id}, errors)
    return await _providers(console, provider, {provider: (client_id, secret)}, [], "configure provider", "provider")


@console_page(needs=ADMIN, changes=True)
async def remove_provider(console: Console) -> web.StreamResponse:
    """POST …/settings/providers/remove: sign-in with the provider ends."""
    provider = console.form.get("provider", "")
    if provider not in PROVIDERS:
        return await _page(console, 400, error="Choose Google or GitHub.")
    return await _providers(console, provider, {}, [provider], "remove provider", "provider_removed")


async def _providers(console: Console, provider: str, configured: dict[str, tuple[str, str]], removed: list[str],
                     action: str, done: str) -> web.StreamResponse:
    async with secret_lock(console.project_id, PROVIDERS_FILE):  # the API's changes take it too
        if await _is_stale(console):
            return await _page(console, 409, error=STALE)
        web_app = console.request.app
        hashes = await off_loop(save_providers, web_app[vault_key],
                                                                  console.project_id, configured, removed)
        app = web_app[application_key]
        return await _change(console, action, done, app.configure_providers, console.project_id, hashes, removed,
                             target=provider, versioned=False)



# -- Xendit -------------------------------------------------------------------------------

@console_page(needs=ADMIN, changes=True)
async def save_payments_keys(console: Console) -> web.StreamResponse:
    """POST …/settings/payments: the project's own Xendit key (of its mode) and webhook
    token, to their file; their hashes to the log."""
    key = console.form.get("xendit_secret_key", "").strip()
    token = console.form.get("xendit_callback_token", "").strip() or None
    errors = xendit_errors(console.project["mode"], key, token, "xendit")
    if errors:
        return await _page(console, 400, errors=errors)
    async with secret_lock(console.project_id, XENDIT_FILE):
        if await _is_stale(console):
            return await _page(console, 409, error=STALE)
        web_app = console.request.app
        hashes = await off_loop(save_payments, web_app[vault_key], console.project_id,
                                XenditCredentials(key, token))
        app = web_app[application_key]
        return await _change(console, "configure payments", "payments", app.configure_payments,
                             console.project_id, *hashes, versioned=False)


def xendit_errors(mode: str, key: str, token: str | None, prefix: str) -> dict[str, str]:
    """An error per field (`prefix`_secret_key, `prefix`_callback_token), as the CLI checks."""
    errors = {}
    try:
        check_xendit_key(mode, key)
    except ValueError as e:
        errors[f"{prefix}_secret_key"] = sentence(e)
    if token is not None:
        try:
            check_callback_token(token)
        except ValueError as e:
            errors[f"{prefix}_callback_token"] = sentence(e)
    return errors


# -- the project's own client secret ------------------------------------------------------

@console_page(needs=ADMIN, changes=True)
async def rotate_secret(console: Console) -> web.StreamResponse:
    """POST …/settings/rotate-secret: a new secret, shown once; the old one keeps working
    for 24 hours (time to deploy the new one) unless revoked from the page after."""
    client_id = console.project["client_id"]
    return await show_rotated(console, client_id, f"{console.base}/settings/revoke-old-secret",
                              f"{console.base}/settings")


@console_page(needs=ADMIN, changes=True)
async def revoke_old_secret(console: Console) -> web.StreamResponse:
    """POST …/settings/revoke-old-secret: the secret before the last rotation stops now."""
    await revoke_previous(console, console.project["client_id"])
    return see_other(f"{console.base}/settings?done=revoked")


async def show_rotated(console: Console, client_id: str, revoke_path: str, back: str) -> web.Response:
    """Rotate `client_id`'s secret and show the new one, once (the page is no-store)."""
    web_app = console.request.app
    app = web_app[application_key]
    value = await console.change("rotate secret", client_id, app.rotate_secret, client_id, web_app[clock_key].now(),
                                 False)
    return console.render("console/secret_rotated.html", title="New client secret", rotated=value,
                          revoke_path=revoke_path, back=back)


async def revoke_previous(console: Console, client_id: str) -> None:
    app = console.request.app[application_key]
    await console.change("revoke previous secret", client_id, app.revoke_previous_secret, client_id)


# -- going live ---------------------------------------------------------------------------

@console_page(needs=OWNER, changes=True)
async def go_live(console: Console) -> web.StreamResponse:
    """POST …/settings/go-live: the sandbox's live twin (its configuration, none of its
    data), with the sandbox's members, the person going live an owner of it; refused with
    every reason (409) while the sandbox would be unsafe in production. The twin's secrets
    are shown once."""
    if console.project["mode"] != "sandbox":
        return await _page(console, 409, error="This project is live already.")
    key = console.form.get("live_xendit_secret_key", "").strip() or None
    token = console.form.get("live_xendit_callback_token", "").strip() or None
    errors = xendit_errors("live", key, token, "live_xendit") if key else {}
    if token and not key:
        errors["live_xendit_secret_key"] = "Give the live Xendit secret key with its callback token."
    if errors:
        return await _page(console, 400, errors=errors)
    if await _is_stale(console):
        return await _page(console, 409, error=STALE)
    try:
        value, position = await _go_live(console, XenditCredentials(key, token) if key else None)
    except GoLiveRefusedError as e:
        return await _page(console, 409, reasons=e.reasons)
    except AlreadyLiveError:
        return await _page(console, 409, error="This project went live already.")
    except StaleFormError:
        return await _page(console, 409, error=STALE)
    await await_read_model(console.request.app, position)
    return console.render("console/went_live.html", title="Live project created", live=value)


async def _go_live(console: Console, live_key: XenditCredentials | None) -> tuple[dict, int]:
    """The twin's files, then its events in one save (went_live, as the API's go-live),
    with the sandbox's members and the ConsoleAction naming who went live."""
    web_app = console.request.app
    app = web_app[application_key]
    members = await web_app[reads_key].query(members_of, console.project_id)
    viewer = console.viewer
    going_live = None if viewer.admin else (viewer.email, viewer.email_key)

    def save(twin: Twin, smtp_configured: bool) -> Awaitable[tuple[dict, int]]:
        return web_app[writer_key].run(
            app.by_console, viewer.actor, console.project_id, "go live", console.project_id,
            app.go_live_with_members, console.project_id, [m["email_key"] for m in members], going_live,
            viewer.actor, smtp_configured, twin.development, live_xendit=twin.xendit,
            live_project_id=twin.project_id, parts=twin.parts, expected_version=form_version(console))

    return await went_live(web_app, console.project_id, live_key, save)
