"""A receiver that never answers: it holds a few of the sender's workers, never the other
projects' deliveries, and its attempts still follow the schedule (the backoff counts from
the start of an attempt, not from when its timeout was recorded)."""

import time
from datetime import datetime

import pytest

from tests.conftest import project_on
from tests.management.test_users_and_claims import Api
from tests.webhooks.receiver import Receiver
from tests.webhooks.test_webhooks_api import sign_up, subscribe, wait_attempts
from tests.webhooks.test_webhooks_restart import wait_log


@pytest.fixture
def hanging():
    receiver = Receiver().start()
    receiver.hang = 60.0
    yield receiver
    receiver.stop()


@pytest.fixture
def healthy():
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


def test_a_hanging_receiver_does_not_hold_up_another_project(start_server, hanging: Receiver, healthy: Receiver):
    from astapa.webhooks.sender import Sender

    server = start_server(signups_per_ip=1000, webhook_allow_http_loopback=True, webhook_timeout=3.0)
    slow_project, fast_project = project_on(server, name="slow"), project_on(server, name="fast")
    slow = Api(server, slow_project)
    created = subscribe(slow, hanging.url, ["user.created"])
    subscribe(Api(server, fast_project), healthy.url, ["user.created"])
    users = 10
    for n in range(users):
        sign_up(server, slow_project, f"slow{n}@example.org")
    wait_log(slow, created["webhook_id"], lambda log: len(log) == users and all(d["attempts"] == 1 for d in log),
             timeout=30)
    server.clock.advance(5)  # every retry falls due at once, and hangs again
    hanging.wait_for(users + 1)
    started = time.monotonic()
    sign_up(server, fast_project, "fast@example.org")
    healthy.wait_for(1)
    assert time.monotonic() - started < 1.5
    assert len(hanging.received) <= users + Sender.PER_WEBHOOK  # a few at a time to one webhook


def test_attempts_that_time_out_keep_the_first_three_within_a_minute(start_server, hanging: Receiver):
    server = start_server(webhook_allow_http_loopback=True, webhook_timeout=1.0)
    project = project_on(server)
    api = Api(server, project)
    created = subscribe(api, hanging.url, ["user.created"])
    sign_up(server, project, "slow@example.org")
    hanging.wait_for(1)
    started = server.clock.now()
    server.clock.advance(10)  # the attempt takes 10 s by the clock before it times out
    first = wait_attempts(api, created["webhook_id"], 1)
    assert "Timeout" in first["last_error"]
    assert seconds(first["next_attempt_at"]) == pytest.approx(started + 5, abs=0.01)
    hanging.wait_for(2)  # due already: 5 s after the first attempt started
    wait_attempts(api, created["webhook_id"], 2)
    server.clock.advance(30)
    received = hanging.wait_for(3)
    stamps = [int(r.headers["webhook-timestamp"]) for r in received]
    assert stamps[1] - stamps[0] == 10 and stamps[2] - stamps[0] == 40 < 60


def seconds(moment: str) -> float:
    return datetime.fromisoformat(moment.replace("Z", "+00:00")).timestamp()
