"""A project's overview: how it is used (the last 30 days, as a chart drawn on the server:
the console runs no script) and what a developer needs to connect an app to it."""

from datetime import datetime, timezone

from aiohttp import web

from astapa.console_queries import active_users, daily_counts, user_count
from astapa.oauth.servers import project_issuer
from astapa.web.appkeys import clock_key, reads_key, settings_key
from astapa.web.console.frame import Console, console_page

DAYS = 30
# The chart's drawing box (SVG user units; CSS scales it to the page's width).
SLOT, BAR, PLOT_HEIGHT, TOP = 20, 8, 100, 10


@console_page()
async def overview(console: Console) -> web.StreamResponse:
    """GET /dashboard/projects/{project_id}."""
    web_app = console.request.app
    reads, project_id = web_app[reads_key], console.project_id
    today = datetime.fromtimestamp(web_app[clock_key].now(), timezone.utc).date()
    days = await reads.query(daily_counts, project_id, today, DAYS)
    totals = {name: sum(day[name] for day in days) for name in ("signups", "signins", "tokens")}
    totals["users"] = await reads.query(user_count, project_id)
    totals["active"] = await reads.query(active_users, project_id, today, DAYS)
    issuer = project_issuer(web_app[settings_key].issuer, project_id)
    return console.render("console/overview.html", title="Overview", totals=totals, chart=chart(days),
                          summary=summary(days, totals), issuer=issuer,
                          discovery=f"{issuer}/.well-known/openid-configuration")


def chart(days: list[dict]) -> dict:
    """Two bars a day (sign-ups, sign-ins), scaled to the busiest day; each bar's title
    names its day and count (what a pointer or a screen reader finds)."""
    highest = max([1, *(day[name] for day in days for name in ("signups", "signins"))])
    bars = []
    for i, day in enumerate(days):
        for offset, name, noun in ((2, "signups", "sign-up"), (2 + BAR + 1, "signins", "sign-in")):
            count = day[name]
            height = round(count / highest * PLOT_HEIGHT)
            bars.append({"x": i * SLOT + offset, "y": TOP + PLOT_HEIGHT - height, "width": BAR,
                         "height": height, "kind": name, "title": f"{day['day']}: {plural(count, noun)}"})
    return {"width": len(days) * SLOT, "height": TOP + PLOT_HEIGHT + 1, "base": TOP + PLOT_HEIGHT,
            "bars": bars, "first": days[0]["day"], "last": days[-1]["day"]}


def summary(days: list[dict], totals: dict) -> str:
    """The chart in one sentence (its accessible name)."""
    today = days[-1]
    return (f"Sign-ups and sign-ins per day, {days[0]['day']} to {today['day']}: "
            f"{plural(totals['signups'], 'sign-up')} and {plural(totals['signins'], 'sign-in')} in all; "
            f"today {plural(today['signups'], 'sign-up')} and {plural(today['signins'], 'sign-in')}.")


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
