"""Asking a signed-in person to prove it is them again, before a change that could lock
them out or let someone else in (the account page, setting a PIN): the current password,
counted in the sign-in throttles; or, for an account without one, a sign-in of the last
ten minutes that was not by a PIN alone (a PIN proves the browser more than the person)."""

from aiohttp import web

from astapa.app.accounts import SessionOwner
from astapa.domain.sessions import PIN
from astapa.queries import user_password_hash
from astapa.web.appkeys import clock_key, passwords_key, reads_key, throttles_key
from astapa.web.pages.flow import minutes

RECENT_SIGN_IN = 600  # seconds


def signed_in_lately(web_app: web.Application, owner: SessionOwner) -> bool:
    return web_app[clock_key].now() - owner.auth_time <= RECENT_SIGN_IN and list(owner.amr) != [PIN]


async def reauthenticated(web_app: web.Application, owner: SessionOwner, password: str) -> str | None:
    """None when the person proved it is them again; otherwise what to tell them."""
    stored = await web_app[reads_key].query(user_password_hash, owner.project_id, owner.sub)
    if stored is None:
        return None if signed_in_lately(web_app, owner) else \
            "Sign out and sign in again, then do this within ten minutes."
    throttle = web_app[throttles_key].sign_in("live").account
    account = f"{owner.project_id}/account:{owner.sub}"
    if wait := throttle.retry_after(account):
        return f"Too many attempts. Try again in {minutes(wait)}."
    throttle.fail(account)  # counted before the check (a right password clears it)
    if not await web_app[passwords_key].verify(password, stored):
        return "That is not your current password."
    throttle.clear(account)
    return None


def is_key(value: str) -> bool:
    """An aggregate key as the pages name them (32 lower-case hex digits)."""
    return len(value) == 32 and all(c in "0123456789abcdef" for c in value)
