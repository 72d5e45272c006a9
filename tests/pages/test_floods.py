"""Floods against the hosted pages: sign-up limits, the bounded bcrypt queue, and throttle
tables that a flood of new keys cannot empty of a lockout.

Other client addresses are other loopback addresses (127.0.0.2, ...): the server listens on
127.0.0.1 and sees each connection's own source address.
"""

import concurrent.futures
import threading

import pytest

from astapa.config import ConfigError, Settings, load_settings
from tests.conftest import project_on, throttles_shared
from tests.flows import PASSWORD, Browser


def sign_in(server, project: dict, email: str, password: str = PASSWORD, source: str | None = None):
    browser = Browser(server.url, source=source)
    return browser.sign_in(browser.authorize_url(project["client_id"]), email, password)


def sign_up(server, project: dict, email: str, password: str = PASSWORD, source: str | None = None):
    browser = Browser(server.url, source=source)
    page = browser.get(browser.authorize_url(project["client_id"], path="/auth/signup"))
    return browser.submit(page, "signup", email=email, password=password, action="signup")


# -- throttle tables ------------------------------------------------------------------------

def test_a_flood_of_new_accounts_from_many_addresses_does_not_lift_a_lockout(start_server):
    """Each throttle table is bounded (four keys here), but what a full table forgets is
    never a lockout, nor a count with more failures than the newcomers have."""
    server = start_server(login_failures_per_account=3, login_failures_per_ip=1000,
                          throttle_accounts=4, throttle_keys=4)
    project = project_on(server, live=True)
    for email in ("locked@example.org", "counted@example.org"):
        assert sign_up(server, project, email).status_code == 303
    for _ in range(3):
        assert sign_in(server, project, "locked@example.org", "wrong password").status_code == 401
    for _ in range(2):
        assert sign_in(server, project, "counted@example.org", "wrong password").status_code == 401
    throttles_shared()
    assert sign_in(server, project, "locked@example.org").status_code == 429

    for i in range(2, 22):  # twenty addresses, each failing for a new account
        source = f"127.0.0.{i}"
        assert sign_in(server, project, f"flood{i}@example.org", "wrong password", source).status_code == 401

    still = sign_in(server, project, "locked@example.org")
    assert still.status_code == 429 and int(still.headers["Retry-After"]) > 0
    assert sign_in(server, project, "counted@example.org", "wrong password").status_code == 401
    throttles_shared()
    assert sign_in(server, project, "counted@example.org").status_code == 429  # third failure counted
    server.clock.advance(15 * 60 + 1)
    assert sign_in(server, project, "locked@example.org").status_code == 303


# -- sign-up limits ---------------------------------------------------------------------------

def test_sign_ups_are_limited_per_client_address(start_server):
    server = start_server(signups_per_ip=2)
    project = project_on(server, live=True)
    for i in range(2):
        assert sign_up(server, project, f"a{i}@example.org").status_code == 303
    throttles_shared()
    limited = sign_up(server, project, "a2@example.org")
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    assert "Too many sign-ups" in limited.text and 'name="email"' in limited.text  # the form again
    assert sign_up(server, project, "b@example.org", source="127.0.0.2").status_code == 303
    server.clock.advance(3601)
    assert sign_up(server, project, "a2@example.org").status_code == 303


def test_sign_ups_are_limited_per_project_from_all_addresses(start_server):
    server = start_server(signups_per_project=2)
    project, other = project_on(server, live=True), project_on(server, name="other", live=True)
    for i in range(2):
        assert sign_up(server, project, f"p{i}@example.org", source=f"127.0.0.{i + 2}").status_code == 303
    throttles_shared()
    limited = sign_up(server, project, "p9@example.org", source="127.0.0.9")
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    assert sign_up(server, other, "p9@example.org", source="127.0.0.9").status_code == 303


# -- the bcrypt pool ------------------------------------------------------------------------

def test_bcrypt_hashes_wait_in_a_bounded_queue_and_sign_ins_go_on(start_server):
    """Forty sign-ups at once (bcrypt cost 10) against a queue of two: those past the
    queue get 429 with Retry-After at once, none an error, and a sign-in sent in the
    middle of the flood is served."""
    server = start_server(bcrypt_cost=10, bcrypt_hash_queue=2, signups_per_ip=1000)
    project = project_on(server)
    assert sign_up(server, project, "steady@example.org").status_code == 303
    flood = [Browser(server.url) for _ in range(40)]
    pages = [b.get(b.authorize_url(project["client_id"], path="/auth/signup")) for b in flood]
    signer = Browser(server.url)
    login_page = signer.get(signer.authorize_url(project["client_id"]))
    start = threading.Barrier(len(flood) + 1)

    def post_sign_up(i: int):
        start.wait()
        return flood[i].submit(pages[i], "signup", email=f"f{i}@example.org", password=PASSWORD,
                               action="signup")

    def post_sign_in():
        start.wait()
        return signer.submit(login_page, "login", email="steady@example.org", password=PASSWORD,
                             action="login")

    with concurrent.futures.ThreadPoolExecutor(len(flood) + 1) as pool:
        signing_in = pool.submit(post_sign_in)
        answers = list(pool.map(post_sign_up, range(len(flood))))
    statuses = [a.status_code for a in answers]
    assert set(statuses) <= {303, 429}, statuses
    busy = [a for a in answers if a.status_code == 429]
    assert busy and statuses.count(303) >= 1, statuses
    assert all(int(a.headers["Retry-After"]) >= 1 and "try again" in a.text for a in busy)
    assert signing_in.result().status_code == 303


# -- settings -------------------------------------------------------------------------------

FLOOD_LIMITS = {"ASTAPA_SIGNUPS_PER_IP_PER_HOUR": "signups_per_ip",
                "ASTAPA_SIGNUPS_PER_PROJECT_PER_HOUR": "signups_per_project",
                "ASTAPA_MAILS_PER_IP_PER_HOUR": "mails_per_ip",
                "ASTAPA_BCRYPT_HASH_QUEUE": "bcrypt_hash_queue",
                "ASTAPA_BCRYPT_CHECK_QUEUE": "bcrypt_check_queue"}


def test_flood_limits_have_defaults_and_environment_twins(tmp_path, monkeypatch):
    for name in FLOOD_LIMITS:
        monkeypatch.delenv(name, raising=False)
    defaults = load_settings(data_dir=str(tmp_path))
    assert (defaults.signups_per_ip, defaults.signups_per_project, defaults.mails_per_ip,
            defaults.bcrypt_hash_queue, defaults.bcrypt_check_queue) == (20, 1000, 30, 16, 64)
    assert (Settings.throttle_accounts, Settings.throttle_keys) == (100_000, 100_000)
    for name, field in FLOOD_LIMITS.items():
        monkeypatch.setenv(name, "7")
        assert getattr(load_settings(data_dir=str(tmp_path)), field) == 7
        for bad in ("0", "many", "-3"):
            monkeypatch.setenv(name, bad)
            with pytest.raises(ConfigError, match=name):
                load_settings(data_dir=str(tmp_path))
        monkeypatch.delenv(name)
