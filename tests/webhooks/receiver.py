"""A webhook receiver on 127.0.0.1 for the tests: it records every request, answers 500
while told to fail, and answers nothing for `hang` seconds while told to hang."""

import asyncio
import json
import threading
import time
from dataclasses import dataclass

from aiohttp import web


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def document(self) -> dict:
        return json.loads(self.body)


class Receiver:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.failing = False
        self.failing_sub: str | None = None  # fail only the deliveries about this user
        self.hang = 0.0  # seconds to wait before answering (past the sender's timeout)
        self.lock = threading.Lock()
        self.loop = asyncio.new_event_loop()
        self.started = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._start())
        self.started.set()
        self.loop.run_forever()
        self.loop.run_until_complete(self.runner.cleanup())

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_post("/hooks", self._hook)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]

    async def _hook(self, request: web.Request) -> web.Response:
        body = await request.read()
        with self.lock:
            self.received.append(Received(dict(request.headers), body))
        until = time.monotonic() + self.hang
        while self.hang and time.monotonic() < until:  # stop() ends the wait
            await asyncio.sleep(0.05)
        failing = self.failing or (self.failing_sub is not None
                                   and json.loads(body)["data"]["sub"] == self.failing_sub)
        return web.Response(status=500 if failing else 204)

    def start(self) -> "Receiver":
        self.thread.start()
        self.started.wait(10)
        return self

    def stop(self) -> None:
        self.hang = 0.0
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """At least `count` requests received (or fail the test)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.02)
        raise AssertionError(f"{len(self.received)} requests received, not {count}")

    def quiet(self, seconds: float = 1.5) -> int:
        """How many requests arrived in all, once `seconds` passed with none arriving."""
        count = len(self.received)
        time.sleep(seconds)
        assert len(self.received) == count, "a request arrived"
        return count

    def documents(self) -> list[dict]:
        with self.lock:
            return [r.document for r in self.received]
