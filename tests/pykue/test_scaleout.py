"""Scale-out (issue 8, item 4): several worker processes share one queue, each job runs once.

Correctness only: speed is never asserted (the machine is shared). Each handler run is
counted in Redis by examples/scaleout/worker.py (HINCRBY per job id and per worker).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile

from conftest import REPO, wait_until

WORKER = REPO / "examples" / "scaleout" / "worker.py"
BENCH = REPO / "benchmarks" / "bench_scaleout.py"


def start_worker(url: str, name: str) -> tuple[subprocess.Popen, object]:
    err = tempfile.TemporaryFile("w+")
    proc = subprocess.Popen(
        [sys.executable, str(WORKER), "--redis", url, "--prefix", "t", "--name", name]
        + ["--go", "--work-ms", "2", "--lease-ms", "5000"],
        stdout=subprocess.PIPE,
        stderr=err,
        text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1", PYTHONPATH=str(REPO)),
    )
    return proc, err


def test_three_worker_processes_share_300_jobs_each_run_exactly_once(make_queue, redis_url):
    queue = make_queue(lease_ms=5000)
    jobs = queue.create_bulk("work", [{"n": n} for n in range(300)])
    workers = [start_worker(redis_url, f"w{n}") for n in (1, 2, 3)]
    try:
        for proc, err in workers:
            line = proc.stdout.readline()
            err.seek(0)
            assert line.strip() == "ready", f"worker did not start: {line!r} {err.read()}"
        queue.client.rpush("{t}:go", "1", "1", "1")  # release all three at once
        assert queue.wait_for_jobs(jobs, timeout=60), queue.counts()
        wait_until(lambda: queue.count("active") == 0, "no job left active")
    finally:
        for proc, _ in workers:
            if proc.poll() is None:
                proc.terminate()
        codes = [proc.wait(timeout=10) for proc, _ in workers]
    for (proc, err), code in zip(workers, codes, strict=True):
        err.seek(0)
        errors = err.read()
        assert code == 0 and "Traceback" not in errors, errors
        proc.stdout.close()
    assert queue.counts() == {
        "inactive": 0,
        "delayed": 0,
        "active": 0,
        "complete": 300,
        "failed": 0,
    }
    runs = queue.client.hgetall("{t}:runs")
    assert sorted(map(int, runs)) == [job.id for job in jobs], "some job never ran"
    twice = {job_id: n for job_id, n in runs.items() if n != "1"}
    assert not twice, f"jobs run more than once (job id: runs): {twice}"
    by_worker = {name: int(n) for name, n in queue.client.hgetall("{t}:by_worker").items()}
    assert sorted(by_worker) == ["w1", "w2", "w3"], f"not every worker took a job: {by_worker}"
    assert sum(by_worker.values()) == 300
    assert {job.result["worker"] for job in jobs} == {"w1", "w2", "w3"}


def test_the_scaleout_benchmark_prints_its_table(redis_url):
    done = subprocess.run(
        [sys.executable, str(BENCH), "--redis", redis_url, "--jobs", "60", "--workers", "1,2"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    rows = re.findall(
        r"^\| (\d) \| (\d+) \| ([\d/]+ %) \| ([\d/]+) \| (\d+) \|$", done.stdout, re.M
    )
    assert [(r[0], r[4]) for r in rows] == [("1", "0"), ("2", "0")], done.stdout
    assert all(int(r[1]) > 0 for r in rows), done.stdout
    assert sum(map(int, rows[1][3].split("/"))) == 60, done.stdout
