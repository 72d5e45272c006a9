"""GET /api/platform/users/{sub}?at=TIME (CONTRACT "The log as a product"): the user as
they were then, replayed from the log to their last event at or before TIME.

Events are stamped with the wall clock when saved, so the times asked for here are taken
from it between the changes."""

import time
from datetime import datetime, timezone

import pytest

from tests.conftest import Server, project_on
from tests.management.test_users_and_claims import Api, sub_of
from tests.oauth.test_refresh_token import tokens_for


@pytest.fixture
def project(server: Server) -> dict:
    return project_on(server)


def rfc3339(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat().replace("+00:00", "Z")


def moment() -> float:
    """A wall-clock time strictly between the events saved before and after it."""
    time.sleep(0.02)
    now = time.time()
    time.sleep(0.02)
    return now


def test_the_user_as_they_were_at_each_time(server: Server, project: dict):
    api = Api(server, project)
    before = moment()
    sub = sub_of(tokens_for(server, project, "ada@example.org"))
    signed_up = moment()
    assert api.send("PATCH", f"/users/{sub}/claims", {"team": "research"}).status_code == 200
    claimed = moment()
    assert api.send("PATCH", f"/users/{sub}", {"disabled": True}).status_code == 200
    now = api.get(f"/users/{sub}").json()
    assert now["disabled"] is True and now["custom_claims"]["team"] == "research"

    first = api.get(f"/users/{sub}", at=rfc3339(signed_up))
    assert first.status_code == 200, first.text
    assert first.json()["email"] == "ada@example.org" and first.json()["disabled"] is False
    assert "team" not in first.json()["custom_claims"] and first.json()["custom_claims"]["plan"] == "free"
    second = api.get(f"/users/{sub}", at=rfc3339(claimed)).json()
    assert second["custom_claims"]["team"] == "research" and second["disabled"] is False
    assert api.get(f"/users/{sub}", at=rfc3339(time.time() + 60)).json() == now  # the future: as now
    assert api.get(f"/users/{sub}", at=rfc3339(before)).status_code == 404  # not yet signed up


@pytest.mark.parametrize("at", ["yesterday", "2026-12-01", "2026-12-01T09:00:00", "12345"])
def test_a_time_without_a_zone_is_400(server: Server, project: dict, at: str):
    api = Api(server, project)
    sub = sub_of(tokens_for(server, project, "ada@example.org"))
    answer = api.get(f"/users/{sub}", at=at)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_request"
    assert "RFC 3339" in answer.json()["error_description"]


def test_another_projects_user_is_not_found_at_any_time(server: Server, project: dict):
    sub = sub_of(tokens_for(server, project, "ada@example.org"))
    other = Api(server, project_on(server, name="other"))
    assert other.get(f"/users/{sub}", at=rfc3339(time.time())).status_code == 404
