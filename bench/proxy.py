"""A counting TCP proxy before PostgreSQL: every statement a server sends, classified."""

import asyncio
import contextlib
import re
import struct
from collections import Counter
from dataclasses import dataclass, field

SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
# Not the work a request asked for: transaction control and connection housekeeping.
OVERHEAD = re.compile(
    r"^\s*(BEGIN|START TRANSACTION|COMMIT|ROLLBACK|SAVEPOINT|RELEASE|END|SET |RESET |"
    r"SHOW |LISTEN|UNLISTEN|SELECT 1\s*$|SELECT pg_advisory_unlock_all|;|$)",
    re.IGNORECASE,
)
# Work of the process, not of the request that happened to be running: the shared request
# and cost budgets' periodic writes (they run only while there are charges to share, so an
# idle server does not show them) and asyncpg's type introspection on a new pooled
# connection.
HOUSEKEEPING = re.compile(
    r"^\s*(INSERT INTO (cost_bucket|rate_limit_window)\b|WITH RECURSIVE typeinfo_tree|"
    r"SELECT current_setting\('jit'\)|SELECT set_config\('jit')",
    re.IGNORECASE,
)


@dataclass
class StatementCounter:
    """Executed statements: 'Q' simple queries and 'E' executes of the extended protocol."""

    total: int = 0
    work: int = 0
    texts: Counter[str] = field(default_factory=Counter)

    def record(self, sql: str) -> None:
        """Count one executed statement."""
        self.total += 1
        if not OVERHEAD.match(sql):
            self.work += 1
        self.texts[" ".join(sql.split())[:160]] += 1

    def snapshot(self) -> tuple[int, int, Counter[str]]:
        """Totals so far, to subtract from a later snapshot."""
        return self.total, self.work, Counter(self.texts)


class _FrontendParser:
    """Follows one client's typed messages: Parse -> Bind -> Execute, and Query."""

    def __init__(self, counter: StatementCounter) -> None:
        self.counter = counter
        self.buffer = bytearray()
        self.statements: dict[bytes, str] = {}
        self.portals: dict[bytes, str] = {}

    def feed(self, data: bytes) -> None:
        """Consume forwarded bytes, counting each complete message."""
        self.buffer += data
        while len(self.buffer) >= 5:
            (length,) = struct.unpack("!i", self.buffer[1:5])
            if len(self.buffer) < 1 + length:
                return
            kind = bytes(self.buffer[0:1])
            body = bytes(self.buffer[5 : 1 + length])
            del self.buffer[: 1 + length]
            self._message(kind, body)

    def _message(self, kind: bytes, body: bytes) -> None:
        if kind == b"Q":
            self.counter.record(body.rstrip(b"\0").decode(errors="replace"))
        elif kind == b"P":
            name, _, rest = body.partition(b"\0")
            query, _, _ = rest.partition(b"\0")
            self.statements[name] = query.decode(errors="replace")
        elif kind == b"B":
            portal, _, rest = body.partition(b"\0")
            statement, _, _ = rest.partition(b"\0")
            self.portals[portal] = self.statements.get(statement, "?")
        elif kind == b"E":
            portal, _, _ = body.partition(b"\0")
            self.counter.record(self.portals.get(portal, "?"))


async def _startup(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
    """Answer SSL/GSS encryption requests with 'N'; return the startup message to forward."""
    while True:
        head = await reader.readexactly(8)
        length, code = struct.unpack("!ii", head)
        if length == 8 and code in (SSL_REQUEST, GSSENC_REQUEST):
            writer.write(b"N")
            await writer.drain()
            continue
        return head + await reader.readexactly(length - 8)


class CountingProxy:
    """Listens on 127.0.0.1:`port` and forwards to PostgreSQL, counting statements."""

    def __init__(self, port: int, upstream_host: str, upstream_port: int) -> None:
        self.port = port
        self.upstream = (upstream_host, upstream_port)
        self.counter = StatementCounter()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Begin accepting connections."""
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def stop(self) -> None:
        """Stop accepting and close every relayed connection."""
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.close()
            self._tasks.discard(task)
            return
        parser = _FrontendParser(self.counter)

        async def client_to_server() -> None:
            up_writer.write(await _startup(reader, writer))
            while data := await reader.read(65536):
                parser.feed(data)
                up_writer.write(data)
                await up_writer.drain()

        async def server_to_client() -> None:
            while data := await up_reader.read(65536):
                writer.write(data)
                await writer.drain()

        try:
            await asyncio.wait(
                [asyncio.create_task(client_to_server()), asyncio.create_task(server_to_client())],
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            for w in (writer, up_writer):
                w.close()
            self._tasks.discard(task)
