"""Task 0 — Install a Redis instance.

``dump.rdb`` at the root of the repository is a real RDB file; a ``redis-server`` started
on a copy of it answers ``GET Holberton`` with ``School``; and nothing writes into the
repository's own ``dump.rdb``.
"""

import hashlib
import re

import pytest
import redis
from connect_checks import require

from toolkit.rdb import read_string_keys
from toolkit.redis_servers import DUMP_RDB, free_port, redis_binary, start_real


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.task(0)
def test_dump_rdb_is_a_real_rdb_file(target):
    require(DUMP_RDB.is_file(), "task 0: dump.rdb is missing at the root of the repository")
    header = DUMP_RDB.read_bytes()[:9]
    require(
        re.fullmatch(rb"REDIS\d{4}", header) is not None,
        f"task 0: dump.rdb does not start with an RDB header (REDIS + 4 digits): {header!r}",
    )


@pytest.mark.task(0)
def test_dump_rdb_holds_holberton_school(target):
    # The embedded server preloads these keys, so this is what it serves too.
    keys = read_string_keys(DUMP_RDB)
    require(
        keys.get(b"Holberton") == b"School",
        f"task 0: dump.rdb should hold Holberton = School; it holds {keys!r}",
    )


@pytest.mark.task(0)
def test_redis_server_on_a_copy_answers_get_holberton(target, tmp_path):
    if redis_binary() is None:
        pytest.skip("redis-server is not installed (scripts/install-redis installs it)")
    before = sha256(DUMP_RDB)
    server = start_real(free_port(), workdir=tmp_path / "redis")
    try:
        client = redis.Redis.from_url(server.url, decode_responses=True)
        value = client.get("Holberton")
        require(
            value == "School",
            "task 0: a redis-server started on a copy of dump.rdb answers GET Holberton "
            f"with {value!r}, not 'School'",
        )
        client.set("written-by-the-grader", "1")
        client.save()  # writes the copy in tmp_path, never the repository's file
        client.close()
    finally:
        server.stop()
    assert (tmp_path / "redis" / "dump.rdb").is_file()
    require(sha256(DUMP_RDB) == before, "task 0: the repository's dump.rdb was modified")
