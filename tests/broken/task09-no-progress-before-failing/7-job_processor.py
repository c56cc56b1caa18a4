"""Task 9 — Track progress and errors: the job processor.

Create a queue with pykue and a list ``blacklisted_numbers`` holding ``4153518780`` and
``4153518781``. Write ``send_notification(phone_number, message, job, done)``:

- report the job's progress: 0 out of 100;
- if ``phone_number`` is blacklisted, fail the job with the error
  ``Phone number PHONE_NUMBER is blacklisted`` and stop there;
- else report progress 50 out of 100, print
  ``Sending notification to PHONE_NUMBER, with message: MESSAGE`` and complete the job.

Process the queue ``push_notification_code_2`` two jobs at a time, calling
``send_notification`` for each job. Run until Ctrl+C or SIGTERM, then exit cleanly.
"""

import os

import pykue

REDIS_URL = os.environ.get("REDIS_URL", "redis://localhost:6379/0")

blacklisted_numbers = ["4153518780", "4153518781"]


def send_notification(phone_number: str, message: str, job, done) -> None:
    if phone_number in blacklisted_numbers:
        done(Exception(f"Phone number {phone_number} is blacklisted"))
        return
    job.progress(0, 100)
    job.progress(50, 100)
    print(f"Sending notification to {phone_number}, with message: {message}")
    done()


def main() -> None:
    queue = pykue.create_queue(REDIS_URL)

    def handle(job, done):
        send_notification(job.data["phoneNumber"], job.data["message"], job, done)

    queue.process("push_notification_code_2", handle, concurrency=2)
    queue.run()


if __name__ == "__main__":
    main()
