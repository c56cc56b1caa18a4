"""Task 2 — ``1-redis_op.py``: SET and GET with redis-py.

``display_school_value('Holberton')``, ``set_new_school('HolbertonSanFrancisco', '100')``,
``display_school_value('HolbertonSanFrancisco')`` print, on a fresh database::

    Redis client connected to the server
    School
    Reply: OK
    100

and the key ``HolbertonSanFrancisco`` really holds ``100`` in Redis afterwards.
"""

import pytest

from harness.compare import expect_lines
from harness.process import script_env
from toolkit.redis_servers import free_port

SCRIPT = "1-redis_op.py"
EXPECTED = ["Redis client connected to the server", "School", "Reply: OK", "100"]


@pytest.mark.task(2)
def test_prints_value_reply_and_new_value(target, run):
    finished = run(SCRIPT)
    expect_lines("task 2", EXPECTED, finished.stdout)
    assert finished.returncode == 0, (
        f"task 2: {SCRIPT} exited with code {finished.returncode}.\nstderr:\n{finished.stderr}"
    )


@pytest.mark.task(2)
def test_the_new_school_is_stored_in_redis(target, run, redis_client):
    run(SCRIPT)
    value = redis_client.get("HolbertonSanFrancisco")
    assert value == "100", (
        f"task 2: after {SCRIPT}, GET HolbertonSanFrancisco returns {value!r}, expected '100'"
    )


@pytest.mark.task(2)
def test_server_down_prints_not_connected_and_exits_1(target, run):
    port = free_port()
    finished = run(SCRIPT, env_override=script_env(f"redis://127.0.0.1:{port}/0"))
    expected = [
        "Redis client not connected to the server: "
        f"Error 111 connecting to 127.0.0.1:{port}. Connection refused."
    ]
    expect_lines("task 2 (server down)", expected, finished.stdout)
    assert "Traceback" not in finished.stderr and finished.returncode == 1, (
        f"task 2: with the server down, {SCRIPT} must exit with code 1 without a traceback "
        f"(exit code {finished.returncode}).\nstderr:\n{finished.stderr}"
    )
