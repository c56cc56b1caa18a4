"""Task 9, another correct way: an ``async def`` handler, failures as return values.

``send_notification`` returns the error (or None) instead of calling done(); the async
handler raises it, which fails the job with its message. Each line is one write call.
"""

import os
import sys

import redis

import pykue

url = os.environ.get("REDIS_URL", "redis://localhost:6379/0")
blacklisted_numbers = ["4153518780", "4153518781"]


def send_notification(phone_number, message, job):
    job.progress(0, 100)
    if phone_number in blacklisted_numbers:
        return Exception(f"Phone number {phone_number} is blacklisted")
    job.progress(50, 100)
    line = f"Sending notification to {phone_number}, with message: {message}\n"
    os.write(sys.stdout.fileno(), line.encode())
    return None


async def handler(job):
    error = send_notification(job.data["phoneNumber"], job.data["message"], job)
    if error is not None:
        raise error


def main():
    try:
        redis.Redis.from_url(url).ping()
    except redis.exceptions.ConnectionError as exc:
        sys.stdout.write(f"Redis client not connected to the server: {exc}\n")
        return 1
    queue = pykue.create_queue(url)
    queue.process("push_notification_code_2", handler, concurrency=2)
    queue.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
