"""The sender's and the follower's bookkeeping, with stand-ins for the read models and
the store: nothing is sent before the read models caught up, a recorded outcome is not
sent again while the read models do not show it yet, a few deliveries of one webhook at a
time, nothing sent once another process leads, and no store query per pass while no
webhook was ever created."""

import asyncio

from astapa.clock import FakeClock
from astapa.queries import DueDelivery
from astapa.webhooks.follower import Follower
from astapa.webhooks.sender import Sender
from astapa.webhooks.service import Webhooks

NOW = 1_800_000_000.0


class Runner:
    def __init__(self, visible: int, head: int) -> None:
        self.visible_position = visible
        self._head = head
        self.listeners: list = []

    def head(self) -> int:
        return self._head


class Reads:
    pool = None  # the loop's default executor

    def __init__(self, due: list[DueDelivery]) -> None:
        self.due = due
        self.queries = 0

    async def query(self, query, *args):
        self.queries += 1
        return self.due


def due(n: int, webhook: str = "a" * 32, sub: str | None = None) -> DueDelivery:
    return DueDelivery(f"{n:032x}", webhook, "proj_a", 100 + n, "user.created", sub or str(n),
                       "https://app.example/hook", 0)


def sender(runner: Runner, reads: Reads) -> Sender:
    return Sender(None, None, runner, reads, FakeClock(NOW), False, 10.0, 1.0)


def test_nothing_is_sent_before_the_read_models_caught_up():
    async def run():
        runner, reads = Runner(visible=5, head=10), Reads([due(1)])
        deliveries = sender(runner, reads)
        assert await deliveries.refill() == 0 and reads.queries == 0
        runner.visible_position = 10
        assert await deliveries.refill() == 1
    asyncio.run(run())


def test_a_recorded_outcome_is_not_sent_again_before_the_read_models_show_it():
    async def run():
        runner, reads = Runner(visible=10, head=10), Reads([due(1)])
        deliveries = sender(runner, reads)
        deliveries._recorded[due(1).delivery_id] = 12  # delivered, not yet applied
        assert await deliveries.refill() == 0
        runner.visible_position = 12  # applied: the read model no longer offers it as due
        assert await deliveries.refill() == 1 and deliveries._recorded == {}
    asyncio.run(run())


def test_one_webhook_gets_a_few_workers_and_each_delivery_is_queued_once():
    async def run():
        reads = Reads([due(n) for n in range(10)] + [due(50, webhook="b" * 32)])
        deliveries = sender(Runner(visible=10, head=10), reads)
        assert await deliveries.refill() == Sender.PER_WEBHOOK + 1
        assert await deliveries.refill() == 0  # queued already, or the webhook is at its cap
    asyncio.run(run())


def test_one_users_later_delivery_waits_for_the_one_in_flight():
    async def run():
        reads = Reads([due(1, sub="7"), due(2, sub="7")])
        deliveries = sender(Runner(visible=10, head=10), reads)
        assert await deliveries.refill() == 1
    asyncio.run(run())


def test_nothing_is_posted_once_another_process_leads():
    async def run():
        deliveries = sender(Runner(visible=10, head=10), Reads([due(1)]))
        deliveries.leads = lambda: False
        assert await deliveries.refill() == 0
        await deliveries._attempt(due(1))  # returns before building, posting or recording anything
    asyncio.run(run())


class FollowerStore:
    def __init__(self) -> None:
        self.asked = 0

    def webhook_follower_position(self) -> None:
        self.asked += 1
        return None


def test_the_follower_asks_the_store_again_only_when_webhooks_change():
    async def run():
        store = FollowerStore()
        follower = Follower(store, None, Runner(visible=10, head=10), Reads([]), FakeClock(NOW), lambda: True)
        assert [await follower.step() for _ in range(3)] == [0, 0, 0] and store.asked == 1
        follower.webhooks_changed()
        await follower.step()
        assert store.asked == 2
    asyncio.run(run())


def test_stopping_removes_the_read_model_listener():
    async def run():
        runner = Runner(visible=10, head=10)
        follower = Follower(FollowerStore(), None, runner, Reads([]), FakeClock(NOW), lambda: True)
        service = Webhooks(follower, sender(runner, Reads([])))
        runner.listeners.append(service.on_read_models(asyncio.get_running_loop()))
        service.start()
        await service.stop()
        assert runner.listeners == []
    asyncio.run(run())


def test_stopping_cancels_again_a_task_that_swallowed_its_cancellation():
    """As asyncio.wait_for does on Python 3.11 when the cancellation and the result arrive
    together: the shutdown must not wait for that task forever."""
    from astapa.webhooks.sender import finish

    swallowed = []

    async def stubborn() -> None:
        while True:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                swallowed.append(1)
                if len(swallowed) > 1:
                    raise

    async def scenario() -> bool:
        task = asyncio.create_task(stubborn())
        await asyncio.sleep(0)
        await asyncio.wait_for(finish([task]), 5)
        return task.cancelled()

    assert asyncio.run(scenario()) and len(swallowed) == 2
