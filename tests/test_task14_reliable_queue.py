"""Task 14 — ``101-reliable_queue.py``: a reliable queue with reserve, commit and rollback.

The module is imported in-process for the API checks (two factories on the same Redis
play producer and consumer). Crashes are real processes: a small consumer script takes
an element, prints it, and is killed with SIGKILL before it can do anything else.
The demo transcript is run as a script and compared line for line.
"""

from __future__ import annotations

import json
import signal
import textwrap
import threading
import time

import pytest

from harness.compare import expect_lines
from harness.process import LiveScript

FILE = "101-reliable_queue.py"
LABEL = "task 14"

DEMO = [
    'push: id=1 payload={"job": 1}',
    'push: id=2 payload={"job": 2}',
    'push: id=3 payload={"job": 3}',
    'pop: id=1 payload={"job": 1} tries=0',
    'reserve: id=2 payload={"job": 2} tries=0',
    "ok: id=2 committed",
    'reserve: id=3 payload={"job": 3} tries=0',
    "ko: id=3 rolled back, invisible for 500 ms",
    "stats: ready=0 delayed=1 reserved=0",
    "reserve (wait 0.2 s): nothing ready",
    'reserve (wait 5 s): id=3 payload={"job": 3} tries=1',
    "ok: id=3 committed",
    "stats: ready=0 delayed=0 reserved=0",
    "close: factory closed",
    "push after close: QueueClosedError: factory closed: queue 'demo' can no longer be used",
]

# A consumer that takes one element, says so, then hangs until the grader kills it.
CONSUMER = textwrap.dedent(
    """
    import importlib.util, json, os, sys, time
    path, queue_name, mode, reserve_timeout_ms = sys.argv[1:5]
    spec = importlib.util.spec_from_file_location("reliable_queue", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    factory = module.ReliableQueueFactory(
        os.environ["REDIS_URL"], reserve_timeout_ms=int(reserve_timeout_ms)
    )
    queue = factory.queue(queue_name)
    element = queue.pop("doomed-consumer", reserve=(mode == "reserve"), timeout=10)
    print("took " + json.dumps(element), flush=True)
    time.sleep(60)  # "processing": the grader kills us here
    """
)


def fail(message: str) -> None:
    pytest.fail(f"{LABEL}: {message}", pytrace=False)


def now_ms() -> int:
    return int(time.time() * 1000)


class Guarded:
    """Calls the graded object's methods in a helper thread, so a call that hangs (say, a
    pop() that ignores its timeout) fails the test with a clear message instead of
    hanging the whole grading run. Queues returned by ``factory.queue()`` are guarded too."""

    def __init__(self, wrapped, what: str):
        self._wrapped, self._what = wrapped, what

    def __getattr__(self, name: str):
        method = getattr(self._wrapped, name)
        if not callable(method):
            return method

        def call(*args, **kwargs):
            outcome = {}

            def run():
                try:
                    outcome["value"] = method(*args, **kwargs)
                except BaseException as exc:  # noqa: BLE001 - re-raised in the test thread
                    outcome["error"] = exc

            worker = threading.Thread(target=run, daemon=True)
            worker.start()
            limit = (kwargs.get("timeout") or 0) + 10
            worker.join(limit)
            if worker.is_alive():
                fail(f"{self._what}.{name}() did not return within {limit:g}s (it hangs)")
            if "error" in outcome:
                raise outcome["error"]
            value = outcome["value"]
            return Guarded(value, f"queue {args[0]!r}") if name == "queue" else value

        return call


class Factories:
    """Makes factories of the graded module (imported on first use, inside the test, so an
    unstarted task fails the test with one clear line) and closes them at teardown."""

    def __init__(self, target, monkeypatch, redis_url):
        self.target, self.monkeypatch, self.redis_url = target, monkeypatch, redis_url
        self._module = None
        self.made = []

    @property
    def module(self):
        if self._module is None:
            loaded = self.target.load_module(FILE, self.monkeypatch)
            for name in ("ReliableQueueFactory", "QueueClosedError"):
                if getattr(loaded, name, None) is None:
                    fail(f"MISSING {name} in {FILE}. Did you misname it?")
            self._module = loaded
        return self._module

    def __call__(self, reserve_timeout_ms: int = 30000, **options):
        factory_class = self.module.ReliableQueueFactory
        made = factory_class(self.redis_url, reserve_timeout_ms=reserve_timeout_ms, **options)
        self.made.append(made)
        return Guarded(made, "factory")

    def close_all(self) -> None:
        for one in self.made:
            try:
                one.close()
            except Exception:  # noqa: BLE001 - a second close may complain; not graded here
                pass


@pytest.fixture
def factory(target, monkeypatch, redis_url):
    """``factory(reserve_timeout_ms)``: a new factory on the test Redis, closed at teardown."""
    factories = Factories(target, monkeypatch, redis_url)
    yield factories
    factories.close_all()


def check_element(element, what: str, payload=None, tries=None) -> dict:
    if not isinstance(element, dict):
        fail(f"{what} returned {element!r}; it must return the element as a dict")
    keys = {"_id", "id", "mature", "payload", "tries", "hdrs"}  # keuss' fields, id an alias
    if set(element) != keys:
        fail(f"{what} returned an element with keys {sorted(element)}; expected {sorted(keys)}")
    if element["_id"] != element["id"]:
        fail(f"{what}: the element's id is an alias of _id: {element!r}")
    if payload is not None and element["payload"] != payload:
        fail(f"{what} returned payload {element['payload']!r}; expected {payload!r}")
    if tries is not None and element["tries"] != tries:
        fail(
            f"{what} returned tries={element['tries']!r}; expected {tries} "
            "(tries counts how many times the element came back: ko or expired reservation)"
        )
    return element


def sizes(queue) -> dict:
    """The sizes that ``stats()`` returns beside keuss' counters."""
    stats = queue.stats()
    return {name: stats.get(name) for name in ("ready", "delayed", "reserved")}


def start_consumer(target, env, tmp_path, mode: str, reserve_timeout_ms: int) -> LiveScript:
    script = tmp_path / "doomed_consumer.py"
    script.write_text(CONSUMER, encoding="utf-8")
    args = (str(target.script(FILE)), "jobs", mode, str(reserve_timeout_ms))
    return LiveScript(script, env, label=f"{LABEL} (consumer process)", args=args)


def took(consumer: LiveScript) -> dict:
    consumer.wait_until(lambda lines: any(x.startswith("took ") for x in lines), "'took ...'", 15)
    line = next(x for x in consumer.lines if x.startswith("took "))
    return json.loads(line[len("took ") :])


# --- the demo -------------------------------------------------------------------------


@pytest.mark.task(14)
def test_demo_transcript_is_exact_and_repeatable(target, run):
    for attempt in ("first", "second"):
        done = run(FILE, timeout=20)
        expect_lines(f"{LABEL} ({FILE}, {attempt} run)", DEMO, done.stdout)
        if done.returncode != 0:
            fail(f"{FILE} exited with code {done.returncode}.\nstderr:\n{done.stderr}")


# --- queues, push and pop ---------------------------------------------------------------


@pytest.mark.task(14)
def test_same_name_is_the_same_queue_across_factories(target, factory):
    producer, consumer = factory(), factory()
    payload = {"headline": "something something", "tags": {"a": 1, "b": [1.5, "é"]}}
    producer.queue("shared").push(payload)
    producer.queue("other").push("not for you")
    element = check_element(
        consumer.queue("shared").pop("c1", timeout=2), "pop('c1')", payload=payload, tries=0
    )
    if abs(element["mature"] - now_ms()) > 5000:
        fail(f"mature should be the push time in epoch ms; got {element['mature']!r}")
    if consumer.queue("shared").pop("c1", timeout=0.2) is not None:
        fail("pop() returned an element twice, or an element of another queue")


@pytest.mark.task(14)
def test_pop_is_fifo_and_waits_for_a_push(target, factory):
    queue = factory().queue("fifo")
    ids = [queue.push({"n": n}) for n in range(12)]  # 12: ids 9 and 10 must not swap
    popped = [queue.pop("c1", timeout=2) for _ in range(12)]
    got = [e["payload"]["n"] if isinstance(e, dict) else e for e in popped]
    if got != list(range(12)):
        fail(f"pop() must return elements in push order 0..11; got {got}")
    if [e["id"] for e in popped] != ids:
        fail(f"the ids pop() returned {[e['id'] for e in popped]} are not those push() returned")

    started = time.monotonic()
    if queue.pop("c1", timeout=0.3) is not None:
        fail("pop(timeout=0.3) on an empty queue must return None")
    if time.monotonic() - started < 0.25:
        fail("pop(timeout=0.3) on an empty queue returned at once; it must wait for the timeout")

    result = {}
    waiter = threading.Thread(target=lambda: result.update(e=queue.pop("c2", timeout=10)))
    waiter.start()
    time.sleep(0.3)  # let it block (if it has not started yet, the check still holds)
    pushed = time.monotonic()
    queue.push("wake up")
    waiter.join(10)
    latency = time.monotonic() - pushed
    check_element(result.get("e"), "a blocked pop()", payload="wake up")
    if latency > 0.6:
        fail(f"a blocked pop() took {latency:.2f}s to see a push; wake waiters on push")


@pytest.mark.task(14)
def test_concurrent_consumers_never_share_an_element(target, factory):
    queue = factory().queue("busy")
    for n in range(60):
        queue.push(n)
    taken: list[list[int]] = [[], [], []]

    def consume(index: int) -> None:
        own = factory().queue("busy")
        while (element := own.pop(f"c{index}", reserve=index != 0, timeout=0.3)) is not None:
            taken[index].append(element["payload"])
            if index != 0:
                own.ok(element)

    threads = [threading.Thread(target=consume, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    everything = sorted(sum(taken, []))
    if everything != list(range(60)):
        twice = sorted({n for n in everything if everything.count(n) > 1})
        missing = sorted(set(range(60)) - set(everything))
        fail(
            "3 concurrent consumers (one pop, two reserve+ok) must take each of 60 elements "
            f"exactly once; taken twice: {twice}, missing: {missing} "
            "(take the element in one atomic step)"
        )


# --- reserve, ok, ko ---------------------------------------------------------------------


@pytest.mark.task(14)
def test_reserve_then_ok_removes_the_element_for_good(target, factory):
    queue = factory(reserve_timeout_ms=300).queue("jobs")
    queue.push({"job": 1})
    element = check_element(
        queue.pop("c1", reserve=True, timeout=2), "pop(reserve=True)", payload={"job": 1}, tries=0
    )
    if sizes(queue) != {"ready": 0, "delayed": 0, "reserved": 1}:
        fail(f"stats() after one reserve should be ready=0 delayed=0 reserved=1: {sizes(queue)}")
    if queue.ok(element) is not True:
        fail("ok(element) on a held reservation must return True")
    if queue.pop("c1", reserve=True, timeout=0.6) is not None:
        fail("an element committed with ok() came back after the reserve timeout")
    if sizes(queue) != {"ready": 0, "delayed": 0, "reserved": 0}:
        fail(f"stats() after ok() should be all zero: {sizes(queue)}")


@pytest.mark.task(14)
def test_ko_hides_the_element_until_next_time(target, factory):
    queue = factory().queue("jobs")
    queue.push("retry me")
    queue.push("next one")
    element = queue.pop("c1", reserve=True, timeout=2)
    next_time = now_ms() + 800
    if queue.ko(check_element(element, "pop(reserve=True)"), next_time) is not True:
        fail("ko(element, next_time) on a held reservation must return True")
    other = check_element(queue.pop("c1", reserve=True, timeout=2), "pop")
    if other["payload"] != "next one":
        fail(
            "an element rolled back with ko(element, now + 800 ms) was handed out again at "
            f"once ({other}); it must stay invisible until next_time"
        )
    queue.ok(other)
    if sizes(queue) != {"ready": 0, "delayed": 1, "reserved": 0}:
        fail(f"stats() after ko(+800 ms) should be ready=0 delayed=1 reserved=0: {sizes(queue)}")
    early = queue.pop("c1", reserve=True, timeout=0.3)
    if early is not None:
        fail(f"an element rolled back with ko(element, now+800ms) was visible at once: {early}")
    back = check_element(
        queue.pop("c1", reserve=True, timeout=5), "pop after next_time", "retry me", tries=1
    )
    if now_ms() < next_time:
        fail("the rolled-back element came back before next_time")
    if back["mature"] != next_time:
        fail(f"a rolled-back element's mature must be next_time {next_time}: {back['mature']}")
    queue.ko(back, now_ms())
    again = check_element(queue.pop("c1", reserve=True, timeout=2), "pop", "retry me", tries=2)
    queue.ko(again, now_ms())  # without max_ko there are no dead letters: ko has no limit
    again = check_element(
        queue.pop("c1", reserve=True, timeout=2),
        "pop after a third ko (no max_ko, so no dead letters: the element must come back)",
        "retry me",
        tries=3,
    )
    if queue.ok(again) is not True:
        fail("ok() after three rollbacks must return True")


@pytest.mark.task(14)
def test_expired_reservation_comes_back_and_late_ok_fails(target, factory):
    queue = factory(reserve_timeout_ms=400).queue("jobs")
    queue.push("slow job")
    first = check_element(queue.pop("slow", reserve=True, timeout=2), "pop", tries=0)
    reserved_at = time.monotonic()
    second = queue.pop("fast", reserve=True, timeout=5)
    waited = time.monotonic() - reserved_at
    check_element(second, "pop after the reserve timeout", payload="slow job", tries=1)
    if waited < 0.3:
        fail(f"a reserved element was handed out again after {waited:.2f}s (timeout 0.4 s)")
    if queue.ok(first) is not False:
        fail("ok() from the consumer whose reservation expired must return False")
    if queue.ko(first, now_ms()) is not False:
        fail("ko() from the consumer whose reservation expired must return False")
    if queue.ok(second) is not True:
        fail("ok() from the consumer holding the new reservation must return True")


# --- crashes -------------------------------------------------------------------------------


@pytest.mark.task(14)
def test_reserve_is_at_least_once_when_the_consumer_is_killed(target, factory, env, tmp_path):
    queue = factory(reserve_timeout_ms=500).queue("jobs")
    queue.push({"order": 42})
    consumer = start_consumer(target, env, tmp_path, "reserve", 500)
    try:
        element = took(consumer)
        consumer.proc.send_signal(signal.SIGKILL)  # crash between take and process
        consumer.proc.wait(5)
    finally:
        consumer.kill()
    check_element(element, "pop(reserve=True) in the consumer process", {"order": 42}, 0)
    if queue.pop("survivor", reserve=True, timeout=0.1) is not None:
        fail("the element came back while its reservation was still running")
    back = queue.pop("survivor", reserve=True, timeout=5)
    if back is None:
        fail(
            "the consumer was killed (SIGKILL) after reserving; its element never came back. "
            "A reservation neither ok'ed nor ko'ed must return after the reserve timeout."
        )
    check_element(back, "pop after the crash", payload={"order": 42}, tries=1)
    if back["id"] != element["id"]:
        fail(f"the element came back with id {back['id']}, not {element['id']}")


@pytest.mark.task(14)
def test_pop_is_at_most_once_when_the_consumer_is_killed(target, factory, env, tmp_path):
    queue = factory(reserve_timeout_ms=300).queue("jobs")
    queue.push({"order": 7})
    consumer = start_consumer(target, env, tmp_path, "pop", 300)
    try:
        element = took(consumer)
        consumer.proc.send_signal(signal.SIGKILL)  # crash between take and process
        consumer.proc.wait(5)
    finally:
        consumer.kill()
    check_element(element, "pop() in the consumer process", {"order": 7}, 0)
    again = queue.pop("survivor", reserve=True, timeout=0.8)
    if again is not None:
        fail(
            f"pop() (at-most-once) must remove the element; after the consumer was killed it "
            f"came back: {again}"
        )
    if sizes(queue) != {"ready": 0, "delayed": 0, "reserved": 0}:
        fail(f"after an at-most-once pop, nothing should be left: stats() = {sizes(queue)}")


# --- close -----------------------------------------------------------------------------


@pytest.mark.task(14)
def test_close_makes_every_queue_of_the_factory_unusable(target, factory):
    module = factory.module
    closing, other = factory(), factory()
    queues = {"a": closing.queue("a"), "b": closing.queue("b")}
    queues["a"].push("kept")
    blocked = {}

    def wait_on_b():
        try:
            blocked["result"] = queues["b"].pop("c1", timeout=10)
        except Exception as exc:  # noqa: BLE001 - we look at what was raised
            blocked["error"] = exc

    waiter = threading.Thread(target=wait_on_b)
    waiter.start()
    time.sleep(0.2)  # let it block in pop (the check holds either way)
    closing.close()
    waiter.join(5)
    if waiter.is_alive() or not isinstance(blocked.get("error"), module.QueueClosedError):
        fail(
            "a pop() waiting when the factory was closed must stop at once with "
            f"QueueClosedError; got {blocked or 'still waiting after 5 s'}"
        )
    calls = {
        "push": lambda q: q.push("x"),
        "pop": lambda q: q.pop("c1", timeout=0.1),
        "pop(reserve=True)": lambda q: q.pop("c1", reserve=True, timeout=0.1),
        "stats": lambda q: q.stats(),
        "ok": lambda q: q.ok({"id": 1, "mature": 0, "payload": "x", "tries": 0}),
        "ko": lambda q: q.ko({"id": 1, "mature": 0, "payload": "x", "tries": 0}, 0),
    }
    for name, call in calls.items():
        for queue_name, queue in queues.items():
            try:
                call(queue)
            except module.QueueClosedError as exc:
                if "closed" not in str(exc) or queue_name not in str(exc):
                    fail(
                        f"the error of {name} should say the factory is closed and name "
                        f"queue '{queue_name}': {exc!r}"
                    )
                continue
            except Exception as exc:  # noqa: BLE001
                fail(f"{name} after close() raised {exc!r}; expected QueueClosedError")
            fail(f"{name} on queue '{queue_name}' worked after factory.close()")
    with pytest.raises(module.QueueClosedError):
        closing.queue("c")
    kept = other.queue("a").pop("c2", timeout=2)
    if kept is None:
        fail("closing one factory must not affect the queues of another factory")
    check_element(kept, "pop", payload="kept")
