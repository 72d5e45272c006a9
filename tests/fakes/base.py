"""What the fake services in tests/fakes share.

FakeServer: a real aiohttp server in its own thread and event loop on a loopback port, so
the code under test talks HTTP to it exactly as it would to the real service. State lives
on the object, so it survives stop() and start() on the same port (a service going down
and coming back). A subclass adds its routes and its `_middleware`.

FaultyFakeServer adds faults on named back-channel endpoints (`WHICH`), for the identity
providers: fail_next(), garbage_next() and hang_next(). A subclass maps a request to one
of those names (`_which`), answers a failure in its service's error shape
(`_default_error`), and calls `_injected(which)` from its middleware.
"""

import asyncio
import base64
import copy
import hashlib
import socket
import threading
from typing import Any, NamedTuple, Self
from urllib.parse import urlencode, urlsplit

from aiohttp import web

HOST = "127.0.0.1"


class SeenRequest(NamedTuple):
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    query: dict[str, str]
    form: dict[str, str]  # the request body's parameters, {} if none


def s256(verifier: str) -> str:
    """RFC 7636 §4.2."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def redirect(location: str) -> web.Response:
    return web.Response(status=302, headers={"Location": location})


def with_query(url: str, params: list[tuple[str, str]], **encoding: Any) -> str:
    """`url` with `params` added to its query (`encoding`: urlencode's quote_via, safe)."""
    return f"{url}{'&' if urlsplit(url).query else '?'}{urlencode(params, **encoding)}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class FakeServer:
    NAME = "service"  # in thread names and start-up errors

    def __init__(self, port: int | None = None) -> None:
        self.port = free_port() if port is None else port
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def add_routes(self, router: web.UrlDispatcher) -> None:
        raise NotImplementedError

    @web.middleware
    async def _middleware(self, request: web.Request, handler) -> web.StreamResponse:
        return await handler(request)

    def start(self) -> None:
        assert self._thread is None, f"{self.NAME} server already running"
        ready = threading.Event()
        failure: list[BaseException] = []
        loop = asyncio.new_event_loop()

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._serve())
            except BaseException as exc:  # noqa: BLE001 (reported to start())
                failure.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()

        thread = threading.Thread(target=run, name=f"fake-{self.NAME.lower()}-{self.port}", daemon=True)
        thread.start()
        if not ready.wait(10) or failure:
            raise RuntimeError(f"fake {self.NAME} did not start on {self.url}") from (failure[0] if failure else None)
        self._loop, self._thread = loop, thread

    async def _serve(self) -> None:
        app = web.Application(middlewares=[self._middleware])
        self.add_routes(app.router)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        await web.TCPSite(runner, HOST, self.port, reuse_address=True).start()
        self._runner = runner

    def stop(self) -> None:
        if self._thread is None:
            return
        loop, runner = self._loop, self._runner
        assert loop is not None
        if runner is not None:
            try:
                asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
            except Exception:  # noqa: BLE001 (a hung handler must not wedge the test run)
                pass
        loop.call_soon_threadsafe(loop.stop)
        self._thread.join(timeout=10)
        loop.close()
        self._loop = self._thread = self._runner = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()


class FaultyFakeServer(FakeServer):
    """An identity provider's fake: its accounts, the requests it saw, the authorizations it
    granted or refused, and faults on its back-channel endpoints."""

    WHICH: tuple[str, ...] = ("any",)  # the endpoints faults can name; "any" is any of them
    SEEN: type = SeenRequest  # what `requests` holds (a fake may add properties)
    GARBAGE = "<!DOCTYPE html><html><head><title>Error</title></head><body><p>Something went wrong.</p></body></html>"

    def __init__(self, port: int | None = None) -> None:
        super().__init__(port)
        self._faults: list[tuple[str, str, int, Any]] = []  # (which, "fail"|"garbage", status, body)
        self._hangs: list[tuple[str, float]] = []  # (which, seconds)
        self._accounts: dict = {}
        self._seen: list = []  # SEEN, as _record keeps them
        self._authorizations: list[dict] = []

    @property
    def accounts(self) -> dict:
        with self._lock:
            return copy.deepcopy(self._accounts)

    @property
    def requests(self) -> list:
        """Every HTTP request seen, in order (failed and hung ones too)."""
        with self._lock:
            return list(self._seen)

    @property
    def authorizations(self) -> list[dict]:
        """One dict per authorize request that got past client and redirect_uri validation,
        with the parameters sent, `params` (the whole query), `account` (None if denied),
        `denied` and `code`."""
        with self._lock:
            return copy.deepcopy(self._authorizations)

    def fail_next(self, status: int = 500, body: Any = None, *, which: str = "token", times: int = 1) -> None:
        """The next `times` requests to `which` (one of WHICH) answer `status` with `body` (a
        dict/list is sent as JSON, str as text/html, bytes raw; default the service's own
        error shape). Nothing else happens: a code sent to a failed token request is still
        unused."""
        assert which in self.WHICH, which
        with self._lock:
            self._faults.extend([(which, "fail", status, body)] * times)

    def garbage_next(self, *, which: str = "token", times: int = 1) -> None:
        """The next `times` matching requests answer 200 with an HTML (non-JSON) body."""
        assert which in self.WHICH, which
        with self._lock:
            self._faults.extend([(which, "garbage", 200, None)] * times)

    def hang_next(self, seconds: float, *, which: str = "any", times: int = 1) -> None:
        """The next `times` matching requests wait `seconds` before being handled; then they are
        processed normally (a token request still uses up its code, like a lost answer)."""
        assert which in self.WHICH, which
        with self._lock:
            self._hangs.extend([(which, seconds)] * times)

    def _default_error(self, status: int) -> web.Response:
        raise NotImplementedError

    def _record(self, request: web.Request, form: dict) -> None:
        """Keep the request for `requests` (headers by lower-case name), as a `SEEN`."""
        with self._lock:
            self._seen.append(self.SEEN(request.method, request.path,
                                          {k.lower(): v for k, v in request.headers.items()},
                                          {k: request.query[k] for k in request.query}, form))

    async def _injected(self, which: str) -> web.Response | None:
        """For a request to endpoint `which` ("other": not one of WHICH): wait out a hang,
        then the fault's answer, if one is due."""
        if which == "other":
            return None
        with self._lock:
            hang = _take(self._hangs, which)
        if hang is not None:
            await asyncio.sleep(hang[1])
        with self._lock:
            fault = _take(self._faults, which)
        if fault is None:
            return None
        _, kind, status, body = fault
        if kind == "garbage":
            return web.Response(status=200, content_type="text/html", text=self.GARBAGE)
        if body is None:
            return self._default_error(status)
        if isinstance(body, (dict, list)):
            return web.json_response(body, status=status)
        if isinstance(body, str):
            return web.Response(status=status, text=body, content_type="text/html")
        return web.Response(status=status, body=body, content_type="application/octet-stream")


def _take(queue: list, which: str):
    for index, item in enumerate(queue):
        if item[0] in ("any", which):
            return queue.pop(index)
    return None
