"""A project's payments and each one's trail: what Xendit said of it and when (its events,
read from the log itself, which holds every webhook's outcome).

In a sandbox, "Simulate payment" settles a waiting payment the way Xendit's success
webhook does: through the same Payments.apply, so the plan is assigned exactly as it would
be for real money; the log names the console user who pressed it. Never in a live project.
"""

import asyncio

from aiohttp import web

from astapa.console_queries import project_payment, project_payments
from astapa.domain.console import ADMIN
from astapa.domain.payments import CREATED, PENDING
from astapa.web.appkeys import (
    application_key,
    await_read_model,
    payments_key,
    reads_key,
)
from astapa.web.console.events import cursor, moment
from astapa.web.console.frame import Console, console_page
from astapa.web.pages import message, see_other

PAGE = 50
PAYMENT_ID = "{payment_id:pay_[A-Za-z0-9]{1,64}}"
# What the trail shows of each event: its outcome, never what the payer needs to pay.
TRAIL_FIELDS = ("plan", "amount", "currency", "method", "xendit_id", "xendit_payment_id", "reason", "period_end")
DONE = {"simulated": "Payment simulated: it succeeded, as if Xendit had said so."}


@console_page()
async def payments(console: Console) -> web.StreamResponse:
    """GET /dashboard/projects/{project_id}/payments?before=."""
    reads = console.request.app[reads_key]
    rows, after = await reads.query(project_payments, console.project_id,
                                    cursor(console.request.query.get("before")), PAGE)
    for row in rows:
        row["status"] = shown_status(row["status"])
        row["when"] = moment(row["created_at"])
    following = f"{console.base}/payments?before={after}" if after is not None else None
    return console.render("console/payments.html", title="Payments", rows=rows, following=following)


@console_page()
async def payment(console: Console) -> web.StreamResponse:
    """GET /dashboard/projects/{project_id}/payments/{payment_id}."""
    found = await _payment(console)
    if found is None:
        return _missing(console)
    found.update(shown=shown_status(found["status"]), when=moment(found["created_at"]),
                 expires=moment(found["expires_at"]), period=moment(found["period_end"]))
    web_app = console.request.app
    history = await asyncio.get_running_loop().run_in_executor(
        web_app[reads_key].pool, web_app[application_key].payment_history, found["payment_id"])
    return console.render("console/payment.html", title=f"Payment {found['payment_id']}", payment=found,
                          trail=[trail_entry(e) for e in history], may_simulate=_may_simulate(console, found),
                          notice=DONE.get(console.request.query.get("done", "")))


@console_page(needs=ADMIN, changes=True)
async def simulate(console: Console) -> web.StreamResponse:
    """POST /dashboard/projects/{project_id}/payments/{payment_id}/simulate: a sandbox's
    waiting payment succeeds, as Xendit's webhook would say it did."""
    found = await _payment(console) if console.project["mode"] == "sandbox" else None
    if found is None:
        return _missing(console)
    if not _may_simulate(console, found):
        return message(console.request, "Not waiting", "Only a payment still waiting can be simulated.", 409,
                       back=f"{console.base}/payments/{found['payment_id']}", back_text="Back")
    web_app = console.request.app
    payment_id = found["payment_id"]
    position = await web_app[payments_key].apply(
        payment_id, "SUCCEEDED", found["xendit_id"] or f"simulated_{payment_id}", None, found["amount"],
        found["currency"], "simulated in the console", console=(console.viewer.actor, console.project_id))
    await await_read_model(web_app, position)
    return see_other(f"{console.base}/payments/{payment_id}?done=simulated")


async def _payment(console: Console) -> dict | None:
    return await console.request.app[reads_key].query(project_payment, console.project_id,
                                                      console.request.match_info["payment_id"])


def _may_simulate(console: Console, payment: dict) -> bool:
    return console.project["mode"] == "sandbox" and payment["status"] in (CREATED, PENDING) \
        and console.may(ADMIN)


def _missing(console: Console) -> web.Response:
    return message(console.request, "Not found", "There is no such payment.", 404,
                   back=f"{console.base}/payments", back_text="Payments")


def shown_status(status: str) -> str:
    """As the API shows it: a payment Xendit has not answered yet is PENDING too."""
    return PENDING if status == CREATED else status


def trail_entry(event) -> dict:
    """One event of the trail: its name, time and outcome fields."""
    return {"type": type(event).__qualname__, "when": moment(event.timestamp.isoformat()),
            "details": {name: getattr(event, name) for name in TRAIL_FIELDS
                        if getattr(event, name, None) is not None}}
