"""Task 5 — ``5-subscriber.py`` and ``5-publisher.py``: publish and subscribe.

The subscriber prints the connect line once subscribed to ``holberton school channel``,
then each message; on ``KILL_SERVER`` it prints it, unsubscribes and exits 0 by itself.
The publisher prints the connect line and ``About to send MESSAGE`` for four messages
sent after 100, 200, 300 and 400 ms, then exits. Message #3 comes after ``KILL_SERVER``,
so the subscriber never prints it.
"""

import signal
import time

import pytest
from connect_checks import (
    NOT_CONNECTED,
    asyncio_refused_message,
    closed_url,
    expect_not_connected,
    refused_message,
    require,
)

from harness.compare import expect_lines
from harness.process import script_env

SUBSCRIBER = "5-subscriber.py"
PUBLISHER = "5-publisher.py"
CHANNEL = "holberton school channel"
CONNECTED = "Redis client connected to the server"
STUDENT_3 = "Holberton Student #3 starts course"
SUBSCRIBER_LINES = [
    CONNECTED,
    "Holberton Student #1 starts course",
    "Holberton Student #2 starts course",
    "KILL_SERVER",
]
PUBLISHER_LINES = [
    CONNECTED,
    "About to send Holberton Student #1 starts course",
    "About to send Holberton Student #2 starts course",
    "About to send KILL_SERVER",
    f"About to send {STUDENT_3}",
]


@pytest.mark.task(5)
def test_subscriber_is_subscribed_when_it_says_connected(target, start, redis_client):
    subscriber = start(SUBSCRIBER)
    subscriber.wait_for_line(CONNECTED)
    [(_, count)] = redis_client.pubsub_numsub(CHANNEL)
    require(
        count == 1,
        f"task 5: {SUBSCRIBER} printed its connect line before it was subscribed to "
        f"'{CHANNEL}' (subscribers on the channel: {count}); print it once subscribed, "
        "or the first messages can be missed",
    )


@pytest.mark.task(5)
def test_publisher_and_subscriber_transcripts(target, start):
    subscriber = start(SUBSCRIBER)
    subscriber.wait_for_line(CONNECTED)
    publisher = start(PUBLISHER)
    code = publisher.wait_exit(timeout=10)
    expect_lines(f"task 5 ({PUBLISHER})", PUBLISHER_LINES, publisher.lines)
    require(code == 0, f"task 5: {PUBLISHER} exited with code {code}.\n{publisher.stderr}")
    # Every message is published by now: the subscriber either left or printed too much.
    subscriber.wait_until(
        lambda lines: subscriber.proc.poll() is not None or STUDENT_3 in lines,
        "the subscriber to exit after KILL_SERVER",
        timeout=10,
    )
    if STUDENT_3 in subscriber.lines:
        expect_lines(
            f"task 5 ({SUBSCRIBER}: it must unsubscribe and stop at KILL_SERVER)",
            SUBSCRIBER_LINES,
            list(subscriber.lines),
        )
    code = subscriber.wait_exit(timeout=10)
    expect_lines(f"task 5 ({SUBSCRIBER})", SUBSCRIBER_LINES, subscriber.lines)
    require(
        code == 0,
        f"task 5: after KILL_SERVER, {SUBSCRIBER} must exit with code 0, not {code}.\n"
        f"stderr:\n{subscriber.stderr}",
    )


@pytest.mark.task(5)
def test_publisher_sends_each_message_after_its_delay(target, start):
    publisher = start(PUBLISHER)
    publisher.wait_for_line(CONNECTED)
    connected_at = time.monotonic()
    publisher.wait_for_line(PUBLISHER_LINES[-1])
    elapsed = time.monotonic() - connected_at
    # The last message is due 400 ms after the connect line; a publisher that ignores
    # time_ms prints it within milliseconds. 150 ms leaves room for a slow (loaded) reader.
    require(
        elapsed >= 0.15,
        f"task 5: {PUBLISHER} sent its last message {elapsed * 1000:.0f} ms after connecting; "
        "each publish_message(message, time_ms) must wait time_ms milliseconds first",
    )
    code = publisher.wait_exit(timeout=10)
    require(code == 0, f"task 5: {PUBLISHER} exited with code {code}.\n{publisher.stderr}")


@pytest.mark.task(5)
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_subscriber_stops_cleanly_on_a_signal(target, start, signum):
    subscriber = start(SUBSCRIBER)
    subscriber.wait_for_line(CONNECTED)
    code = subscriber.signal(signum)
    name = signal.Signals(signum).name
    require(
        "Traceback" not in subscriber.stderr,
        f"task 5: {SUBSCRIBER} crashed on {name} (it must exit cleanly with code 0):\n"
        f"{subscriber.stderr}",
    )
    require(code == 0, f"task 5: on {name}, {SUBSCRIBER} must exit with code 0, not {code}")


@pytest.mark.task(5)
@pytest.mark.parametrize("script", [SUBSCRIBER, PUBLISHER])
def test_server_down_prints_not_connected_and_exits_1(target, run, script):
    url, port = closed_url()
    finished = run(script, env_override=script_env(url))
    # redis.asyncio words a refused connection differently: either client is a right choice.
    said = [refused_message(port), asyncio_refused_message(url)]
    message = next((m for m in said if finished.stdout == [NOT_CONNECTED + m]), said[0])
    expect_not_connected(f"task 5 ({script})", script, finished, message)
