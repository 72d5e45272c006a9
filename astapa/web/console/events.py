"""A project's events, newest first: what happened, to whom, and who caused it (a console
user, the management API, the CLI, Xendit or the user themself)."""

from datetime import datetime, timezone
from urllib.parse import urlencode

from aiohttp import web

from astapa.console_queries import event_types, project_events, sub_of
from astapa.domain.errors import InvalidEmailError
from astapa.domain.users import normalise_email
from astapa.web.appkeys import reads_key
from astapa.web.console.frame import Console, console_page

PAGE = 50
MAX_FILTER = 200


@console_page()
async def events(console: Console) -> web.StreamResponse:
    """GET /dashboard/projects/{project_id}/events?type=&user=&actor=&before=."""
    query = console.request.query
    reads, project_id = console.request.app[reads_key], console.project_id
    shown = {name: query.get(name, "").strip()[:MAX_FILTER] for name in ("type", "user", "actor")}
    subject = await _subject(console, shown["user"])
    rows, after = await reads.query(project_events, project_id, cursor(query.get("before")), PAGE,
                                    {"type": shown["type"], "subject": subject, "actor": shown["actor"]})
    for row in rows:
        row["when"] = moment(row["timestamp"])
        row["user"] = row["subject"].isdigit()
    following = f"{console.base}/events?{urlencode({**shown, 'before': after})}" if after is not None else None
    return console.render("console/events.html", title="Events", rows=rows, shown=shown,
                          types=await reads.query(event_types, project_id), following=following,
                          filtered=any(shown.values()))


async def _subject(console: Console, user: str) -> str:
    """What the User filter matches: a sub as given; an address as its user's sub, or as
    the address itself (the subject of membership events); anything else (a client id, a
    plan's key) as given."""
    if not user or user.isdigit() or "@" not in user:
        return user
    try:
        email, email_key = normalise_email(user)
    except InvalidEmailError:
        return user
    sub = await console.request.app[reads_key].query(sub_of, console.project_id, email_key)
    return sub or email


def cursor(value: str | None) -> int | None:
    """A page's cursor (a log position); anything else is the first page."""
    return int(value) if value and value.isascii() and value.isdigit() and len(value) < 19 else None


def moment(value: str | float | None) -> str:
    """A time as the console shows it: to the second, in UTC."""
    if value is None or value == "":
        return ""
    when = datetime.fromtimestamp(value, timezone.utc) if isinstance(value, (int, float)) \
        else datetime.fromisoformat(value).astimezone(timezone.utc)
    return when.strftime("%Y-%m-%d %H:%M:%S UTC")
