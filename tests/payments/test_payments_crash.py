"""kill -9 of `astapa serve` right after it acknowledged a success webhook: after the
restart the plan is assigned, exactly once (a real child process, a fake Xendit)."""

import signal
import time
from pathlib import Path

import jwt
import requests

from tests.fakes.xendit import XenditServer
from tests.flows import Browser, exchange
from tests.payments.test_payments import CALLBACK_TOKEN, PRO, SECRET_KEY, xendit_id_of
from tests.process import run_cli, start_server

REDIRECT = "https://app.example/callback"


def wait_for(check, timeout: float = 15, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_kill_9_after_a_success_webhook_then_the_plan_after_restart(tmp_path: Path):
    data_dir = tmp_path / "data"
    with XenditServer(secret_key=SECRET_KEY, callback_token=CALLBACK_TOKEN) as xendit:
        env = {"ASTAPA_XENDIT_SECRET_KEY": SECRET_KEY, "ASTAPA_XENDIT_CALLBACK_TOKEN": CALLBACK_TOKEN,
               "ASTAPA_XENDIT_API_URL": xendit.url}
        server = start_server(data_dir, env=env)
        try:
            project = run_cli("project", "create", "--name", "shop", "--redirect-uri", REDIRECT, data_dir=data_dir)
            auth = (project["client_id"], project["client_secret"])
            api = f"{server.url}/api/platform"
            wait_for(lambda: requests.get(f"{api}/plans", auth=auth, timeout=5).status_code == 200, what="project")
            requests.post(f"{api}/plans", json=PRO, auth=auth, timeout=10).raise_for_status()
            browser = Browser(server.url)
            code = browser.sign_up(browser.authorize_url(project["client_id"]), "crash@example.org").params["code"]
            tokens = exchange(server.url, project, code).json()
            sub = jwt.decode(tokens["access_token"], options={"verify_signature": False})["sub"]
            payment = requests.post(f"{api}/payments", auth=auth, timeout=30,
                                    json={"end_user_id": sub, "plan": "pro", "method": "QRIS"}).json()
            xendit.webhook_url = f"{server.url}/api/webhooks/xendit"
            assert xendit.simulate_payment(xendit_id_of(xendit, payment["payment_id"])) == 200
            server.proc.send_signal(signal.SIGKILL)  # at once: the plan may not be assigned yet
            server.proc.wait(10)
        finally:
            server.cleanup()
        server = start_server(data_dir, port=server.port, env=env)
        try:
            settled = wait_for(lambda: (view := requests.get(f"{api}/payments/{payment['payment_id']}", auth=auth,
                                                             timeout=5).json()).get("plan_assigned") and view,
                               what="the plan after the restart")
            assert settled["status"] == "SUCCEEDED"
            refreshed = requests.post(f"{server.url}/oauth/token", auth=auth, timeout=10, data={
                "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}).json()
            claims = jwt.decode(refreshed["access_token"], options={"verify_signature": False})["custom_claims"]
            assert claims["plan"] == "pro"
            history = requests.get(f"{api}/users/{sub}/events", auth=auth, timeout=10).json()["events"]
            assert [e["type"] for e in history].count("User.PlanAssigned") == 1
        finally:
            server.cleanup()
