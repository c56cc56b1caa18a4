"""Checks of the harness itself: the test Redis, the RDB reader, the comparison messages."""

import pytest

from harness.compare import diff_message, expect_lines
from harness.process import (
    KEEP_LINES,
    SHOW_HEAD,
    SHOW_TAIL,
    LiveScript,
    _show,
    run_script,
    script_env,
)
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


def _script(tmp_path, source: str):
    path = tmp_path / "slip.py"
    path.write_text(source, encoding="utf-8")
    return path


def test_a_crash_comes_first_with_the_learners_line(tmp_path):
    path = _script(tmp_path, "print('one')\n\n\ndef show():\n    print(x)\n\n\nshow()\n")
    finished = run_script(path, script_env("redis://127.0.0.1:1/0"), label="task 4")
    message = diff_message("task 4", ["one", "two"], finished.stdout)
    lines = message.splitlines()
    assert (
        lines[0] == "Hint: your script slip.py raised NameError at line 5: name 'x' is not defined"
    )
    assert "    line 5: print(x)" in lines and "--- expected" in message
    assert "The output stops early" not in message


def test_a_long_output_is_cut_and_memory_stays_bounded(tmp_path):
    path = _script(tmp_path, "for i in range(200_000):\n    print(i)\n")
    finished = run_script(path, script_env("redis://127.0.0.1:1/0"), label="task 2")
    assert len(finished.stdout) == KEEP_LINES and finished.stdout[:2] == ["0", "1"]
    shown = _show(finished.stdout).splitlines()
    assert len(shown) == SHOW_HEAD + 1 + SHOW_TAIL
    assert shown[SHOW_HEAD].strip() == f"... ({200_000 - SHOW_HEAD - SHOW_TAIL} lines cut) ..."
    assert shown[-1].strip() == "199999"


def test_a_hang_is_one_plain_line(tmp_path):
    path = _script(tmp_path, "import time\nprint('start', flush=True)\ntime.sleep(60)\n")
    with pytest.raises(pytest.fail.Exception) as failed:
        run_script(path, script_env("redis://127.0.0.1:1/0"), label="task 2", timeout=0.5)
    first = str(failed.value).splitlines()[0]
    assert first == "task 2: slip.py was still running after 0.5s " + (
        "(waiting for the script to exit by itself); it was stopped. Output so far:"
    )
    assert failed.value.__context__ is None, "no 'During handling of the above exception'"


def test_exiting_early_says_1_line_not_1_lines(tmp_path):
    live = LiveScript(_script(tmp_path, "pass\n"), script_env("redis://127.0.0.1:1/0"), label="t")
    try:
        with pytest.raises(pytest.fail.Exception) as failed:
            live.wait_for_count(1, timeout=10)
    finally:
        live.kill()
    assert "before printing 1 line." in str(failed.value)
