"""Task 5 subscriber, another correct way: poll get_message() instead of listen().

Bytes replies (no decode_responses), decoded here; signals end the loop via a flag.
"""

import os
import signal
import sys

import redis

CHANNEL = b"holberton school channel"
running = True


def halt(signum, frame):
    global running
    running = False


def main():
    conn = redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://localhost:6379/0"))
    sub = conn.pubsub(ignore_subscribe_messages=False)
    try:
        sub.subscribe(CHANNEL)
        while running:
            event = sub.get_message(timeout=0.1)
            if event is None:
                continue
            if event["type"] == b"subscribe" or event["type"] == "subscribe":
                print("Redis client connected to the server", flush=True)
                continue
            text = event["data"].decode()
            print(text, flush=True)
            if text == "KILL_SERVER":
                sub.unsubscribe()
                break
    except redis.ConnectionError as exc:
        print(f"Redis client not connected to the server: {exc}")
        sys.exit(1)
    finally:
        sub.close()


if __name__ == "__main__":
    signal.signal(signal.SIGINT, halt)
    signal.signal(signal.SIGTERM, halt)
    main()
