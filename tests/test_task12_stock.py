"""Task 12 — In stock? (``9-stock.py``): the real server, spoken to over HTTP.

The graded app runs as a real process on a free port against the test Redis (one
server shared by the route tests of this module, each test on a fresh database; the
multi-process, signal and Redis-down tests start their own), and the tests check
status codes and exact JSON bodies.
"""

import asyncio
import inspect
import signal
from collections import Counter

import pytest
import redis
from web_checks import (
    app_connections,
    app_functions,
    expect_full_is_503,
    expect_other_hosts_refused,
    expect_reference_schema_holds,
    expect_taken_port_is_one_line,
    full_redis,
    require,
)

from harness.process import script_env
from harness.target import SOLUTIONS
from harness.webserver import Servers, burst, expect_reply, get, start_redis

FILE = "9-stock.py"
PRODUCTS = [
    {"itemId": 1, "itemName": "Suitcase 250", "price": 50, "initialAvailableQuantity": 4},
    {"itemId": 2, "itemName": "Suitcase 450", "price": 100, "initialAvailableQuantity": 10},
    {"itemId": 3, "itemName": "Suitcase 650", "price": 350, "initialAvailableQuantity": 2},
    {"itemId": 4, "itemName": "Suitcase 1050", "price": 550, "initialAvailableQuantity": 5},
]
NOT_FOUND = {"status": "Product not found"}
CONFIRMED = {"status": "Reservation confirmed", "itemId": 1}
SOLD_OUT = {"status": "Not enough stock available", "itemId": 1}
MAX_CONNECTIONS = 64  # to Redis, per server process, however many requests arrive
BAD_IDS = ["0", "5", "abc", "-1", "1.5", "1e3", "99999999999999999999999999", "%20"]


@pytest.fixture
def own_redis(redis_server):
    """A Redis of this test's own (same kind as the session's), with a client on it."""
    own = start_redis(redis_server.kind)
    client = redis.Redis.from_url(own.url, decode_responses=True)
    yield own, client
    client.close()
    own.stop()


@pytest.fixture
def burst_servers(target, env, own_redis):
    """Servers (see ``servers``) that use ``own_redis``; yields (Servers, redis client)."""
    own, client = own_redis
    started = Servers(target, dict(env, REDIS_URL=own.url))
    yield started, client
    started.close()


@pytest.fixture(scope="module")
def shared(target, redis_server):
    """One server for the route tests (the ``redis_url`` fixture gives each a fresh db)."""
    started = Servers(target, script_env(redis_server.url))
    yield started
    started.close()


@pytest.fixture
def server(shared, redis_url):
    if not shared.started:
        shared.script(FILE)
    return shared.started[0]


def detail(product: dict, reserved: int) -> dict:
    return {**product, "currentQuantity": product["initialAvailableQuantity"] - reserved}


def expect_counts(label: str, replies, expected: Counter) -> None:
    """The multiset of answers to a burst is exactly ``expected``."""
    seen = Counter(
        (r.status, r.body.get("status", r.text) if isinstance(r.body, dict) else r.text)
        for r in replies
    )
    if seen != expected:
        lines = [
            f"    {n:3d} answers: {status} {what}" for (status, what), n in sorted(seen.items())
        ]
        want = [
            f"    {n:3d} answers: {status} {what}" for (status, what), n in sorted(expected.items())
        ]
        pytest.fail(
            f"task 12: {label}\n  answers received:\n"
            + "\n".join(lines)
            + "\n  the task expects:\n"
            + "\n".join(want)
            + "\nHint: reserve with ONE atomic Redis step (INCR then compare, or a Lua script);"
            " reading the count and writing it back later lets two requests take the same unit.",
            pytrace=False,
        )


@pytest.mark.task(12)
def test_lists_products(target, server, redis_client):
    expect_reply(server, "/list_products", get(server, "/list_products"), 200, PRODUCTS)
    for product in PRODUCTS:
        path = f"/list_products/{product['itemId']}"
        expect_reply(server, path, get(server, path), 200, detail(product, 0))
    # The reserved count is read from Redis, key item.ITEM_ID.
    redis_client.set("item.2", 3)
    expect_reply(
        server, "/list_products/2", get(server, "/list_products/2"), 200, detail(PRODUCTS[1], 3)
    )
    docs = get(server, "/docs")
    assert docs.status == 200 and "swagger" in docs.text.lower(), "task 12: /docs does not work"


@pytest.mark.task(12)
def test_unknown_or_malformed_ids_are_404(target, server, redis_client):
    for bad in BAD_IDS:
        for route in ("/list_products/", "/reserve_product/"):
            expect_reply(server, route + bad, get(server, route + bad), 404, NOT_FOUND)
    assert redis_client.keys("*") == ["Holberton"], (
        f"task 12: requests for unknown products wrote to Redis: {sorted(redis_client.keys('*'))}"
    )


@pytest.mark.task(12)
def test_reserves_until_sold_out(target, server, redis_client):
    suitcase_650 = PRODUCTS[2]  # stock 2
    expected = [
        {"status": "Reservation confirmed", "itemId": 3},
        {"status": "Reservation confirmed", "itemId": 3},
        {"status": "Not enough stock available", "itemId": 3},
        {"status": "Not enough stock available", "itemId": 3},
    ]
    for body in expected:
        expect_reply(server, "/reserve_product/3", get(server, "/reserve_product/3"), 200, body)
    expect_reply(
        server, "/list_products/3", get(server, "/list_products/3"), 200, detail(suitcase_650, 2)
    )
    assert redis_client.get("item.3") == "2", (
        f"task 12: Redis key item.3 holds {redis_client.get('item.3')!r}; "
        "expected the reserved count '2'"
    )
    # The other products are untouched.
    expect_reply(
        server, "/list_products/1", get(server, "/list_products/1"), 200, detail(PRODUCTS[0], 0)
    )


def sold_out_exactly(redis_client, replies, label: str) -> None:
    expect_counts(
        label,
        replies,
        Counter({(200, CONFIRMED["status"]): 4, (200, SOLD_OUT["status"]): len(replies) - 4}),
    )
    for reply in replies:
        assert reply.body in (CONFIRMED, SOLD_OUT), f"task 12: unexpected body {reply.text}"
    reserved = redis_client.get("item.1")
    assert reserved == "4", f"task 12: after the burst item.1 holds {reserved!r}, expected '4'"


@pytest.mark.task(12)
def test_200_concurrent_reservations_confirm_exactly_4(target, burst_servers):
    servers, redis_client = burst_servers
    server = servers.script(FILE)
    for round_number in range(2):
        redis_client.delete("item.1")
        replies = burst([(server, "/reserve_product/1")] * 200)
        sold_out_exactly(
            redis_client,
            replies,
            f"200 concurrent reservations of item 1 (round {round_number + 1})",
        )
    expect_reply(
        server, "/list_products/1", get(server, "/list_products/1"), 200, detail(PRODUCTS[0], 4)
    )


@pytest.mark.task(12)
def test_two_server_processes_share_the_stock_and_stop_cleanly(target, burst_servers):
    servers, redis_client = burst_servers
    first = servers.script(FILE)
    second = servers.script(FILE)
    for round_number in range(2):
        redis_client.delete("item.1")
        replies = burst(
            [(first, "/reserve_product/1"), (second, "/reserve_product/1")] * 100,
        )
        sold_out_exactly(
            redis_client,
            replies,
            f"200 reservations over two server processes (round {round_number + 1})",
        )
    for live, signum in ((first, signal.SIGTERM), (second, signal.SIGINT)):
        code = live.signal(signum)
        name = signal.Signals(signum).name
        assert code == 0, f"task 12: the server exited with code {code} on {name} (expected 0)"
        assert "Traceback" not in "\n".join(live.stderr_lines), (
            f"task 12: the server printed a traceback on {name}:\n" + "\n".join(live.stderr_lines)
        )


@pytest.mark.task(12)
def test_uvicorn_with_two_workers(target, burst_servers):
    servers, redis_client = burst_servers
    server = servers.uvicorn(FILE, workers=2)
    expect_reply(
        server, "/list_products/4", get(server, "/list_products/4"), 200, detail(PRODUCTS[3], 0)
    )
    replies = burst([(server, "/reserve_product/1")] * 200)
    sold_out_exactly(redis_client, replies, "200 reservations on uvicorn --workers 2")


@pytest.mark.task(12)
def test_redis_down_is_503_and_the_app_recovers(target, servers, redis_server, env):
    own = start_redis(redis_server.kind)
    try:
        server = servers.script(FILE, env=dict(env, REDIS_URL=own.url))
        expect_reply(
            server, "/reserve_product/1", get(server, "/reserve_product/1"), 200, CONFIRMED
        )
        own.stop()
        for path in ("/list_products/1", "/reserve_product/1"):
            reply = get(server, path)
            if (
                reply.status != 503
                or not isinstance(reply.body, dict)
                or "status" not in reply.body
            ):
                pytest.fail(
                    f"task 12: with Redis down, GET {path} answered {reply.status} "
                    f"{reply.text[:300]}\n"
                    '  the task expects 503 with a JSON body such as {"status":"Redis unavailable",'
                    '"error":"..."}',
                    pytrace=False,
                )
        expect_reply(server, "/list_products", get(server, "/list_products"), 200, PRODUCTS)
        own = start_redis(redis_server.kind, own.port)
        reply = None
        for _ in range(20):  # at most a few stale pooled connections may fail first
            reply = get(server, "/reserve_product/1")
            if reply.status == 200:
                break
        expect_reply(server, "/reserve_product/1 (Redis back)", reply, 200, CONFIRMED)
    finally:
        own.stop()


@pytest.mark.task(12)
def test_reserve_stock_by_id_sets_the_reserved_count(target, monkeypatch, redis_url, redis_client):
    """The course's reserveStockById(itemId, stock) SETs the reserved count."""
    set_reserved, get_reserved = app_functions(
        target, monkeypatch, redis_url, FILE,
        "reserve_stock_by_id", "get_current_reserved_stock_by_id",
    )  # fmt: skip

    async def settle(value):
        return await value if inspect.isawaitable(value) else value

    async def calls():
        await settle(set_reserved(2, 3))
        first = await settle(get_reserved(2))
        await settle(set_reserved(2, 7))
        return first, await settle(get_reserved(2))

    first, second = asyncio.run(calls())
    stored = redis_client.get("item.2")
    require(
        stored == "7" and (first, second) == (3, 7),
        "task 12: reserve_stock_by_id(2, 3) then reserve_stock_by_id(2, 7) must SET the key "
        f"item.2 to the given count (the course's reserveStockById); item.2 holds {stored!r}, "
        f"and get_current_reserved_stock_by_id(2) answered {first!r}, then {second!r} "
        "(expected 3, then 7). The atomic one-unit step is reserve_one_by_id.",
    )


@pytest.mark.task(12)
def test_a_burst_holds_a_bounded_number_of_redis_connections(target, burst_servers):
    servers, redis_client = burst_servers
    server = servers.script(FILE)
    replies = burst([(server, "/reserve_product/1")] * 300)
    held = app_connections(redis_client)
    require(
        held <= MAX_CONNECTIONS,
        f"task 12: after 300 concurrent requests the server holds {held} connections to "
        f"Redis (at most {MAX_CONNECTIONS} expected): a connection per request exhausts "
        "Redis under load. Bound the client's pool: redis.BlockingConnectionPool(..., "
        "max_connections=20, timeout=5) (given code), and keep using that one client.",
    )
    sold_out_exactly(redis_client, replies, "300 concurrent reservations of item 1")


@pytest.mark.task(12)
def test_a_full_redis_is_503_with_the_cause(target, servers, env):
    with full_redis() as (own, client):
        server = servers.script(FILE, env=dict(env, REDIS_URL=own.url))
        expect_reply(
            server, "/reserve_product/1", get(server, "/reserve_product/1"), 200, CONFIRMED
        )
        client.config_set("maxmemory", 1)
        try:
            expect_full_is_503(server, "/reserve_product/1", get(server, "/reserve_product/1"))
            # Reading still works while Redis is full.
            expect_reply(
                server, "/list_products/1", get(server, "/list_products/1"), 200,
                detail(PRODUCTS[0], 1),
            )  # fmt: skip
        finally:
            client.config_set("maxmemory", 0)
        expect_reply(
            server, "/reserve_product/1", get(server, "/reserve_product/1"), 200, CONFIRMED
        )


@pytest.mark.task(12)
def test_other_host_names_and_a_taken_port_are_refused(target, servers, env):
    server = servers.script(FILE)
    expect_other_hosts_refused(server, "/reserve_product/1")
    expect_taken_port_is_one_line(server, env)
    expect_reply(
        server, "/list_products/1", get(server, "/list_products/1"), 200, detail(PRODUCTS[0], 0)
    )


def test_reference_schema_holds_under_schemathesis(env):
    """solutions/9-stock.py: its OpenAPI schema lists what it answers (13.8)."""
    expect_reference_schema_holds(
        SOLUTIONS / FILE,
        env,
        "task 12 (solutions)",
        {
            "/list_products": set(),  # the catalogue is in the code: no Redis, no 503
            "/list_products/{item_id}": {"404", "503"},
            "/reserve_product/{item_id}": {"404", "503"},
        },
    )
