"""Task 1 — Redis client.

Write a script that connects to the Redis server at ``REDIS_URL``:

- when the connection works, it prints ``Redis client connected to the server``;
- when it does not, it prints ``Redis client not connected to the server: ERROR_MESSAGE``
  (ERROR_MESSAGE is the message of redis-py's ``ConnectionError``) and exits with code 1,
  without a traceback.

redis-py connects lazily: creating the client does not talk to the server, the first
command does. ``ping()`` is that first round trip.

Run it:        scripts/run 1            (or: python exercises/0-redis_client.py)
Server down:   REDIS_URL=redis://localhost:1 python exercises/0-redis_client.py
"""

import os
import sys

try:
    import redis  # noqa: F401  (TODO: use it)
except ModuleNotFoundError as missing:
    sys.exit(f"{missing}: run `. .venv/bin/activate` first, or use scripts/run")

REDIS_URL = os.environ.get("REDIS_URL", "redis://localhost:6379/0")


def main() -> None:
    """Connect to Redis and say whether it worked."""
    # TODO: create the client from REDIS_URL and ping() the server.
    # TODO: it worked: print "Redis client connected to the server".
    # TODO: on redis.exceptions.ConnectionError: print
    #       "Redis client not connected to the server: " followed by the error, and exit 1.


if __name__ == "__main__":
    main()
