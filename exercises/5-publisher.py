"""Task 5 — Redis client publisher and subscriber: the publisher.

Write a script that connects to Redis (connect line, or the "not connected" line and
exit code 1, as in task 1) and defines ``publish_message(message, time_ms)``: after
``time_ms`` milliseconds, it prints ``About to send MESSAGE`` and publishes ``MESSAGE`` on
the channel ``holberton school channel``. ``publish_message`` only schedules the sending
and returns at once, like JavaScript's ``setTimeout``.

At the end, call::

    publish_message("Holberton Student #1 starts course", 100)
    publish_message("Holberton Student #2 starts course", 200)
    publish_message("KILL_SERVER", 300)
    publish_message("Holberton Student #3 starts course", 400)

then wait until all four are sent and exit. Expected output::

    Redis client connected to the server
    About to send Holberton Student #1 starts course
    About to send Holberton Student #2 starts course
    About to send KILL_SERVER
    About to send Holberton Student #3 starts course

Tip: the standard library's ``sched`` module runs timed calls one after the other in
time order, like JavaScript's event loop runs timers.

Run it while ``5-subscriber.py`` runs in another terminal (``scripts/run 5`` runs both).
"""

import os
import signal
import sys

# TODO: import what you need for the timers (sched and time, or threading).

try:
    import redis  # noqa: F401  (TODO: use it)
except ModuleNotFoundError as missing:
    sys.exit(f"{missing}: run `. .venv/bin/activate` first, or use scripts/run")

REDIS_URL = os.environ.get("REDIS_URL", "redis://localhost:6379/0")
CHANNEL = "holberton school channel"


def publish_message(message: str, time_ms: int) -> None:
    """After ``time_ms`` milliseconds, print ``About to send MESSAGE`` and publish it."""
    # TODO


def main() -> None:
    """Connect, schedule the four messages, wait until they are sent."""
    # TODO: connect as in task 1.
    # TODO: call publish_message four times, then wait until all four are sent.


def stop(signum, frame) -> None:
    """SIGTERM: leave like Ctrl+C does, with exit code 0."""
    sys.exit(0)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, stop)
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
