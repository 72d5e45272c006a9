"""`astapa serve --demo`: creates the demo project once and prints how to try it (contract,
"Running it"); the demo page exchanges a code server-side and shows the tokens."""

from pathlib import Path

import requests

from tests.flows import PASSWORD, hidden_fields
from tests.process import export_events


def test_demo_project_is_created_once_and_the_flow_works(spawn, tmp_path: Path):
    data_dir = tmp_path / "data"
    server = spawn(data_dir, extra_args=["--demo", "--bcrypt-cost", "10"])
    url = f"http://127.0.0.1:{server.port}"
    assert f"{url}/demo" in server.stdout()
    session = requests.Session()
    start = session.get(f"{url}/demo/start", allow_redirects=False)
    assert start.status_code == 302
    signup = session.get(f"{url}{start.headers['Location']}".replace("/auth/login", "/auth/signup"))
    done = session.post(f"{url}/auth/signup", data={**hidden_fields(signup.text), "email": "demo@example.org",
                                                    "password": PASSWORD, "action": "signup"})
    assert done.status_code == 200 and done.url.startswith(f"{url}/demo/callback")
    assert "demo@example.org" in done.text and "Refresh tokens" in done.text
    refreshed = session.post(f"{url}/demo/refresh", data=hidden_fields(done.text))
    assert refreshed.status_code == 200 and "demo@example.org" in refreshed.text
    server.stop()

    again = spawn(data_dir, extra_args=["--demo"])  # another port: another issuer
    start = requests.get(f"http://127.0.0.1:{again.port}/demo/start", allow_redirects=False)
    login = requests.get(f"http://127.0.0.1:{again.port}{start.headers['Location']}")
    assert login.status_code == 200 and 'name="password"' in login.text
    again.stop()
    projects = [e for e in export_events(data_dir) if e["type"].endswith("Project.Created")
                and e["project_id"] == "proj_demo"]
    assert len(projects) == 1


def test_without_demo_there_are_no_demo_pages(spawn, tmp_path: Path):
    server = spawn(tmp_path / "data")
    assert requests.get(f"http://127.0.0.1:{server.port}/demo").status_code == 404


def test_reuse_grace_a_demo_refresh_whose_answer_was_lost_can_be_sent_again(start_server):
    """The demo's Refresh button pressed, its answer lost (the browser keeps the old
    cookie): pressing it again within the grace refreshes instead of signing out."""
    server = start_server(demo=True)
    session = requests.Session()
    start = session.get(f"{server.url}/demo/start", allow_redirects=False)
    signup = session.get(f"{server.url}{start.headers['Location']}".replace("/auth/login", "/auth/signup"))
    done = session.post(f"{server.url}/auth/signup", data={**hidden_fields(signup.text), "email": "demo@example.org",
                                                           "password": PASSWORD, "action": "signup"})
    assert done.status_code == 200 and "Refresh tokens" in done.text
    held = session.cookies.get("astapa_demo_refresh")
    lost = session.post(f"{server.url}/demo/refresh", data=hidden_fields(done.text))
    assert lost.status_code == 200
    session.cookies.set("astapa_demo_refresh", held, path="/demo")  # as if that answer never came
    again = session.post(f"{server.url}/demo/refresh", data=hidden_fields(lost.text))
    assert again.status_code == 200 and "demo@example.org" in again.text
