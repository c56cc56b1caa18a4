"""Run schemathesis against a running app's OpenAPI schema, bounded and seeded.

One helper for every app (tasks 12-16 and the pykue dashboard): the test starts the app
on a free port of 127.0.0.1 (see :mod:`harness.webserver`), then calls
:func:`assert_schema_holds` with its URL. Schemathesis generates requests from the schema
(valid and invalid ones) and checks every reply: never a 5xx, only statuses and bodies
the schema lists, invalid input refused. The run is seeded and capped in examples and
time (the
subprocess is killed after ``max_seconds``), so it is repeatable and stops by itself.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pytest

SEED = 20261202


def schemathesis_command(
    base_url: str,
    *,
    max_examples: int,
    exclude_checks: Sequence[str] = (),
    extra: Sequence[str] = (),
) -> list[str]:
    """The ``schemathesis run`` command line for ``base_url``'s ``/openapi.json``."""
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        f"{base_url}/openapi.json",
        "--checks",
        "all",
        "--max-examples",
        str(max_examples),
        "--seed",
        str(SEED),
        "--generation-database",
        "none",
        "--request-timeout",
        "10",
        "--workers",
        "1",
        "--no-color",
        "--phases",
        "examples,coverage,fuzzing",
    ]
    if exclude_checks:
        command += ["--exclude-checks", ",".join(exclude_checks)]
    return command + list(extra)


def assert_schema_holds(
    base_url: str,
    *,
    max_examples: int = 30,
    max_seconds: int = 60,
    exclude_checks: Sequence[str] = (),
    extra: Sequence[str] = (),
) -> str:
    """Fail the test with schemathesis' own report unless every check passes; its output."""
    command = schemathesis_command(
        base_url,
        max_examples=max_examples,
        exclude_checks=exclude_checks,
        extra=extra,
    )
    try:
        # schemathesis keeps a .schemathesis/ folder in its working directory: not ours.
        with tempfile.TemporaryDirectory(prefix="schemathesis-") as scratch:
            run = subprocess.run(
                command,
                capture_output=True,
                text=True,
                timeout=max_seconds,
                check=False,
                cwd=scratch,
            )
    except subprocess.TimeoutExpired:
        pytest.fail(f"schemathesis did not finish within {max_seconds} s", pytrace=False)
    if run.returncode != 0:
        pytest.fail(
            f"schemathesis found problems (exit {run.returncode}); its report:\n"
            f"{run.stdout[-6000:]}\n{run.stderr[-2000:]}",
            pytrace=False,
        )
    return run.stdout
