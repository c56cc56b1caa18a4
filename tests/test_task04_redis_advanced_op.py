"""Task 4 — ``4-redis_advanced_op.py``: a hash, one ``HSET`` per field, then ``HGETALL``.

On a fresh database it prints the connect line, ``Reply: 1`` for each of the six fields,
then the dict; and the hash ``HolbertonSchools`` really holds those fields in Redis. Run
again, every ``HSET`` replies 0 (the field exists) and ``redis_print`` prints ``Reply: 0``.
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
SECOND_RUN = [EXPECTED[0], *["Reply: 0"] * 6, EXPECTED[-1]]


@pytest.mark.task(4)
def test_prints_each_hset_reply_then_the_hash(target, run):
    finished = run(SCRIPT)
    expect_lines("task 4", EXPECTED, finished.stdout)
    expect_exit_0("task 4", SCRIPT, finished)


@pytest.mark.task(4)
def test_the_hash_is_stored_and_a_second_run_replies_0(target, run, redis_client):
    run(SCRIPT)
    stored = redis_client.hgetall("HolbertonSchools")
    require(
        stored == SCHOOLS,
        f"task 4: after {SCRIPT}, HGETALL HolbertonSchools returns {stored!r}, "
        f"expected {SCHOOLS!r}",
    )
    again = run(SCRIPT)
    expect_lines(
        "task 4, run a second time (the fields exist, so each HSET replies 0 and redis_print "
        "prints `Reply: 0`: only True, Redis' OK, is printed as `Reply: OK`)",
        SECOND_RUN,
        again.stdout,
    )


@pytest.mark.task(4)
def test_server_down_prints_not_connected_and_exits_1(target, run):
    url, port = closed_url()
    finished = run(SCRIPT, env_override=script_env(url))
    expect_not_connected("task 4", SCRIPT, finished, refused_message(port))
