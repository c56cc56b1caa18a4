"""The README's "Dashboard and JSON API" examples, run as written against a dashboard on the
test Redis (localhost:3000 replaced by the test's port).

The block of `python -m pykue dashboard` lines is not run verbatim: those are servers that
run until Ctrl+C, and its `--host 0.0.0.0` line would open a port to the network; the same
options are run by test_dashboard_cli.py. Its `python -m pykue counts` line is run here.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from dashboard_server import serving

REPO = Path(__file__).resolve().parents[2]
SECTION = "### Dashboard and JSON API"


def blocks() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text[text.index(SECTION) : text.index("\n### ", text.index(SECTION) + 1)]
    return re.findall(r"```bash\n(.*?)```", section, re.S)


def json_values(text: str) -> list:
    """The JSON values printed one after another (curl adds no newline)."""
    decoder, values, at = json.JSONDecoder(), [], 0
    while at < len(text.strip()):
        value, at = decoder.raw_decode(text, at)
        values.append(value)
        at += len(text[at:]) - len(text[at:].lstrip())
    return values


@pytest.fixture
def dashboard(make_queue):
    yield from serving(make_queue(prefix="q"))


def test_the_curl_examples_work_as_written(dashboard):
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    (block,) = [b for b in blocks() if "curl" in b]
    script = block.replace("localhost:3000", f"localhost:{dashboard.port}")
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script.replace("curl -s", "curl -sS --fail-with-body")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    replies = json_values(done.stdout)
    assert replies[1] == {"message": "job created", "id": 1}
    assert replies[2:4] == [{"message": "updated state"}, {"message": "job 1 inactive"}]
    assert replies[4] == ["1"]  # the search
    job = dashboard.queue.get_job(1)
    assert (job.state, job.priority_value, job.max_attempts) == ("inactive", -10, 3)


def test_the_counts_line_works(redis_url, make_queue):
    make_queue(prefix="q").create("email").save()
    (line,) = [
        ln for b in blocks() for ln in b.splitlines() if ln.startswith("python -m pykue counts")
    ]
    argv = line.split("#")[0].split()[1:]
    env = dict(os.environ, REDIS_URL=redis_url, PYTHONPATH=str(REPO))
    done = subprocess.run(
        [sys.executable, *argv], capture_output=True, text=True, env=env, timeout=30
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["inactive"] == 1
