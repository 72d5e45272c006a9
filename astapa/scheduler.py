"""Jobs that run inside `astapa serve` (apscheduler on the server's event loop).

- mail: deliver messages that are due; retries fall due as the (injected) clock moves.
- clean-up: delete expired pending links, with the authorization requests they carry,
  from the read models. The events stay in the log; a rebuild followed by a clean-up
  gives the same tables.
"""

import asyncio
import logging

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from astapa.context import Context
from astapa.mail import Mailer
from projections.mail import delete_expired
from projections.runner import connect

log = logging.getLogger("astapa.scheduler")

CLEAN_UP_INTERVAL = 60.0


def start_scheduler(ctx: Context, mailer: Mailer) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(event_loop=asyncio.get_running_loop(), timezone="UTC")
    scheduler.add_job(mailer.tick, "interval", seconds=ctx.settings.mail_interval, id="mail",
                      max_instances=1, coalesce=True)
    scheduler.add_job(clean_up, "interval", args=[ctx], seconds=CLEAN_UP_INTERVAL, id="clean-up",
                      max_instances=1, coalesce=True)
    scheduler.start()
    return scheduler


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
