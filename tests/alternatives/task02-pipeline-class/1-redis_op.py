"""Task 2, another correct way: the client lives in a class, SET goes through a pipeline.

The pipeline sends SET and reads its reply in one round trip (``execute()`` returns the
list of replies); the first round trip is ECHO instead of PING.
"""

import os
import sys
from urllib.parse import urlsplit

import redis


class Schools:
    """The two operations of the task over one connection."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        db = int(parts.path.lstrip("/") or 0)
        self.redis = redis.Redis(
            host=parts.hostname, port=parts.port or 6379, db=db, decode_responses=True
        )

    def check(self) -> None:
        self.redis.echo("hello")

    def set_new_school(self, school_name: str, value: str) -> None:
        with self.redis.pipeline(transaction=False) as pipe:
            (reply,) = pipe.set(school_name, value).execute()
        print("Reply:", "OK" if reply else reply)

    def display_school_value(self, school_name: str) -> None:
        print(self.redis.get(school_name))


schools = Schools(os.environ.get("REDIS_URL", "redis://localhost:6379/0"))
set_new_school = schools.set_new_school
display_school_value = schools.display_school_value

if __name__ == "__main__":
    try:
        schools.check()
    except redis.ConnectionError as err:
        print("Redis client not connected to the server:", err)
        sys.exit(1)
    print("Redis client connected to the server")
    for call, args in (
        (display_school_value, ("Holberton",)),
        (set_new_school, ("HolbertonSanFrancisco", "100")),
        (display_school_value, ("HolbertonSanFrancisco",)),
    ):
        call(*args)
