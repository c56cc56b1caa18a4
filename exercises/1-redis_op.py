"""Task 2 — Redis client and basic operations.

Start from your ``0-redis_client.py`` (connect, print the connect line, or the
"not connected" line and exit 1), and add two functions:

- ``set_new_school(school_name, value)``: sets the key ``school_name`` to ``value`` in
  Redis, then prints the reply with ``redis_print`` (given below: ``Reply: OK``);
- ``display_school_value(school_name)``: prints the value of the key ``school_name``.

At the end, call in this order:
``display_school_value('Holberton')``, ``set_new_school('HolbertonSanFrancisco', '100')``,
``display_school_value('HolbertonSanFrancisco')``. Expected output::

    Redis client connected to the server
    School
    Reply: OK
    100

Use plain (synchronous) redis-py calls here; task 3 does the same with async/await.

Run it:  scripts/run 2            (or: python exercises/1-redis_op.py)
"""

import os
import sys

try:
    import redis  # noqa: F401  (TODO: use it)
except ModuleNotFoundError as missing:
    sys.exit(f"{missing}: run `. .venv/bin/activate` first, or use scripts/run")

REDIS_URL = os.environ.get("REDIS_URL", "redis://localhost:6379/0")


def redis_print(reply) -> None:
    """Print a command's reply like node-redis' ``redis.print``: ``Reply: OK``, ``Reply: 1``.

    redis-py turns Redis' status reply ``OK`` into ``True``; this prints it back as ``OK``.
    """
    print(f"Reply: {'OK' if reply is True else reply}")


# TODO: create the client from REDIS_URL (decode_responses=True: replies are str, not bytes).
client = None


def set_new_school(school_name: str, value: str) -> None:
    """Set the key ``school_name`` to ``value``, then print the reply (``Reply: OK``)."""
    # TODO


def display_school_value(school_name: str) -> None:
    """Print the value stored at the key ``school_name``."""
    # TODO


def main() -> None:
    """Connect, then run the three calls of the task."""
    # TODO: connect as in task 1 (connect line, or the "not connected" line and exit 1).
    # TODO: call the two functions as the task says.


if __name__ == "__main__":
    main()
