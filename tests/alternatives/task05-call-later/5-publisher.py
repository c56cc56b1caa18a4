"""Task 5 publisher, another correct way: an asyncio loop's call_later as setTimeout.

The Redis client is the synchronous one (asyncio here only keeps time); the loop stops
when the last timer has fired.
"""

import asyncio
import os
import sys

import redis

CHANNEL = "holberton school channel"
client = redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://localhost:6379/0"))
loop = asyncio.new_event_loop()
left = []


def publish_message(message, time_ms):
    def send():
        print("About to send", message, flush=True)
        client.publish(CHANNEL, message)
        left.remove(handle)
        if not left:
            loop.stop()

    handle = loop.call_later(time_ms / 1000, send)
    left.append(handle)


if __name__ == "__main__":
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        print(f"Redis client not connected to the server: {exc}")
        sys.exit(1)
    print("Redis client connected to the server", flush=True)
    for text, delay in (
        ("Holberton Student #1 starts course", 100),
        ("Holberton Student #2 starts course", 200),
        ("KILL_SERVER", 300),
        ("Holberton Student #3 starts course", 400),
    ):
        publish_message(text, delay)
    loop.run_forever()
    loop.close()
