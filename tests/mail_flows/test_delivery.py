"""Mail delivery: every message is an event first, then delivered over SMTP or into the
outbox; a server that is down delays mail, never loses or doubles it (C-111)."""

import datetime
import ipaddress
import json
import sqlite3
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from astapa.web.appkeys import scheduler_key, settings_key
from astapa.config import parse_smtp_url
from astapa.config import ConfigError
from tests.conftest import Server, project_on
from tests.fakes.smtp import SmtpServer
from tests.flows import PASSWORD, Browser
from tests.mail import mail_to, only_action_link, text_of, wait_for_outbox
from tests.mail_flows.test_links import sign_up


def events_of(server: Server) -> list[dict]:
    out = subprocess.run([sys.executable, "scripts/export_events.py", "--data-dir", str(server.data_dir)],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    return [json.loads(line) for line in out.splitlines()]


def mail_rows(data_dir: Path) -> list[sqlite3.Row]:
    conn = sqlite3.connect(f"file:{data_dir / 'read.db'}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute("SELECT * FROM mail ORDER BY queued_at").fetchall()
    finally:
        conn.close()


def wait_until(condition, timeout: float = 10, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_a_message_has_text_and_html_and_one_link_under_the_issuer(mail_server: Server, smtp):
    project = project_on(mail_server)
    sign_up(mail_server, project, "parts@example.org")
    message = mail_to(smtp, "parts@example.org")[0]
    link = only_action_link(message, mail_server.url)
    assert link.startswith(f"{mail_server.url}/auth/verify-email?token=")
    assert message["Subject"].startswith("Verify your email address")
    assert message["Message-ID"].startswith("<") and message["Date"]
    assert "24 hours" in text_of(message)
    assert smtp.received[0].envelope_to == ["parts@example.org"]


def test_credentials_in_the_smtp_url_are_used(start_server):
    with SmtpServer(credentials=("mailer@astapa", "p@ss w/rd:")) as smtp:
        server = start_server(smtp_url=smtp.url, mail_interval=0.1)
        assert "mailer%40astapa" in smtp.url
        sign_up(server, project_on(server), "auth@example.org")
        assert mail_to(smtp, "auth@example.org")


def test_smtp_down_then_up_across_a_restart_delivers_every_message_once(start_server, clock):
    smtp = SmtpServer()  # not listening yet
    server = start_server(smtp_url=smtp.url, mail_interval=0.1, mail_retry_base=30)
    project = project_on(server)
    addresses = [f"queued-{i}@example.org" for i in range(3)]
    for address in addresses:
        sign_up(server, project, address)
    wait_until(lambda: len(mail_rows(server.data_dir)) == 3
               and all(r["attempts"] >= 1 for r in mail_rows(server.data_dir)), what="first attempts")
    assert all(r["status"] == "queued" and "SMTPConnectError" in r["last_error"]
               for r in mail_rows(server.data_dir))
    server.stop()  # a restart with the mail still queued
    server = start_server(smtp_url=smtp.url, mail_interval=0.1, mail_retry_base=30)
    # A start tries every queued message at once (still down: a second failure each).
    wait_until(lambda: all(r["attempts"] >= 2 for r in mail_rows(server.data_dir)), what="second attempts")
    smtp.start()
    try:
        time.sleep(0.5)
        assert smtp.received == []  # the next retry is not due yet (backoff on the injected clock)
        clock.advance(61)
        smtp.wait_for(3)
        clock.advance(7200)  # later sweeps find nothing left to send
        time.sleep(1.0)
        received = smtp.received
        assert sorted(r.envelope_to[0] for r in received) == sorted(addresses)
        assert len({r.message["Message-ID"] for r in received}) == 3
        types = [e["type"] for e in events_of(server)]
        assert types.count("Message.Queued") == 3
        assert types.count("Message.Delivered") == 3
        assert types.count("Message.DeliveryFailed") >= 3
        # The links still work: tokens are derived again, not kept.
        link = only_action_link(received[0].message, server.url)
        assert Browser(server.url).get(link).status_code == 200
    finally:
        smtp.stop()


def test_a_permanent_refusal_is_recorded_and_not_retried(mail_server: Server, smtp, clock):
    project = project_on(mail_server)
    smtp.reject_next(550, "5.1.1 no such mailbox")
    sign_up(mail_server, project, "nobody-home@example.org")
    wait_until(lambda: [r["status"] for r in mail_rows(mail_server.data_dir)] == ["bounced"], what="bounce")
    clock.advance(7200)
    time.sleep(0.5)
    assert smtp.received == []
    assert "Message.Bounced" in [e["type"] for e in events_of(mail_server)]


def test_without_smtp_mail_is_written_to_the_outbox(server: Server):
    project = project_on(server)
    sign_up(server, project, "outbox@example.org")
    message = wait_for_outbox(server.data_dir, 1)[0]
    assert message["To"] == "outbox@example.org"
    link = only_action_link(message, server.url)
    assert Browser(server.url).get(link).status_code == 200
    files = list((server.data_dir / "outbox").iterdir())
    assert [f.suffix for f in files] == [".eml"]  # nothing half-written left behind
    wait_until(lambda: [r["status"] for r in mail_rows(server.data_dir)] == ["delivered"], what="recorded")


def test_events_hold_no_link_token_and_logs_hold_none_either(mail_server: Server, smtp, caplog):
    project = project_on(mail_server)
    sign_up(mail_server, project, "secret@example.org")
    browser = Browser(mail_server.url)
    page = browser.get(browser.authorize_url(project["client_id"], path="/auth/forgot-password"))
    browser.submit(page, "forgot-password", email="secret@example.org", action="send")
    links = [only_action_link(m, mail_server.url) for m in mail_to(smtp, "secret@example.org", count=2)]
    tokens = [link.split("token=")[1] for link in links]
    text = json.dumps(events_of(mail_server))
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for token in tokens:
        assert token not in text and token.split(".")[1] not in text
        assert token not in logged and token.split(".")[1] not in logged
    assert PASSWORD not in text


@pytest.mark.parametrize("url, expected", [
    ("smtp://mail.example:2525", ("mail.example", 2525, None, None, False, None)),
    ("smtp+starttls://u%40x:p%3Aw@mail.example", ("mail.example", 587, "u@x", "p:w", False, True)),
    ("smtps://mail.example", ("mail.example", 465, None, None, True, False)),
])
def test_smtp_urls(url, expected):
    t = parse_smtp_url(url)
    assert (t.hostname, t.port, t.username, t.password, t.use_tls, t.start_tls) == expected


@pytest.mark.parametrize("url", ["http://mail.example", "smtp://", "smtp://mail.example:99999",
                                 "smtp://mail.example/path", "mail.example:25"])
def test_bad_smtp_urls_are_refused(url):
    with pytest.raises(ConfigError):
        parse_smtp_url(url)


def test_clean_up_deletes_expired_pending_links_and_keeps_their_events(mail_server: Server, smtp, clock):
    from astapa.scheduler import clean_up

    project = project_on(mail_server)
    sign_up(mail_server, project, "tidy@example.org")  # a verification link: 24 hours
    browser = Browser(mail_server.url)
    page = browser.get(browser.authorize_url(project["client_id"], path="/auth/forgot-password"))
    browser.submit(page, "forgot-password", email="tidy@example.org", action="send")  # 15 minutes
    mail_to(smtp, "tidy@example.org", count=2)

    def pending() -> list[str]:
        conn = sqlite3.connect(f"file:{mail_server.data_dir / 'read.db'}?mode=ro", uri=True)
        try:
            return sorted(r[0] for r in conn.execute("SELECT purpose FROM action_links"))
        finally:
            conn.close()

    assert pending() == ["reset_password", "verify_email"]
    assert mail_server.run(clean_up(mail_server.web_app[settings_key].read_db, mail_server.clock)) == 0
    clock.advance(16 * 60)
    assert mail_server.run(clean_up(mail_server.web_app[settings_key].read_db, mail_server.clock)) == 1
    assert pending() == ["verify_email"]
    assert [e["type"] for e in events_of(mail_server)].count("ActionLink.Issued") == 2
    jobs = {job.id for job in mail_server.web_app[scheduler_key].get_jobs()}
    assert jobs == {"mail", "clean-up", "plans", "payments"}


def self_signed_tls(directory: Path) -> tuple[ssl.SSLContext, Path]:
    """A server TLS context for 127.0.0.1 and the certificate file a client must trust."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = directory / "smtp.crt", directory / "smtp.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context, cert_file


def test_starttls_with_credentials(start_server, tmp_path, monkeypatch):
    """smtp+starttls://: the session is upgraded (and the certificate checked) before the
    credentials and the message go over it."""
    context, cert_file = self_signed_tls(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_file))  # the system trust store, for this test
    with SmtpServer(credentials=("mailer", "s3cret"), tls=context) as smtp:
        url = smtp.url.replace("smtp://", "smtp+starttls://")
        server = start_server(smtp_url=url, mail_interval=0.1)
        sign_up(server, project_on(server), "tls@example.org")
        assert mail_to(smtp, "tls@example.org")


def test_starttls_required_but_not_offered_keeps_the_mail_queued(start_server):
    with SmtpServer() as plain:
        server = start_server(smtp_url=plain.url.replace("smtp://", "smtp+starttls://"), mail_interval=0.1)
        sign_up(server, project_on(server), "no-tls@example.org")
        wait_until(lambda: [r["attempts"] for r in mail_rows(server.data_dir)] == [1], what="an attempt")
        row = mail_rows(server.data_dir)[0]
        assert row["status"] == "queued" and "STARTTLS" in row["last_error"]
        assert plain.received == []


def test_a_message_whose_link_died_while_it_waited_is_dropped(start_server, clock):
    """A reset mail held up past its link's 15 minutes is not sent (it would only lead to a
    dead link); the verification mail, whose link lives a day, still goes."""
    smtp = SmtpServer()  # down
    server = start_server(smtp_url=smtp.url, mail_interval=0.1, mail_retry_base=30)
    project = project_on(server)
    sign_up(server, project, "late-mail@example.org")
    browser = Browser(server.url)
    page = browser.get(browser.authorize_url(project["client_id"], path="/auth/forgot-password"))
    browser.submit(page, "forgot-password", email="late-mail@example.org", action="send")
    wait_until(lambda: len(mail_rows(server.data_dir)) == 2
               and all(r["attempts"] >= 1 for r in mail_rows(server.data_dir)), what="first attempts")
    smtp.start()
    try:
        clock.advance(16 * 60)
        smtp.wait_for(1)
        wait_until(lambda: sorted(r["status"] for r in mail_rows(server.data_dir)) == ["delivered", "dropped"],
                   what="one delivered, one dropped")
        time.sleep(0.5)
        assert [r.message["Subject"].split()[0] for r in smtp.received] == ["Verify"]
        assert "Message.Dropped" in [e["type"] for e in events_of(server)]
    finally:
        smtp.stop()
