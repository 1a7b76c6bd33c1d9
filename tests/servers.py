"""The app as a separate `gql serve` process on 127.0.0.1, for tests that need a real one."""

import asyncio
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Self

import httpx


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def run_gql(*args: str, env: dict[str, str], cwd: Path | None = None) -> str:
    """Run a `gql` command to completion; its stdout (it must succeed)."""
    done = subprocess.run(
        [sys.executable, "-m", "gql.cli", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


class ServerProcess:
    """`gql serve` with the given environment, started and stopped by the test."""

    def __init__(
        self,
        settings: dict[str, str],
        cwd: Path | None = None,
        command: list[str] | None = None,
    ) -> None:
        self.port = free_port()
        self.command = command or [sys.executable, "-m", "gql.cli", "serve"]
        self.env = os.environ | {
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "PURGE_INTERVAL_SECONDS": "0",
            "RATE_LIMIT_REQUESTS": "0",
            "COST_BUDGET_MAXIMUM": "0",
            "SQLITE_BUSY_TIMEOUT_MS": "60000",  # as in tests.conftest.make_settings
            **settings,
        }
        self.cwd = cwd
        self.process: subprocess.Popen[str] | None = None
        # A file, not a pipe: a pipe nobody reads fills up and blocks the server.
        self.log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115

    @property
    def url(self) -> str:
        """Base URL for HTTP."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        """The GraphQL WebSocket endpoint."""
        return f"ws://127.0.0.1:{self.port}/graphql"

    def start(self, timeout: float = 60) -> Self:
        """Start serving; returns once /healthz answers."""
        self.process = subprocess.Popen(
            self.command,
            env=self.env,
            cwd=self.cwd,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            text=True,
            # Its own process group: stop() ends uvicorn's --workers children with it.
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gql serve exited: {self.logged()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("gql serve did not start")

    def logged(self) -> str:
        """Everything the server wrote so far."""
        self.log.seek(0)
        return self.log.read()

    def stop(self) -> tuple[int, str]:
        """Kill the server if it still runs; its exit code and what it logged."""
        if self.process is None:
            return -1, self.logged()
        if self.process.poll() is None:
            self.process.kill()
        code = self.process.wait(timeout=30)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # workers left behind by a kill
        logged = self.logged()
        self.log.close()
        return code, logged


async def wait_for_subscribers(base_url: str, count: int, timeout: float = 10) -> None:
    """Return once the server at `base_url` reports `count` live subscriptions in /metrics."""
    async with httpx.AsyncClient(base_url=base_url) as client, asyncio.timeout(timeout):
        while True:
            metrics = (await client.get("/metrics")).text
            match = re.search(r"^gql_active_subscriptions (\S+)$", metrics, re.MULTILINE)
            if match and float(match.group(1)) >= count:
                return
            await asyncio.sleep(0.02)
