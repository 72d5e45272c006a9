"""Every `<!-- example: NAME -->` block of README.md and docs/ runs, as written, against a
real server.

One test per page: a fresh server (tests/conftest.py) and one bash session in a sandbox that
looks like the checkout (tests/doc_examples.py: `.venv`, `scripts` and `examples` are the
repository's, `var` is the server's data dir), then the page's example blocks in order, as a
reader would paste them into one terminal. `http://127.0.0.1:8080` becomes the test
server's URL. Python blocks run with `.venv/bin/python`, JavaScript ones with `node`.

A block passes when it exits 0 and prints no `"error"`. Where the reader does something
between two blocks that a terminal cannot (sign in with a browser, pay at Xendit), a hook
named after the next block does it, and a few hooks check what a block printed.
"""

import contextlib
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from tests.conftest import Server, wait_for_client
from tests.doc_examples import (
    DOCS_ISSUER,
    REPO,
    Block,
    Shell,
    examples_of,
    pages_with_examples,
    sandbox,
)
from tests.flows import Browser, pkce_pair

SHOP_CALLBACK = "https://shop.example/callback"
XENDIT_KEY = "xnd_development_docs_examples"
XENDIT_TOKEN = "docs-examples-callback-token"


@dataclass
class Run:
    """One page being run: its server, its shell, and what hooks keep between blocks."""

    server: Server
    shell: Shell
    xendit: object | None = None
    outputs: dict[str, str] = field(default_factory=dict)

    def sign_up(self, email: str = "ada@example.org", client_id: str | None = None,
                redirect_uri: str = SHOP_CALLBACK, **params: str) -> dict:
        """Play the user: sign up on the hosted pages; the code, verifier and state."""
        client_id = client_id or self.shell.get("CLIENT_ID") or json.loads(self.shell.get("PROJECT"))["client_id"]
        verifier, challenge = pkce_pair()
        browser = Browser(self.server.url)
        url = browser.authorize_url(client_id, redirect_uri=redirect_uri, state="xyz", scope="openid email",
                                    code_challenge=challenge, code_challenge_method="S256", **params)
        redirect = browser.sign_up(url, email)
        assert redirect.location.startswith(redirect_uri), redirect.location
        return {"code": redirect.params["code"], "verifier": verifier}

    def tokens_for(self, email: str) -> dict:
        """A user who signed up, and the tokens the app got for them."""
        grant = self.sign_up(email)
        response = requests.post(f"{self.server.url}/oauth/token", timeout=10,
                                 auth=(self.shell.get("CLIENT_ID"), self.shell.get("CLIENT_SECRET")),
                                 data={"grant_type": "authorization_code", "code": grant["code"],
                                       "code_verifier": grant["verifier"], "redirect_uri": SHOP_CALLBACK})
        assert response.status_code == 200, response.text
        return response.json()


# --- hooks: what the reader does between blocks ----------------------------------------------

def user_signs_in(run: Run) -> None:
    grant = run.sign_up()
    run.shell.export(CODE=grant["code"], CODE_VERIFIER=grant["verifier"])


def user_has_signed_up(run: Run) -> None:
    tokens = run.tokens_for("ada@example.org")
    run.shell.export(REFRESH_TOKEN=tokens["refresh_token"])


def xendit_credentials(run: Run) -> None:
    run.shell.export(XENDIT_SECRET_KEY=XENDIT_KEY, XENDIT_CALLBACK_TOKEN=XENDIT_TOKEN)


def payer_pays(run: Run) -> None:
    """The payer scans the QR code: the fake Xendit settles and calls the webhook."""
    created = json.loads(next(line for line in reversed(run.outputs["payments-create"].splitlines())
                              if line.startswith("{")))
    assert created["status"] == "PENDING" and created["qr_string"], created
    xendit = run.xendit
    xendit_id = next(pr_id for pr_id, pr in xendit.payment_requests.items()
                     if pr["reference_id"] == created["payment_id"])
    assert xendit.simulate_payment(xendit_id) == 200
    auth = (run.shell.get("CLIENT_ID"), run.shell.get("CLIENT_SECRET"))
    deadline = time.monotonic() + 10
    while not requests.get(f"{run.server.url}/api/platform/payments/{created['payment_id']}",
                           auth=auth, timeout=10).json().get("plan_assigned"):
        assert time.monotonic() < deadline, "the payment did not settle"
        time.sleep(0.05)


def mail_is_written(run: Run) -> None:
    from tests.mail import wait_for_outbox

    run.sign_up("grace@example.org")
    wait_for_outbox(run.server.data_dir, 1)


BEFORE: dict[str, Callable[[Run], None]] = {
    "readme-exchange": user_signs_in,
    "sign-in-exchange": user_signs_in,
    "plans-claims": user_has_signed_up,
    "payments-configure": xendit_credentials,
    "payments-settled": payer_pays,
    "email-outbox": mail_is_written,
}


def check_plan_is_pro(run: Run) -> None:
    assert '"plan":"pro"' in run.outputs["plans-refresh"], run.outputs["plans-refresh"]


def check_settled(run: Run) -> None:
    output = run.outputs["payments-settled"]
    assert '"status": "SUCCEEDED"' in output and '"plan_assigned": true' in output, output


AFTER: dict[str, Callable[[Run], None]] = {
    "plans-refresh": check_plan_is_pro,
    "payments-settled": check_settled,
}


# --- what a page needs from its server ------------------------------------------------------

def plain_server(start_server, stack) -> tuple[Server, object | None]:
    return start_server(), None


def server_with_xendit(start_server, stack) -> tuple[Server, object | None]:
    from tests.fakes.xendit import XenditServer

    fake = stack.enter_context(XenditServer(secret_key=XENDIT_KEY, callback_token=XENDIT_TOKEN))
    server = start_server(xendit_api_url=fake.url)
    fake.webhook_url = f"{server.url}/api/webhooks/xendit"
    return server, fake


SERVERS = {"docs/guides/plans-and-payments.md": server_with_xendit}


def page_id(path: Path) -> str:
    return str(path.relative_to(REPO))


@pytest.mark.parametrize("page", pages_with_examples(), ids=page_id)
def test_page_examples(page: Path, start_server, tmp_path):
    examples = examples_of(page)
    needs_node = any(block.kind == "javascript" for block in examples)
    if needs_node:
        assert shutil.which("node"), "Node.js runs the docs' JavaScript examples"
    for tool in ("jq", "curl"):
        assert shutil.which(tool), f"{tool} is used by the docs' shell examples"
    with contextlib.ExitStack() as stack:
        server, fake = SERVERS.get(page_id(page), plain_server)(start_server, stack)
        shell = Shell(sandbox(tmp_path / "work", server.data_dir, with_node=needs_node))
        stack.callback(shell.close)
        run = Run(server, shell, fake)
        for block in examples:
            run_one(run, block)


def run_one(run: Run, block: Block) -> None:
    assert block.kind, f"{block.where}: an example must be python, javascript or bash"
    if block.value in BEFORE:
        BEFORE[block.value](run)
    try:
        output = run.shell.run_block(block, {DOCS_ISSUER: run.server.url})
    except AssertionError as e:
        raise AssertionError(f"{block.where} (example {block.value}) failed: {e}") from None
    run.outputs[block.value] = output
    print(f"--- {block.where} (example {block.value})\n{output}")  # shown when a later block fails
    assert '"error"' not in output, f"{block.where} (example {block.value}) printed an error:\n{output}"
    wait_for_client(run.server, {})  # what a CLI command wrote is served before the next block
    if block.value in AFTER:
        AFTER[block.value](run)
