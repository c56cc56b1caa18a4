"""Task 2, another correct way: StrictRedis on a connection pool, bytes decoded by hand.

No ``decode_responses``: GET returns bytes, which this script decodes itself, and the
SET reply is printed through a small table of status replies instead of a conditional.
"""

import os
import sys

import redis
from redis.exceptions import ConnectionError as RedisConnectionError

pool = redis.ConnectionPool.from_url(os.environ.get("REDIS_URL", "redis://localhost:6379/0"))
store = redis.StrictRedis(connection_pool=pool)
STATUS = {True: "OK"}


def set_new_school(school_name, value):
    reply = store.set(school_name, value)
    sys.stdout.write(f"Reply: {STATUS.get(reply, reply)}\n")


def display_school_value(school_name):
    raw = store.get(school_name)
    sys.stdout.write((raw.decode("utf-8") if raw is not None else "None") + "\n")


if __name__ == "__main__":
    try:
        store.ping()
    except RedisConnectionError as exc:
        sys.stdout.write(f"Redis client not connected to the server: {exc}\n")
        raise SystemExit(1) from None
    sys.stdout.write("Redis client connected to the server\n")
    display_school_value("Holberton")
    set_new_school("HolbertonSanFrancisco", "100")
    display_school_value("HolbertonSanFrancisco")
    pool.disconnect()
