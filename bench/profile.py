"""BENCH_PROFILE=1: py-spy samples gql during the timed Q run; hot frames go in the report."""

import asyncio
import contextlib
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from bench.config import RESULTS_DIR

PY_SPY = Path(sys.executable).parent / "py-spy"


def enabled() -> bool:
    """Whether the run was asked to profile gql."""
    return os.environ.get("BENCH_PROFILE", "").strip() in {"1", "true", "yes"}


async def record(pid: int, delay: float, seconds: float, name: str) -> Path | None:
    """Sample `pid` for `seconds` after `delay`; the folded stacks file, or None."""
    await asyncio.sleep(delay)
    output = RESULTS_DIR / f"{name}.folded"
    command = [str(PY_SPY), "record", "-p", str(pid), "-d", str(max(1, int(seconds)))]
    command += ["-r", "200", "-f", "raw", "--nonblocking", "-o", str(output)]
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    try:
        await asyncio.wait_for(process.wait(), seconds + 30)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
    return output if output.exists() else None


def summarize(folded: Path, top: int = 15) -> dict[str, Any]:
    """Share of samples by frame: where time is spent (self) and what includes it."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in folded.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        n = int(count)
        frames = stack.split(";")
        total += n
        own[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n

    def shares(counter: Counter[str], keep: Any) -> list[tuple[str, float]]:
        picked = [(f, n) for f, n in counter.most_common() if keep(f)][:top]
        return [(f, round(100 * n / max(1, total), 1)) for f, n in picked]

    return {
        "samples": total,
        "self": shares(own, lambda f: True),
        "gql_inclusive": shares(inclusive, lambda f: "gql/" in f and "cli.py" not in f),
        "library_inclusive": shares(
            inclusive,
            lambda f: any(k in f for k in ("graphql/execution", "sqlalchemy/orm", "strawberry/")),
        ),
    }
