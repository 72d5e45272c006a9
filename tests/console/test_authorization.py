"""Authorization on every console route, found by walking the route table: a stranger (a
console user who is no member) gets 404 for every project page, as for a project that does
not exist; a viewer reads but every change is 403 and records nothing."""

import re

import pytest

from astapa.web.appkeys import application_key
from tests.conftest import Server
from tests.console.conftest import ConsoleBrowser, create_project, member_browser

# Values for the other parts of project paths: plausible, so a refusal is the role's doing.
SAMPLES = {"sub": "1", "key": "free", "payment_id": "pay_0", "client_id": "cid_0", "email": "a@example.com",
           "message_id": "0" * 32, "webhook_id": "0" * 32}
# Pages a viewer may not open: a sandbox mail's links act as the user (console/inbox.py).
ADMINS_ONLY = {"/dashboard/projects/{project_id}/inbox/{message_id}"}


def project_routes(server: Server) -> list[tuple[str, str]]:
    routes = []
    for route in server.web_app.router.routes():
        path = route.resource.canonical
        if route.method != "HEAD" and path.startswith("/dashboard/projects/{project_id"):
            routes.append((route.method, path))
    assert len(routes) >= 3, routes
    return sorted(set(routes))


def fill(path: str, project_id: str) -> str:
    path = re.sub(r"\{project_id[^}]*\}", project_id, path)
    return re.sub(r"\{(\w+)[^}]*\}", lambda m: SAMPLES.get(m.group(1), "x"), path)


def plain(path: str) -> str:
    """A route's path without its placeholders' patterns."""
    return re.sub(r"\{(\w+)[^}]*\}", r"{\1}", path)


def log_position(server: Server) -> int:
    return server.web_app[application_key].recorder.max_notification_id() or 0


@pytest.fixture
def project(admin: ConsoleBrowser) -> dict:
    return create_project(admin)


def test_a_stranger_gets_404_on_every_project_route(server: Server, admin: ConsoleBrowser, project: dict):
    stranger = member_browser(server, "stranger@example.com")
    for method, path in project_routes(server):
        url = fill(path, project["project_id"])
        before = log_position(server)
        answer = stranger.get(url) if method == "GET" else stranger.post(url)
        assert answer.status_code == 404, (method, url, answer.status_code)
        assert project["project_id"] not in answer.text and "Shop" not in answer.text
        assert log_position(server) == before, (method, url)


def test_a_viewer_reads_every_page_and_changes_nothing(server: Server, admin: ConsoleBrowser, project: dict):
    viewer = member_browser(server, "viewer@example.com", project["project_id"], "viewer")
    for method, path in project_routes(server):
        url = fill(path, project["project_id"])
        before = log_position(server)
        if method == "GET":
            answer = viewer.get(url)
            # Pages of the project itself open; a page of a sample that does not exist is 404.
            samples = re.findall(r"\{(\w+)", path)[1:]
            expected = {403} if plain(path) in ADMINS_ONLY else {200, 404} if samples else {200}
            assert answer.status_code in expected, (url, answer.status_code)
        else:
            answer = viewer.post(url, name="Changed", redirect_uris="https://evil.example/cb", role="owner",
                                 email="viewer@example.com", disabled="1", claims="{}")
            assert answer.status_code == 403, (method, url, answer.status_code)
        assert log_position(server) == before, (method, url)
    overview = viewer.get(f"/dashboard/projects/{project['project_id']}")
    assert overview.status_code == 200 and "Shop" in overview.text


def test_a_viewer_sees_only_the_projects_they_belong_to(server: Server, admin: ConsoleBrowser, project: dict):
    other = create_project(admin, name="Other")
    viewer = member_browser(server, "viewer@example.com", project["project_id"], "viewer")
    listing = viewer.get("/dashboard")
    assert "Shop" in listing.text and "Other" not in listing.text
    assert viewer.get(f"/dashboard/projects/{other['project_id']}").status_code == 404


def test_a_project_that_does_not_exist_is_404_like_one_you_do_not_belong_to(server: Server, admin: ConsoleBrowser):
    assert admin.get("/dashboard/projects/proj_doesnotexist").status_code == 404
