"""Payments (a list, each one's trail, and in a sandbox "Simulate payment", which settles
as Xendit's webhook does), the sandbox inbox, and the instance page (admins only, key
rotation, configuration without secrets)."""

import re
from html import unescape

import jwt
import pytest
import requests

from tests.conftest import Server, project_on
from tests.console.conftest import (
    ConsoleBrowser,
    admin_browser,
    create_project,
    member_browser,
)
from tests.fakes.xendit import XenditServer
from tests.flows import Browser, exchange
from tests.mail import only_action_link, outbox_messages, wait_for_outbox

SECRET_KEY = "xnd_development_console_tests"
CALLBACK_TOKEN = "console-callback-token"
PRO = {"key": "pro", "name": "Pro", "price": 149000, "currency": "IDR", "interval": "month"}
REDIRECT = "https://shop.example/cb"


@pytest.fixture
def xendit():
    with XenditServer(secret_key=SECRET_KEY, callback_token=CALLBACK_TOKEN) as fake:
        yield fake


@pytest.fixture
def paying(start_server, xendit) -> Server:
    server = start_server(xendit_secret_key=SECRET_KEY, xendit_callback_token=CALLBACK_TOKEN,
                          xendit_api_url=xendit.url)
    xendit.webhook_url = f"{server.url}/api/webhooks/xendit"
    return server


def signed_up_sub(server: Server, project: dict, email: str) -> tuple[str, dict]:
    """A user of the project's app, signed up at its hosted pages: their sub and tokens."""
    browser = Browser(server.url)
    redirect = browser.sign_up(browser.authorize_url(project["client_id"], redirect_uri=REDIRECT), email)
    tokens = exchange(server.url, project, redirect.params["code"], redirect_uri=REDIRECT).json()
    return jwt.decode(tokens["access_token"], options={"verify_signature": False})["sub"], tokens


def field(html: str, element_id: str) -> str:
    return unescape(re.search(rf'id="{element_id}"[^>]*>([^<]*)<', html).group(1)).strip()


# -- payments ---------------------------------------------------------------------------------

def test_payments_list_detail_and_a_simulated_payment_settles_the_plan(paying: Server):
    admin = admin_browser(paying)
    project = create_project(admin)
    base = f"/dashboard/projects/{project['project_id']}"
    auth = (project["client_id"], project["client_secret"])
    api = f"{paying.url}/api/platform"
    requests.post(f"{api}/plans", json=PRO, auth=auth, timeout=10).raise_for_status()
    sub, tokens = signed_up_sub(paying, project, "payer@example.org")
    assert admin.get(f"{base}/payments").text.count("No payments yet") == 1
    created = requests.post(f"{api}/payments", auth=auth, timeout=30,
                            json={"end_user_id": sub, "plan": "pro", "method": "QRIS"})
    assert created.status_code == 201, created.text
    payment_id = created.json()["payment_id"]

    listing = admin.get(f"{base}/payments")
    assert listing.status_code == 200 and payment_id in listing.text
    row = re.search(rf"<tr>\s*<td><a href=\"{base}/payments/{payment_id}\">.*?</tr>", listing.text, re.S).group(0)
    assert sub in row and "pro" in row and "149000 IDR" in row and "QRIS" in row and "PENDING" in row

    detail = admin.get(f"{base}/payments/{payment_id}")
    assert detail.status_code == 200 and field(detail.text, "status") == "PENDING"
    assert ">Simulate payment</button>" in detail.text and "Payment.Created" in detail.text
    simulated = admin.post(f"{base}/payments/{payment_id}/simulate")
    assert simulated.status_code == 200 and field(simulated.text, "status") == "SUCCEEDED"
    assert ">Simulate payment</button>" not in simulated.text
    trail = re.findall(r"<td><code>(Payment\.\w+)</code></td>", simulated.text)
    assert trail == ["Payment.Created", "Payment.Pending", "Payment.Succeeded", "Payment.Settled"]
    assert requests.get(f"{api}/payments/{payment_id}", auth=auth, timeout=10).json()["plan_assigned"] is True
    refreshed = requests.post(f"{paying.url}/oauth/token", auth=auth, timeout=10, data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}).json()
    assert jwt.decode(refreshed["access_token"], options={"verify_signature": False})["custom_claims"]["plan"] == "pro"
    again = admin.post(f"{base}/payments/{payment_id}/simulate")
    assert again.status_code == 409
    events = admin.get(f"{base}/events", actor="console:admin@example.com", type="ConsoleAction.Recorded").text
    assert payment_id in events


def test_a_viewer_cannot_simulate_and_a_live_project_never_can(paying: Server):
    admin = admin_browser(paying)
    project = create_project(admin)
    base = f"/dashboard/projects/{project['project_id']}"
    viewer = member_browser(paying, "vic@example.org", project["project_id"], "viewer")
    assert viewer.post(f"{base}/payments/pay_0123456789abcdef01234567/simulate").status_code == 403
    live = project_on(paying, name="Live shop", live=True)
    answer = admin.post(f"/dashboard/projects/{live['project_id']}/payments/pay_0123456789abcdef01234567/simulate")
    assert answer.status_code == 404
    assert admin.get(f"/dashboard/projects/{live['project_id']}/payments/pay_0123456789abcdef01234567").status_code == 404


# -- the sandbox inbox ------------------------------------------------------------------------

def test_the_sandbox_inbox_shows_a_verification_mail_with_its_link(server: Server, admin: ConsoleBrowser):
    project = create_project(admin)
    base = f"/dashboard/projects/{project['project_id']}"
    sent = len(outbox_messages(server.data_dir))
    signed_up_sub(server, project, "ada@example.org")
    delivered = [m for m in wait_for_outbox(server.data_dir, sent + 1) if m["To"] == "ada@example.org"][-1]
    inbox = admin.get(f"{base}/inbox")
    assert inbox.status_code == 200 and "ada@example.org" in inbox.text
    opened = re.search(rf'<a href="({base}/inbox/[0-9a-f]{{32}})">Verify your email address for Shop</a>', inbox.text)
    assert opened, inbox.text[-2000:]
    message = admin.get(opened.group(1))
    assert message.status_code == 200
    link = unescape(re.search(r'<a id="link" href="([^"]+)"', message.text).group(1))
    assert link == only_action_link(delivered, server.url) and link.startswith(f"{server.url}/auth/verify-email?token=")
    assert link in unescape(re.search(r'<pre id="message-text">(.*?)</pre>', message.text, re.S).group(1))
    assert requests.get(link, timeout=10).status_code == 200


def test_a_viewer_sees_the_inbox_but_cannot_open_its_links(server: Server, admin: ConsoleBrowser):
    project = create_project(admin)
    base = f"/dashboard/projects/{project['project_id']}"
    signed_up_sub(server, project, "ada@example.org")
    viewer = member_browser(server, "vic@example.org", project["project_id"], "viewer")
    inbox = admin.get(f"{base}/inbox").text
    message_path = re.search(rf'href="({base}/inbox/[0-9a-f]{{32}})"', inbox).group(1)
    listed = viewer.get(f"{base}/inbox")
    assert listed.status_code == 200 and "ada@example.org" in listed.text and message_path not in listed.text
    assert viewer.get(message_path).status_code == 403


def test_a_live_project_has_no_inbox(server: Server, admin: ConsoleBrowser):
    live = project_on(server, name="Live shop", live=True)
    base = f"/dashboard/projects/{live['project_id']}"
    overview = admin.get(base)
    assert overview.status_code == 200 and "Sandbox inbox" not in overview.text
    assert admin.get(f"{base}/inbox").status_code == 404


# -- the instance page ------------------------------------------------------------------------

def test_the_instance_page_is_for_instance_admins_only(server: Server, admin: ConsoleBrowser):
    project = create_project(admin)
    member = member_browser(server, "mia@example.org", project["project_id"], "owner")
    answer = member.get("/dashboard/instance")
    assert answer.status_code == 404 and project["project_id"] not in answer.text
    assert member.post("/dashboard/instance/keys/rotate").status_code == 404
    assert 'href="/dashboard/instance"' not in member.get("/dashboard").text
    page = admin.get("/dashboard/instance")
    assert page.status_code == 200 and project["project_id"] in page.text and "Shop" in page.text
    assert "admin@example.com" in page.text and "proj_console" not in page.text
    assert ".eml files" in field(page.text, "mail-status")
    assert field(page.text, "xendit-status").startswith("No deployment-wide Xendit key")


def test_configuration_status_names_no_secret(start_server):
    server = start_server(smtp_url="smtp://mailer:hunter2-password@127.0.0.1:2525",
                          xendit_secret_key="xnd_production_not-to-be-shown", xendit_callback_token="cb-secret")
    page = admin_browser(server).get("/dashboard/instance").text
    assert field(page, "mail-status") == "SMTP server 127.0.0.1:2525."
    assert "(live)" in field(page, "xendit-status") and "with a callback token" in field(page, "xendit-status")
    for secret in ("hunter2-password", "mailer:", "not-to-be-shown", "cb-secret"):
        assert secret not in page


def test_rotating_the_signing_keys_from_the_instance_page(server: Server, admin: ConsoleBrowser):
    page = admin.get("/dashboard/instance").text
    current = re.search(r'<code class="kid-current">([^<]+)</code>', page).group(1)
    upcoming = re.search(r'<code class="kid-next">([^<]+)</code>', page).group(1)
    assert requests.get(f"{server.url}/.well-known/jwks.json", timeout=10).json()["keys"][0]["kid"] == current
    rotated = admin.post("/dashboard/instance/keys/rotate")
    assert rotated.status_code == 200 and "Signing keys rotated" in rotated.text
    assert re.search(r'<code class="kid-current">([^<]+)</code>', rotated.text).group(1) == upcoming
    assert re.search(r'<code class="kid-retired">([^<]+)</code>', rotated.text).group(1) == current
    new_next = re.search(r'<code class="kid-next">([^<]+)</code>', rotated.text).group(1)
    assert new_next not in (current, upcoming)
    kids = [k["kid"] for k in requests.get(f"{server.url}/.well-known/jwks.json", timeout=10).json()["keys"]]
    assert kids[:2] == [upcoming, new_next] and current in kids
