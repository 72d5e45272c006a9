"""The mailer's log lines say what failed, never the server's text, which may quote the
recipient's address."""

from astapa.mail.mailer import loggable
from astapa.mail.transports import PermanentFailure, TemporaryFailure


def test_a_delivery_failure_is_logged_without_the_servers_text():
    assert loggable(PermanentFailure("550 5.1.1 <ada@example.org>: no such user")) == "550"
    assert loggable(TemporaryFailure("SMTPResponseException: 451 ada@example.org greylisted")) == \
        "SMTPResponseException"
    assert loggable(PermanentFailure("recipient refused: [550, 553]")) == "recipient refused: [550, 553]"
