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

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from astapa.web.context import Context
from astapa.mail.mailer import Mailer
from astapa.queries import expired_plans
from projections.mail import delete_expired
from projections.runner import connect

log = logging.getLogger("astapa.scheduler")

CLEAN_UP_INTERVAL = 60.0
PLAN_INTERVAL = 1.0
PAYMENT_INTERVAL = 1.0


# apscheduler says "Running job …" at INFO for every run: once a second, per job.
logging.getLogger("apscheduler").setLevel(logging.WARNING)


def start_scheduler(ctx: Context, mailer: Mailer) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(event_loop=asyncio.get_running_loop(), timezone="UTC")
    jobs = (("mail", mailer.tick, (), ctx.settings.mail_interval),
            ("clean-up", clean_up, (ctx,), CLEAN_UP_INTERVAL),
            ("plans", expire_plans, (ctx,), PLAN_INTERVAL),
            ("payments", ctx.payments.run_jobs, (), PAYMENT_INTERVAL))
    for name, job, args, seconds in jobs:
        scheduler.add_job(until_shutdown(job), "interval", args=list(args), seconds=seconds, id=name,
                          max_instances=1, coalesce=True)
    scheduler.start()
    return scheduler


def until_shutdown(job):
    """A job that stops quietly when shutdown cancels it mid-run (what it did is saved;
    what it did not do is done at the next start). Any other failure is logged."""
    async def run(*args):
        try:
            return await job(*args)
        except asyncio.CancelledError:
            return None
        except Exception:
            log.exception("job %s failed; it runs again at its next time", job.__name__)
            return None
    run.__name__ = job.__name__
    return run


async def clean_up(ctx: Context) -> int:
    def delete() -> int:
        conn = connect(ctx.settings.read_db)
        try:
            return delete_expired(conn, ctx.clock.now())
        finally:
            conn.close()

    deleted = await asyncio.get_running_loop().run_in_executor(None, delete)
    if deleted:
        log.info("clean-up: %d expired rows deleted from the read models", deleted)
    return deleted


async def expire_plans(ctx: Context) -> int:
    """Record the end of every plan whose time has come; how many ended."""
    now = ctx.clock.now()
    ended = 0
    while due := await ctx.reads.query(expired_plans, now, 100):
        recorded = await ctx.run_each(ctx.app.expire_plan, [(project_id, sub, now) for project_id, sub in due])
        if not recorded:  # nothing to record: the read model lags a newer assignment
            break
        ended += recorded
    if ended:
        log.info("plans: %d users back on free", ended)
    return ended
