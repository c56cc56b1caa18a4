"""Task 5 publisher, another correct way: asyncio all through.

The loop's ``call_later`` plays setTimeout, and the client is ``redis.asyncio`` (whose
"connection refused" message is worded differently from the synchronous client's). The
script ends when the last message has been sent.
"""

import asyncio
import os
import sys

import redis
import redis.asyncio as aioredis

CHANNEL = "holberton school channel"
MESSAGES = (
    ("Holberton Student #1 starts course", 100),
    ("Holberton Student #2 starts course", 200),
    ("KILL_SERVER", 300),
    ("Holberton Student #3 starts course", 400),
)


async def main() -> int:
    client = aioredis.from_url(os.environ.get("REDIS_URL", "redis://localhost:6379/0"))
    try:
        await client.ping()
    except redis.exceptions.ConnectionError as exc:
        print(f"Redis client not connected to the server: {exc}")
        return 1
    print("Redis client connected to the server", flush=True)
    loop = asyncio.get_running_loop()
    sent = [loop.create_future() for _ in MESSAGES]

    async def send(message: str, done: asyncio.Future) -> None:
        print("About to send", message, flush=True)
        await client.publish(CHANNEL, message)
        done.set_result(None)

    def publish_message(message: str, time_ms: int, done: asyncio.Future) -> None:
        loop.call_later(time_ms / 1000, lambda: loop.create_task(send(message, done)))

    for (text, delay), done in zip(MESSAGES, sent, strict=True):
        publish_message(text, delay, done)
    await asyncio.gather(*sent)
    await client.aclose()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
