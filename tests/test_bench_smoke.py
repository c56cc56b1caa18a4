"""Smoke test of benchmarks/bench_queues.py: every mode runs and prints a rate per row.

Speed is never asserted here (the machine is shared and noisy); only that every row
measured something. Only the raw loop and pykue rows run, tiny, so no bench-only package
(rq, bullmq ...) is needed and it stays fast.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from toolkit.redis_servers import wanted_kind

REPO_ROOT = Path(__file__).resolve().parents[1]
BENCH = REPO_ROOT / "benchmarks" / "bench_queues.py"
ROW = re.compile(
    r"^\| (?P<system>[^|]+?) \| (?P<conc>\d+) \| (?P<rate>[^|]+?) \| (?P<ratio>[^|]+?) \|"
)
SECTION = re.compile(r"^## (?P<name>\w+) ")
RAW, PYKUE = "raw redis-py LPUSH/BRPOP loop", "pykue"


def run_bench(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(
            [sys.executable, str(BENCH), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=REPO_ROOT,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"the benchmark did not finish in {timeout} s; output so far:\n{exc.stdout}")


def table_rows(stdout: str) -> dict[tuple[str, str, int], re.Match]:
    """(section, system, concurrency) -> the row's match (rate, ratio), for every row."""
    rows, section = {}, None
    for line in stdout.splitlines():
        heading = SECTION.match(line)
        if heading:
            section = heading["name"]
        match = ROW.match(line)
        if match and section:
            rows[(section, match["system"], int(match["conc"]))] = match
    return rows


def test_every_mode_prints_a_positive_rate_for_raw_loop_and_pykue():
    done = run_bench(
        *("--jobs", "50", "--rounds", "1", "--only", "raw,pykue", "--concurrency-list", "1"),
        *("--mode", "drain,e2e,live", "--no-warm-up", "--timeout", "15"),
        *("--server", wanted_kind()),
    )
    shown = f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    assert done.returncode == 0, f"the benchmark failed (exit {done.returncode})\n{shown}"
    assert re.search(r"redis-py \d+\.\d+\.\d+, hiredis (active|NOT active)", done.stdout), shown
    assert "| system | c | jobs/s | × raw loop |" in done.stdout, shown
    rows = table_rows(done.stdout)
    modes = ("drain", "e2e", "live")
    expected = {(mode, label, 1) for mode in modes for label in (RAW, PYKUE)}
    expected |= {("summary", label, 1) for label in (RAW, PYKUE)}
    assert set(rows) == expected, f"table rows {sorted(rows)}, expected {sorted(expected)}\n{shown}"
    for (section, label, _conc), row in rows.items():
        rate = float(row["rate"].replace(",", ""))
        assert rate > 0, f"{section} {label}: rate {row['rate']!r}\n{shown}"
        if section != "summary":
            assert float(row["ratio"]) > 0, f"{section} {label}: ratio {row['ratio']!r}\n{shown}"
    # The raw loop is the reference of every same-round ratio: exactly 1 against itself.
    assert rows[("summary", RAW, 1)]["ratio"] == "1.00 (1.00–1.00)", shown


def test_rows_whose_packages_are_missing_are_skipped_with_a_message(monkeypatch, capsys):
    sys.path.insert(0, str(BENCH.parent))
    try:
        import bench_queues
    finally:
        sys.path.remove(str(BENCH.parent))
    monkeypatch.setitem(bench_queues.NEEDS, "rq", ["rq_not_installed_here"])
    monkeypatch.setitem(bench_queues.NEEDS, "bullmq", ["bullmq_not_installed_here"])
    code = bench_queues.main(["--only", "rq,bullmq", "--jobs", "10", "--rounds", "1"])
    out = capsys.readouterr().out
    assert code == 1, out
    assert "skipping rq: rq_not_installed_here not installed" in out, out
    assert "skipping bullmq: bullmq_not_installed_here not installed" in out, out
    assert "pip install -r requirements-bench.txt" in out, out


@pytest.mark.parametrize("bad", ["--jobs=0", "--rounds=0"])
def test_bench_refuses_nonsense_sizes(bad):
    done = run_bench(bad, "--only", "raw", timeout=20)
    assert done.returncode == 2, done.stdout + done.stderr
