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
from connect_checks import (
    closed_url,
    expect_exit_0,
    expect_not_connected,
    refused_message,
    require,
)

from harness.compare import expect_lines
from harness.process import script_env

SCRIPT = "1-redis_op.py"
EXPECTED = ["Redis client connected to the server", "School", "Reply: OK", "100"]


@pytest.mark.task(2)
def test_prints_value_reply_and_new_value(target, run):
    finished = run(SCRIPT)
    expect_lines("task 2", EXPECTED, finished.stdout)
    expect_exit_0("task 2", SCRIPT, finished)


@pytest.mark.task(2)
def test_the_new_school_is_stored_in_redis(target, run, redis_client):
    run(SCRIPT)
    value = redis_client.get("HolbertonSanFrancisco")
    require(
        value == "100",
        f"task 2: after {SCRIPT}, GET HolbertonSanFrancisco returns {value!r}, expected '100'",
    )


@pytest.mark.task(2)
def test_server_down_prints_not_connected_and_exits_1(target, run):
    url, port = closed_url()
    finished = run(SCRIPT, env_override=script_env(url))
    expect_not_connected("task 2", SCRIPT, finished, refused_message(port))
