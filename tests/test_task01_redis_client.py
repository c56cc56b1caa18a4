"""Task 1 — ``0-redis_client.py``: connect to Redis and say whether it worked.

Server up: ``Redis client connected to the server``. Server down: one line
``Redis client not connected to the server: ERROR_MESSAGE`` (redis-py's message), exit
code 1, no traceback.
"""

import pytest

from harness.compare import expect_lines
from harness.process import script_env
from toolkit.redis_servers import free_port

SCRIPT = "0-redis_client.py"


@pytest.mark.task(1)
def test_server_up_prints_connected(target, run):
    finished = run(SCRIPT)
    expect_lines("task 1", ["Redis client connected to the server"], finished.stdout)
    assert finished.returncode == 0, (
        f"task 1: {SCRIPT} exited with code {finished.returncode}, expected 0.\n"
        f"stderr:\n{finished.stderr}"
    )


@pytest.mark.task(1)
def test_server_down_prints_not_connected_and_exits_1(target, run):
    port = free_port()  # nobody listens there: the connection is refused
    finished = run(SCRIPT, env_override=script_env(f"redis://127.0.0.1:{port}/0"))
    expected = [
        "Redis client not connected to the server: "
        f"Error 111 connecting to 127.0.0.1:{port}. Connection refused."
    ]
    expect_lines("task 1 (server down)", expected, finished.stdout)
    assert "Traceback" not in finished.stderr, (
        f"task 1: with the server down, {SCRIPT} must not crash with a traceback; catch "
        f"redis.exceptions.ConnectionError. stderr:\n{finished.stderr}"
    )
    assert finished.returncode == 1, (
        f"task 1: with the server down, {SCRIPT} must exit with code 1 (sys.exit(1)), "
        f"not {finished.returncode}"
    )
