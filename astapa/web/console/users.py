"""The Users screen: find people by the start of their address, or page through everyone
newest first; and one person's page: what a token would say about them, their plan and
custom claims (one form, so a plan and the claims it goes with change in one save),
disabling, signing them out everywhere, their history and their payments.

The claims form edits the user's own custom claims: the JSON object sent replaces them
(a name left out is removed). `plan` belongs to the Plan select, so the claims field
refuses it rather than guess which of the two was meant.
"""

import json
import unicodedata

from aiohttp import web

from astapa.app import KEEP
from astapa.console_queries import own_claims, plans_listed, user_count, user_history, users_matching, users_newest
from astapa.domain.console import ADMIN
from astapa.domain.errors import InvalidClaimsError, PlanArchivedError, PlanNotFoundError, UserNotFoundError
from astapa.domain.plans import FREE
from astapa.queries import payments_of_user, user_profile
from astapa.web.appkeys import application_key, clock_key, reads_key
from astapa.web.console.frame import Console, console_page, sentence
from astapa.web.console.plans import json_object
from astapa.web.pages import Respond, message, see_other

SUB = "{sub:[1-9][0-9]{0,15}}"  # a user's id in a path, as the management API's
PAGE = 50
HISTORY = 100  # the newest events shown on a user's page
MAX_SEARCH = 254  # an address is at most this long

NOTICES = {
    "saved": "Saved. Tokens issued from now on carry the new plan and claims.",
    "disabled": "Disabled: they cannot sign in, and their sessions and refresh tokens have ended.",
    "enabled": "Enabled: they can sign in again.",
    "signed-out": "Signed out everywhere: every session and refresh token of theirs has ended.",
    "two-factor-off": "Two-factor sign-in is off for this user: they sign in without a second factor until they"
                      " set one up again.",
}


# -- the list -----------------------------------------------------------------------------

@console_page()
async def list_users(console: Console) -> web.StreamResponse:
    """GET {PROJECT}/users[?email=START][&cursor=N]: a search by the start of the address
    (in address order), else everyone newest first, PAGE at a time."""
    reads = console.request.app[reads_key]
    query = console.request.query
    search = query.get("email", "").strip()[:MAX_SEARCH]
    total = await reads.query(user_count, console.project_id)
    next_cursor, more = None, False
    if search:
        found = await reads.query(users_matching, console.project_id, search_key(search), PAGE + 1)
        users, more = found[:PAGE], len(found) > PAGE
    else:
        users, next_cursor = await reads.query(users_newest, console.project_id, cursor_of(query.get("cursor")),
                                               PAGE)
    return console.render("console/users.html", title="Users", users=users, total=total, search=search,
                          more=more, next_cursor=next_cursor, paged="cursor" in query and not search)


def search_key(text: str) -> str:
    """The start of an address as email keys spell it (users.normalise_email): NFC, the
    local part case-folded, the domain lower-cased (IDNA once it is whole)."""
    local, at, domain = unicodedata.normalize("NFC", text).rpartition("@")
    if not at:
        return domain.casefold()
    try:
        domain = domain.lower().encode("idna").decode("ascii")
    except UnicodeError:  # part of a domain: as typed, lower-cased
        domain = domain.lower()
    return f"{local.casefold()}@{domain}"


def cursor_of(value: str | None) -> int | None:
    """A listing's cursor; anything else is the first page."""
    if value and value.isascii() and value.isdigit() and len(value) <= 18:
        return int(value)
    return None


# -- one user -----------------------------------------------------------------------------

@console_page()
async def show_user(console: Console) -> web.StreamResponse:
    """GET {PROJECT}/users/{sub}."""
    user = await _user(console)
    done = console.request.query.get("done", "")
    return await _user_page(console, user, notice=NOTICES.get(done))


@console_page(needs=ADMIN, changes=True)
async def save_user(console: Console) -> web.StreamResponse:
    """POST {PROJECT}/users/{sub}: the plan (when another is chosen, with no end) and the
    custom claims, in one save; a refusal is shown next to its field, nothing saved."""
    user = await _user(console)
    values = {"plan": console.form.get("plan", ""), "claims": console.form.get("claims", "")}
    plans = await _plans(console)
    claims, claims_error = claims_field(values["claims"])
    plan, plan_error = plan_choice(values["plan"], user, plans)
    errors = {name: error for name, error in (("plan", plan_error), ("claims", claims_error)) if error}
    if not errors:
        app = console.request.app[application_key]
        try:
            await _change(console, "save user", user["sub"], app.replace_claims, console.project_id, user["sub"],
                          claims, plan, console.viewer.actor)
        except InvalidClaimsError as e:
            errors["claims"] = sentence(e.args[0])
        except (PlanArchivedError, PlanNotFoundError):
            errors["plan"] = "This plan is no longer offered: choose another."
    if errors:
        return await _user_page(console, user, values=values, errors=errors, status=400)
    return see_other(f"{console.base}/users/{user['sub']}?done=saved")


@console_page(needs=ADMIN, changes=True)
async def set_disabled(console: Console) -> web.StreamResponse:
    """POST {PROJECT}/users/{sub}/disabled with disabled=true|false. Disabling ends every
    session and refresh token at once."""
    user = await _user(console)
    disabled = {"true": True, "1": True, "false": False, "0": False}.get(console.form.get("disabled", ""))
    if disabled is None:
        return message(console.request, "Nothing changed", "Use the Disable or Enable button on the user's page.",
                       400, back=f"{console.base}/users/{user['sub']}", back_text="Back to the user")
    app = console.request.app[application_key]
    await _change(console, "disable user" if disabled else "enable user", user["sub"], app.set_disabled,
                  console.project_id, user["sub"], disabled, console.viewer.actor)
    return see_other(f"{console.base}/users/{user['sub']}?done={'disabled' if disabled else 'enabled'}")


@console_page(needs=ADMIN, changes=True)
async def sign_out(console: Console) -> web.StreamResponse:
    """POST {PROJECT}/users/{sub}/sign-out: every refresh token and session of the user
    stops working (as POST /api/platform/revoke does)."""
    user = await _user(console)
    app = console.request.app[application_key]
    await _change(console, "sign out everywhere", user["sub"], app.revoke_user_tokens, console.project_id,
                  user["sub"], None)
    return see_other(f"{console.base}/users/{user['sub']}?done=signed-out")


@console_page(needs=ADMIN, changes=True)
async def reset_two_factor(console: Console) -> web.StreamResponse:
    """POST {PROJECT}/users/{sub}/two-factor: the user's second factor is turned off (a
    lost phone, or one someone else set up with a stolen session)."""
    user = await _user(console)
    app = console.request.app[application_key]
    await _change(console, "turn off two-factor sign-in", user["sub"], app.reset_two_factor, console.project_id,
                  user["sub"], console.viewer.actor)
    return see_other(f"{console.base}/users/{user['sub']}?done=two-factor-off")


def claims_field(text: str) -> tuple[dict, str | None]:
    """The user's custom claims written in the form, or why they cannot be."""
    claims, error = json_object(text)
    if error is None and "plan" in claims:
        error = 'Leave "plan" out of the claims: choose the plan with the Plan select.'
    return claims, error


def plan_choice(key: str, user: dict, plans: list[dict]):
    """KEEP for the plan the user is on (its end, if any, stays), else an offered plan's
    key; and the error, if any."""
    if key == user["custom_claims"].get("plan", FREE):
        return KEEP, None
    if any(plan["key"] == key and not plan["archived"] for plan in plans):
        return key, None
    return KEEP, "Choose one of the project's plans."


async def _change(console: Console, action: str, sub: str, command, *args) -> None:
    """Console.change on `sub`. The user vanishing meanwhile (erased) is the same 404 as a
    wrong id."""
    try:
        await console.change(action, sub, command, *args)
    except UserNotFoundError:
        raise Respond(_not_found(console)) from None


async def _user(console: Console) -> dict:
    """The user the path names, in this project (another project's is 404)."""
    web_app = console.request.app
    user = await web_app[reads_key].query(user_profile, console.project_id, console.request.match_info["sub"],
                                          web_app[clock_key].now())
    if user is None:
        raise Respond(_not_found(console))
    return user


def _not_found(console: Console) -> web.Response:
    return message(console.request, "Not found", "This project has no such user.", 404,
                   back=f"{console.base}/users", back_text="Users")


async def _plans(console: Console) -> list[dict]:
    return await console.request.app[reads_key].query(plans_listed, console.project_id)


async def _user_page(console: Console, user: dict, values: dict | None = None, errors: dict | None = None,
                     status: int = 200, notice: str | None = None) -> web.Response:
    reads = console.request.app[reads_key]
    sub = user["sub"]
    plans = await _plans(console)
    current = user["custom_claims"].get("plan", FREE)
    own = await reads.query(own_claims, console.project_id, sub) or {}
    if values is None:
        values = {"plan": current, "claims": pretty({k: v for k, v in own.items() if k != "plan"})}
    return console.render(
        "console/user.html", status=status, title=user["email"], user=user, notice=notice,
        current_plan=next((p for p in plans if p["key"] == current), None), current_key=current,
        choices=[p for p in plans if not p["archived"] or p["key"] == current],
        token_claims=pretty(user["custom_claims"]), values=values, errors=errors or {},
        history=await reads.query(user_history, console.project_id, sub, HISTORY), history_limit=HISTORY,
        payments=await reads.query(payments_of_user, console.project_id, sub))


def pretty(value: object) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)
