"""The results: targets and ratios, written as bench/results/latest.json and latest.md."""

import json
from collections.abc import Iterator
from typing import Any

from bench.config import RESULTS_DIR


def _run(
    results: dict[str, Any], workload: str, server: str, variant: str
) -> dict[str, Any] | None:
    """The server's best round (the machine is shared: its speed moves between windows)."""
    matching = [
        r
        for r in results.get("runs", [])
        if r["workload"] == workload and r["server"] == server and r["variant"] == variant
    ]
    return max(matching, key=lambda r: r["rps"], default=None)


def _best_raw(results: dict[str, Any], workload: str) -> dict[str, Any] | None:
    return max(results.get("raw", {}).get(workload, []), key=lambda r: r["tps"], default=None)


def _round(run: dict[str, Any]) -> str:
    return f", round {run['round']}" if "round" in run else ""


def _stmts(results: dict[str, Any], server: str, what: str) -> float | None:
    entry = results.get("statements", {}).get(server, {}).get(what)
    return entry["per_request"] if entry else None


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of the issue with its measured value and whether it is met."""
    rows: list[dict[str, Any]] = []

    def add(name: str, value: float | None, goal: str, met: bool | None) -> None:
        rows.append({"target": name, "measured": value, "goal": goal, "met": met})

    def rps(workload: str, server: str, variant: str) -> float | None:
        run = _run(results, workload, server, variant)
        return run["rps"] if run else None

    gql_cold = rps("Q", "gql", "cold")
    for other, goal in (
        ("strawberry-baseline", 3.0),
        ("postgraphile4", 0.8),
        ("postgraphile5", 0.4),
    ):
        value = _ratio(gql_cold, rps("Q", other, "cold"))
        if value is not None:
            add(f"Q cold: gql / {other} req/s", value, f">= {goal}x", value >= goal)
    cold_cpu = [
        r["cpu_ms_per_req"]
        for r in results.get("runs", [])
        if r["workload"] == "Q" and r["server"] == "gql" and r["variant"] == "cold"
    ]
    if cold_cpu:
        add("Q cold: gql server CPU ms/req (best round)", min(cold_cpu), "<= 2", min(cold_cpu) <= 2)
    gql_mix = _run(results, "R", "gql", "mix")
    for peer in ("postgraphile4", "postgraphile5"):
        other = _run(results, "R", peer, "mix")
        if gql_mix and other:
            value = _ratio(gql_mix["rps"], other["rps"])
            add(f"R: gql / {peer} req/s", value, ">= 2x", value is not None and value >= 2)
            add(
                f"R: gql p99 / {peer} p99",
                _ratio(gql_mix["p99_ms"], other["p99_ms"]),
                "< 1x",
                gql_mix["p99_ms"] < other["p99_ms"],
            )
    value = _ratio(gql_cold, rps("Q", "floor", "cold"))
    if value is not None:
        add("Q cold: gql / floor req/s (for information)", value, "-", None)
    value = _ratio(rps("Q", "gql", "warm"), rps("Q", "floor", "cold"))
    if value is not None:
        add("Q warm: gql / floor req/s", value, ">= 0.6x", value >= 0.6)
    value = _ratio(rps("Q-deep", "gql", "price page 1"), rps("Q-deep", "gql", "price page 200"))
    if value is not None:
        add("Q-deep: page 1 / page 200 req/s (same sort)", value, "<= 1.2x", value <= 1.2)
    s50, s10 = _stmts(results, "gql", "Q first=50"), _stmts(results, "gql", "Q first=10")
    if s50 is not None and s10 is not None:
        add("Q: gql statements/req at first=50 vs first=10", s50 - s10, "difference 0", s50 == s10)
    for workload, goal in (("O", 0.25), ("O-spread", 0.5)):
        o = _run(results, workload, "gql", "placeOrder")
        raw = _best_raw(results, workload)
        if o and raw:
            value = _ratio(o["rps"], raw["tps"])
            add(
                f"{workload}: gql placeOrder / raw asyncpg tx/s (tables without gql's triggers)",
                value,
                f">= {goal}x",
                value is not None and value >= goal,
            )
    waits = [
        r["locks"]["lock_waiting_avg"]
        for r in results.get("runs", [])
        if r["workload"] == "O-spread" and r["server"] == "gql" and "locks" in r
    ]
    if waits:
        add(
            "O-spread: gql backends waiting on a lock, average (worst round)",
            max(waits),
            "<= 1",
            max(waits) <= 1,
        )
    value = _ratio(rps("Qw+W", "gql", "Qw+W"), rps("Qw+W", "gql", "Qw"))
    if value is not None:
        name = "Qw+W: Q warm with 20 placeOrder/s / Q warm alone req/s"
        add(name, value, ">= 0.9x", value >= 0.9)
    for workload, check in results.get("ledger", {}).items():
        add(f"{workload}: gql check-ledger after the run", None, "clean", check["clean"])
    subs = results.get("subscriptions", [])
    for count in sorted({s["subscribers"] for s in subs}):
        g = next((s for s in subs if s["server"] == "gql" and s["subscribers"] == count), None)
        f = next((s for s in subs if s["server"] == "ws-floor" and s["subscribers"] == count), None)
        if g and f:
            value = _ratio(g["p99_ms"], f["p99_ms"])
            add(
                f"S {count}: gql / floor p99 delivery",
                value,
                "<= 3x",
                value is not None and value <= 3,
            )
        if g:
            kb = g["kb_per_subscriber"]
            add(f"S {count}: gql KB per subscriber", kb, "<= 40", kb <= 40)
            if count >= 5000:
                held = g["held"] == count
                add(f"S {count}: all connected and receiving", g["held"], f"= {count}", held)
    return rows


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "**no**"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    return str(value)


def _table(header: list[str], rows: list[list[Any]]) -> Iterator[str]:
    yield "| " + " | ".join(header) + " |"
    yield "|" + "---|" * len(header)
    for row in rows:
        yield "| " + " | ".join(_fmt(v) for v in row) + " |"


def _lock_table(results: dict[str, Any]) -> list[str]:
    """Lock waits sampled from pg_stat_activity every 20 ms during the write windows."""
    rows = [
        [r["workload"], f"gql{_round(r)}", r["rps"], r["locks"]]
        for r in results.get("runs", [])
        if "locks" in r
    ] + [
        [workload, f"raw asyncpg{_round(raw)}", raw["tps"], raw["locks"]]
        for workload, raws in results.get("raw", {}).items()
        for raw in raws
        if "locks" in raw
    ]
    if not rows:
        return []
    header = [
        "workload", "server", "req/s", "backends waiting on a lock (avg)",
        "backends in a statement or transaction (avg)", "wait events (avg backends)",
    ]  # fmt: skip
    table = [
        [w, server, rate, locks["lock_waiting_avg"], locks["busy_backends_avg"],
         ", ".join(f"{k} {v:g}" for k, v in locks["wait_events_avg"].items()) or "-"]
        for w, server, rate, locks in rows
    ]  # fmt: skip
    writes = [
        f"{r['workload']} gql{_round(r)}: {r['writes']}"
        for r in results.get("runs", [])
        if "writes" in r and r["workload"] != "R"
    ]
    lines = ["", "## Lock waits during the write windows (pg_stat_activity every 20 ms)", ""]
    lines += list(_table(header, table))
    if writes:
        lines += ["", "Writes beside Qw+W: " + "; ".join(writes)]
    return lines


def _mix_lines(results: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    mixes = [r for r in results.get("runs", []) if r["workload"] == "R"]
    if mixes:
        lines += [
            "",
            "R, writes and gql's response cache hit rate: "
            + "; ".join(
                f"{r['server']} round {r.get('round')}: {r.get('writes')}"
                + (f", cache hits {r['cache_hit_rate']:.0%}" if r.get("cache_hit_rate") else "")
                for r in mixes
            ),
        ]
    return lines


def markdown(results: dict[str, Any]) -> str:
    """The human-readable report."""
    meta = results["meta"]
    lines = [
        f"# gql benchmark — {meta['date']}",
        "",
        f"Machine: {meta['machine']}. Server pinned to core {meta['server_core']}, load "
        f"(wrk -t1 -c{meta['connections']}) on core {meta['load_core']}; PostgreSQL unpinned. "
        f"{meta['warmup']:g} s warm-up, {meta['duration']:g} s measured per run. "
        f"Load average at start: {meta['loadavg']}; machine busy with other work at start: "
        f'{meta.get("busy_at_start", 0):.0%}. "other CPU %" is CPU used during the window by '
        "processes that are neither the server, its PostgreSQL backends, wrk nor the harness "
        "(100 % = one core): where it is high, another workload shared the machine. "
        f"Q, Q-deep, O, O-spread, Qw+W and R ran {meta.get('rounds', 1)} round(s), the servers "
        "in turn within each; "
        "targets take each server's best round (the lock-wait target its worst).",
        "",
        "## HTTP workloads",
        "",
    ]
    names = {
        "Q": "Q: first 50 products by id with images",
        "Q-deep": "Q by price: page 1 and page 200 (keyset)",
        "O": "O: placeOrder, 1 unit of one hot product, 64 customers",
        "O-spread": "O-spread: placeOrder, 1 unit of a random product of 10,000, 64 customers",
        "Qw+W": "Qw+W: Q with the response cache, alone and with 20 placeOrder/s off the page",
        "R": "R: read mix (Zipf over 10,200 reads; 70 % anonymous, 25 % customers, 5 % staff) "
        "with 20 placeOrder/s",
    }
    rows = []
    for run in results.get("runs", []):
        stmts = None
        if run["workload"] == "Q":
            stmts = _stmts(results, run["server"], "Q first=50")
        elif run["workload"] == "Q-deep":
            stmts = _stmts(
                results,
                "gql",
                "Q by price page 1" if run["variant"].endswith(" 1") else "Q-deep page 200",
            )
        elif run["workload"] in ("O", "O-spread"):
            stmts = _stmts(results, "gql", "O placeOrder")
        rows.append(
            [
                names.get(run["workload"], run["workload"]),
                f"{run['server']} ({run['variant']}{_round(run)})",
                run["rps"],
                run["p50_ms"],
                run["p99_ms"],
                run["cpu_ms_per_req"],
                run["db_cpu_ms_per_req"],
                stmts,
                run["bad"] + run["socket_errors"],
                run["other_cpu_pct"],
            ]
        )
    for workload, raws in results.get("raw", {}).items():
        rows += [
            [
                names[workload],
                f"raw asyncpg (pool 10, 64 tasks, no triggers{_round(raw)})",
                raw["tps"],
                raw["p50_ms"],
                raw["p99_ms"],
                raw["cpu_ms_per_tx"],
                None,
                2,
                raw["failed"],
                None,
            ]
            for raw in raws
        ]
    header = [
        "workload", "server", "req/s", "p50 ms", "p99 ms", "server CPU ms/req",
        "PostgreSQL CPU ms/req", "SQL/req", "errors", "other CPU %",
    ]  # fmt: skip
    lines += list(_table(header, rows))
    lines += _lock_table(results)
    lines += _mix_lines(results)
    if results.get("subscriptions"):
        lines += [
            "",
            "## S: stockChanged fan-out (graphql-transport-ws) vs raw WebSocket broadcast",
            "",
        ]
        header = [
            "server",
            "subscribers",
            "connected",
            "held",
            "p50 ms",
            "p99 ms",
            "max ms",
            "KB/subscriber",
            "message bytes",
        ]
        lines += list(
            _table(
                header,
                [
                    [
                        s["server"],
                        s["subscribers"],
                        s["connected"],
                        s["held"],
                        s["p50_ms"],
                        s["p99_ms"],
                        s["max_ms"],
                        s["kb_per_subscriber"],
                        s.get("message_bytes"),
                    ]
                    for s in results["subscriptions"]
                ],
            )
        )
    if results.get("statements"):
        lines += ["", "## SQL statements per request (counting proxy, untimed)", ""]
        header = ["server", "request", "statements/req", "incl. BEGIN/COMMIT etc."]
        lines += list(
            _table(
                header,
                [
                    [server, what, c["per_request"], c["with_overhead"]]
                    for server, counts in results["statements"].items()
                    for what, c in counts.items()
                ],
            )
        )
    lines += ["", "## Targets", ""]
    lines += list(
        _table(
            ["target", "measured", "goal", "met"],
            [[t["target"], t["measured"], t["goal"], t["met"]] for t in targets(results)],
        )
    )
    for workload, check in results.get("ledger", {}).items():
        last = check["output"].splitlines()[-1] if check["output"] else ""
        lines += ["", f"`gql check-ledger` after {workload}: {last}"]
    if results.get("profile"):
        lines += ["", "## gql under Q: hottest frames (py-spy, % of samples)", ""]
        rows = [["self", f, p] for f, p in results["profile"]["self"][:10]]
        rows += [["inclusive (gql)", f, p] for f, p in results["profile"]["gql_inclusive"][:10]]
        lines += list(_table(["kind", "frame", "%"], rows))
    for note in results.get("notes", []):
        lines += ["", f"Note: {note}"]
    return "\n".join(lines) + "\n"


def write(results: dict[str, Any]) -> None:
    """bench/results/latest.json and latest.md."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    results = {k: v for k, v in results.items() if not k.startswith("_")}
    results["targets"] = targets(results)
    (RESULTS_DIR / "latest.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    (RESULTS_DIR / "latest.md").write_text(markdown(results))
