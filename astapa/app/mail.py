"""Delivery outcomes of queued messages, recorded by the mailer (astapa/mail/mailer.py)."""

from astapa.domain.errors import MessageNotFoundError
from astapa.domain.mail import Message
from astapa.store.events import Decision, EventStore


class MailCommands(EventStore):
    def record_delivery(self, message_id, transport: str, reply: str) -> Decision:
        message = self._message_to_settle(message_id)
        if message is None:
            return Decision([])  # already settled: recording it again changes nothing
        message.deliver(transport=transport, reply=reply[:200], user_id=message.user_id)
        return Decision([message])

    def record_failure(self, message_id, error: str, retry_at: float | None) -> Decision:
        """retry_at None: refused for good (bounced)."""
        message = self._message_to_settle(message_id)
        if message is None:
            return Decision([])
        if retry_at is None:
            message.bounce(error=error[:200], user_id=message.user_id)
        else:
            message.fail(error=error[:200], retry_at=retry_at, user_id=message.user_id)
        return Decision([message])

    def _message_to_settle(self, message_id) -> Message | None:
        message: Message = self.load(message_id, lambda: MessageNotFoundError(str(message_id)))
        return None if message.settled else message

    def record_dropped(self, message_id, reason: str) -> Decision:
        message = self._message_to_settle(message_id)
        if message is None:
            return Decision([])
        message.drop(reason=reason)
        return Decision([message])
