"""What the Users and Plans tests share: people signed up to a project made in the console,
the management API's view of them, and the project's log as read.db records it."""

import sqlite3
import time

import requests

from tests.conftest import Server
from tests.flows import Browser, exchange

SHOP_CALLBACK = "https://shop.example/cb"


def signed_up(server: Server, project: dict, email: str) -> dict:
    """A person signed up on the project's hosted pages, and their tokens."""
    browser = Browser(server.url)
    redirect = browser.sign_up(browser.authorize_url(project["client_id"], SHOP_CALLBACK, scope="openid email"),
                               email)
    response = exchange(server.url, project, redirect.params["code"], redirect_uri=SHOP_CALLBACK)
    assert response.status_code == 200, response.text
    return response.json()


def sub_of(server: Server, project: dict, email: str) -> str:
    users = api(server, project, "/users", email=email).json()["users"]
    assert len(users) == 1, users
    return users[0]["sub"]


def api(server: Server, project: dict, path: str, **params: str) -> requests.Response:
    """GET on the management API as the project's own client."""
    return requests.get(f"{server.url}/api/platform{path}", params=params or None,
                        auth=(project["client_id"], project["client_secret"]), timeout=10)


def console_actions(server: Server, project_id: str, action_target: str | None = None,
                    expected: int = 1, timeout: float = 3.0) -> list[dict]:
    """The project's ConsoleAction.Recorded rows in read.db's log (waiting briefly for
    `expected` of them, with `action_target` as their subject if given)."""
    deadline = time.monotonic() + timeout
    while True:
        conn = sqlite3.connect(f"file:{server.data_dir / 'read.db'}?mode=ro", uri=True)
        conn.row_factory = sqlite3.Row
        try:
            rows = [dict(r) for r in conn.execute(
                "SELECT type, subject, actor FROM project_events WHERE project_id = ? AND type = ?"
                " ORDER BY position", (project_id, "ConsoleAction.Recorded"))]
        finally:
            conn.close()
        if action_target is not None:
            rows = [r for r in rows if r["subject"] == action_target]
        if len(rows) >= expected or time.monotonic() > deadline:
            return rows
        time.sleep(0.05)
