"""The Plans screen: the project's catalog, a new plan, a plan's page to change its name,
price and claims, and archiving.

A plan's fields follow the management API's rules (its schemas in openapi.json, read
through management.broken_plan_fields, and the commands' own checks), so a plan the
console accepts is one the API would. Changes apply from now on: users already on a plan
keep the claims they got, payments keep their price. An archived plan is no longer offered
(assigned or paid for) but stays listed, for the users still on it; `free` is built in.
"""

import json

from aiohttp import web

from astapa.console_queries import plan_listed, plans_listed
from astapa.domain.console import ADMIN
from astapa.domain.errors import InvalidClaimsError, PlanExistsError, PlanNotFoundError
from astapa.domain.plans import CURRENCIES, FREE, INTERVALS
from astapa.web import bodies
from astapa.web.appkeys import application_key, reads_key
from astapa.web.console.frame import Console, console_page, sentence
from astapa.web.management import NEW_PLAN, PLAN_CHANGE, PLAN_FIELDS, broken_plan_fields
from astapa.web.pages import Respond, message, see_other
from astapa.web.schemas import strip

KEY = "{key:[a-z0-9][a-z0-9_-]{0,62}}"  # a plan's key in a path, as the management API's
NOTICES = {
    "created": "Plan created. Assign it to users on their pages, or take payments for it.",
    "saved": "Saved. Users already on the plan keep what they got; new assignments get this.",
    "archived": "Archived: no longer offered. Users on it keep it.",
}
NEW_VALUES = {"key": "", "name": "", "price": "", "currency": CURRENCIES[0], "interval": INTERVALS[0], "claims": ""}


@console_page()
async def list_plans(console: Console) -> web.StreamResponse:
    """GET {PROJECT}/plans."""
    done = console.request.query.get("done", "")
    return await _plans_page(console, dict(NEW_VALUES), {}, notice=NOTICES.get(done))


@console_page(needs=ADMIN, changes=True)
async def create_plan(console: Console) -> web.StreamResponse:
    """POST {PROJECT}/plans: a key already used (or `free`) is refused next to "Key"."""
    values = {name: console.form.get(name, "") for name in NEW_VALUES}
    document, errors = plan_document(values, new=True)
    if not errors:
        app = console.request.app[application_key]
        try:
            await _change(console, "create plan", document["key"], app.create_plan, console.project_id,
                          document["key"], document["name"], document["price"], document["currency"],
                          document["interval"], document.get("claims", {}), console.viewer.actor)
        except PlanExistsError:
            errors["key"] = "A plan with this key exists already (free is built in): choose another key."
            return await _plans_page(console, values, errors, status=409)
        except InvalidClaimsError as e:
            errors["claims"] = sentence(e.args[0])
    if errors:
        return await _plans_page(console, values, errors, status=400)
    return see_other(f"{console.base}/plans?done=created")


@console_page()
async def show_plan(console: Console) -> web.StreamResponse:
    """GET {PROJECT}/plans/{key}."""
    plan = await _plan(console)
    done = console.request.query.get("done", "")
    return _plan_page(console, plan, _edit_values(plan), {}, notice=NOTICES.get(done))


@console_page(needs=ADMIN, changes=True)
async def change_plan(console: Console) -> web.StreamResponse:
    """POST {PROJECT}/plans/{key}: name, price and claims, from now on."""
    plan = await _plan(console)
    if plan["key"] == FREE:
        return _built_in(console)
    values = {name: console.form.get(name, "") for name in ("name", "price", "claims")}
    changes, errors = plan_document(values, new=False)
    if not errors:
        app = console.request.app[application_key]
        try:
            await _change(console, "change plan", plan["key"], app.change_plan, console.project_id, plan["key"],
                          changes, console.viewer.actor)
        except InvalidClaimsError as e:
            errors["claims"] = sentence(e.args[0])
    if errors:
        return _plan_page(console, plan, values, errors, status=400)
    return see_other(f"{console.base}/plans/{plan['key']}?done=saved")


@console_page(needs=ADMIN, changes=True)
async def archive_plan(console: Console) -> web.StreamResponse:
    """POST {PROJECT}/plans/{key}/archive."""
    plan = await _plan(console)
    if plan["key"] == FREE:
        return _built_in(console)
    app = console.request.app[application_key]
    await _change(console, "archive plan", plan["key"], app.archive_plan, console.project_id, plan["key"],
                  console.viewer.actor)
    return see_other(f"{console.base}/plans/{plan['key']}?done=archived")


def plan_document(values: dict[str, str], new: bool) -> tuple[dict, dict[str, str]]:
    """The plan form as the API's body (a new plan's, or a change's with name, price and
    claims), and an error per field, as the API's rules have them."""
    document: dict = {name: values[name] for name in ("key", "currency", "interval") if new}
    document["name"] = values["name"]
    document["price"] = _price(values["price"])
    errors: dict[str, str] = {}
    claims, claims_error = json_object(values["claims"])
    if claims_error:
        errors["claims"] = claims_error
    else:
        document["claims"] = claims
    failures = (NEW_PLAN if new else PLAN_CHANGE).failures(document)
    for field in broken_plan_fields(document, failures):
        errors.setdefault(field, field_message(field))
    document["name"] = strip(document["name"])
    return document, errors


def json_object(text: str) -> tuple[dict, str | None]:
    """A claims field: the JSON object written (empty: none), or why it is not one. The
    names and sizes are the commands' to check (users.check_custom_claims)."""
    try:
        return bodies.json_value((text.strip() or "{}").encode(), dict), None  # type: ignore[return-value]
    except bodies.BodyError as e:
        return {}, JSON_ERRORS.get(e.reason, JSON_ERRORS[bodies.SYNTAX])


JSON_ERRORS = {
    bodies.SYNTAX: "This is not valid JSON: check the quotes, commas and brackets.",
    bodies.TYPE: 'Write a JSON object, such as {"team": "blue"}, or leave it empty for none.',
    bodies.REPEATED: "A claim name is given twice.",
}


def field_message(field: str) -> str:
    """The API's message for a field ("price: a whole number ..."), as a sentence."""
    return sentence(PLAN_FIELDS[field].split(": ", 1)[1])


def _price(text: str) -> int | str:
    """Digits are a whole number of the currency's unit; anything else is left for the
    schema to refuse."""
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 15 else text


async def _change(console: Console, action: str, key: str, command, *args) -> None:
    """Console.change on plan `key`; a plan gone meanwhile is 404."""
    try:
        await console.change(action, key, command, *args)
    except PlanNotFoundError:
        raise Respond(_not_found(console)) from None


async def _plan(console: Console) -> dict:
    plan = await console.request.app[reads_key].query(plan_listed, console.project_id,
                                                      console.request.match_info["key"])
    if plan is None:
        raise Respond(_not_found(console))
    return plan


def _not_found(console: Console) -> web.Response:
    return message(console.request, "Not found", "This project has no such plan.", 404,
                   back=f"{console.base}/plans", back_text="Plans")


def _built_in(console: Console) -> web.Response:
    return message(console.request, "Nothing changed", "The free plan is built in: it cannot be changed or"
                   " archived.", 400, back=f"{console.base}/plans/{FREE}", back_text="Back to the plan")


def _edit_values(plan: dict) -> dict[str, str]:
    return {"name": plan["name"], "price": str(plan["price"]), "claims": pretty(plan["claims"])}


def pretty(claims: dict) -> str:
    return json.dumps(claims, indent=2, ensure_ascii=False) if claims else ""


async def _plans_page(console: Console, values: dict, errors: dict, status: int = 200,
                      notice: str | None = None) -> web.Response:
    plans = await console.request.app[reads_key].query(plans_listed, console.project_id)
    return console.render("console/plans.html", status=status, title="Plans", plans=plans, values=values,
                          errors=errors, notice=notice, currencies=CURRENCIES, intervals=INTERVALS)


def _plan_page(console: Console, plan: dict, values: dict, errors: dict, status: int = 200,
               notice: str | None = None) -> web.Response:
    return console.render("console/plan.html", status=status, title=plan["name"], plan=plan, values=values,
                          errors=errors, notice=notice, claims_json=pretty(plan["claims"]) or "{}",
                          built_in=plan["key"] == FREE)
