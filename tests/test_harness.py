"""Checks of the harness itself: the test Redis, the RDB reader, the comparison messages."""

import pytest

from harness.compare import diff_message, expect_lines
from toolkit.rdb import read_string_keys
from toolkit.redis_servers import DUMP_RDB


def test_test_redis_is_not_the_learners_6379(redis_server):
    assert redis_server.port != 6379


def test_fresh_database_holds_only_dump_keys(redis_client):
    redis_client.set("leftover", "1")
    assert redis_client.get("Holberton") == "School"


def test_previous_test_left_nothing_behind(redis_client):
    assert redis_client.keys("*") == ["Holberton"]


def test_rdb_reader_reads_the_repository_dump():
    assert read_string_keys(DUMP_RDB) == {b"Holberton": b"School"}


def test_diff_message_hints_trailing_space():
    message = diff_message("task 2", ["School"], ["School "])
    assert "--- expected" in message and "+School " in message
    assert "trailing whitespace" in message


def test_diff_message_hints_wrong_id():
    message = diff_message(
        "task 6", ["Notification job created: 1"], ["Notification job created: 2"]
    )
    assert "Only numbers differ" in message


def test_expect_lines_fails_on_difference():
    with pytest.raises(pytest.fail.Exception):
        expect_lines("task 1", ["a"], ["b"])
    expect_lines("task 1", ["a"], ["a"])


def test_error_reply_keeps_the_connection_open(redis_server):
    """redis-server keeps a connection after an error reply; the embedded server must too."""
    import redis

    client = redis.Redis.from_url(redis_server.url, single_connection_client=True)
    with pytest.raises(redis.exceptions.NoScriptError):
        client.evalsha("0" * 40, 0)
    assert client.register_script("return 42")() == 42
    client.close()


def test_not_started_is_the_shipped_stub_wherever_it_is(tmp_path):
    """A copy of a stub is "not started" in any folder; an edited file is graded."""
    from harness.target import STUBS, Target

    (tmp_path / "1-redis_op.py").write_bytes((STUBS / "1-redis_op.py").read_bytes())
    with pytest.raises(pytest.fail.Exception, match="task 2 not started"):
        Target(tmp_path).script("1-redis_op.py")
    with pytest.raises(pytest.fail.Exception, match="task 2 not started: .* does not exist"):
        Target(tmp_path / "elsewhere").script("1-redis_op.py")
    edited = tmp_path / "1-redis_op.py"
    edited.write_text(edited.read_text() + "\n# my work\n")
    assert Target(tmp_path).script("1-redis_op.py") == edited
