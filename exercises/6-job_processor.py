"""Task 7 — Create the job processor.

Create a queue with pykue and a function ``send_notification(phone_number, message)``
that prints ``Sending notification to PHONE_NUMBER, with message: MESSAGE``.

Process the queue ``push_notification_code``: every job calls ``send_notification`` with
the phone number and the message of the job's data, then reports the job done. The
processor runs until Ctrl+C (SIGINT) or SIGTERM, and then exits cleanly (code 0).
"""

import os

import pykue  # noqa: F401  (TODO: use it)

REDIS_URL = os.environ.get("REDIS_URL", "redis://localhost:6379/0")


def send_notification(phone_number: str, message: str) -> None:
    # TODO: print "Sending notification to PHONE_NUMBER, with message: MESSAGE"
    pass


def main() -> None:
    # TODO: create a queue with pykue.create_queue(REDIS_URL)
    # TODO: a handler(job, done) that calls send_notification with job.data's
    #       "phoneNumber" and "message", then done()
    # TODO: queue.process("push_notification_code", handler), then queue.run()
    pass


if __name__ == "__main__":
    main()
