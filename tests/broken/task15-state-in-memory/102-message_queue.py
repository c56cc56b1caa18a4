"""Task 15 — An HTTP FIFO message queue (FastAPI + Redis), with Producer and Consumer.

Producers and consumers talk to the queue over HTTP; the state lives in Redis, so it
survives a restart of the server and several servers can share it. The routes answer as
dbendy/message-queue's server does, so its own ``Producer`` and ``Consumer`` (which
accept a 200 with a JSON body only) work unchanged against this one:

- ``POST /message/new`` with the JSON body ``{"payload": ANY_JSON_VALUE}`` -> 200
  ``{"id": N}`` (ids count 1, 2, 3...). A body that is not JSON, not an object, or has
  no ``payload`` -> 422 ``{"error": "...what is wrong..."}``, never a 500.
- ``GET /message/next`` -> 200 ``{"id": N, "payload": ..., "status": "pending"}``, the
  oldest queued message, which becomes *pending*; or 200 ``{"status": "empty"}`` (no
  ``id``) when no message is queued.
- ``POST /message/{id}/status/done`` -> always 200 (the original client reads the body,
  not the status code): ``{"id": N, "payload": ..., "status": "processed"}`` when the
  pending message is removed for good; otherwise ``{"id": N, "status": S, "error":
  "...why..."}`` with S ``unknown`` (no such message: never added, done already, or a
  malformed id), ``not pending`` (queued: its time ran out and it went back) or ``dead``.
- A pending message not done within ``MESSAGE_TIMEOUT_MS`` (default 30000; the
  original's ``PENDING_TIMEOUT`` is read too) goes back to the FRONT of the queue, in one
  atomic step, so it is the next one handed out. A message handed out
  ``MAX_DELIVERIES`` times (default 5) that times out again goes to the dead letters
  instead: one poison message cannot hold the front of the queue forever.
- ``GET /info?offset=0&limit=50`` -> an HTML page of the state: the counts (the text
  ``queued: N``, ``pending: N`` and ``dead: N``) and one page of each list (queued in
  order, pending with their age in ms, dead letters). Payloads are HTML-escaped and cut
  to ``SHOWN_CHARS`` characters.

``protect(app)`` (pykue.web.guard) refuses at the door what could not be given back
(NaN, Infinity, a lone surrogate, JSON nested deeper than 64 levels: 400), bodies over
``MAX_BODY`` bytes (413), other host names and other sites' pages; Redis down, frozen
(5 s socket timeout) or full is a 503 with the cause.

Every move is one Lua script. Timed-out messages are moved lazily, at the start of each
script: nobody can observe the queue without running one, so nobody sees a stale state.
Redis keys:

    mq:seq         counter of message ids (INCR)
    mq:messages    hash id -> payload (JSON text), for queued, pending and dead messages
    mq:queue       list of queued ids, the front (next one out) on the left
    mq:pending     zset id -> time it was handed out (epoch ms)
    mq:deliveries  hash id -> how many times it was handed out
    mq:dead        list of dead-letter ids, oldest first

Clients (use httpx): ``Producer(hostname, port).add_new_message(payload) -> id``;
``Consumer(hostname, port).get_next_message()`` -> ``{"id", "payload"}`` or None when
the queue is empty; ``.notify_processed(id)`` (raises ``MessageQueueError`` unless the
message was processed).

Run it:  python 102-message_queue.py  (PORT default 1245, HOST default 127.0.0.1);
then open http://127.0.0.1:1245/info, or http://127.0.0.1:1245/docs to try the routes.
"""

import html
import json
import os
import sys
import time
from contextlib import asynccontextmanager
from typing import Annotated, Any

try:
    import fakeredis
    import httpx
    import redis.asyncio as redis
    from fastapi import FastAPI, Path, Query, Request
    from fastapi.responses import HTMLResponse, JSONResponse
    from pydantic import BaseModel

    from pykue.web.guard import UNAVAILABLE, protect, serve
except ModuleNotFoundError as missing:
    sys.exit(f"{missing}: run `. .venv/bin/activate` first, or use scripts/run")


def setting(names: tuple[str, ...], default: int) -> int:
    """The first of the environment variables ``names`` that is set, as a positive int."""
    for name in names:
        text = os.environ.get(name, "").strip()
        if text:
            if not text.isdigit() or int(text) < 1:
                sys.exit(f"{name} must be a positive whole number, not {text!r}")
            return int(text)
    return default


REDIS_URL = os.environ.get("REDIS_URL", "redis://localhost:6379/0")
MESSAGE_TIMEOUT_MS = setting(("MESSAGE_TIMEOUT_MS", "PENDING_TIMEOUT"), 30000)
MAX_DELIVERIES = setting(("MAX_DELIVERIES",), 5)
MAX_BODY = setting(("MAX_BODY",), 1_000_000)
SHOWN_CHARS = 200  # of a payload on /info
MAX_ID_DIGITS = 18  # a longer id is unknown: no int() of 5,000 digits

KEYS = ["mq:seq", "mq:messages", "mq:queue", "mq:pending", "mq:deliveries", "mq:dead"]

# Shared by the scripts that hand out or look at messages. Pending messages handed out
# at or before now - timeout go back to the front, the oldest id first; those already
# handed out max times go to the dead letters.
REQUEUE_EXPIRED = """
local function requeue_expired(now, timeout, max)
  local expired = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now - timeout)
  table.sort(expired, function(a, b) return tonumber(a) < tonumber(b) end)
  local back = {}
  for _, id in ipairs(expired) do
    redis.call('ZREM', KEYS[4], id)
    if tonumber(redis.call('HGET', KEYS[5], id) or '0') >= max then
      redis.call('RPUSH', KEYS[6], id)
    else
      back[#back + 1] = id
    end
  end
  for i = #back, 1, -1 do
    redis.call('LPUSH', KEYS[3], back[i])
  end
end
local now, timeout, max = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
requeue_expired(now, timeout, max)
"""

# ARGV: now, timeout, max, payload (JSON text). Returns the new id.
ADD = """
local id = redis.call('INCR', KEYS[1])
redis.call('HSET', KEYS[2], id, ARGV[4])
redis.call('RPUSH', KEYS[3], id)
return id
"""

# ARGV: now, timeout, max. Returns {id, payload} or nil when the queue is empty.
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

# ARGV: now, timeout, max, id. Returns {'processed', payload}, {'unknown'},
# {'not pending'} (queued) or {'dead'}.
DONE = (
    REQUEUE_EXPIRED
    + """
local id = ARGV[4]
if redis.call('ZREM', KEYS[4], id) == 1 then
  local payload = redis.call('HGET', KEYS[2], id)
  redis.call('HDEL', KEYS[2], id)
  redis.call('HDEL', KEYS[5], id)
  return {'processed', payload}
end
if redis.call('HEXISTS', KEYS[2], id) == 0 then return {'unknown'} end
if redis.call('LPOS', KEYS[6], id) then return {'dead'} end
return {'not pending'}
"""
)

# ARGV: now, timeout, max, offset, limit. One page of each list: {counts {queued,
# pending, dead}, queued ids, pending {id, since, ...}, dead ids, payloads, deliveries}
# (payloads and deliveries in the order queued, pending, dead).
SNAPSHOT = (
    REQUEUE_EXPIRED
    + """
local first, last = tonumber(ARGV[4]), tonumber(ARGV[4]) + tonumber(ARGV[5]) - 1
local queued = redis.call('LRANGE', KEYS[3], first, last)
local pending = redis.call('ZRANGE', KEYS[4], first, last, 'WITHSCORES')
local dead = redis.call('LRANGE', KEYS[6], first, last)
local ids = {}
for _, id in ipairs(queued) do ids[#ids + 1] = id end
for i = 1, #pending, 2 do ids[#ids + 1] = pending[i] end
for _, id in ipairs(dead) do ids[#ids + 1] = id end
local payloads, deliveries = {}, {}
for i, id in ipairs(ids) do
  payloads[i] = redis.call('HGET', KEYS[2], id) or '?'
  deliveries[i] = redis.call('HGET', KEYS[5], id) or '0'
end
local counts = {redis.call('LLEN', KEYS[3]), redis.call('ZCARD', KEYS[4]),
                redis.call('LLEN', KEYS[6])}
return {counts, queued, pending, dead, payloads, deliveries}
"""
)

# At most 20 connections per server process, and a frozen Redis is a 503 after 5 s.
pool = redis.BlockingConnectionPool.from_url(
    REDIS_URL,
    max_connections=20,
    timeout=5,
    decode_responses=True,
    socket_connect_timeout=2,
    socket_timeout=5,
)
client = fakeredis.FakeAsyncRedis(decode_responses=True)
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
    """Run one of the scripts with the current time, the timeout and the maximum first."""
    return await SCRIPTS[name](
        keys=KEYS, args=[now_ms(), MESSAGE_TIMEOUT_MS, MAX_DELIVERIES, *args]
    )


@asynccontextmanager
async def lifespan(app: FastAPI):
    # Load the scripts once: later calls never need the NOSCRIPT fallback (which
    # fakeredis's TCP server answers by closing the connection).
    try:
        for script in SCRIPTS.values():
            await client.script_load(script.script)
    except UNAVAILABLE as exc:
        print(f"Redis unavailable at start ({exc}); the scripts load on first use", flush=True)
    yield
    await pool.disconnect()


# The shapes of the answers and of the body, for /docs and the schema checks.
class NewMessage(BaseModel):
    payload: Any


class Created(BaseModel):
    id: int


class Message(BaseModel):
    id: int | None = None
    payload: Any = None
    status: str


class Done(BaseModel):
    id: int | None
    status: str
    payload: Any = None
    error: str | None = None


class Problem(BaseModel):
    error: str


NEW_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": NewMessage.model_json_schema()}},
    }
}
BAD_BODY = {422: {"model": Problem, "description": 'Not a JSON object with "payload"'}}
MessageId = Annotated[str, Path(openapi_examples={"the first message": {"value": "1"}})]

app = protect(
    FastAPI(title="Message queue", description="Task 15: an HTTP FIFO queue.", lifespan=lifespan),
    max_body=MAX_BODY,
)


def error(status: int, text: str) -> JSONResponse:
    return JSONResponse({"error": text}, status_code=status)


@app.post("/message/new", response_model=Created, responses=BAD_BODY, openapi_extra=NEW_BODY)
async def new_message(request: Request):
    # The body is read by hand (not a pydantic model) to choose the error messages;
    # protect() already refused JSON that could not be given back unchanged.
    raw = await request.body()
    try:
        body = json.loads(raw)
    except ValueError as exc:
        return error(422, f'the body is not valid JSON ({exc}); send {{"payload": ...}}')
    if not isinstance(body, dict) or "payload" not in body:
        return error(422, 'the body must be a JSON object with a "payload" field')
    return {"id": await run("add", json.dumps(body["payload"]))}


@app.get("/message/next", response_model=Message, response_model_exclude_none=True)
async def next_message():
    found = await run("next")
    if found is None:
        return {"status": "empty"}
    message_id, payload = found
    return {"id": int(message_id), "payload": json.loads(payload), "status": "pending"}


WHY = {
    "unknown": "message {id} does not exist (never added, or done already)",
    "not pending": "message {id} is not pending: its {timeout} ms ran out and it went back "
    "to the queue",
    "dead": "message {id} timed out {max} times and went to the dead letters",
}


@app.post(
    "/message/{message_id}/status/done", response_model=Done, response_model_exclude_unset=True
)
async def message_done(message_id: MessageId):
    # A str parameter on purpose: an int one would answer "abc" with 422.
    if not message_id.isdecimal() or len(message_id) > MAX_ID_DIGITS:
        return unknown(message_id)
    if message_id != str(int(message_id)):
        return unknown(message_id)
    status, *payload = await run("done", message_id)
    if status == "processed":
        return {"id": int(message_id), "payload": json.loads(payload[0]), "status": status}
    why = WHY[status].format(id=message_id, timeout=MESSAGE_TIMEOUT_MS, max=MAX_DELIVERIES)
    return {"id": int(message_id), "status": status, "error": why}


def unknown(text: str) -> dict:
    """The reply to done with an id that cannot be a message's (not 1, 2, 3...)."""
    shown = text if len(text) <= 40 else f"{text[:40]}..."
    return {"id": None, "status": "unknown", "error": f"no message has the id {shown!r}"}


def payload_cell(text: str) -> str:
    shown = text if len(text) <= SHOWN_CHARS else f"{text[:SHOWN_CHARS]}... ({len(text)} chars)"
    return f"<td><code>{html.escape(shown)}</code></td>"


def page_link(offset: int, limit: int, label: str) -> str:
    return f'<a href="/info?offset={offset}&amp;limit={limit}">{label}</a>'


@app.get("/info", response_class=HTMLResponse)
async def info(
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
):
    counts, queued, pending_flat, dead, payloads, deliveries = await run("snapshot", offset, limit)
    now = now_ms()
    pending = list(zip(pending_flat[::2], pending_flat[1::2], strict=True))
    rows = [(payload_cell(text), count) for text, count in zip(payloads, deliveries, strict=True)]
    split = len(queued), len(queued) + len(pending)
    queued_rows = "".join(
        f"<tr><td>{position}</td><td>{mid}</td>{cell}<td>{count}</td></tr>"
        for position, mid, (cell, count) in zip(
            range(offset + 1, offset + 1 + len(queued)), queued, rows[: split[0]], strict=True
        )
    )
    pending_rows = "".join(
        f"<tr><td>{mid}</td>{cell}<td>{now - int(float(since))}</td>"
        f"<td>{max(0, int(float(since)) + MESSAGE_TIMEOUT_MS - now)}</td><td>{count}</td></tr>"
        for (mid, since), (cell, count) in zip(pending, rows[split[0] : split[1]], strict=True)
    )
    dead_rows = "".join(
        f"<tr><td>{mid}</td>{cell}<td>{count}</td></tr>"
        for mid, (cell, count) in zip(dead, rows[split[1] :], strict=True)
    )
    links = []
    if offset > 0:
        links.append(page_link(max(0, offset - limit), limit, "previous page"))
    if offset + limit < max(counts):
        links.append(page_link(offset + limit, limit, "next page"))
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Message queue</title>
<style>body{{font-family:sans-serif}} td,th{{border:1px solid #ccc;padding:2px 8px}}
table{{border-collapse:collapse}}</style></head>
<body><h1>Message queue</h1>
<p id="counts">queued: {counts[0]}, pending: {counts[1]}, dead: {counts[2]}
(timeout {MESSAGE_TIMEOUT_MS} ms, at most {MAX_DELIVERIES} deliveries)</p>
<p>Showing items {offset + 1} to {offset + limit} of each list. {" ".join(links)}</p>
<h2>Queued (front first)</h2>
<table><tr><th>#</th><th>id</th><th>payload</th><th>handed out</th></tr>
{queued_rows}</table>
<h2>Pending</h2>
<table>
<tr><th>id</th><th>payload</th><th>age (ms)</th><th>back in (ms)</th><th>handed out</th></tr>
{pending_rows}</table>
<h2>Dead letters (timed out {MAX_DELIVERIES} times)</h2>
<table><tr><th>id</th><th>payload</th><th>handed out</th></tr>
{dead_rows}</table>
</body></html>
"""


# --- clients ----------------------------------------------------------------------------


class MessageQueueError(Exception):
    """The queue refused a request (``status_code``, ``detail``; ``status`` for done)."""

    def __init__(self, status_code: int, detail: str, status: str | None = None):
        super().__init__(f"{status_code}: {detail}")
        self.status_code = status_code
        self.detail = detail
        self.status = status


def _check(response: httpx.Response) -> dict:
    """The JSON object of a 200 reply; MessageQueueError for anything else."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code != 200 or not isinstance(body, dict):
        detail = body.get("error", body.get("detail")) if isinstance(body, dict) else None
        raise MessageQueueError(response.status_code, str(detail or response.text))
    return body


class Producer:
    """Adds messages to the queue served on ``hostname:port`` (the original's Producer)."""

    def __init__(self, hostname: str = "localhost", port: int = 1245):
        self.http = httpx.Client(base_url=f"http://{hostname}:{port}", timeout=10)

    def add_new_message(self, payload) -> int:
        """Queue ``payload`` (any JSON value); return the new message's id (addNewMessage)."""
        return _check(self.http.post("/message/new", json={"payload": payload}))["id"]


class Consumer:
    """Takes messages from the queue on ``hostname:port`` and reports them done."""

    def __init__(self, hostname: str = "localhost", port: int = 1245):
        self.http = httpx.Client(base_url=f"http://{hostname}:{port}", timeout=10)

    def get_next_message(self) -> dict | None:
        """The next message ``{"id": N, "payload": ...}`` (now pending), or None if empty
        (getNextMessage)."""
        body = _check(self.http.get("/message/next"))
        return {"id": body["id"], "payload": body["payload"]} if "id" in body else None

    def notify_processed(self, message_id: int) -> None:
        """Report the message done (notifyProcessed); MessageQueueError with ``status``
        "unknown", "not pending" or "dead" when it could not be."""
        body = _check(self.http.post(f"/message/{message_id}/status/done"))
        if body.get("status") != "processed":
            raise MessageQueueError(200, str(body.get("error")), body.get("status"))


if __name__ == "__main__":
    serve(
        app,
        on_listening=lambda url: print(
            f"Message queue on {url} (timeout {MESSAGE_TIMEOUT_MS} ms)", flush=True
        ),
    )
