"""Task 15 — An HTTP FIFO message queue (FastAPI + Redis), with Producer and Consumer.

Producers and consumers talk to the queue over HTTP; the state lives in Redis, so it
survives a restart of the server and several servers can share it. Routes:

- ``POST /message/new`` with the JSON body ``{"payload": ANY_JSON_VALUE}`` -> 201
  ``{"id": N}`` (ids count 1, 2, 3...). A body that is not JSON, not an object, or has
  no ``payload`` -> 422 ``{"detail": "...what is wrong..."}``, never a 500.
- ``GET /message/next`` -> 200 ``{"id": N, "payload": ...}``, the oldest queued message,
  which becomes *pending*; or 204 (no body) when no message is queued.
- ``POST /message/{id}/status/done`` -> 200 ``{"id": N, "status": "done"}``: the pending
  message is removed for good. Unknown (or malformed) id -> 404; a message that is not
  pending (its time ran out and it went back to the queue) -> 409. Errors are
  ``{"detail": "..."}``.
- A pending message not done within ``MESSAGE_TIMEOUT_MS`` (default 30000) goes back to
  the FRONT of the queue, in one atomic step, so it is the next one handed out.
- ``GET /info`` -> an HTML page of the whole state: the counts (the text
  ``queued: N`` and ``pending: N``), the queued messages in order, the pending ones with
  their age in ms. Payloads are HTML-escaped.

Every move is one Lua script. Timed-out messages are moved back lazily, at the start of
each script: nobody can observe the queue without running one, so nobody sees a stale
state. Redis keys:

    mq:seq         counter of message ids (INCR)
    mq:messages    hash id -> payload (JSON text), for queued and pending messages
    mq:queue       list of queued ids, the front (next one out) on the left
    mq:pending     zset id -> time it was handed out (epoch ms)
    mq:deliveries  hash id -> how many times it was handed out

Clients (use httpx): ``Producer(hostname, port).add_new_message(payload) -> id``;
``Consumer(hostname, port).get_next_message()`` -> ``{"id", "payload"}`` or None when
the queue is empty; ``.notify_processed(id)`` (raises ``MessageQueueError`` on 404/409).

Run it:  python 102-message_queue.py  (PORT default 1245, HOST default 127.0.0.1);
then open http://127.0.0.1:1245/info, or http://127.0.0.1:1245/docs to try the routes.
"""

import html

# TODO: import json (payloads are stored as JSON text)
import os
import signal
import time
from contextlib import asynccontextmanager

import httpx
import redis.asyncio as redis
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse  # TODO: and Response (204)
from redis.exceptions import ConnectionError as RedisConnectionError

REDIS_URL = os.environ.get("REDIS_URL", "redis://localhost:6379/0")
MESSAGE_TIMEOUT_MS = int(os.environ.get("MESSAGE_TIMEOUT_MS", "30000"))

KEYS = ["mq:seq", "mq:messages", "mq:queue", "mq:pending", "mq:deliveries"]

# Shared by the scripts that hand out or look at messages. Pending messages handed out
# at or before now - timeout go back to the front, the oldest id first.
REQUEUE_EXPIRED = """
local function requeue_expired(now, timeout)
  -- TODO: every pending id handed out at or before now - timeout leaves mq:pending and
  --       goes back to the FRONT of mq:queue, the smallest id first
end
local now, timeout = tonumber(ARGV[1]), tonumber(ARGV[2])
requeue_expired(now, timeout)
"""

# ARGV: now, timeout, payload (JSON text). Returns the new id.
ADD = """
-- TODO: a new id (INCR), its payload in mq:messages, the id at the end of mq:queue
return 0
"""

# ARGV: now, timeout. Returns {id, payload} or nil when the queue is empty.
NEXT = (
    REQUEUE_EXPIRED
    + """
-- TODO: take the front id; it becomes pending (since now) and one more delivery
return nil
"""
)

# ARGV: now, timeout, id. Returns 1 done, 0 unknown, -1 not pending.
DONE = (
    REQUEUE_EXPIRED
    + """
-- TODO: pending -> delete it for good, 1; known but not pending -> -1; unknown -> 0
return 0
"""
)

# ARGV: now, timeout. Returns {queued ids, pending {id, since, ...}, payloads {id, text, ...},
# deliveries {id, count, ...}}.
SNAPSHOT = (
    REQUEUE_EXPIRED
    + """
-- TODO: the queued ids, the pending ids with their scores, and the two hashes
return {{}, {}, {}, {}}
"""
)

client = redis.from_url(REDIS_URL, decode_responses=True)
SCRIPTS = {
    name: client.register_script(source)
    for name, source in {
        "add": ADD,
        "next": NEXT,
        "done": DONE,
        "snapshot": SNAPSHOT,
    }.items()
}


def now_ms() -> int:
    return int(time.time() * 1000)


async def run(name: str, *args):
    """Run one of the scripts with the current time and the timeout first."""
    return await SCRIPTS[name](keys=KEYS, args=[now_ms(), MESSAGE_TIMEOUT_MS, *args])


@asynccontextmanager
async def lifespan(app: FastAPI):
    # Load the scripts once: later calls never need the NOSCRIPT fallback (which
    # fakeredis's TCP server answers by closing the connection).
    try:
        for script in SCRIPTS.values():
            await client.script_load(script.script)
    except RedisConnectionError as exc:
        print(f"Redis unavailable at start ({exc}); the scripts load on first use")
    yield
    await client.aclose()


app = FastAPI(title="Message queue", description="Task 15: an HTTP FIFO queue.", lifespan=lifespan)


def error(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)


@app.post("/message/new", status_code=201)
async def new_message(request: Request):
    # TODO: read the body (await request.body()) and parse it as JSON; not JSON, not an
    #       object, or no "payload" -> error(422, "...what is wrong..."); else run ADD
    #       with the payload as JSON text and answer 201 {"id": N}
    pass


@app.get("/message/next")
async def next_message():
    # TODO: run NEXT; nothing -> Response(status_code=204); else {"id": N, "payload": ...}
    pass


@app.post("/message/{message_id}/status/done")
async def message_done(message_id: str):
    # A str parameter on purpose: an int one would answer "abc" with 422, not 404.
    # TODO: malformed or unknown id -> error(404, ...); not pending -> error(409, ...);
    #       done -> {"id": N, "status": "done"}
    pass


def payload_cell(text: str) -> str:
    return f"<td><code>{html.escape(text)}</code></td>"


@app.get("/info", response_class=HTMLResponse)
async def info():
    # TODO: run SNAPSHOT and build the page: "queued: N, pending: N", the queued messages
    #       front first, the pending ones with their age in ms; escape every payload
    return "<!doctype html><title>Message queue</title><p>TODO</p>"


@app.exception_handler(RedisConnectionError)
async def redis_unavailable(request, exc):
    """Redis is down: say so clearly (503), never a bare 500."""
    return error(503, f"Redis unavailable: {exc}")


# --- clients ----------------------------------------------------------------------------


class MessageQueueError(Exception):
    """The queue answered with an error status (``status_code``, ``detail``)."""

    def __init__(self, status_code: int, detail: str):
        super().__init__(f"{status_code}: {detail}")
        self.status_code = status_code
        self.detail = detail


def _check(response: httpx.Response, *expected: int) -> httpx.Response:
    if response.status_code not in expected:
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text
        raise MessageQueueError(response.status_code, str(detail))
    return response


class Producer:
    """Adds messages to the queue served on ``hostname:port``."""

    def __init__(self, hostname: str = "localhost", port: int = 1245):
        self.http = httpx.Client(base_url=f"http://{hostname}:{port}", timeout=10)

    def add_new_message(self, payload) -> int:
        """Queue ``payload`` (any JSON value); return the new message's id."""
        # TODO: POST /message/new with {"payload": payload}; return the id


class Consumer:
    """Takes messages from the queue served on ``hostname:port`` and reports them done."""

    def __init__(self, hostname: str = "localhost", port: int = 1245):
        self.http = httpx.Client(base_url=f"http://{hostname}:{port}", timeout=10)

    def get_next_message(self) -> dict | None:
        """The next message ``{"id": N, "payload": ...}`` (now pending), or None if empty."""
        # TODO: GET /message/next; 204 -> None

    def notify_processed(self, message_id: int) -> None:
        """Report the message done; MessageQueueError if unknown (404) or timed out (409)."""
        # TODO: POST /message/{id}/status/done; an error status -> MessageQueueError


def serve(app) -> None:
    """Run ``app`` on HOST:PORT until Ctrl+C or SIGTERM, then exit 0."""
    # uvicorn re-raises the signal that stopped it; as KeyboardInterrupt it ends quietly.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "1245"))
    print(f"Message queue on http://{host}:{port} (timeout {MESSAGE_TIMEOUT_MS} ms)")
    try:
        uvicorn.run(app, host=host, port=port)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    serve(app)
