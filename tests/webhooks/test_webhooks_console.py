"""Webhooks in the console: made there (the secret shown once), bad fields shown next to
them, a disabled webhook's notice and the button that enables it, the delivery log, and
deleting one."""

from uuid import UUID

import pytest

from astapa.store.events import Decision
from astapa.web.appkeys import application_key, writer_key
from tests.conftest import Server
from tests.console.conftest import ConsoleBrowser, admin_browser, create_project
from tests.console.helpers import signed_up
from tests.console.test_settings import code_of
from tests.webhooks.receiver import Receiver


@pytest.fixture
def server(start_server) -> Server:
    return start_server(webhook_allow_http_loopback=True)


@pytest.fixture
def admin(server: Server) -> ConsoleBrowser:
    return admin_browser(server)


@pytest.fixture
def receiver():
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


def webhooks_path(project: dict) -> str:
    return f"/dashboard/projects/{project['project_id']}/webhooks"


def test_a_webhook_made_in_the_console_gets_the_projects_events(server: Server, admin: ConsoleBrowser,
                                                                  receiver: Receiver):
    project = create_project(admin)
    page = admin.get(webhooks_path(project))
    assert page.status_code == 200 and "No webhooks yet" in page.text
    bad = admin.post(webhooks_path(project), page=page, url="https://10.1.2.3/hook")
    assert bad.status_code == 400 and 'id="url-error"' in bad.text and 'id="events-error"' in bad.text
    created = admin.post(webhooks_path(project), page=page, url=receiver.url, **{"event-user.created": "1"})
    assert created.status_code == 200, created.text[:1000]
    secret, webhook_id = code_of(created.text, "webhook_secret"), code_of(created.text, "webhook_id")
    assert secret.startswith("whsec_")
    listed = admin.get(webhooks_path(project))
    assert receiver.url in listed.text and secret not in listed.text
    signed_up(server, project, "shopper@example.org")
    [received] = receiver.wait_for(1)
    assert received.document["type"] == "user.created"
    log = admin.get(f"{webhooks_path(project)}/{webhook_id}")
    assert log.status_code == 200 and "user.created" in log.text and received.headers["webhook-id"] not in log.text
    deleted = admin.post(f"{webhooks_path(project)}/{webhook_id}/delete", page=listed)
    assert deleted.status_code == 200 and "Webhook deleted" in deleted.text and receiver.url not in deleted.text
    assert admin.get(f"{webhooks_path(project)}/{webhook_id}").status_code == 404


def test_a_disabled_webhook_says_why_and_can_be_enabled(server: Server, admin: ConsoleBrowser, receiver: Receiver):
    project = create_project(admin)
    page = admin.get(webhooks_path(project))
    created = admin.post(webhooks_path(project), page=page, url=receiver.url, **{"event-user.created": "1"})
    webhook_id = code_of(created.text, "webhook_id")
    app, writer = server.web_app[application_key], server.web_app[writer_key]

    def disable() -> Decision:
        webhook = app.load(UUID(webhook_id), KeyError)
        webhook.disable(reason="a delivery failed for three days: answered 500")
        return Decision([webhook])

    server.run(writer.run(disable))
    listed = admin.get(webhooks_path(project))
    assert 'role="alert"' in listed.text and "failed for three days" in listed.text
    enabled = admin.post(f"{webhooks_path(project)}/{webhook_id}/enable", page=listed)
    assert enabled.status_code == 200 and "Webhook enabled" in enabled.text and 'role="alert"' not in enabled.text


@pytest.mark.parametrize("url", ["https://h:99999/", "https://h:abc/", "https://[::1/", "https://a..b/",
                                 "https://" + "a" * 64 + ".example/hook"])
def test_a_malformed_url_is_shown_next_to_its_field(admin: ConsoleBrowser, url: str):
    project = create_project(admin)
    page = admin.get(webhooks_path(project))
    bad = admin.post(webhooks_path(project), page=page, url=url, **{"event-user.created": "1"})
    assert bad.status_code == 400 and 'id="url-error"' in bad.text and "URL " in bad.text
    assert 'id="events-error"' not in bad.text


def test_messages_keep_their_capitals(admin: ConsoleBrowser):
    project = create_project(admin)
    page = admin.get(webhooks_path(project))
    bad = admin.post(webhooks_path(project), page=page, url="ftp://app.example/hook", **{"event-user.created": "1"})
    assert bad.status_code == 400 and "URL must use https." in bad.text and "Url must" not in bad.text


def test_the_twenty_first_webhook_is_refused_with_a_message(admin: ConsoleBrowser, receiver: Receiver):
    project = create_project(admin)
    page = admin.get(webhooks_path(project))
    for n in range(20):
        made = admin.post(webhooks_path(project), page=page, url=f"{receiver.url}/{n}", **{"event-user.created": "1"})
        assert made.status_code == 200, made.text[:500]
    refused = admin.post(webhooks_path(project), page=page, url=receiver.url, **{"event-user.created": "1"})
    assert refused.status_code == 400 and 'id="url-error"' in refused.text
    assert "A project has at most 20 webhooks: delete one first." in refused.text
