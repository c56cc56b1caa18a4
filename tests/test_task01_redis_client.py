"""Task 1 — ``0-redis_client.py``: connect to Redis and say whether it worked.

Server up: ``Redis client connected to the server``. Server down: one line
``Redis client not connected to the server: ERROR_MESSAGE`` (redis-py's message), exit
code 1, no traceback.
"""

import pytest
from connect_checks import closed_url, expect_exit_0, expect_not_connected, refused_message

from harness.compare import expect_lines
from harness.process import script_env

SCRIPT = "0-redis_client.py"


@pytest.mark.task(1)
def test_server_up_prints_connected(target, run):
    finished = run(SCRIPT)
    expect_lines("task 1", ["Redis client connected to the server"], finished.stdout)
    expect_exit_0("task 1", SCRIPT, finished)


@pytest.mark.task(1)
def test_server_down_prints_not_connected_and_exits_1(target, run):
    url, port = closed_url()
    finished = run(SCRIPT, env_override=script_env(url))
    expect_not_connected("task 1", SCRIPT, finished, refused_message(port))
