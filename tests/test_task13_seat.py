"""Task 13 — Can I have a seat? (``100-seat.py``): the real server, over HTTP.

Every test starts the graded app as its own process on a free port (its startup opens
the first sale of a fresh database, so a server cannot be shared across fresh
databases), then checks status codes, exact JSON bodies and the exact lines the server
prints.
"""

import re
import signal
from collections import Counter

import pytest
import redis
from connect_checks import closed_url, expect_not_connected, refused_message
from web_checks import (
    app_functions,
    expect_full_is_503,
    expect_other_hosts_refused,
    expect_reference_schema_holds,
    expect_taken_port_is_one_line,
    full_redis,
    require,
)

from harness.compare import expect_lines
from harness.process import script_env
from harness.target import SOLUTIONS
from harness.webserver import Servers, WebServer, burst, expect_reply, get, start_redis
from pykue.keys import Keys

FILE = "100-seat.py"
IN_PROCESS = {"status": "Reservation in process"}
BLOCKED = {"status": "Reservation are blocked"}
FAILED = {"status": "Reservation failed"}
PROCESSING = {"status": "Queue processing"}
NO_SEAT = "Not enough seats available"
JOB_LINE = re.compile(r"Seat reservation job (\d+) (completed|failed: Not enough seats available)")


def seats(n: int) -> dict:
    return {"numberOfAvailableSeats": n}


@pytest.fixture
def burst_servers(target, env, redis_server):
    """Servers on a Redis of this test's own (takes bursts on both backends)."""
    own = start_redis(redis_server.kind)
    client = redis.Redis.from_url(own.url, decode_responses=True)
    started = Servers(target, dict(env, REDIS_URL=own.url))
    yield started, client
    started.close()
    client.close()
    own.stop()


def expect_get(server: WebServer, path: str, status: int, body) -> None:
    expect_reply(server, path, get(server, path), status, body)


@pytest.mark.task(13)
def test_starts_with_50_seats_and_reserves_through_the_queue(target, servers, redis_client):
    server = servers.script(FILE)
    expect_get(server, "/available_seats", 200, seats(50))
    assert redis_client.get("available_seats") == "50", (
        "task 13: on start the Redis key available_seats must hold 50, "
        f"it holds {redis_client.get('available_seats')!r}"
    )
    expect_get(server, "/reserve_seat", 200, IN_PROCESS)
    expect_get(server, "/process", 200, PROCESSING)
    server.wait_for_app_lines(1)
    expect_get(server, "/available_seats", 200, seats(49))
    expect_get(server, "/reserve_seat", 200, IN_PROCESS)
    server.wait_for_app_lines(2)
    expect_get(server, "/process", 200, PROCESSING)  # again: still one worker, no harm
    expect_get(server, "/available_seats", 200, seats(48))
    expect_lines(
        "task 13",
        ["Seat reservation job 1 completed", "Seat reservation job 2 completed"],
        server.app_lines(),
    )
    code = server.signal(signal.SIGTERM)
    assert code == 0, f"task 13: the server exited with code {code} on SIGTERM (expected 0)"
    assert "Traceback" not in "\n".join(server.stderr_lines), (
        "task 13: the server printed a traceback on SIGTERM:\n" + "\n".join(server.stderr_lines)
    )


@pytest.mark.task(13)
def test_last_seat_blocks_and_extra_jobs_fail(target, servers, redis_client):
    server = servers.script(FILE)
    redis_client.set("available_seats", 1)  # the state lives in Redis
    expect_get(server, "/available_seats", 200, seats(1))
    expect_get(server, "/reserve_seat", 200, IN_PROCESS)
    expect_get(server, "/reserve_seat", 200, IN_PROCESS)
    expect_get(server, "/process", 200, PROCESSING)
    server.wait_for_app_lines(2)
    expect_lines(
        "task 13",
        ["Seat reservation job 1 completed", f"Seat reservation job 2 failed: {NO_SEAT}"],
        server.app_lines(),
    )
    expect_get(server, "/available_seats", 200, seats(0))
    expect_get(server, "/reserve_seat", 200, BLOCKED)
    expect_get(server, "/reserve_seat", 200, BLOCKED)
    expect_get(server, "/available_seats", 200, seats(0))


@pytest.mark.task(13)
def test_a_job_that_cannot_be_saved_is_reservation_failed(target, servers, redis_client):
    server = servers.script(FILE)
    # Break pykue's job-id counter: saving the next job fails inside Redis.
    redis_client.set(Keys("q").ids, "not a number")
    expect_get(server, "/reserve_seat", 200, FAILED)
    redis_client.delete(Keys("q").ids)
    expect_get(server, "/reserve_seat", 200, IN_PROCESS)


def check_reservations(
    servers_used: list[WebServer],
    redis_client,
    label: str,
    total: int = 200,
    seats_left: int = 50,
    first_id: int = 1,
) -> None:
    """``total`` accepted reservations (job ids from ``first_id`` on) end as exactly
    ``seats_left`` completed jobs, the rest failed."""

    def job_lines() -> list[tuple[str, str]]:
        found = []
        for server in servers_used:
            # Lines of two workers may share a pipe: parse the text, not line by line.
            found += JOB_LINE.findall(server.output)
        return found

    first = servers_used[0]
    first.wait_until(
        lambda *_: len(job_lines()) >= total, f"{total} 'Seat reservation job' lines", 30
    )
    lines = job_lines()
    outcomes = Counter(outcome for _, outcome in lines)
    ids = Counter(int(job_id) for job_id, _ in lines)
    expected = Counter({"completed": seats_left, f"failed: {NO_SEAT}": total - seats_left})
    wanted_ids = list(range(first_id, first_id + total))
    if outcomes != expected or sorted(ids) != wanted_ids:
        pytest.fail(
            f"task 13: {label}: the jobs ended as {dict(outcomes)}; the task expects "
            f"{dict(expected)}, one line per job id {first_id}..{wanted_ids[-1]}.\n"
            "Hint: take the seat in ONE atomic Redis step (DECR and give it back if it went "
            "below 0, or a Lua script); reading the count and writing it back later lets two "
            "jobs take the same seat.",
            pytrace=False,
        )
    left = redis_client.get("available_seats")
    assert left == "0", f"task 13: {label}: available_seats is {left!r} at the end, expected '0'"
    for server in servers_used:
        expect_get(server, "/available_seats", 200, seats(0))
        expect_get(server, "/reserve_seat", 200, BLOCKED)


def expect_all(replies, body, label: str) -> None:
    seen = Counter(reply.text for reply in replies)
    if any(reply.status != 200 or reply.body != body for reply in replies):
        pytest.fail(
            f"task 13: {label}: the answers were {dict(seen)}; every one should be {body}",
            pytrace=False,
        )


@pytest.mark.task(13)
def test_200_concurrent_reservations_take_exactly_50_seats(target, burst_servers):
    servers, redis_client = burst_servers
    server = servers.script(FILE)
    replies = burst([(server, "/reserve_seat")] * 200)
    expect_all(replies, IN_PROCESS, "200 concurrent GET /reserve_seat")
    expect_get(server, "/process", 200, PROCESSING)
    check_reservations([server], redis_client, "200 reservations, one server")


@pytest.mark.task(13)
def test_two_server_processes_share_the_seats(target, burst_servers):
    servers, redis_client = burst_servers
    # Both start on a fresh database: the first opens the sale, the second joins it.
    first = servers.script(FILE)
    second = servers.script(FILE)
    replies = burst([(first, "/reserve_seat"), (second, "/reserve_seat")] * 100)
    expect_all(replies, IN_PROCESS, "200 concurrent GET /reserve_seat on two servers")
    # Both servers process the same queue at the same time.
    burst([(first, "/process"), (second, "/process")])
    check_reservations([first, second], redis_client, "200 reservations, two servers")


@pytest.mark.task(13)
def test_uvicorn_with_two_workers(target, burst_servers):
    servers, redis_client = burst_servers
    server = servers.uvicorn(FILE, workers=2)
    expect_get(server, "/available_seats", 200, seats(50))
    expect_get(server, "/process", 200, PROCESSING)
    replies = burst([(server, "/reserve_seat")] * 200)
    # Jobs are processed while reservations arrive: once the seats are gone, later
    # requests may already be blocked; every accepted one still ends in exactly one line.
    accepted = sum(reply.body == IN_PROCESS for reply in replies)
    blocked = sum(reply.body == BLOCKED for reply in replies)
    if accepted + blocked != 200 or accepted < 50:
        pytest.fail(
            f"task 13: uvicorn --workers 2: the answers to 200 concurrent GET /reserve_seat "
            f"were {dict(Counter(r.text for r in replies))}; each must be in process or "
            "blocked, and at least 50 in process",
            pytrace=False,
        )
    check_reservations([server], redis_client, "uvicorn --workers 2", total=accepted)


@pytest.mark.task(13)
def test_redis_down_is_503_and_the_app_recovers(target, servers, redis_server, env):
    own = start_redis(redis_server.kind)
    try:
        server = servers.script(FILE, env=dict(env, REDIS_URL=own.url))
        docs = get(server, "/docs")
        assert docs.status == 200 and "swagger" in docs.text.lower(), "task 13: /docs fails"
        expect_get(server, "/available_seats", 200, seats(50))
        own.stop()
        for path in ("/available_seats", "/reserve_seat"):
            reply = get(server, path)
            if (
                reply.status != 503
                or not isinstance(reply.body, dict)
                or "status" not in reply.body
            ):
                pytest.fail(
                    f"task 13: with Redis down, GET {path} answered {reply.status} "
                    f"{reply.text[:300]}\n  the task expects 503 with a JSON body such as "
                    '{"status":"Redis unavailable","error":"..."}',
                    pytrace=False,
                )
        # A restarted Redis is empty: no seats, reservations not enabled.
        own = start_redis(redis_server.kind, own.port)
        expect_get(server, "/available_seats", 200, seats(0))
        reply = get(server, "/reserve_seat")
        require(
            reply.status == 200 and reply.body in (BLOCKED, IN_PROCESS),
            "task 13: after Redis came back empty (no available_seats, no "
            f"reservation_enabled), GET /reserve_seat answered {reply.status} "
            f"{reply.text[:300]}; expected 200 with {BLOCKED}.\n"
            "Hint: a missing reservation_enabled key reads as None: reservation_enabled() "
            'must answer False for it (compare with == "1"), not crash.',
        )
    finally:
        own.stop()


@pytest.mark.task(13)
def test_a_restart_or_a_second_server_continues_the_sale(target, burst_servers):
    """Sell 30, restart, start a second server: a burst then confirms exactly 20 more."""
    servers, redis_client = burst_servers
    first = servers.script(FILE)
    expect_all(burst([(first, "/reserve_seat")] * 30), IN_PROCESS, "30 GET /reserve_seat")
    expect_get(first, "/process", 200, PROCESSING)
    first.wait_until(
        lambda *_: len(JOB_LINE.findall(first.output)) >= 30, "30 'Seat reservation job' lines"
    )
    expect_get(first, "/available_seats", 200, seats(20))
    code = first.signal(signal.SIGTERM)
    assert code == 0, f"task 13: the server exited with code {code} on SIGTERM (expected 0)"
    restarted = servers.script(FILE)
    second = servers.script(FILE)
    for server, how in ((restarted, "restarted"), (second, "second")):
        reply = get(server, "/available_seats")
        require(
            reply.status == 200 and reply.body == seats(20),
            f"task 13: after 30 of 50 seats were sold, a {how} server answered GET "
            f"/available_seats with {reply.status} {reply.text[:200]}; it must continue from "
            "what Redis holds (20 seats), not start the sale over: open the first sale only "
            "where the keys do not exist yet (SET ... NX), and start a new sale only with "
            "--new-sale.",
        )
    replies = burst([(restarted, "/reserve_seat"), (second, "/reserve_seat")] * 50)
    expect_all(replies, IN_PROCESS, "100 GET /reserve_seat on two servers")
    burst([(restarted, "/process"), (second, "/process")])
    check_reservations(
        [restarted, second], redis_client, "after a restart and a second server",
        total=100, seats_left=20, first_id=31,
    )  # fmt: skip


@pytest.mark.task(13)
def test_a_new_sale_starts_only_when_asked(target, servers, run, redis_client):
    # The sale is over before the server starts: it must stay over (SET ... NX on both keys).
    redis_client.set("available_seats", 0)
    redis_client.set("reservation_enabled", "0")
    server = servers.script(FILE)
    reply = get(server, "/reserve_seat")
    require(
        reply.status == 200 and reply.body == BLOCKED,
        "task 13: a server started when the sale was over (available_seats 0, "
        f"reservation_enabled '0') answered GET /reserve_seat with {reply.status} "
        f"{reply.text[:200]}; expected {BLOCKED}. Hint: open_first_sale() writes both keys "
        "only where they do not exist yet (SET ... NX); a start must not reopen a closed sale.",
    )
    finished = run(FILE, args=("--new-sale",))
    require(
        finished.returncode == 0 and "Traceback" not in finished.stderr,
        f"task 13: `python {FILE} --new-sale` must start a new sale and exit with code 0; it "
        f"exited with code {finished.returncode}.\n{finished.stderr[-2000:]}",
    )
    expect_get(server, "/available_seats", 200, seats(50))
    expect_get(server, "/reserve_seat", 200, IN_PROCESS)
    url, port = closed_url()
    down = run(FILE, args=("--new-sale",), env_override=script_env(url))
    expect_not_connected(f"task 13 (`python {FILE} --new-sale`)", FILE, down, refused_message(port))


@pytest.mark.task(13)
def test_reserve_seat_sets_the_available_seats(target, monkeypatch, redis_url, redis_client):
    """The course's reserveSeat(number) SETs available_seats to number."""
    reserve_seat, current = app_functions(
        target, monkeypatch, redis_url, FILE, "reserve_seat", "get_current_available_seats"
    )
    reserve_seat(7)
    stored, answered = redis_client.get("available_seats"), current()
    require(
        stored == "7" and answered == 7,
        "task 13: reserve_seat(7) must set available_seats to 7 (the course's reserveSeat); "
        f"available_seats holds {stored!r} and get_current_available_seats() answered "
        f"{answered!r}. The route handler of /reserve_seat has a name of its own.",
    )


@pytest.mark.task(13)
def test_a_full_redis_is_503_with_the_cause(target, servers, env):
    with full_redis() as (own, client):
        server = servers.script(FILE, env=dict(env, REDIS_URL=own.url))
        expect_get(server, "/reserve_seat", 200, IN_PROCESS)
        client.config_set("maxmemory", 1)
        try:
            expect_full_is_503(server, "/reserve_seat", get(server, "/reserve_seat"))
            expect_get(server, "/available_seats", 200, seats(50))  # reading still works
        finally:
            client.config_set("maxmemory", 0)
        expect_get(server, "/reserve_seat", 200, IN_PROCESS)


@pytest.mark.task(13)
def test_other_host_names_and_a_taken_port_are_refused(target, servers, env):
    server = servers.script(FILE)
    expect_other_hosts_refused(server, "/reserve_seat")
    expect_taken_port_is_one_line(server, env)
    expect_get(server, "/available_seats", 200, seats(50))


def test_reference_schema_holds_under_schemathesis(env):
    """solutions/100-seat.py: its OpenAPI schema lists what it answers (13.8)."""
    expect_reference_schema_holds(
        SOLUTIONS / FILE,
        env,
        "task 13 (solutions)",
        {route: {"503"} for route in ("/available_seats", "/reserve_seat", "/process")},
    )
