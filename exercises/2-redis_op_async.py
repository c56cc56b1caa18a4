"""Task 3 — Redis client and async operations.

Copy your ``1-redis_op.py`` and rewrite it with ``redis.asyncio``: the client comes from
``redis.asyncio``, ``set_new_school`` and ``display_school_value`` become ``async def``
functions that ``await`` each Redis call, and the script runs ``main()`` with
``asyncio.run``. Same output as task 2::

    Redis client connected to the server
    School
    Reply: OK
    100

Run it:  scripts/run 3            (or: python exercises/2-redis_op_async.py)
"""

import asyncio
import os
import sys

try:
    import redis.asyncio  # noqa: F401  (TODO: use it; it also gives redis.exceptions)
except ModuleNotFoundError as missing:
    sys.exit(f"{missing}: run `. .venv/bin/activate` first, or use scripts/run")

REDIS_URL = os.environ.get("REDIS_URL", "redis://localhost:6379/0")


def redis_print(reply) -> None:
    """Print a command's reply like node-redis' ``redis.print``: ``Reply: OK``, ``Reply: 1``.

    redis-py turns Redis' status reply ``OK`` into ``True``; this prints it back as ``OK``.
    """
    print(f"Reply: {'OK' if reply is True else reply}")


# TODO: create an asyncio client with redis.asyncio.from_url (decode_responses=True).
client = None


# TODO: make it async and await the Redis call.
def set_new_school(school_name: str, value: str) -> None:
    """Set the key ``school_name`` to ``value``, then print the reply (``Reply: OK``)."""
    # TODO


# TODO: make it async and await the Redis call.
def display_school_value(school_name: str) -> None:
    """Print the value stored at the key ``school_name``."""
    # TODO


async def main() -> None:
    """Connect, then run the three calls of the task, one after the other."""
    # TODO: connect (await client.ping()) as in task 1.
    # TODO: await the three calls, then close the client (await client.aclose()).


if __name__ == "__main__":
    asyncio.run(main())
