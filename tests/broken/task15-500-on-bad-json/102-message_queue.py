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
import json
import os
import signal
import time
from contextlib import asynccontextmanager

import httpx
import redis.asyncio as redis
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from redis.exceptions import ConnectionError as RedisConnectionError

REDIS_URL = os.environ.get("REDIS_URL", "redis://localhost:6379/0")
MESSAGE_TIMEOUT_MS = int(os.environ.get("MESSAGE_TIMEOUT_MS", "30000"))

KEYS = ["mq:seq", "mq:messages", "mq:queue", "mq:pending", "mq:deliveries"]

# Shared by the scripts that hand out or look at messages. Pending messages handed out
# at or before now - timeout go back to the front, the oldest id first.
REQUEUE_EXPIRED = """
local function requeue_expired(now, timeout)
  local expired = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now - timeout)
  table.sort(expired, function(a, b) return tonumber(a) < tonumber(b) end)
  for i = #expired, 1, -1 do
    redis.call('ZREM', KEYS[4], expired[i])
    redis.call('LPUSH', KEYS[3], expired[i])
  end
end
local now, timeout = tonumber(ARGV[1]), tonumber(ARGV[2])
requeue_expired(now, timeout)
"""

# ARGV: now, timeout, payload (JSON text). Returns the new id.
ADD = """
local id = redis.call('INCR', KEYS[1])
redis.call('HSET', KEYS[2], id, ARGV[3])
redis.call('RPUSH', KEYS[3], id)
return id
"""

# ARGV: now, timeout. Returns {id, payload} or nil when the queue is empty.
NEXT = (
    REQUEUE_EXPIRED
    + """
local id = redis.call('LPOP', KEYS[3])
if not id then return nil end
redis.call('ZADD', KEYS[4], now, id)
redis.call('HINCRBY', KEYS[5], id, 1)
return {id, redis.call('HGET', KEYS[2], id)}
"""
)

# ARGV: now, timeout, id. Returns 1 done, 0 unknown, -1 not pending.
DONE = (
    REQUEUE_EXPIRED
    + """
if redis.call('ZREM', KEYS[4], ARGV[3]) == 1 then
  redis.call('HDEL', KEYS[2], ARGV[3])
  redis.call('HDEL', KEYS[5], ARGV[3])
  return 1
end
if redis.call('HEXISTS', KEYS[2], ARGV[3]) == 1 then return -1 end
return 0
"""
)

# ARGV: now, timeout. Returns {queued ids, pending {id, since, ...}, payloads {id, text, ...},
# deliveries {id, count, ...}}.
SNAPSHOT = (
    REQUEUE_EXPIRED
    + """
return {
  redis.call('LRANGE', KEYS[3], 0, -1),
  redis.call('ZRANGE', KEYS[4], 0, -1, 'WITHSCORES'),
  redis.call('HGETALL', KEYS[2]),
  redis.call('HGETALL', KEYS[5]),
}
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
    # The body is read by hand (not a pydantic model) to choose the error messages.
    raw = await request.body()
    body = json.loads(raw)
    if not isinstance(body, dict) or "payload" not in body:
        return error(422, 'the body must be a JSON object with a "payload" field')
    message_id = await run("add", json.dumps(body["payload"]))
    return JSONResponse({"id": message_id}, status_code=201)


@app.get("/message/next")
async def next_message():
    found = await run("next")
    if found is None:
        return Response(status_code=204)
    message_id, payload = found
    return {"id": int(message_id), "payload": json.loads(payload)}


@app.post("/message/{message_id}/status/done")
async def message_done(message_id: str):
    # A str parameter on purpose: an int one would answer "abc" with 422, not 404.
    if not message_id.isdecimal() or message_id != str(int(message_id)):
        return error(404, f"message {message_id} not found")
    result = await run("done", message_id)
    if result == 0:
        return error(404, f"message {message_id} not found")
    if result == -1:
        return error(
            409,
            f"message {message_id} is not pending: its {MESSAGE_TIMEOUT_MS} ms ran out and it "
            "went back to the queue",
        )
    return {"id": int(message_id), "status": "done"}


def payload_cell(text: str) -> str:
    return f"<td><code>{html.escape(text)}</code></td>"


@app.get("/info", response_class=HTMLResponse)
async def info():
    queued, pending_flat, payloads_flat, deliveries_flat = await run("snapshot")
    now = now_ms()
    payloads = dict(zip(payloads_flat[::2], payloads_flat[1::2], strict=True))
    deliveries = dict(zip(deliveries_flat[::2], deliveries_flat[1::2], strict=True))
    pending = list(zip(pending_flat[::2], pending_flat[1::2], strict=True))
    queued_rows = "".join(
        f"<tr><td>{position}</td><td>{mid}</td>{payload_cell(payloads.get(mid, '?'))}"
        f"<td>{deliveries.get(mid, 0)}</td></tr>"
        for position, mid in enumerate(queued, start=1)
    )
    pending_rows = "".join(
        f"<tr><td>{mid}</td>{payload_cell(payloads.get(mid, '?'))}"
        f"<td>{now - int(float(since))}</td>"
        f"<td>{max(0, int(float(since)) + MESSAGE_TIMEOUT_MS - now)}</td>"
        f"<td>{deliveries.get(mid, 0)}</td></tr>"
        for mid, since in pending
    )
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Message queue</title>
<style>body{{font-family:sans-serif}} td,th{{border:1px solid #ccc;padding:2px 8px}}
table{{border-collapse:collapse}}</style></head>
<body><h1>Message queue</h1>
<p id="counts">queued: {len(queued)}, pending: {len(pending)}
(timeout {MESSAGE_TIMEOUT_MS} ms)</p>
<h2>Queued (front first)</h2>
<table><tr><th>#</th><th>id</th><th>payload</th><th>handed out</th></tr>
{queued_rows}</table>
<h2>Pending</h2>
<table>
<tr><th>id</th><th>payload</th><th>age (ms)</th><th>back in (ms)</th><th>handed out</th></tr>
{pending_rows}</table>
</body></html>
"""


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
        response = _check(self.http.post("/message/new", json={"payload": payload}), 200, 201)
        return response.json()["id"]


class Consumer:
    """Takes messages from the queue served on ``hostname:port`` and reports them done."""

    def __init__(self, hostname: str = "localhost", port: int = 1245):
        self.http = httpx.Client(base_url=f"http://{hostname}:{port}", timeout=10)

    def get_next_message(self) -> dict | None:
        """The next message ``{"id": N, "payload": ...}`` (now pending), or None if empty."""
        response = _check(self.http.get("/message/next"), 200, 204)
        return None if response.status_code == 204 else response.json()

    def notify_processed(self, message_id: int) -> None:
        """Report the message done; MessageQueueError if unknown (404) or timed out (409)."""
        _check(self.http.post(f"/message/{message_id}/status/done"), 200)


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
