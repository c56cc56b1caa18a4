"""Task 4 — ``4-redis_advanced_op.py``: a hash, one ``HSET`` per field, then ``HGETALL``.

On a fresh database it prints the connect line, ``Reply: 1`` for each of the six fields,
then the dict; and the hash ``HolbertonSchools`` really holds those fields in Redis.
"""

import pytest

from harness.compare import expect_lines
from harness.process import script_env
from toolkit.redis_servers import free_port

SCRIPT = "4-redis_advanced_op.py"
SCHOOLS = {
    "Portland": "50",
    "Seattle": "80",
    "New York": "20",
    "Bogota": "20",
    "Cali": "40",
    "Paris": "2",
}
EXPECTED = [
    "Redis client connected to the server",
    *["Reply: 1"] * 6,
    "{'Portland': '50', 'Seattle': '80', 'New York': '20', 'Bogota': '20', 'Cali': '40', "
    "'Paris': '2'}",
]


@pytest.mark.task(4)
def test_prints_each_hset_reply_then_the_hash(target, run):
    finished = run(SCRIPT)
    expect_lines("task 4", EXPECTED, finished.stdout)
    assert finished.returncode == 0, (
        f"task 4: {SCRIPT} exited with code {finished.returncode}.\nstderr:\n{finished.stderr}"
    )


@pytest.mark.task(4)
def test_the_hash_is_stored_in_redis(target, run, redis_client):
    run(SCRIPT)
    stored = redis_client.hgetall("HolbertonSchools")
    assert stored == SCHOOLS, (
        f"task 4: after {SCRIPT}, HGETALL HolbertonSchools returns {stored!r}, expected {SCHOOLS!r}"
    )


@pytest.mark.task(4)
def test_server_down_prints_not_connected_and_exits_1(target, run):
    port = free_port()
    finished = run(SCRIPT, env_override=script_env(f"redis://127.0.0.1:{port}/0"))
    expected = [
        "Redis client not connected to the server: "
        f"Error 111 connecting to 127.0.0.1:{port}. Connection refused."
    ]
    expect_lines("task 4 (server down)", expected, finished.stdout)
    assert "Traceback" not in finished.stderr and finished.returncode == 1, (
        f"task 4: with the server down, {SCRIPT} must exit with code 1 without a traceback "
        f"(exit code {finished.returncode}).\nstderr:\n{finished.stderr}"
    )
