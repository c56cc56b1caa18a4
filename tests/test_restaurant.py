"""The restaurant example (``examples/restaurant``, seed 001) and its runner ``scripts/restaurant``.

The kitchen (job processor) and the waiter (job creator) run as real processes against
the test Redis, with short cooking times. The waiter's lines are exact; the kitchen's
come per order in a fixed order (two chefs cook at the same time).
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from harness.compare import expect_lines, expect_same_lines_any_order
from harness.process import REPO_ROOT, LiveScript, run_script

FOLDER = REPO_ROOT / "examples" / "restaurant"
KITCHEN = FOLDER / "kitchen_processor.py"
WAITER = FOLDER / "order_creator.py"
LABEL = "restaurant"

ORDERS = [(1, "Pasta", 1), (2, "Burger", 2), (3, "Salad", 1)]  # (order, dish, table)
CREATED = [f"Order {n} created: {dish} for table {table}" for n, dish, table in ORDERS]
SERVED = [f"Order {n} served: {dish} for table {table}" for n, dish, table in ORDERS]
OPEN = "Kitchen open: 2 chefs waiting for orders."
CLOSED = "Kitchen closed."
COOKED = {
    f"order {n}": [
        f"Preparing {dish} for table {table} (order {n})...",
        f"{dish} for table {table} is ready (order {n}).",
    ]
    for n, dish, table in ORDERS
}


@pytest.fixture
def cooking_env(env) -> dict[str, str]:
    return dict(env, COOKING_TIME_MS="150", CHEFS="2")


def expect_waiter(lines: list[str]) -> None:
    """Created lines in order, then the served lines in any order, then the last line."""
    expect_lines(LABEL, CREATED, lines[:3], "waiter's first lines")
    served = {f"order {n}": [line] for n, line in enumerate(SERVED, 1)}
    expect_same_lines_any_order(LABEL, SERVED, lines[3:6], served, "waiter's served")
    expect_lines(LABEL, ["All 3 orders served"], lines[6:], "waiter's last line")


def expect_kitchen(lines: list[str]) -> None:
    cooked = [line for group in COOKED.values() for line in group]
    expect_lines(LABEL, [OPEN], lines[:1], "kitchen's first line")
    expect_same_lines_any_order(LABEL, cooked, lines[1:-1], COOKED, "kitchen's")
    expect_lines(LABEL, [CLOSED], lines[-1:], "kitchen's last line")


def test_the_kitchen_cooks_what_the_waiter_orders(cooking_env):
    kitchen = LiveScript(KITCHEN, cooking_env, label=LABEL)
    try:
        kitchen.wait_for_line(OPEN)
        waiter = run_script(WAITER, cooking_env, label=LABEL, timeout=20)
        assert waiter.returncode == 0, f"{LABEL}: the waiter exited {waiter.returncode}"
        expect_waiter(waiter.stdout)
        kitchen.wait_for_count(1 + 6)
        assert kitchen.signal(signal.SIGTERM) == 0, f"{LABEL}: the kitchen should exit 0"
        expect_kitchen(kitchen.lines)
    finally:
        kitchen.kill()


def test_orders_wait_in_redis_until_a_kitchen_opens(cooking_env):
    waiter = LiveScript(WAITER, cooking_env, label=LABEL)
    kitchen = None
    try:
        waiter.wait_for_count(3)
        expect_lines(LABEL, CREATED, waiter.lines, "waiter's lines before any kitchen")
        kitchen = LiveScript(KITCHEN, cooking_env, label=LABEL)
        assert waiter.wait_exit(20) == 0, f"{LABEL}: the waiter should exit 0 once served"
        expect_waiter(waiter.lines)
        assert kitchen.signal(signal.SIGINT) == 0, f"{LABEL}: Ctrl+C should close the kitchen"
        expect_kitchen(kitchen.lines)
    finally:
        waiter.kill()
        if kitchen is not None:
            kitchen.kill()


def test_scripts_restaurant_runs_both(cooking_env, tmp_path):
    env = dict(cooking_env, RUN_DIR=str(tmp_path / "run"), COOKING_TIME_MS="100")
    env.pop("PYTHONPATH", None)
    if sys.prefix != sys.base_prefix:  # running in a venv: the runner uses it, no install
        env["VENV_DIR"] = sys.prefix
    proc = subprocess.run(
        [str(REPO_ROOT / "scripts" / "restaurant")],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, f"scripts/restaurant exited {proc.returncode}:\n{proc.stderr}"
    lines = proc.stdout.splitlines()
    waiter = [line.split(" | ", 1)[1] for line in lines if line.startswith("waiter  | ")]
    kitchen = [line.split(" | ", 1)[1] for line in lines if line.startswith("kitchen | ")]
    assert len(waiter) + len(kitchen) == len(lines), f"unprefixed lines in:\n{proc.stdout}"
    expect_waiter(waiter)
    expect_kitchen(kitchen)
    assert not Path(tmp_path / "run").exists(), "a Redis answered: nothing should be started"
