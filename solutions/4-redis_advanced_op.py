"""Task 4 — Redis client and advanced operations.

Store a hash with ``HSET``, one field at a time, then display it with ``HGETALL``.

- The key of the hash is ``HolbertonSchools``; its fields and values are
  ``Portland=50``, ``Seattle=80``, ``New York=20``, ``Bogota=20``, ``Cali=40``, ``Paris=2``
  (in that order).
- Print the reply of each ``HSET`` with ``redis_print`` (given below).
- Then print the dict that ``HGETALL`` returns. Expected output on a fresh database::

  Redis client connected to the server
  Reply: 1
  Reply: 1
  Reply: 1
  Reply: 1
  Reply: 1
  Reply: 1
  {'Portland': '50', 'Seattle': '80', 'New York': '20', 'Bogota': '20', 'Cali': '40', 'Paris': '2'}

Connect as in task 1 (connect line, or the "not connected" line and exit code 1).

Run it:  scripts/run 4            (or: python exercises/4-redis_advanced_op.py)
"""

import os
import sys

try:
    import redis
except ModuleNotFoundError as missing:
    sys.exit(f"{missing}: run `. .venv/bin/activate` first, or use scripts/run")

REDIS_URL = os.environ.get("REDIS_URL", "redis://localhost:6379/0")


def redis_print(reply) -> None:
    """Print a command's reply like node-redis' ``redis.print``: ``Reply: OK``, ``Reply: 1``.

    redis-py turns Redis' status reply ``OK`` into ``True``; this prints it back as ``OK``.
    """
    print(f"Reply: {'OK' if reply is True else reply}")


HOLBERTON_SCHOOLS = {
    "Portland": "50",
    "Seattle": "80",
    "New York": "20",
    "Bogota": "20",
    "Cali": "40",
    "Paris": "2",
}


def main() -> None:
    """Connect, store the hash field by field, print it back."""
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as error:
        print(f"Redis client not connected to the server: {error}")
        sys.exit(1)
    print("Redis client connected to the server")
    for city, value in HOLBERTON_SCHOOLS.items():
        redis_print(client.hset("HolbertonSchools", city, value))
    print(client.hgetall("HolbertonSchools"))
    client.close()


if __name__ == "__main__":
    main()
