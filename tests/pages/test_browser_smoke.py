"""Smoke test of the browser set-up (tests/pages/conftest.py) against a real local HTTP server.

A form is filled by its label and submitted by its button, with and without JavaScript;
the server records each POST and answers with what it received.
"""

import html
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from playwright.sync_api import Page, expect

FORM = """<!doctype html>
<html><head><title>form</title><script>document.title = "js ran";</script></head>
<body><form method=post action=/>
<label for=email>Email</label><input id=email name=email>
<button type=submit>Go</button>
</form></body></html>"""


@dataclass
class FormServer:
    url: str
    posts: list[dict] = field(default_factory=list)


@pytest.fixture(scope="module")
def form_server() -> Iterator[FormServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    state = FormServer(f"http://127.0.0.1:{server.server_address[1]}/")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._send(FORM)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
            form = {k: v[0] for k, v in parse_qs(body).items()}
            state.posts.append(form)
            self._send(f"<!doctype html><title>done</title><p>posted {html.escape(form.get('email', ''))}</p>")

        def _send(self, text: str) -> None:
            data = text.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args) -> None:
            pass

    server.RequestHandlerClass = Handler
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join(10)


def submit_form(page: Page, server: FormServer, email: str) -> None:
    server.posts.clear()
    page.goto(server.url)
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Go").click()
    expect(page.get_by_text(f"posted {email}")).to_be_visible()
    assert page.title() == "done"
    assert server.posts == [{"email": email}]


def test_form_with_javascript(page: Page, form_server: FormServer) -> None:
    page.goto(form_server.url)
    assert page.title() == "js ran"
    submit_form(page, form_server, "alice@example.com")


def test_form_without_javascript(no_js_page: Page, form_server: FormServer) -> None:
    no_js_page.goto(form_server.url)
    assert no_js_page.title() == "form"
    submit_form(no_js_page, form_server, "bob@example.com")
