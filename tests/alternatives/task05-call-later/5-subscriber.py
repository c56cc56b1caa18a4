"""Task 5 subscriber, another correct way: read the subscribe confirmation explicitly.

The connect line follows the confirmation, read with get_message(); then listen() and a
type filter give the messages. SIGTERM is turned into KeyboardInterrupt.
"""

import os
import signal
import sys

import redis


def interrupt(signum, frame):
    raise KeyboardInterrupt


def listen(url):
    pubsub = redis.Redis.from_url(url, decode_responses=True).pubsub()
    pubsub.subscribe("holberton school channel")
    confirmation = pubsub.get_message(timeout=10)
    if not confirmation or confirmation["type"] != "subscribe":
        raise SystemExit(f"no subscribe confirmation: {confirmation!r}")
    print("Redis client connected to the server", flush=True)
    for item in pubsub.listen():
        if item["type"] != "message":
            continue
        print(item["data"], flush=True)
        if item["data"] == "KILL_SERVER":
            return


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, interrupt)
    try:
        listen(os.environ.get("REDIS_URL", "redis://localhost:6379/0"))
    except redis.exceptions.ConnectionError as exc:
        print(f"Redis client not connected to the server: {exc}")
        sys.exit(1)
    except KeyboardInterrupt:
        pass
