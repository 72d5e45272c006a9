"""Jobs that run inside `astapa serve` (apscheduler on the server's event loop).

- mail: deliver messages that are due; retries fall due as the (injected) clock moves.
- plans: users whose plan's end has passed go back to free (a PlanExpired event each);
  checked every second against the injected clock. Tokens never wait for it: the token
  path already treats an ended plan as free.
- payments: settle succeeded payments into plans, expire unpaid ones, and ask Xendit about
  payments pending too long (astapa/payments.py).
- clean-up: delete expired pending links, with the authorization requests they carry,
  from the read models. The events stay in the log; a rebuild followed by a clean-up
  gives the same tables.
"""

import asyncio
import logging
from pathlib import Path
from typing import Callable

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from astapa.app import AstapaApplication
from astapa.clock import SystemClock
from astapa.config import Settings
from astapa.mail.mailer import Mailer
from astapa.payments.jobs import Payments
from astapa.queries import ReadModels, expired_plans
from astapa.store.writer import Writer
from projections.mail import delete_expired
from projections.runner import Runner, connect

log = logging.getLogger("astapa.scheduler")

CLEAN_UP_INTERVAL = 60.0
PLAN_INTERVAL = 1.0
PAYMENT_INTERVAL = 1.0


# apscheduler says "Running job …" at INFO for every run: once a second, per job.
logging.getLogger("apscheduler").setLevel(logging.WARNING)


def start_scheduler(settings: Settings, clock: SystemClock, app: AstapaApplication, writer: Writer,
                    runner: Runner, reads: ReadModels, mailer: Mailer, payments: Payments,
                    leads: Callable[[], bool]) -> AsyncIOScheduler:
    """`leads`: whether this process runs the one-time jobs (mail, plans, payments) of the
    workers or nodes sharing the store; each one cleans its own read models."""
    scheduler = AsyncIOScheduler(event_loop=asyncio.get_running_loop(), timezone="UTC")
    jobs = (("mail", mailer.tick, (), settings.mail_interval, True),
            ("clean-up", clean_up, (settings.read_db, clock), CLEAN_UP_INTERVAL, False),
            ("plans", expire_plans, (clock, app, writer, runner, reads, settings.projection_wait), PLAN_INTERVAL,
             True),
            ("payments", payments.run_jobs, (), PAYMENT_INTERVAL, True))
    for name, job, args, seconds, once in jobs:
        scheduler.add_job(until_shutdown(job, leads if once else None), "interval", args=list(args),
                          seconds=seconds, id=name,
                          max_instances=1, coalesce=True)
    scheduler.start()
    return scheduler


def until_shutdown(job, leads: Callable[[], bool] | None = None):
    """A job that stops quietly when shutdown cancels it mid-run (what it did is saved;
    what it did not do is done at the next start). Any other failure is logged. With
    `leads`, it runs only while this process leads."""
    async def run(*args):
        if leads is not None and not leads():
            return None
        try:
            return await job(*args)
        except asyncio.CancelledError:
            return None
        except Exception:
            log.exception("job %s failed; it runs again at its next time", job.__name__)
            return None
    run.__name__ = job.__name__
    return run


async def clean_up(read_db: Path, clock: SystemClock) -> int:
    def delete() -> int:
        conn = connect(read_db)
        try:
            return delete_expired(conn, clock.now())
        finally:
            conn.close()

    deleted = await asyncio.get_running_loop().run_in_executor(None, delete)
    if deleted:
        log.info("clean-up: %d expired rows deleted from the read models", deleted)
    return deleted


async def expire_plans(clock: SystemClock, app: AstapaApplication, writer: Writer, runner: Runner,
                       reads: ReadModels, projection_wait: float) -> int:
    """Record the end of every plan whose time has come; how many ended."""
    now = clock.now()
    ended = 0
    while due := await reads.query(expired_plans, now, 100):
        positions = await writer.run_each(app.expire_plan, [(project_id, sub, now) for project_id, sub in due])
        if not positions:  # nothing to record: the read model lags a newer assignment
            break
        await runner.wait(max(positions), projection_wait)
        ended += len(positions)
    if ended:
        log.info("plans: %d users back on free", ended)
    return ended
