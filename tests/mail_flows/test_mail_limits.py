"""Limits on action mail: per recipient address (the verification mail of a sign-up
counted too), and per client address that caused the mail, whatever the recipients."""

import time

from astapa.web.appkeys import application_key, background_key, runner_key
from tests.conftest import Server, project_on, single_node, throttles_shared
from tests.flows import Browser
from tests.mail_flows.test_delivery import mail_rows
from tests.pages.test_floods import sign_up


def settled(server: Server) -> int:
    """Once the work after each answer is done and projected: how many mails are queued."""
    server.run(server.web_app[background_key].drain(10))
    server.web_app[runner_key].nudge()
    deadline = time.monotonic() + 10
    while server.web_app[runner_key].position < server.web_app[application_key].recorder.max_notification_id():
        assert time.monotonic() < deadline, "the read models did not catch up"
        time.sleep(0.005)
    return len(mail_rows(server.data_dir))


def ask_for_reset(server: Server, project: dict, email: str, source: str | None = None):
    browser = Browser(server.url, source=source)
    page = browser.get(browser.authorize_url(project["client_id"], path="/auth/forgot-password"))
    return browser.submit(page, "forgot-password", email=email, action="send")


def test_sign_up_verification_mail_counts_toward_the_address_limit(start_server):
    server = start_server(mails_per_address=1)
    project = project_on(server)
    assert sign_up(server, project, "once@example.org").status_code == 303
    assert settled(server) == 1
    assert ask_for_reset(server, project, "once@example.org").status_code == 200
    assert settled(server) == 1  # the address had its one mail this hour


@single_node  # counts the queue after draining one node's work
def test_mail_per_client_address_is_limited(start_server):
    """Past the limit a sign-up still makes its account, and a request for a link answers
    the same page, but no mail goes out; another client address may still cause mail."""
    server = start_server(mails_per_ip=3)
    project = project_on(server)
    for i in range(3):
        assert sign_up(server, project, f"m{i}@example.org").status_code == 303
    assert settled(server) == 3
    throttles_shared()
    assert sign_up(server, project, "m3@example.org").status_code == 303  # signed in, not mailed
    assert ask_for_reset(server, project, "m0@example.org").status_code == 200
    assert settled(server) == 3
    assert ask_for_reset(server, project, "m0@example.org", source="127.0.0.2").status_code == 200
    assert settled(server) == 4
    server.clock.advance(3601)
    assert ask_for_reset(server, project, "m1@example.org").status_code == 200
    assert settled(server) == 5
