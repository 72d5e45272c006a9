"""A round-robin TCP load balancer on a loopback port, for tests of several nodes.

Each new connection goes to the next node in turn and is piped both ways as it is, as a
layer-4 balancer does: a client opening a new connection per request meets every node.
"""

import asyncio
import contextlib
import itertools
import socket
import threading


class RoundRobin:
    def __init__(self, ports: list[int], host: str = "127.0.0.1") -> None:
        self.host = host
        self.ports = ports  # may be filled in until start()
        self.loop = asyncio.new_event_loop()
        self.connections: dict[int, int] = {port: 0 for port in ports}  # per node, for the tests
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._server: asyncio.AbstractServer | None = None
        sock = socket.socket()
        sock.bind((host, 0))
        self.port = sock.getsockname()[1]
        self._socket = sock

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> "RoundRobin":
        self._next = itertools.cycle(self.ports)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._listen(), self.loop).result(10)
        return self

    async def _listen(self) -> None:
        self._socket.listen(128)
        self._server = await asyncio.start_server(self._handle, sock=self._socket)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        port = next(self._next)
        self.connections[port] += 1
        # From the client's own loopback address (any 127.x.y.z is this machine's), so a node
        # sees the address the client used, as a balancer passing the source on (PROXY
        # protocol, transparent mode) lets it: per-address limits stay per address.
        client_host = writer.get_extra_info("peername")[0]
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(
                self.host, port, local_addr=(client_host, 0))
        except OSError:
            writer.close()
            return
        await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))

    def stop(self) -> None:
        async def close() -> None:
            if self._server is not None:
                self._server.close()
            pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in pending:  # connections still piped: closed with the balancer
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(close(), self.loop).result(10)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()
