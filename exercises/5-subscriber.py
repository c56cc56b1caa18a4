"""Task 5 — Redis client publisher and subscriber: the subscriber.

Write a script that subscribes to the channel ``holberton school channel``:

- once it is subscribed, it prints ``Redis client connected to the server``;
- when the connection fails, it prints ``Redis client not connected to the server:
  ERROR_MESSAGE`` and exits with code 1;
- it prints every message received on the channel, one per line;
- when the message is ``KILL_SERVER``, it prints it, unsubscribes and exits (code 0).

Run it in one terminal, then ``5-publisher.py`` in another (``scripts/run 5`` runs both).
With the publisher, the subscriber prints::

    Redis client connected to the server
    Holberton Student #1 starts course
    Holberton Student #2 starts course
    KILL_SERVER

Ctrl+C (SIGINT) or SIGTERM stop it cleanly: exit code 0, no traceback.
"""

import os
import signal
import sys

try:
    import redis  # noqa: F401  (TODO: use it)
except ModuleNotFoundError as missing:
    sys.exit(f"{missing}: run `. .venv/bin/activate` first, or use scripts/run")

REDIS_URL = os.environ.get("REDIS_URL", "redis://localhost:6379/0")
CHANNEL = "holberton school channel"


def main() -> None:
    """Subscribe, print each message, stop after KILL_SERVER."""
    # TODO: create the client (decode_responses=True) and its pubsub(); subscribe to CHANNEL.
    # TODO: read the messages (pubsub.listen()): print the connect line when the
    #       "subscribe" confirmation arrives, then print each "message".
    # TODO: after printing KILL_SERVER, unsubscribe and leave.
    # TODO: on redis.exceptions.ConnectionError: the "not connected" line and exit 1.


def stop(signum, frame) -> None:
    """SIGTERM: leave like Ctrl+C does, with exit code 0."""
    sys.exit(0)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, stop)
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
