"""Passkey ceremonies on the hosted pages (passkey_pages.py and account.py use them): sign
in with one, sign up with one and no password, and add one on the account page. The one place the pages run a script (/static/passkeys.js,
allowed by the page's CSP as script-src 'self'); without it every other way works.

A ceremony's challenge travels with the page sealed under the service's second-factor key
with its purpose and project (so no server keeps it, and any node can check it), and is
good for ten minutes; a sign-in records its challenge, so a response is never accepted
twice. Responses are verified by py_webauthn (astapa/passkeys.py) off the event loop.
"""

import base64
import json
from datetime import datetime, timezone

from aiohttp import web

from astapa.domain.passkeys import passkey_user_handle
from astapa.passkeys import authentication_options, origin_of, registration_options, rp_id_of, verify_registration
from astapa.second_factor import SealError
from astapa.web.appkeys import ceremonies_key, clock_key, settings_key
from astapa.web.context import off_loop

STATE_FOR = 600  # seconds a ceremony's challenge is good for
NOT_HERE = "This passkey is not registered for this app. Sign in another way."


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _seal(web_app: web.Application, purpose: str, project_id: str, challenge: bytes, **more) -> str:
    state = {"challenge": _b64(challenge), "until": web_app[clock_key].now() + STATE_FOR, **more}
    return web_app[ceremonies_key].seal(json.dumps(state), f"passkey-{purpose}:{project_id}")


def opened(web_app: web.Application, purpose: str, project_id: str, sealed: str) -> dict | None:
    """A ceremony's state while it is good (its challenge as bytes); None otherwise."""
    try:
        state = json.loads(web_app[ceremonies_key].open(sealed[:4096], f"passkey-{purpose}:{project_id}"))
    except (SealError, ValueError):
        return None
    if web_app[clock_key].now() >= state["until"]:
        return None
    return {**state, "challenge": unb64(state["challenge"])}


def relying_party(web_app: web.Application) -> tuple[str, str]:
    issuer = web_app[settings_key].issuer
    return rp_id_of(issuer), origin_of(issuer)


# -- signing in -----------------------------------------------------------------------------------

def sign_in_offer(web_app: web.Application, project_id: str) -> dict:
    """What the login page's passkey form carries: the options and their sealed state."""
    options, challenge = authentication_options(relying_party(web_app)[0])
    return {"options": options, "state": _seal(web_app, "sign-in", project_id, challenge)}


# -- registering: on the account page, and signing up with a passkey alone ------------------------------

def registration_offer(web_app: web.Application, purpose: str, project_id: str, project_name: str, sub: str,
                       email: str, exclude: list[str]) -> dict:
    """The options to create a passkey for (project_id, sub), named `email` on the device,
    and their sealed state; `exclude`: the user's passkeys (credential keys)."""
    options, challenge = registration_options(
        relying_party(web_app)[0], project_name or "Astapa", passkey_user_handle(project_id, sub), email,
        [unb64(key) for key in exclude])
    return {"options": options, "state": _seal(web_app, purpose, project_id, challenge, sub=sub, email=email)}


async def registered(web_app: web.Application, state: dict, response: str):
    """The passkey a create() response made, verified (RegisteredPasskey); PasskeyError."""
    rp_id, origin = relying_party(web_app)
    return await off_loop(verify_registration, response, state["challenge"], rp_id, origin)


def passkey_name(web_app: web.Application) -> str:
    return "Passkey added " + datetime.fromtimestamp(web_app[clock_key].now(), timezone.utc).strftime("%Y-%m-%d")
