"""HTTP throughput of task 12's app next to a bare FastAPI "hello" route (the ceiling).

Usage (from the repository root, in the venv)::

    python benchmarks/bench_web.py                      # 3 rounds of 5 s per row, 1 worker
    python benchmarks/bench_web.py --duration 3 --rounds 1 --connections 50
    python benchmarks/bench_web.py --workers 2 --folder exercises
    python benchmarks/bench_web.py --workers 2 --nodelay    # see "--workers and Nagle"

What is measured: requests per second that one uvicorn server (``--workers`` processes,
no access log) answers on 127.0.0.1, driven by ``wrk`` when it is installed
(``apt-get install wrk``), else by a small built-in asyncio keep-alive client (which
needs CPU itself, so its numbers are lower). Rows:

  hello             GET /hello of a bare FastAPI app defined in this file: no Redis at
                    all, the most this stack can do on this machine.
  list_products/1   GET /list_products/1 of ``9-stock.py``: one Redis GET per request.
  reserve (ok)      GET /reserve_product/1, every request confirmed: before each round
                    the benchmark sets ``item.1`` (the reserved count) to -10^12, so the
                    app's own rule "reserved < stock" stays true for the whole round. The
                    app is not changed; only its Redis data is prepared.
  reserve (sold)    GET /reserve_product/1 with the stock sold out (``item.1`` = 4): the
                    refusal path, still one atomic Redis step per request.

--workers and Nagle: with ``--workers N`` uvicorn 0.54 binds the listening socket itself
with ``proto`` 0, asyncio then skips TCP_NODELAY on accepted connections, and on Linux
every keep-alive response after the first waits ~40 ms for the client's delayed ACK
(uvicorn issue #3149). ``--nodelay`` starts the same uvicorn supervisor on a listener
created with ``IPPROTO_TCP`` (what the proposed upstream fix does), to show the cost.

The benchmark starts its own Redis on a free port (a real redis-server when installed),
never the one on 6379. Rounds are interleaved across rows so noise from a busy machine
spreads over all of them: compare the ratios to "hello", not numbers across runs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

from fastapi import FastAPI

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "scripts"))

from toolkit.redis_servers import free_port, port_is_open, start_any  # noqa: E402

HOST = "127.0.0.1"
MAX_DURATION = 60  # seconds per measurement, whatever is asked

hello_app = FastAPI()


@hello_app.get("/hello")
async def hello():
    return {"hello": "world"}


ROWS = {
    # name: (server, path, value of item.1 before the round or None)
    "hello": ("hello", "/hello", None),
    "list_products/1": ("stock", "/list_products/1", None),
    "reserve (ok)": ("stock", "/reserve_product/1", str(-(10**12))),
    "reserve (sold)": ("stock", "/reserve_product/1", "4"),
}
EXPECTED = {
    "hello": '{"hello":"world"}',
    "list_products/1": '"itemId":1',
    "reserve (ok)": '"Reservation confirmed"',
    "reserve (sold)": '"Not enough stock available"',
}


class Server:
    """``python -m uvicorn MODULE:app`` on a free port, without access log."""

    def __init__(
        self, module: str, app_dir: Path, workers: int, env: dict[str, str], nodelay: bool
    ):
        self.port = free_port(HOST)
        argv = [
            sys.executable,
            "-m",
            "uvicorn",
            module,
            "--app-dir",
            str(app_dir),
            "--host",
            HOST,
            "--port",
            str(self.port),
            "--workers",
            str(workers),
            "--no-access-log",
            "--log-level",
            "warning",
        ]
        if nodelay and workers > 1:
            argv = [sys.executable, __file__, "--serve", module, str(app_dir), str(self.port)]
            argv.append(str(workers))
        self.proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while not port_is_open(HOST, self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"bench_web: {module} did not start")
            time.sleep(0.05)
        # With several workers the port opens before they are ready: wait for an answer.
        raw_get(self.port, "/docs")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def serve_workers(module: str, app_dir: str, port: int, workers: int) -> None:
    """uvicorn's multi-worker supervisor on a listener whose proto is IPPROTO_TCP."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    sys.path.insert(0, app_dir)
    config = uvicorn.Config(
        module, host=HOST, port=port, workers=workers, access_log=False, log_level="warning"
    )
    bound = config.bind_socket()
    listener = socket.socket(bound.family, bound.type, socket.IPPROTO_TCP, bound.detach())
    Multiprocess(config, sockets=[listener]).run()


def raw_get(port: int, path: str) -> str:
    """One GET on a fresh connection; the whole response as text."""

    async def main() -> bytes:
        reader, writer = await asyncio.open_connection(HOST, port)
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode())
        data = await reader.read()
        writer.close()
        return data

    return asyncio.run(asyncio.wait_for(main(), 30)).decode("utf-8", "replace")


def run_wrk(port: int, path: str, connections: int, duration: float) -> dict:
    """requests/s and latency percentiles measured by wrk (one thread per core, max 2)."""
    threads = max(1, min(2, os.cpu_count() or 1, connections))
    out = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{duration:g}s",
            "--latency",
            f"http://{HOST}:{port}{path}",
        ],
        capture_output=True,
        text=True,
        timeout=duration + 30,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:(.*)", out)
    return {
        "rps": rps,
        "p50": _wrk_ms(re.search(r"50%\s+([\d.]+\w+)", out).group(1)),
        "p99": _wrk_ms(re.search(r"99%\s+([\d.]+\w+)", out).group(1)),
        "bad": int(non2xx.group(1)) if non2xx else 0,
        "errors": errors.group(1).strip() if errors else "",
    }


def _wrk_ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def run_builtin(port: int, path: str, connections: int, duration: float) -> dict:
    """The same measurement with keep-alive asyncio connections (when wrk is missing)."""
    request = f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode()
    latencies: list[float] = []
    bad = 0

    async def one_connection(stop_at: float) -> None:
        nonlocal bad
        reader, writer = await asyncio.open_connection(HOST, port)
        while time.monotonic() < stop_at:
            start = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(re.search(rb"content-length: (\d+)", head, re.I).group(1))
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - start)
            if not head.startswith(b"HTTP/1.1 2"):
                bad += 1
        writer.close()

    async def main() -> float:
        stop_at = time.monotonic() + duration
        started = time.perf_counter()
        await asyncio.gather(*(one_connection(stop_at) for _ in range(connections)))
        return time.perf_counter() - started

    elapsed = asyncio.run(main())
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "p50": latencies[len(latencies) // 2] * 1000,
        "p99": latencies[int(len(latencies) * 0.99)] * 1000,
        "bad": bad,
        "errors": "",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=5, help="seconds per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (median is reported)")
    parser.add_argument("--connections", type=int, default=50, help="open connections")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--folder", default="solutions", help="folder holding 9-stock.py")
    parser.add_argument("--builtin", action="store_true", help="use the asyncio client")
    parser.add_argument(
        "--nodelay", action="store_true", help="with --workers > 1: TCP_NODELAY listener"
    )
    parser.add_argument("--serve", nargs=4, help=argparse.SUPPRESS)  # internal
    args = parser.parse_args()
    if args.serve:
        module, app_dir, port, workers = args.serve
        serve_workers(module, app_dir, int(port), int(workers))
        return
    duration = min(args.duration, MAX_DURATION)
    folder = (REPO_ROOT / args.folder) if not Path(args.folder).is_absolute() else args.folder
    if not (Path(folder) / "9-stock.py").is_file():
        raise SystemExit(f"bench_web: no 9-stock.py in {folder}")
    use_wrk = shutil.which("wrk") is not None and not args.builtin
    measure = run_wrk if use_wrk else run_builtin

    import redis

    redis_server = start_any()
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    env = dict(os.environ, REDIS_URL=redis_server.url, PYTHONDONTWRITEBYTECODE="1")
    servers: dict[str, Server] = {}
    try:
        here = Path(__file__).parent
        servers["hello"] = Server("bench_web:hello_app", here, args.workers, env, args.nodelay)
        servers["stock"] = Server("9-stock:app", Path(folder), args.workers, env, args.nodelay)
        results: dict[str, list[dict]] = {name: [] for name in ROWS}
        for round_number in range(args.rounds):
            for name, (server_name, path, item_1) in ROWS.items():
                port = servers[server_name].port
                if item_1 is not None:
                    client.set("item.1", item_1)
                sample = raw_get(port, path)
                if EXPECTED[name] not in sample:
                    raise SystemExit(f"bench_web: {name}: unexpected answer {sample[-200:]!r}")
                if item_1 is not None:
                    client.set("item.1", item_1)  # the check above reserved one
                result = measure(port, path, args.connections, duration)
                results[name].append(result)
                print(
                    f"round {round_number + 1} {name:16} {result['rps']:9.0f} req/s",
                    file=sys.stderr,
                )
        print_table(results, args, use_wrk, redis_server.kind)
    finally:
        for server in servers.values():
            server.stop()
        client.close()
        redis_server.stop()


def print_table(results: dict[str, list[dict]], args, use_wrk: bool, redis_kind: str) -> None:
    ceiling = statistics.median(r["rps"] for r in results["hello"])
    tool = "wrk" if use_wrk else "built-in asyncio client"
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    nodelay = " (TCP_NODELAY listener)" if args.nodelay and args.workers > 1 else ""
    print(
        f"\nuvicorn --workers {args.workers}{nodelay}, {args.connections} connections, "
        f"{tool}, {min(args.duration, MAX_DURATION):g} s x {args.rounds} rounds (median); "
        f"{redis_kind} Redis; {os.cpu_count()} CPUs; load average {load}; "
        f"Python {platform.python_version()}\n"
    )
    print("| Route | req/s | vs hello | p50 ms | p99 ms | non-2xx |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, (_, path, _) in ROWS.items():
        rows = results[name]
        rps = statistics.median(r["rps"] for r in rows)
        p50 = statistics.median(r["p50"] for r in rows)
        p99 = statistics.median(r["p99"] for r in rows)
        bad = sum(r["bad"] for r in rows)
        label = f"`GET {path}`" + (f" ({name.split(' ')[1][1:-1]})" if " (" in name else "")
        print(f"| {label} | {rps:,.0f} | {rps / ceiling:.2f} | {p50:.1f} | {p99:.1f} | {bad} |")


if __name__ == "__main__":
    main()
