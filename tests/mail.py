"""Reading mail in tests, whatever carried it: the SMTP fake or the outbox directory."""

import re
import time
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default
from html.parser import HTMLParser
from pathlib import Path


def _part(message: EmailMessage, content_type: str) -> str:
    parts = [part for part in message.walk()
             if part.get_content_type() == content_type and not part.is_attachment()]
    assert len(parts) == 1, f"expected exactly one {content_type} part, found {len(parts)}"
    return parts[0].get_content()


def text_of(message: EmailMessage) -> str:
    return _part(message, "text/plain")


def html_of(message: EmailMessage) -> str:
    return _part(message, "text/html")


def _under(url: str, base_url: str) -> bool:
    if not url.startswith(base_url):
        return False
    rest = url[len(base_url):]
    return base_url.endswith("/") or rest == "" or rest[0] in "/?#"


def text_links(message: EmailMessage, base_url: str) -> list[str]:
    found = re.findall(re.escape(base_url) + r"[^\s<>\"']*", text_of(message))
    return [url for url in (url.rstrip(".,;:!?)]") for url in found) if _under(url, base_url)]


class _Hrefs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        # HTMLParser has already unescaped attribute values (&amp; -> &).
        self.hrefs += [value for name, value in attrs if name == "href" and value is not None]


def html_links(message: EmailMessage, base_url: str) -> list[str]:
    parser = _Hrefs()
    parser.feed(html_of(message))
    parser.close()
    return [href for href in parser.hrefs if _under(href, base_url)]


def action_links(message: EmailMessage, base_url: str) -> list[str]:
    """Links under base_url in the text part, then those in the html part's href attributes."""
    return text_links(message, base_url) + html_links(message, base_url)


def only_action_link(message: EmailMessage, base_url: str) -> str:
    in_text, in_html = text_links(message, base_url), html_links(message, base_url)
    assert len(in_text) == 1, f"text part: expected one link under {base_url}, found {in_text}"
    assert len(in_html) == 1, f"html part: expected one link under {base_url}, found {in_html}"
    assert in_text == in_html, f"text and html links differ: {in_text[0]} != {in_html[0]}"
    return in_text[0]


def outbox_messages(data_dir: Path) -> list[EmailMessage]:
    paths = sorted((data_dir / "outbox").glob("*.eml"), key=lambda path: path.name)
    return [BytesParser(policy=default).parsebytes(path.read_bytes()) for path in paths]


def wait_for_outbox(data_dir: Path, count: int, timeout: float = 10) -> list[EmailMessage]:
    deadline = time.monotonic() + timeout
    while True:
        messages = outbox_messages(data_dir)
        if len(messages) >= count:
            return messages
        if time.monotonic() >= deadline:
            raise AssertionError(f"expected {count} message(s) in the outbox within {timeout}s, {len(messages)} there")
        time.sleep(0.02)


def mail_to(smtp, address: str, count: int = 1, timeout: float = 10) -> list[EmailMessage]:
    """The messages `smtp` (tests.fakes.smtp.SmtpServer) received for `address`, once at
    least `count` arrived."""
    deadline = time.monotonic() + timeout
    while True:
        found = [m for m in smtp.messages if m["To"] == address]
        if len(found) >= count or time.monotonic() > deadline:
            assert len(found) >= count, f"expected {count} message(s) to {address}, got {len(found)}"
            return found
        time.sleep(0.02)
