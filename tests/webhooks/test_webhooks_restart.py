"""Nothing lost, nothing sent twice across restarts: the follower's position and each
delivery are in the store, so a server started again on the same data resumes where the
last one stopped. And a target is checked again at each delivery, not only when made."""

import pytest

from tests.conftest import project_on
from tests.management.test_users_and_claims import Api
from tests.webhooks.receiver import Receiver
from tests.webhooks.test_webhooks_api import (
    sign_up,
    subscribe,
    wait_attempts,
    wait_delivery,
)


@pytest.fixture
def receiver():
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


def test_a_restart_delivers_each_event_once(start_server, receiver: Receiver):
    server = start_server(webhook_allow_http_loopback=True)
    project = project_on(server)
    api = Api(server, project)
    created = subscribe(api, receiver.url, ["user.created"])
    receiver.failing = True
    sign_up(server, project, "first@example.org")
    receiver.wait_for(1)
    wait_attempts(api, created["webhook_id"], 1)
    sign_up(server, project, "second@example.org")
    wait_log(api, created["webhook_id"], lambda log: len(log) == 2 and all(d["attempts"] == 1 for d in log))
    server.stop()
    receiver.failing = False
    server = start_server(webhook_allow_http_loopback=True)
    api = Api(server, project)
    server.clock.advance(5)  # the retries fall due
    receiver.wait_for(4)
    sign_up(server, project, "third@example.org")
    received = receiver.wait_for(5)
    assert receiver.quiet() == 5
    ids = [r.headers["webhook-id"] for r in received]
    delivered = [r.document["data"]["email"] for r in received[2:]]
    assert sorted(delivered) == ["first@example.org", "second@example.org", "third@example.org"]
    assert len(set(ids)) == 3  # each event under one id, however often tried
    log = api.get(f"/webhooks/{created['webhook_id']}/deliveries").json()["deliveries"]
    assert [d["status"] for d in log] == ["delivered"] * 3
    assert [d["attempts"] for d in log] == [1, 2, 2]


def wait_log(api: Api, webhook_id: str, wanted, timeout: float = 10.0) -> list[dict]:
    import time
    deadline = time.monotonic() + timeout
    while not wanted(log := api.get(f"/webhooks/{webhook_id}/deliveries").json()["deliveries"]):
        assert time.monotonic() < deadline, log
        time.sleep(0.02)
    return log


def test_a_target_is_checked_again_at_delivery(start_server, receiver: Receiver):
    server = start_server(webhook_allow_http_loopback=True)
    project = project_on(server)
    created = subscribe(Api(server, project), receiver.url, ["user.created"])
    server.stop()
    server = start_server()  # loopback is no longer allowed
    api = Api(server, project)
    sign_up(server, project, "checked@example.org")
    delivery = wait_delivery(api, created["webhook_id"], lambda d: d["attempts"] == 1)
    assert delivery["status"] == "pending" and delivery["last_error"].startswith("refused target")
    assert delivery["last_status_code"] is None
    assert receiver.quiet(1.0) == 0


def test_the_read_model_rebuilt_from_the_log_equals_the_live_one(start_server, receiver: Receiver, tmp_path):
    import sqlite3

    from astapa.web.appkeys import application_key
    from projections.runner import Runner

    server = start_server(webhook_allow_http_loopback=True)
    project = project_on(server)
    api = Api(server, project)
    created = subscribe(api, receiver.url, ["user.created", "user.disabled"])
    receiver.failing = True
    sign_up(server, project, "rebuilt@example.org")
    wait_attempts(api, created["webhook_id"], 1)
    receiver.failing = False
    server.clock.advance(5)
    wait_log(api, created["webhook_id"], lambda log: log and log[0]["status"] == "delivered")
    rebuilt = Runner(server.web_app[application_key], tmp_path / "rebuilt.db")
    rebuilt.catch_up()
    live = sqlite3.connect(f"file:{server.data_dir / 'read.db'}?mode=ro", uri=True)
    for table in ("webhooks", "webhook_deliveries"):
        rows = f"SELECT * FROM {table} ORDER BY 1"
        assert [tuple(r) for r in rebuilt.conn.execute(rows)] == live.execute(rows).fetchall() != []
    rebuilt.stop()
