"""Payments as the running service handles them: creating one at Xendit, and the jobs that
follow the read model of the log.

- settle: reconciliation. A success is saved with its plan; a success recorded without
  one (by an earlier version) gets it here, once (the payment's version makes it once).
- expire: payments still waiting past their time become EXPIRED.
- reconcile: payments waiting longer than `reconcile_after` are looked up at Xendit, so a
  lost webhook still settles.
"""

import asyncio
import logging

from astapa.app import AstapaApplication
from astapa.clock import SystemClock
from astapa.config import Settings
from astapa.crypto import equals
from astapa.domain.errors import PaymentNotFoundError
from astapa.domain.payments import Payment
from astapa.payments.credentials import ProjectKeys, XenditCredentials
from astapa.payments.xendit import Xendit, XenditError
from astapa.queries import ReadModels, open_payments, unsettled_payments
from astapa.store.writer import Writer
from projections.runner import Runner

log = logging.getLogger("astapa.payments")

RECONCILE_EVERY = 60.0


class Payments:
    def __init__(self, settings: Settings, app: AstapaApplication, writer: Writer, runner: Runner,
                 reads: ReadModels, clock: SystemClock, project_keys: ProjectKeys) -> None:
        self.settings = settings
        self.app = app
        self.writer = writer
        self.runner = runner
        self.reads = reads
        self.clock = clock
        self.project_keys = project_keys
        self._clients: dict[str, Xendit] = {}
        self._last_reconcile = float("-inf")

    def credentials(self, project_id: str) -> XenditCredentials | None:
        """The project's own Xendit credentials, else the deployment's (None: neither)."""
        own = self.project_keys.get(project_id)
        if own is not None:
            return own
        settings = self.settings
        if settings.xendit_secret_key is None:
            return None
        return XenditCredentials(settings.xendit_secret_key, settings.xendit_callback_token)

    def client(self, project_id: str) -> Xendit | None:
        credentials = self.credentials(project_id)
        if credentials is None:
            return None
        client = self._clients.get(credentials.secret_key)
        if client is None:
            settings = self.settings
            client = self._clients[credentials.secret_key] = Xendit(
                settings.xendit_api_url, credentials.secret_key, settings.xendit_timeout)
        return client

    def callback_token_matches(self, token: str, project_id: str | None) -> bool:
        """The deployment's token, or the token of the project the payment belongs to."""
        tokens = [self.settings.xendit_callback_token]
        if project_id is not None:
            own = self.project_keys.get(project_id)
            tokens.append(own.callback_token if own else None)
        matches = [equals(token, expected) for expected in tokens if expected]
        return any(matches)

    async def close(self) -> None:
        for client in self._clients.values():
            await client.close()

    async def open_at_xendit(self, payment: Payment, description: str, return_url: str,
                             mobile_number: str | None) -> None:
        """Ask Xendit for the payment; its answer is an event either way (PENDING or FAILED)."""
        app = self.app
        xendit = await asyncio.get_running_loop().run_in_executor(None, self.client, payment.project_id)
        assert xendit is not None
        try:
            created = await xendit.create(payment, description, return_url, mobile_number)
        except XenditError as e:
            await self._failed(payment.payment_id, str(e))
            raise
        if created.status in ("FAILED", "CANCELED", "EXPIRED"):
            await self._failed(payment.payment_id, f"Xendit: {created.status}")
            raise XenditError(f"Xendit answered the payment {created.status}", refused=True)
        _, position = await self.writer.run(
            app.payment_pending, payment.payment_id, created.xendit_id, created.qr_string,
            created.checkout_url, created.virtual_account_number)
        await self._read_models_at(position)

    async def _failed(self, payment_id: str, reason: str) -> None:
        """Recorded, and readable before the caller hears of it."""
        _, position = await self.writer.run(self.app.payment_failed, payment_id, reason)
        await self._read_models_at(position)

    async def _read_models_at(self, position: int) -> None:
        """Readable before the caller hears of it (or as soon as the read models catch up)."""
        await self.runner.wait(position, self.settings.projection_wait)

    async def _each(self, command, calls: list[tuple]) -> int:
        positions = await self.writer.run_each(command, calls)
        if positions:
            await self._read_models_at(max(positions))
        return len(positions)

    async def run_jobs(self) -> None:
        """The scheduler's `payments` job (every second)."""
        await self.settle()
        await self.expire()
        now = self.clock.now()
        if now - self._last_reconcile >= RECONCILE_EVERY:
            self._last_reconcile = now
            await self.reconcile()

    async def settle(self) -> int:
        done = 0
        while due := await self.reads.query(unsettled_payments, 50):
            settled = await self._each(self.app.settle_payment, [(p, self.clock.now()) for p in due])
            if not settled:  # the read model lags a settlement just recorded
                break
            done += settled
        if done:
            log.info("payments: %d settled into plans", done)
        return done

    async def expire(self) -> int:
        """Payments past their time: Xendit is asked first (a payment made at the last
        moment, whose webhook is lost, must not expire); EXPIRED unless it says SUCCEEDED.
        If Xendit cannot be asked now, the payment waits for the next run."""
        now = self.clock.now()
        waiting = await self.reads.query(open_payments, now, 500)
        loop = asyncio.get_running_loop()
        expired = 0
        for payment_id, expires_at, xendit_id, project_id in waiting:
            if expires_at > now:
                continue
            xendit = await loop.run_in_executor(None, self.client, project_id) if xendit_id else None
            if xendit is not None:
                try:
                    answer = await xendit.get(xendit_id)
                except XenditError as e:
                    log.warning("before expiring %s: %s", payment_id, e)
                    continue
                if answer.get("status") == "SUCCEEDED":
                    await self.apply(payment_id, "SUCCEEDED", xendit_id, answer.get("latest_payment_id"),
                                     answer.get("request_amount"), answer.get("currency"), "checked at expiry")
                    continue
            await self.writer.run(self.app.payment_expired, payment_id, "expired before it was paid")
            expired += 1
        return expired

    async def reconcile(self) -> int:
        """Ask Xendit about payments pending longer than reconcile_after."""
        asked = 0
        waiting = await self.reads.query(open_payments, self.clock.now() - self.settings.reconcile_after, 100)
        loop = asyncio.get_running_loop()
        for payment_id, _, xendit_id, project_id in waiting:
            xendit = await loop.run_in_executor(None, self.client, project_id)  # reads a key file
            if not xendit_id or xendit is None:
                continue
            try:
                answer = await xendit.get(xendit_id)
            except XenditError as e:
                log.warning("reconciling %s: %s", payment_id, e)
                continue
            asked += 1
            await self.apply(payment_id, answer.get("status"), xendit_id, answer.get("latest_payment_id"),
                             answer.get("request_amount"), answer.get("currency"), "reconciled")
        return asked

    async def apply(self, payment_id: str, status: object, xendit_id: str, xendit_payment_id: object,
                    amount: object, currency: object, source: str,
                    console: tuple[str, str] | None = None) -> int:
        """What Xendit says of a payment (a webhook or a lookup), as an event; its position.
        `console`: (console user, project) of a sandbox payment simulated in the console,
        named in the log in the same save."""
        app = self.app
        if status == "SUCCEEDED":
            command, args = app.payment_succeeded, (
                payment_id, xendit_id, xendit_payment_id if isinstance(xendit_payment_id, str) else None, amount,
                currency, self.clock.now())
        elif status in ("FAILED", "CANCELED"):
            command, args = app.payment_failed, (payment_id, f"{source}: {status}")
        elif status == "EXPIRED":
            command, args = app.payment_expired, (payment_id, f"{source}: {status}")
        else:
            return 0
        if console is not None:
            actor, project_id = console
            command, args = app.by_console, (actor, project_id, "simulate payment", payment_id, command, *args)
        try:
            _, position = await self.writer.run(command, *args)
        except PaymentNotFoundError:
            log.info("Xendit told of %s, which is not one of ours: ignored", payment_id[:80])
            return 0
        return position
