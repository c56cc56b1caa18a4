"""Task 15 — ``102-message_queue.py``: an HTTP FIFO message queue, spoken to over HTTP.

The graded server runs as a real process on a free port against the test Redis: one
server with the default timeout and one with ``MESSAGE_TIMEOUT_MS=800`` are shared by
the tests of this module (each test gets a fresh database); the restart test starts its
own. The ``Producer`` and ``Consumer`` clients are imported in-process.
"""

from __future__ import annotations

import html
import re
import signal
import threading
import time

import httpx
import pytest

from harness.process import script_env
from harness.webserver import Servers

FILE = "102-message_queue.py"
LABEL = "task 15"
JSON = {"content-type": "application/json"}


def fail(message: str) -> None:
    pytest.fail(f"{LABEL}: {message}", pytrace=False)


SHORT_TIMEOUT_MS = 800


@pytest.fixture(scope="module")
def shared(target, redis_server):
    """Servers shared by this module's tests, started on first use: {timeout: server}."""
    started = Servers(target, script_env(redis_server.url))
    by_timeout = {}

    def get(timeout_ms: int | None = None):
        running = by_timeout.get(timeout_ms)
        if running is None or running.proc.poll() is not None:  # not yet, or it died
            extra = {} if timeout_ms is None else {"MESSAGE_TIMEOUT_MS": str(timeout_ms)}
            by_timeout[timeout_ms] = started.script(FILE, env=dict(started.env, **extra))
        return by_timeout[timeout_ms]

    yield get
    started.close()


@pytest.fixture
def server(shared, redis_url):
    """``server(timeout_ms=None)``: a shared server, on this test's fresh database.

    Started inside the test (not in a fixture) so an unstarted task fails with one line.
    """
    return shared


class Api:
    """The routes of the task, with learner-facing failures for a wrong status."""

    def __init__(self, server):
        self.server = server
        self.http = httpx.Client(base_url=server.url, timeout=10)

    def request(self, method: str, path: str, **kwargs) -> httpx.Response:
        try:
            return self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            self.server.fail(f"{method} {path} failed: {type(exc).__name__}: {exc}")

    def expect(self, response: httpx.Response, status: int, what: str) -> httpx.Response:
        if response.status_code != status:
            fail(
                f"{what}: {response.request.method} {response.request.url.path} answered "
                f"{response.status_code} {response.text[:300]!r}; expected status {status}"
            )
        return response

    def add(self, payload) -> int:
        response = self.expect(
            self.request("POST", "/message/new", json={"payload": payload}),
            200,
            f"adding the payload {payload!r} (message-queue's Producer accepts a 200)",
        )
        body = response.json()
        if not isinstance(body, dict) or set(body) != {"id"} or not isinstance(body["id"], int):
            fail(f'POST /message/new must answer {{"id": N}} (N an integer); got {body!r}')
        return body["id"]

    def next(self) -> dict | None:
        """The next message ``{"id", "payload"}``, or None when the queue says it is empty."""
        response = self.expect(self.request("GET", "/message/next"), 200, "taking a message")
        body = response.json()
        if body == EMPTY:
            return None
        if not isinstance(body, dict) or set(body) != {"id", "payload", "status"}:
            fail(
                'GET /message/next must answer {"id": N, "payload": ..., "status": "pending"}, '
                f"or {EMPTY} when the queue is empty; got {body!r}"
            )
        if body["status"] != "pending":
            fail(f'a message handed out is "pending"; got {body!r}')
        return {"id": body["id"], "payload": body["payload"]}

    def done(self, message_id) -> httpx.Response:
        return self.request("POST", f"/message/{message_id}/status/done")


EMPTY = {"status": "empty"}


def expect_done(api: Api, message_id, status: str, why: str) -> None:
    """Done on ``message_id`` answers 200 with ``status`` ("processed", "unknown", "not
    pending" or "dead"): message-queue's Consumer reads the status word, and rejects any
    other HTTP status. A refusal says why in ``error``."""
    response = api.expect(api.done(message_id), 200, why)
    body = response.json() if "json" in response.headers.get("content-type", "") else None
    if not isinstance(body, dict) or body.get("status") != status:
        fail(
            f"{why}: POST /message/{message_id}/status/done must answer "
            f'{{"status": "{status}", ...}}; got {response.text[:300]!r}'
        )
    expected_id = message_id if isinstance(message_id, int) else None
    if body.get("id") != expected_id:
        fail(f'{why}: the answer must carry "id": {expected_id!r}; got {body!r}')
    if status != "processed" and not str(body.get("error") or "").strip():
        fail(f'{why}: a refusal must say why in "error"; got {response.text[:300]!r}')


# --- the routes ---------------------------------------------------------------------------


@pytest.mark.task(15)
def test_add_take_and_done(target, server):
    api = Api(server())
    payloads = ["yada yada yada", {"order": 7, "items": ["tea", 2.5]}, [1, "two"], 3]
    ids = [api.add(payload) for payload in payloads]
    if ids != [1, 2, 3, 4]:
        fail(f"on a fresh database the ids must be 1, 2, 3, 4; got {ids}")
    taken = [api.next() for _ in payloads]
    expected = [{"id": i, "payload": p} for i, p in zip(ids, payloads, strict=True)]
    if taken != expected:
        fail(
            f"GET /message/next must hand out the messages in order:\n  {expected}\ngot\n  {taken}"
        )
    if api.next() is not None:
        fail(f"GET /message/next on an empty queue must answer {EMPTY}")
    expect_done(api, 1, "processed", "reporting a pending message done")
    expect_done(api, 1, "unknown", "reporting a message done twice (it is gone)")
    for bad in (999, "abc", "-1", "1.5", "01", "9" * 5000):
        expect_done(api, bad, "unknown", f"reporting the unknown id {bad!r} done")
    for message_id in ids[1:]:
        expect_done(api, message_id, "processed", "reporting a pending message done")


@pytest.mark.task(15)
def test_bad_bodies_are_4xx_with_a_clear_message(target, server):
    api = Api(server())
    deep = b'{"payload": ' + b"[" * 1200 + b"]" * 1200 + b"}"
    cases = [
        ("a body that is not JSON", {"content": b"yada yada", "headers": JSON}, 400, "json"),
        ("an empty body", {"content": b"", "headers": JSON}, 422, "json"),
        ("a JSON object without payload", {"json": {"message": "hi"}}, 422, "payload"),
        ("a JSON list", {"json": ["payload"]}, 422, None),
        # What could not be handed back as JSON is refused at the door (protect(app)).
        ("NaN", {"content": b'{"payload": NaN}', "headers": JSON}, 400, "nan"),
        ("Infinity", {"content": b'{"payload": -Infinity}', "headers": JSON}, 400, "infinity"),
        ("1e999", {"content": b'{"payload": 1e999}', "headers": JSON}, 400, "number"),
        ("a lone surrogate", {"content": b'{"payload": "\\ud800"}', "headers": JSON}, 400,
         "surrogate"),
        ("JSON nested 1,200 deep", {"content": deep, "headers": JSON}, 400, "deeper"),
        ("a text/plain body", {"content": b'{"payload": 1}'}, 415, "json"),
    ]  # fmt: skip
    for what, kwargs, status, word in cases:
        response = api.request("POST", "/message/new", **kwargs)
        api.expect(response, status, f"POST /message/new with {what}")
        if word and word not in response.text.lower():
            fail(
                f"POST /message/new with {what}: the {status} answer should say what is wrong "
                f"(mention {word!r}); got {response.text!r}"
            )
    if api.next() is not None:
        fail("a rejected body must not add a message")


@pytest.mark.task(15)
def test_fifo_across_three_concurrent_consumers(target, server):
    api = Api(server())
    ids = [api.add(f"message {n}") for n in range(45)]
    taken: list[list[int]] = [[], [], []]
    barrier = threading.Barrier(3)

    def consume(index: int) -> None:
        own = Api(api.server)
        barrier.wait()
        while (message := own.next()) is not None:
            if message["payload"] != f"message {ids.index(message['id'])}":
                taken[index].append(-1)  # payload of another id: reported below
            taken[index].append(message["id"])

    threads = [threading.Thread(target=consume, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    everything = sorted(sum(taken, []))
    if everything != ids:
        twice = sorted({i for i in everything if everything.count(i) > 1})
        fail(
            "3 concurrent consumers must receive each of 45 messages exactly once, with its "
            f"own payload; delivered twice: {twice}, missing: {sorted(set(ids) - set(everything))}"
            f"{', a wrong payload' if -1 in everything else ''}"
        )
    for index, own in enumerate(taken):
        if own != sorted(own):
            fail(f"consumer {index} received ids out of order: {own} (FIFO: in order of adding)")
    for message_id in ids:
        expect_done(api, message_id, "processed", "reporting a pending message done")


# --- the timeout ----------------------------------------------------------------------------


@pytest.mark.task(15)
def test_timed_out_messages_go_back_to_the_front(target, server):
    api = Api(server(SHORT_TIMEOUT_MS))
    ids = [api.add(f"message {n}") for n in (1, 2, 3, 4)]
    first = api.next()
    second = api.next()
    if [first["id"], second["id"]] != ids[:2]:
        fail(f"the first two messages taken must be {ids[:2]}: {first}, {second}")
    expect_done(api, second["id"], "processed", "reporting a message done before its timeout")
    third = api.next()  # taken later than the first: times out later
    third_taken_by = time.monotonic()
    if third["id"] != ids[2]:
        fail(f"while message {ids[0]} is pending, the next one must be {ids[2]}: {third}")
    # Time is what is under test here: wait until both pending messages ran out.
    time.sleep(max(0.0, third_taken_by + SHORT_TIMEOUT_MS / 1000 + 0.2 - time.monotonic()))
    expect_done(
        api,
        first["id"],
        "not pending",
        "reporting a message done after its 800 ms ran out (too late)",
    )
    back = [api.next(), api.next(), api.next()]
    got = [m["id"] if m else None for m in back]
    if got != [ids[0], ids[2], ids[3]]:
        fail(
            f"messages {ids[0]} and {ids[2]} timed out (MESSAGE_TIMEOUT_MS=800): they must go "
            f"back to the FRONT of the queue, oldest first, before {ids[3]}. The next three "
            f"taken were {got}; expected {[ids[0], ids[2], ids[3]]}"
        )
    if back[0]["payload"] != "message 1":
        fail(f"a message that timed out must keep its payload: {back[0]}")
    for message_id in got:
        expect_done(api, message_id, "processed", "reporting a message done within its new 800 ms")
    if api.next() is not None:
        fail("every message was done: the queue must be empty")


# --- /info ----------------------------------------------------------------------------------


@pytest.mark.task(15)
def test_info_page_shows_the_whole_state(target, server):
    api = Api(server())
    tricky = "<b>bold</b> & <script>alert(1)</script>"
    for payload in ("first in line", tricky, "third one"):
        api.add(payload)
    pending = api.next()
    response = api.expect(api.request("GET", "/info"), 200, "GET /info")
    if "text/html" not in response.headers.get("content-type", ""):
        fail(
            f"GET /info must be an HTML page; content-type: {response.headers.get('content-type')}"
        )
    page = response.text
    if "<script>alert(1)</script>" in page or "<b>bold</b>" in page:
        fail("GET /info shows payloads unescaped: escape them (html.escape) before inserting")
    if html.escape("<script>alert(1)</script>") not in page:
        fail("GET /info must show every queued payload (HTML-escaped)")
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split()).lower()
    for wanted in ("queued: 2", "pending: 1", "first in line", "third one", "age"):
        if wanted not in text:
            fail(f"the text of GET /info must contain {wanted!r}; page text: {text[:600]!r}")
    expect_done(api, pending["id"], "processed", "reporting the pending message done")
    text = " ".join(re.sub(r"<[^>]+>", " ", api.request("GET", "/info").text).split()).lower()
    if "queued: 2" not in text or "pending: 0" not in text:
        fail(f"after done, GET /info must count queued: 2 and pending: 0; text: {text[:600]!r}")


# --- restart and clients -----------------------------------------------------------------------


@pytest.mark.task(15)
def test_nothing_is_lost_across_a_restart(target, servers):
    first_server = servers.script(FILE)
    api = Api(first_server)
    ids = [api.add(f"message {n}") for n in (1, 2, 3)]
    pending = api.next()
    code = first_server.signal(signal.SIGTERM)
    if code != 0 or any("Traceback" in line for line in first_server.stderr_lines):
        fail(f"on SIGTERM the server must exit with code 0, without a traceback (code {code})")
    api = Api(servers.script(FILE))
    expect_done(
        api, pending["id"], "processed", "reporting done after a restart (pending before it)"
    )
    rest = [api.next(), api.next()]
    if [m["id"] if m else None for m in rest] != ids[1:]:
        fail(
            f"after a restart the queued messages {ids[1:]} must still be there, in order "
            f"(state lives in Redis); got {rest}"
        )
    if api.next() is not None or api.add("after restart") != 4:
        fail("after a restart the queue must go on where it was (empty now, next id 4)")


@pytest.mark.task(15)
def test_producer_and_consumer_clients(target, server, monkeypatch):
    module = target.load_module(FILE, monkeypatch)
    producer_class = target.function(module, "Producer", FILE)
    consumer_class = target.function(module, "Consumer", FILE)
    port = server().port
    producer = producer_class(hostname="127.0.0.1", port=port)
    consumer = consumer_class("127.0.0.1", port)
    first = producer.add_new_message("yada yada yada")
    second = producer.add_new_message({"n": 2})
    if [first, second] != [1, 2]:
        fail(f"Producer.add_new_message must return the new ids 1, 2; got {first!r}, {second!r}")
    message = consumer.get_next_message()
    if message != {"id": 1, "payload": "yada yada yada"}:
        fail(f"Consumer.get_next_message() must return {{'id': 1, 'payload': ...}}: {message!r}")
    consumer.notify_processed(1)
    try:
        consumer.notify_processed(1)
    except Exception:  # noqa: BLE001 - any exception with a clear message will do
        pass
    else:
        fail("Consumer.notify_processed(1) a second time (unknown id) must raise")
    if consumer.get_next_message() != {"id": 2, "payload": {"n": 2}}:
        fail("Consumer.get_next_message() must hand out message 2 next")
    if consumer.get_next_message() is not None:
        fail("Consumer.get_next_message() on an empty queue must return None")
    consumer.notify_processed(2)
    expect_default_port_1245(target, module, monkeypatch)


def expect_default_port_1245(target, module, monkeypatch) -> None:
    """``Producer(hostname)`` and ``Consumer(hostname)`` talk to port 1245, the server's
    default. No server needed: httpx's transport records the URL and refuses the request."""
    tried: list[httpx.URL] = []

    def refuse(self, request):
        tried.append(request.url)
        if len(tried) > 20:  # a client that retries for ever stops here
            raise RuntimeError("the grader refuses every request")
        raise httpx.ConnectError("the grader refuses every request", request=request)

    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", refuse)
    calls = {
        "Producer": lambda client: client.add_new_message("hello"),
        "Consumer": lambda client: client.get_next_message(),
    }
    for name, call in calls.items():
        client_class = target.function(module, name, FILE)
        tried.clear()
        try:
            call(client_class("127.0.0.1"))
        except Exception:  # noqa: BLE001 - refused on purpose: only the URL matters
            pass
        ports = sorted({url.port for url in tried})
        if ports != [1245]:
            fail(
                f"{name}('127.0.0.1') without a port must talk to port 1245 (the server's "
                f"default PORT); it tried {[str(url) for url in tried] or 'no request'}"
            )
