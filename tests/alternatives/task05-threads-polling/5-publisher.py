"""Task 5 publisher, another correct way: one threading.Timer per message, then join them."""

import os
import sys
import threading

import redis

CHANNEL = "holberton school channel"
conn = redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://localhost:6379/0"))
timers = []


def publish_message(message, time_ms):
    def fire():
        sys.stdout.write(f"About to send {message}\n")
        sys.stdout.flush()
        conn.publish(CHANNEL, message)

    timer = threading.Timer(time_ms / 1000.0, fire)
    timer.start()
    timers.append(timer)


if __name__ == "__main__":
    try:
        conn.ping()
    except redis.ConnectionError as exc:
        print(f"Redis client not connected to the server: {exc}")
        sys.exit(1)
    print("Redis client connected to the server", flush=True)
    publish_message("Holberton Student #1 starts course", 100)
    publish_message("Holberton Student #2 starts course", 200)
    publish_message("KILL_SERVER", 300)
    publish_message("Holberton Student #3 starts course", 400)
    for timer in timers:
        timer.join()
