"""`astapa serve` sends mail over SMTP from ASTAPA_SMTP_URL; mail queued when the server
was killed goes out after the restart (real child processes, a real SMTP server)."""

import signal
import time
from pathlib import Path

from tests.fakes.smtp import SmtpServer
from tests.flows import Browser
from tests.mail import mail_to, only_action_link
from tests.mail_flows.test_delivery import mail_rows, wait_until
from tests.process import run_cli, start_server

REDIRECT = "https://app.example/callback"


def sign_up(url: str, project: dict, email: str) -> None:
    browser = Browser(url)
    page = browser.get(browser.authorize_url(project["client_id"], path="/auth/signup"))
    response = browser.submit(page, "signup", email=email, password="correct horse battery", action="signup")
    assert response.status_code == 303, response.text[:500]


def test_mail_queued_before_a_kill_goes_out_after_the_restart(tmp_path: Path):
    data_dir = tmp_path / "data"
    smtp = SmtpServer()  # down at first
    env = {"ASTAPA_SMTP_URL": smtp.url}
    server = start_server(data_dir, env=env)
    try:
        project = run_cli("project", "create", "--name", "app", "--redirect-uri", REDIRECT, data_dir=data_dir)
        browser = Browser(server.url)
        signup = browser.authorize_url(project["client_id"], path="/auth/signup")
        wait_until(lambda: browser.get(signup).status_code == 200,  # the server polls for the CLI's write
                   what="the server to serve the project")
        sign_up(server.url, project, "killed@example.org")
        wait_until(lambda: any(row["attempts"] >= 1 for row in mail_rows(data_dir)),  # nothing listens
                   what="the first delivery attempt to fail")
        server.proc.send_signal(signal.SIGKILL)
        server.proc.wait(10)
    finally:
        server.cleanup()
    smtp.start()
    try:
        server = start_server(data_dir, port=server.port, env=env)
        try:
            message = mail_to(smtp, "killed@example.org", timeout=15)[0]
            assert only_action_link(message, server.url).startswith(f"{server.url}/auth/verify-email?token=")
            time.sleep(1.5)
            assert len(smtp.received) == 1
        finally:
            server.cleanup()
    finally:
        smtp.stop()


def test_a_bad_smtp_url_is_one_line_and_a_non_zero_exit(tmp_path: Path):
    from tests.cli.test_serve import serve_fails

    line = serve_fails("--data-dir", str(tmp_path / "d"), env={"ASTAPA_SMTP_URL": "http://mail.example"})
    assert "ASTAPA_SMTP_URL" in line
