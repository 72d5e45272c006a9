"""Every read model can be dropped and rebuilt from the log, with the same rows as live."""

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import requests

from projections.runner import SCHEMA_VERSION
from astapa.web.appkeys import application_key, runner_key
from tests.conftest import Server, run_cli


def tables(path: Path, tracking: bool = True) -> dict[str, list[tuple]]:
    conn = sqlite3.connect(path)
    names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
             if tracking or r[0] != "tracking"]
    return {name: sorted(map(tuple, conn.execute(f"SELECT * FROM [{name}]"))) for name in names}


def schema(path: Path) -> list[tuple]:
    conn = sqlite3.connect(path)
    return sorted(conn.execute("SELECT type, name, sql FROM sqlite_master"))


def caught_up(server: Server) -> None:
    deadline = time.monotonic() + 5
    while server.web_app[runner_key].position < server.web_app[application_key].recorder.max_notification_id():
        assert time.monotonic() < deadline
        time.sleep(0.02)


def activity(server: Server, make_project, make_client) -> None:
    project = make_project("read")
    a = make_client("read", "write", project=project, ttl=120)
    make_client(project=make_project())
    token = server.access_token(a)
    requests.post(f"{server.url}/oauth/revoke", data={"token": token}, auth=(a["client_id"], a["client_secret"]))
    server.access_token(a, scope="write")
    users(server, project)
    run_cli("keys", "rotate", "--data-dir", str(server.data_dir))
    caught_up(server)


def users(server: Server, project: dict) -> None:
    """Sign-ups, sign-ins, rotations, a reuse, a user's tokens revoked: every user read model."""
    from tests.flows import Browser, exchange, refresh

    for email in ("a@example.org", "b@example.org"):
        browser = Browser(server.url)
        code = browser.sign_up(browser.authorize_url(project["client_id"]), email).params["code"]
        tokens = exchange(server.url, project, code).json()
        rotated = refresh(server.url, project, tokens["refresh_token"]).json()
        refresh(server.url, project, tokens["refresh_token"])  # a retry within the reuse grace
        # The token the retry superseded is reuse: the family is revoked.
        assert refresh(server.url, project, rotated["refresh_token"]).status_code == 400
    requests.post(f"{server.url}/api/platform/revoke", json={"email": "b@example.org"},
                  auth=(project["client_id"], project["client_secret"])).raise_for_status()
    # Plans, claims, a plan with an end, a disabled user.
    auth = (project["client_id"], project["client_secret"])
    api = f"{server.url}/api/platform"
    requests.post(f"{api}/plans", auth=auth, json={"key": "pro", "name": "Pro", "price": 99000,
                                                   "currency": "IDR", "interval": "year", "claims": {"tier": 2}})
    subs = [u["sub"] for u in requests.get(f"{api}/users", auth=auth).json()["users"]]
    requests.patch(f"{api}/users/{subs[0]}/claims", auth=auth, json={"role": "admin", "plan": "pro"}).raise_for_status()
    requests.put(f"{api}/users/{subs[1]}/plan", auth=auth,
                 json={"plan": "pro", "expires_at": server.clock.now() + 600}).raise_for_status()
    requests.patch(f"{api}/users/{subs[1]}", auth=auth, json={"disabled": True}).raise_for_status()
    # Mail: a verification used, a password reset, a link asked for and left pending.
    from tests.flows import open_link
    from tests.mail import only_action_link, wait_for_outbox

    browser = Browser(server.url)
    code_url = browser.authorize_url(project["client_id"])
    for path in ("forgot-password", "forgot-password"):
        page = browser.get(code_url.replace("/auth/login", f"/auth/{path}"))
        browser.submit(page, path, email="a@example.org", action="send")
    messages = wait_for_outbox(server.data_dir, 4)
    links = {only_action_link(m, server.url) for m in messages if m["To"] == "a@example.org"}
    verify = next(link for link in links if "verify-email" in link)
    reset = next(link for link in links if "reset-password" in link)
    open_link(Browser(server.url), verify)
    open_link(Browser(server.url), reset, password="a brand new passphrase")
    caught_up(server)
    deadline = time.monotonic() + 10
    while server.web_app[application_key].recorder.max_notification_id() > server.web_app[runner_key].position or \
            sqlite3.connect(server.data_dir / "read.db").execute(
                "SELECT COUNT(*) FROM mail WHERE status = 'queued'").fetchone()[0]:
        assert time.monotonic() < deadline, "mail still queued"
        time.sleep(0.05)


def rebuild(data_dir: Path, *extra: str) -> None:
    done = subprocess.run([sys.executable, "scripts/rebuild_projections.py", "--data-dir", str(data_dir), *extra],
                          check=True, capture_output=True, timeout=60)
    assert done.stdout == done.stderr == b"", "quiet when not on a terminal"


def test_rebuild_equals_live_table_by_table(server: Server, make_project, make_client, tmp_path):
    activity(server, make_project, make_client)
    # While serving, a position past events no read model handles may be held in memory
    # only (written within a second): compare the read models, and the position separately.
    live = tables(server.data_dir / "read.db", tracking=False)
    for name in ("clients", "projects", "revoked_access_tokens", "signing_keys", "users", "refresh_families"):
        assert live[name], name
    rebuild(server.data_dir, "--into", str(tmp_path / "one.db"))
    rebuild(server.data_dir, "--into", str(tmp_path / "two.db"))
    assert tables(tmp_path / "one.db", tracking=False) == live
    assert tables(tmp_path / "two.db") == tables(tmp_path / "one.db")  # rebuild is idempotent
    last = server.web_app[application_key].recorder.max_notification_id()
    assert tables(tmp_path / "one.db")["tracking"] == [("read_models", last), ("schema_version", SCHEMA_VERSION)]
    assert server.web_app[runner_key].position == last
    assert schema(tmp_path / "one.db") == schema(server.data_dir / "read.db")


def test_in_place_rebuild_refuses_while_serving_and_answers_the_same_after(
        start_server, make_project, make_client, server: Server):
    activity(server, make_project, make_client)
    client = make_client("read")
    refused = subprocess.run([sys.executable, "scripts/rebuild_projections.py", "--data-dir", str(server.data_dir)],
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1 and "stop it first" in refused.stderr
    live = tables(server.data_dir / "read.db")
    server.stop()
    rebuild(server.data_dir)
    assert tables(server.data_dir / "read.db") == live
    again = start_server()
    assert again.token(client).json()["scope"] == "read"
    assert again.token({**client, "client_secret": "wrong"}).status_code == 401


def without_console(read_models: dict) -> dict:
    """The read models but the console project's rows (a server started under another
    issuer adds its callback there)."""
    return {name: [row for row in rows if "proj_console" not in row] for name, rows in read_models.items()}


def test_read_models_of_another_version_are_rebuilt_at_start(start_server, data_dir):
    """A read.db written by another version of the projections (its tables a different
    shape) is dropped and built again from the log when the server starts."""
    import sqlite3 as sqlite

    from tests.conftest import project_on
    from tests.oauth.test_refresh_token import tokens_for

    server = start_server()
    project = project_on(server)
    tokens_for(server, project, "kept@example.org")
    from tests.mail import wait_for_outbox

    wait_for_outbox(data_dir, 1)  # the verification mail is out: nothing changes after this
    deadline = time.monotonic() + 10
    while sqlite3.connect(data_dir / "read.db").execute(
            "SELECT COUNT(*) FROM mail WHERE status = 'queued'").fetchone()[0]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    caught_up(server)
    live = without_console(tables(data_dir / "read.db", tracking=False))
    server.stop()
    with sqlite.connect(data_dir / "read.db") as db:  # as an older version left it
        db.execute("UPDATE tracking SET position = 1 WHERE name = 'schema_version'")
        db.execute("ALTER TABLE users DROP COLUMN plan_claims")
    server = start_server()  # on another port: the console's project gains that callback
    caught_up(server)
    assert without_console(tables(data_dir / "read.db", tracking=False)) == live
    auth = (project["client_id"], project["client_secret"])
    users = requests.get(f"{server.url}/api/platform/users", auth=auth, timeout=10).json()["users"]
    assert [u["email"] for u in users] == ["kept@example.org"]


def test_read_models_as_they_were_at_a_time(server: Server, make_project, tmp_path):
    """--until: the read models of the log up to a time, for auditors; the live ones stay."""
    from datetime import datetime, timezone

    from tests.oauth.test_refresh_token import tokens_for

    project = make_project()
    tokens_for(server, project, "ada@example.org")
    time.sleep(0.05)
    then = datetime.now(timezone.utc)
    time.sleep(0.05)
    tokens_for(server, project, "bo@example.org")
    caught_up(server)
    rebuild(server.data_dir, "--into", str(tmp_path / "then.db"), "--until", then.isoformat())
    emails = sorted(row[0] for row in sqlite3.connect(tmp_path / "then.db").execute("SELECT email FROM users"))
    assert emails == ["ada@example.org"]
    live = sorted(row[0] for row in sqlite3.connect(server.data_dir / "read.db").execute("SELECT email FROM users"))
    assert live == ["ada@example.org", "bo@example.org"]
    for wrong in (["--until", then.isoformat()], ["--into", str(tmp_path / "x.db"), "--until", "yesterday"]):
        refused = subprocess.run([sys.executable, "scripts/rebuild_projections.py", "--data-dir",
                                  str(server.data_dir), *wrong], capture_output=True, text=True, timeout=60)
        assert refused.returncode == 2 and "--until" in refused.stderr.strip().splitlines()[-1], refused.stderr
