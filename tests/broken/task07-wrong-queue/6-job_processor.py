"""Task 7 — Create the job processor.

Create a queue with pykue and a function ``send_notification(phone_number, message)``
that prints ``Sending notification to PHONE_NUMBER, with message: MESSAGE``.

Process the queue ``push_notification_code``: every job calls ``send_notification`` with
the phone number and the message of the job's data, then reports the job done. The
processor runs until Ctrl+C (SIGINT) or SIGTERM, and then exits cleanly (code 0).
"""

import os

import pykue

REDIS_URL = os.environ.get("REDIS_URL", "redis://localhost:6379/0")


def send_notification(phone_number: str, message: str) -> None:
    print(f"Sending notification to {phone_number}, with message: {message}")


def main() -> None:
    queue = pykue.create_queue(REDIS_URL)

    def handle(job, done):
        send_notification(job.data["phoneNumber"], job.data["message"])
        done()

    queue.process("push_notification_code_2", handle)
    queue.run()


if __name__ == "__main__":
    main()
