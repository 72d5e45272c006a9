"""Mail delivery: queued messages (events) rendered and sent, and the outcome recorded.

The mailer reads due messages from the `mail` read model, renders each one (a text and an
HTML part from templates/mail/, the action link derived from the link's key), hands it to
the transport, and records the outcome as an event: Delivered, DeliveryFailed with the
time of the next attempt (exponential backoff), or Bounced for a permanent 5xx refusal.
A message is never sent again once its delivery is recorded; one sent but not yet
recorded (a crash in between) is sent again with the same Message-ID. """

import asyncio
import logging
import re
from typing import Callable
from uuid import UUID

from astapa.app import AstapaApplication
from astapa.clock import SystemClock
from astapa.domain.errors import DomainError
from astapa.mail.compose import Composer
from astapa.mail.transports import PermanentFailure, TemporaryFailure, Transport
from astapa.queries import QueuedMail, ReadModels, due_mail, queued_mail_after
from astapa.store.writer import Writer
from projections.runner import Runner

log = logging.getLogger("astapa.mail")


class Mailer:
    """Delivers due messages, one sweep at a time; a nudge asks for another sweep."""

    BATCH = 50
    CONCURRENCY = 8

    def __init__(self, app: AstapaApplication, writer: Writer, runner: Runner, reads: ReadModels,
                 clock: SystemClock, transport: Transport, composer: Composer, retry_base: float,
                 retry_max: float, projection_wait: float) -> None:
        self.app = app
        self.writer = writer
        self.runner = runner
        self.reads = reads
        self.clock = clock
        self.projection_wait = projection_wait
        self.transport = transport
        self.composer = composer
        self.retry_base = retry_base
        self.retry_max = retry_max
        self._wanted = False
        self._task: asyncio.Task | None = None
        # Sent in this process but perhaps not yet recorded: never sent twice.
        self._sent: dict[str, str] = {}
        # After a start, every queued message is tried once, due or not (a restart is often
        # how an operator fixes what kept mail from going out): a pass in queue order.
        self._start_cursor: tuple[float, str] | None = (-1.0, "")
        self._stopped = False  # no sweep starts once shutdown began
        # Whether this process sends the mail of all the workers or nodes sharing the store
        # (server.py, leadership): only one does.
        self.leads: Callable[[], bool] = lambda: True

    def nudge(self) -> None:
        """Sweep now (or again, after the sweep under way). Call on the event loop."""
        if self._stopped:
            return
        self._wanted = True
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._sweeps())

    def on_read_models(self, loop: asyncio.AbstractEventLoop) -> Callable[[set[str]], None]:
        """A projection listener: new mail in the read model means a sweep."""
        def listener(changed: set[str]) -> None:
            if "mail" in changed:
                loop.call_soon_threadsafe(self.nudge)
        return listener

    async def tick(self) -> None:
        """The scheduler's job: retries fall due as the clock moves."""
        self.nudge()

    async def stop(self) -> None:
        self._stopped = True
        if self._task is not None:
            self._wanted = False
            try:
                await asyncio.wait_for(asyncio.shield(self._task), 10)
            except Exception:
                log.warning("mail sweep still running at shutdown; its messages stay queued")

    async def _sweeps(self) -> None:
        while self._wanted:
            self._wanted = False
            try:
                while await self.sweep() == self.BATCH:
                    pass
            except Exception:
                log.exception("mail sweep failed; the next one retries")

    async def sweep(self) -> int:
        if not self.leads():
            return 0
        if self._start_cursor is not None:
            due = await self.reads.query(queued_mail_after, self._start_cursor, self.BATCH)
            self._start_cursor = (due[-1].queued_at, due[-1].message_id) if len(due) == self.BATCH else None
        else:
            due = await self.reads.query(due_mail, self.clock.now(), self.BATCH)
        # A few sends at a time; each outcome is recorded outside its slot, so the records
        # share commits while the next sends go on. The sweep ends once the read model shows
        # every outcome, so the next sweep cannot pick a message again.
        slots = asyncio.Semaphore(self.CONCURRENCY)
        outcomes = await asyncio.gather(*(self._deliver(mail, slots) for mail in due),
                                        return_exceptions=True)
        positions = [0]
        for outcome in outcomes:
            if isinstance(outcome, BaseException):  # recorded next time (see _deliver)
                log.warning("mail outcome not recorded yet: %r", outcome)
            else:
                positions.append(outcome)
        await self.runner.wait(max(positions), self.projection_wait)
        return len(due)

    async def _deliver(self, mail: QueuedMail, slots: asyncio.Semaphore) -> int:
        """Send (unless this process already did) and record the outcome; its position."""
        app, reply = self.app, self._sent.get(mail.message_id)
        if reply is None and mail.link_key is not None:
            dead = await self._dead_link(mail)
            if dead:
                log.info("mail %s (%s) dropped: its link %s", mail.message_id, mail.kind, dead)
                return await self._record(app.record_dropped, mail, f"link {dead}")
        if reply is None:
            try:
                async with slots:
                    if not self.leads():  # another process took the mail over meanwhile
                        return 0
                    reply = await self.transport.send(self.composer.compose(mail), mail)
            except PermanentFailure as e:
                log.warning("mail %s (%s) bounced: %s", mail.message_id, mail.kind, loggable(e))
                return await self._record(app.record_failure, mail, str(e), None)
            except TemporaryFailure as e:
                delay = min(self.retry_base * 2 ** mail.attempts, self.retry_max)
                log.warning("mail %s (%s) not delivered, retrying in %ds: %s",
                            mail.message_id, mail.kind, delay, loggable(e))
                return await self._record(app.record_failure, mail, str(e), self.clock.now() + delay)
            self._sent[mail.message_id] = reply
        log.info("mail %s (%s) delivered by %s", mail.message_id, mail.kind, self.transport.name)
        position = await self._record(app.record_delivery, mail, self.transport.name, reply)
        self._sent.pop(mail.message_id, None)
        return position

    async def _dead_link(self, mail: QueuedMail) -> str | None:
        """Why the message's link can no longer be used, or None while it can."""
        token = self.composer.link_tokens.token(mail.kind, mail.link_key)
        try:
            await asyncio.get_running_loop().run_in_executor(
                self.reads.pool, self.app.usable_link, mail.kind, token, self.clock.now())
        except DomainError as e:
            return str(e.args[0]) if e.args else type(e).__name__
        return None

    async def _record(self, command, mail: QueuedMail, *args) -> int:
        _, position = await self.writer.run(command, UUID(mail.message_id), *args)
        return position


def loggable(failure: Exception) -> str:
    """What the log may say of a delivery failure: the SMTP reply's code (`550`), the
    refused recipients' codes, or the failure's kind (`SMTPServerDisconnected`), never the
    server's text, which may quote the recipient's address (it is recorded, sealed, in the
    event: astapa/store/personal_data.py)."""
    text = str(failure)
    code = re.match(r"[2-5]\d\d\b", text)
    if code:
        return code.group()
    head, _, rest = text.partition(":")
    return text if re.fullmatch(r" \[[\d, ]*\]", rest) else head
