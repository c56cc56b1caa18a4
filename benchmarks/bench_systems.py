"""The systems benchmarks/bench_queues.py compares: for each, a producer and a worker.

A *producer* runs in the measurement process: ``produce(jobs, bulk)`` enqueues N no-op
jobs (one call per job, or the system's bulk call) and returns the monotonic times of
the first enqueue and of the last one's reply; ``after_saves()`` and ``wait_done()``
let a creator that listens for its jobs' events (Kue's and pykue's usage) wait for them.

A *worker* runs in a process of its own: ``run_worker(ctx)`` connects, hands the start
to ``ctx.begin()`` (which knows the protocol: start now and report "ready", or report
"ready" and start on "go"), and calls ``ctx.finished()`` once the N-th job is finished
*in Redis* (a completion count in Redis, or a hook the library calls after its own
completion write), then shuts down when ``ctx.finished()`` returns.

Only public APIs of pykue are used (create_queue, save, create_bulk, process, count,
wait_for_jobs, shutdown). Kue runs as Node.js processes: the script below is written
into run/ by the benchmark; Kue itself is installed there from npm.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import threading
import time
from pathlib import Path

JOB_TYPE = "noop"
BATCH = 1000  # jobs per pipelined bulk call
POLL_S = 0.001  # completion-count poll, only after the worker saw its N-th job
PREFETCH = 16  # the pykue-prefetch row's queue.process(..., prefetch=PREFETCH)


def noop(*_args, **_kwargs) -> None:
    """The job every system runs: nothing."""


async def async_noop(*_args, **_kwargs) -> None:
    """The same, for the asyncio libraries."""


def payload(i: int) -> dict:
    return {"n": i}


def poll_until(condition, deadline_s: float = 600) -> None:
    """Wait until ``condition()`` is true (checked every POLL_S), or raise."""
    deadline = time.monotonic() + deadline_s
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError("the jobs were taken but never recorded as finished")
        time.sleep(POLL_S)


class Countdown:
    """Counts finished jobs from any thread; ``event`` is set at the N-th."""

    def __init__(self, jobs: int) -> None:
        self.jobs = jobs
        self._count = itertools.count(1)  # next() on it is atomic under the GIL
        self.event = threading.Event()

    def tick(self, *_args, **_kwargs) -> None:
        if next(self._count) == self.jobs:
            self.event.set()


class Producer:
    """One enqueue call per job in a plain loop; ``bulk`` falls back to the same loop."""

    bulk_call = False  # True when the system has a bulk (pipelined) enqueue

    def one(self, i: int) -> None:
        raise NotImplementedError

    def bulk(self, jobs: int) -> None:
        for i in range(jobs):
            self.one(i)

    def produce(self, jobs: int, bulk: bool) -> tuple[float, float]:
        start = time.monotonic()
        if bulk:
            self.bulk(jobs)
        else:
            for i in range(jobs):
                self.one(i)
        return start, time.monotonic()

    def after_saves(self) -> None:
        """Called once the jobs are saved (a plain producer goes away here)."""

    def wait_done(self) -> float | None:
        """For a creator that waits for its jobs' events: when the last one arrived."""
        return None

    def close(self) -> None:
        pass


class AsyncProducer(Producer):
    """A producer whose library is asyncio: the loop of awaits runs in one event loop."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.loop.run_until_complete(self.connect())

    async def connect(self) -> None:
        raise NotImplementedError

    async def one_async(self, i: int) -> None:
        raise NotImplementedError

    async def bulk_async(self, jobs: int) -> None:
        for i in range(jobs):
            await self.one_async(i)

    def produce(self, jobs: int, bulk: bool) -> tuple[float, float]:
        async def run() -> tuple[float, float]:
            start = time.monotonic()
            if bulk:
                await self.bulk_async(jobs)
            else:
                for i in range(jobs):
                    await self.one_async(i)
            return start, time.monotonic()

        return self.loop.run_until_complete(run())

    async def close_async(self) -> None:
        pass

    def close(self) -> None:
        self.loop.run_until_complete(self.close_async())
        self.loop.close()


# --- raw redis-py: LPUSH one item per job, BRPOP it, no bookkeeping at all ---------------

RAW_KEY = "bench:raw"
RAW_STOP = b"__stop__"


class RawProducer(Producer):
    bulk_call = True

    def __init__(self, url: str) -> None:
        import redis

        self.client = redis.Redis.from_url(url)
        self.client.ping()

    def one(self, i: int) -> None:
        self.client.lpush(RAW_KEY, json.dumps(payload(i)))

    def bulk(self, jobs: int) -> None:
        for start in range(0, jobs, BATCH):
            pipe = self.client.pipeline(transaction=False)
            for i in range(start, min(start + BATCH, jobs)):
                pipe.lpush(RAW_KEY, json.dumps(payload(i)))
            pipe.execute()


def raw_worker(ctx) -> None:
    import redis

    done = Countdown(ctx.jobs)
    clients = [redis.Redis.from_url(ctx.url) for _ in range(ctx.concurrency)]
    for client in clients:
        client.ping()

    threads = []

    def consume(client) -> None:
        while True:
            _, item = client.brpop(RAW_KEY, timeout=0)
            if item == RAW_STOP:
                return
            noop(json.loads(item))
            done.tick()

    def start() -> None:
        for client in clients:
            threads.append(threading.Thread(target=consume, args=(client,), daemon=True))
            threads[-1].start()

    ctx.begin(start)
    done.event.wait()
    ctx.finished()
    # Wake the consumers' BRPOPs: a read left blocked (fakeredis does not notice its
    # client has gone) would take the next run's first item.
    clients[0].lpush(RAW_KEY, *[RAW_STOP] * len(clients))
    for thread in threads:
        thread.join(5)


# --- pykue (public API only) --------------------------------------------------------------


class PykueProducer(Producer):
    """Saves with job.save(); a plain producer shuts down after its saves (like RQ's)."""

    bulk_call = True
    creator_waits = False

    def __init__(self, url: str) -> None:
        import pykue

        self.queue = pykue.create_queue(redis_url=url, prefix="bench")
        self.queue.count("complete")  # connect before the clock starts
        self.saved = 0

    def one(self, i: int) -> None:
        self.queue.create(JOB_TYPE, payload(i)).save()

    def bulk(self, jobs: int) -> None:
        self.queue.create_bulk(JOB_TYPE, [payload(i) for i in range(jobs)])

    def after_saves(self) -> None:
        if not self.creator_waits:
            self.queue.shutdown(timeout=5)

    def close(self) -> None:
        self.queue.shutdown(timeout=5)


class PykueCreator(PykueProducer):
    """Kue's usage: the creator waits for every one of its jobs' ``complete`` events."""

    creator_waits = True

    def wait_done(self) -> float | None:
        if not self.queue.wait_for_jobs(timeout=600):  # every job this queue object saved
            raise RuntimeError("wait_for_jobs returned False")
        return time.monotonic()


def pykue_worker(ctx, prefetch: int = 1) -> None:
    import pykue

    queue = pykue.create_queue(redis_url=ctx.url, prefix="bench")
    queue.count("complete")  # connect before the clock starts
    done = Countdown(ctx.jobs)

    def handler(job):
        done.tick()

    ctx.begin(
        lambda: queue.process(JOB_TYPE, handler, concurrency=ctx.concurrency, prefetch=prefetch)
    )
    done.event.wait()
    poll_until(lambda: queue.count("complete") >= ctx.jobs)
    ctx.finished()
    queue.shutdown(timeout=5)


# --- RQ -----------------------------------------------------------------------------------


class RqProducer(Producer):
    bulk_call = True

    def __init__(self, url: str) -> None:
        import redis
        from rq import Queue

        self.queue_class = Queue
        self.queue = Queue("bench", connection=redis.Redis.from_url(url))
        self.queue.connection.ping()

    def one(self, i: int) -> None:
        self.queue.enqueue(noop, payload(i))

    def bulk(self, jobs: int) -> None:
        for start in range(0, jobs, BATCH):
            self.queue.enqueue_many(
                [
                    self.queue_class.prepare_data(noop, args=(payload(i),))
                    for i in range(start, min(start + BATCH, jobs))
                ]
            )


def rq_worker(ctx) -> None:
    import redis
    from rq import Queue, SimpleWorker

    connection = redis.Redis.from_url(ctx.url)
    worker = SimpleWorker([Queue("bench", connection=connection)], connection=connection)
    connection.ping()
    ctx.begin(None)  # None: the start is the blocking work() call right after begin()
    # max_jobs: stop after the N-th job, whose result RQ has written when work() returns.
    worker.work(burst=False, max_jobs=ctx.jobs, logging_level="WARNING")
    ctx.finished()


# --- BullMQ-Python --------------------------------------------------------------------------


class BullmqProducer(AsyncProducer):
    bulk_call = True

    def __init__(self, url: str) -> None:
        self.url = url
        super().__init__()

    async def connect(self) -> None:
        from bullmq import Queue

        self.queue = Queue("bench", {"connection": self.url})
        await self.queue.getJobCounts("completed")

    async def one_async(self, i: int) -> None:
        await self.queue.add(JOB_TYPE, payload(i))

    async def bulk_async(self, jobs: int) -> None:
        for start in range(0, jobs, BATCH):
            await self.queue.addBulk(
                [
                    {"name": JOB_TYPE, "data": payload(i)}
                    for i in range(start, min(start + BATCH, jobs))
                ]
            )

    async def close_async(self) -> None:
        await self.queue.close()


def bullmq_worker(ctx) -> None:
    from bullmq import Worker

    async def main() -> None:
        done = Countdown(ctx.jobs)
        worker = Worker(
            "bench",
            async_noop,
            {"connection": ctx.url, "concurrency": ctx.concurrency, "autorun": False},
        )
        await worker.client.ping()
        worker.on("completed", done.tick)  # emitted after the move to "completed"
        await ctx.begin_async(lambda: asyncio.ensure_future(worker.run()))
        await asyncio.to_thread(done.event.wait)
        await asyncio.to_thread(ctx.finished)
        await worker.close(force=True)

    asyncio.run(main())


# --- arq --------------------------------------------------------------------------------------


class ArqProducer(AsyncProducer):
    def __init__(self, url: str) -> None:
        self.url = url
        super().__init__()

    async def connect(self) -> None:
        from arq import create_pool
        from arq.connections import RedisSettings

        self.pool = await create_pool(RedisSettings.from_dsn(self.url))
        await self.pool.ping()

    async def one_async(self, i: int) -> None:
        await self.pool.enqueue_job(JOB_TYPE, payload(i))

    async def close_async(self) -> None:
        await self.pool.aclose()


def arq_worker(ctx) -> None:
    from arq import create_pool
    from arq.connections import RedisSettings
    from arq.worker import Worker, func

    logging.getLogger("arq").setLevel(logging.WARNING)

    async def main() -> None:
        done = Countdown(ctx.jobs)

        async def after_job_end(_ctx) -> None:  # arq calls it after its finish write
            done.tick()

        pool = await create_pool(RedisSettings.from_dsn(ctx.url))
        worker = Worker(
            functions=[func(async_noop, name=JOB_TYPE)],
            redis_pool=pool,
            max_jobs=ctx.concurrency,
            poll_delay=0.001,  # default 0.5 s: arq sleeps that long between polls
            handle_signals=False,
            after_job_end=after_job_end,
        )
        tasks = []
        await ctx.begin_async(lambda: tasks.append(asyncio.ensure_future(worker.main())))
        await asyncio.to_thread(done.event.wait)
        await asyncio.to_thread(ctx.finished)
        tasks[0].cancel()
        await worker.close()

    asyncio.run(main())


# --- SAQ --------------------------------------------------------------------------------------


class SaqProducer(AsyncProducer):
    def __init__(self, url: str) -> None:
        self.url = url
        super().__init__()

    async def connect(self) -> None:
        from saq import Queue

        self.queue = Queue.from_url(self.url)
        await self.queue.connect()
        await self.queue.count("queued")

    async def one_async(self, i: int) -> None:
        await self.queue.enqueue(JOB_TYPE, **payload(i))

    async def close_async(self) -> None:
        await self.queue.disconnect()


async def saq_noop(_ctx, **_kwargs) -> None:
    """SAQ's job function form: (ctx, **kwargs)."""


def saq_worker(ctx) -> None:
    from saq import Queue, Worker

    async def main() -> None:
        done = Countdown(ctx.jobs)

        async def after_process(_ctx) -> None:  # called after job.finish() wrote "complete"
            done.tick()

        queue = Queue.from_url(ctx.url)
        await queue.connect()
        worker = Worker(
            queue,
            functions=[(JOB_TYPE, saq_noop)],
            concurrency=ctx.concurrency,
            after_process=after_process,
        )
        tasks = []
        await ctx.begin_async(lambda: tasks.append(asyncio.ensure_future(worker.start())))
        await asyncio.to_thread(done.event.wait)
        await asyncio.to_thread(ctx.finished)
        await worker.stop()
        await queue.disconnect()

    asyncio.run(main())


# --- Huey -------------------------------------------------------------------------------------


def huey_task(url: str):
    from huey import RedisHuey

    huey = RedisHuey("bench", url=url)
    return huey, huey.task(name=JOB_TYPE)(noop)


class HueyProducer(Producer):
    def __init__(self, url: str) -> None:
        self.huey, self.task = huey_task(url)
        self.huey.pending_count()  # connect before the clock starts

    def one(self, i: int) -> None:
        self.task(payload(i))


def huey_worker(ctx) -> None:
    from huey.signals import SIGNAL_COMPLETE

    logging.getLogger("huey").setLevel(logging.WARNING)
    huey, _task = huey_task(ctx.url)
    done = Countdown(ctx.jobs)
    huey.signal(SIGNAL_COMPLETE)(done.tick)  # sent after the task ran (None is not stored)
    consumer = huey.create_consumer(
        workers=ctx.concurrency, worker_type="thread", periodic=False, check_worker_health=False
    )
    huey.pending_count()
    ctx.begin(consumer.start)
    done.event.wait()
    ctx.finished()
    consumer.stop()


# --- Dramatiq ---------------------------------------------------------------------------------


def dramatiq_actor(url: str, middleware=()):
    import dramatiq
    from dramatiq.brokers.redis import RedisBroker

    broker = RedisBroker(url=url)
    for item in middleware:
        broker.add_middleware(item)
    dramatiq.set_broker(broker)
    return broker, dramatiq.actor(noop, actor_name=JOB_TYPE, broker=broker, max_retries=0)


class DramatiqProducer(Producer):
    def __init__(self, url: str) -> None:
        self.broker, self.actor = dramatiq_actor(url)
        self.broker.client.ping()

    def one(self, i: int) -> None:
        self.actor.send(payload(i))


def dramatiq_worker(ctx) -> None:
    from dramatiq import Middleware, Worker

    done = Countdown(ctx.jobs)

    class AckCounter(Middleware):
        def after_ack(self, broker, message) -> None:  # the message left Redis
            done.tick()

    logging.getLogger("dramatiq").setLevel(logging.WARNING)
    broker, _actor = dramatiq_actor(ctx.url, [AckCounter()])
    broker.client.ping()
    # worker_timeout: how long an idle consumer sleeps between polls (default 1000 ms).
    worker = Worker(broker, worker_threads=ctx.concurrency, worker_timeout=10)
    ctx.begin(worker.start)
    done.event.wait()
    ctx.finished()
    worker.stop()


# --- Kue 0.11.6 (Node.js) -------------------------------------------------------------------

KUE_VERSION = "0.11.6"

# Written to run/kue-<version>/bench.js at benchmark time; it drives Kue through its
# public API (createQueue, create().save(), process, completeCount, shutdown) and speaks
# the same line protocol as the Python workers ("BENCH <json>" lines; "go"/"stop" in).
KUE_SCRIPT = r"""'use strict';
const kue = require('kue');
const [role, url, jobsArg, concArg, live] = process.argv.slice(2);
const jobs = Number(jobsArg), conc = Number(concArg);
const now = () => Number(process.hrtime.bigint()) / 1e9;  // CLOCK_MONOTONIC, like Python's
const say = (obj) => process.stdout.write('BENCH ' + JSON.stringify(obj) + '\n');
const lines = [], waiters = [];
let buffered = '';
process.stdin.on('data', (chunk) => {
  buffered += chunk;
  let at;
  while ((at = buffered.indexOf('\n')) >= 0) {
    const line = buffered.slice(0, at).trim();
    buffered = buffered.slice(at + 1);
    if (waiters.length) waiters.shift()(line); else lines.push(line);
  }
});
process.stdin.on('end', () => { while (waiters.length) waiters.shift()('stop'); });
const nextLine = () => new Promise((ok) => lines.length ? ok(lines.shift()) : waiters.push(ok));
const queue = kue.createQueue({prefix: 'bench', redis: url});
const ping = () => new Promise((ok, fail) => queue.client.ping((e) => e ? fail(e) : ok()));
const save = (i) => new Promise((ok, fail) =>
  queue.create('noop', {n: i}).save((e) => e ? fail(e) : ok()));
const completed = () => new Promise((ok, fail) =>
  queue.completeCount('noop', (e, n) => e ? fail(e) : ok(Number(n))));
const close = () => queue.shutdown(1000, () => process.exit(0));

async function produce() {
  await ping();
  say({ready: true});
  const bulk = (await nextLine()) === 'go bulk';
  const start = now();
  if (bulk) {
    const saves = [];
    for (let i = 0; i < jobs; i++) saves.push(save(i));
    await Promise.all(saves);
  } else {
    for (let i = 0; i < jobs; i++) await save(i);
  }
  say({start: start, end: now()});
  await nextLine();
  close();
}

async function work() {
  await ping();
  let handled = 0, cpu0 = null, reached;
  const all = new Promise((ok) => { reached = ok; });
  const start = () => {
    cpu0 = process.cpuUsage();
    queue.process('noop', conc, (job, done) => { done(); if (++handled === jobs) reached(); });
  };
  if (live === 'live') {
    start();
    await new Promise((ok) => setTimeout(ok, 300));
    say({ready: true});
  } else {
    say({ready: true});
    await nextLine();
    start();
  }
  await all;
  while ((await completed()) < jobs) await new Promise((ok) => setTimeout(ok, 1));
  const cpu = process.cpuUsage(cpu0);
  say({done_at: now(), cpu_s: (cpu.user + cpu.system) / 1e6});
  await nextLine();
  close();
}

(role === 'produce' ? produce() : work()).catch((e) => {
  console.error(String(e));
  process.exit(1);
});
"""


def kue_dir(repo_root: Path) -> Path:
    return repo_root / "run" / f"kue-{KUE_VERSION}"


class KueProducer(Producer):
    """The Node producer process: saves one at a time (await each), or all at once."""

    bulk_call = True  # every save() at once, without waiting for each reply

    def __init__(self, peer) -> None:
        self.peer = peer  # the Node process, started and connected by the caller
        self.peer.expect("ready")

    def produce(self, jobs: int, bulk: bool) -> tuple[float, float]:
        self.peer.send("go bulk" if bulk else "go one")
        times = self.peer.expect("start")
        return times["start"], times["end"]

    def close(self) -> None:
        self.peer.stop()


PRODUCERS = {
    "raw": RawProducer,
    "pykue": PykueProducer,
    "pykue-prefetch": PykueProducer,
    "pykue-events": PykueCreator,
    "rq": RqProducer,
    "bullmq": BullmqProducer,
    "arq": ArqProducer,
    "saq": SaqProducer,
    "huey": HueyProducer,
    "dramatiq": DramatiqProducer,
}
WORKERS = {
    "raw": raw_worker,
    "pykue": pykue_worker,
    "pykue-prefetch": lambda ctx: pykue_worker(ctx, prefetch=PREFETCH),
    "pykue-events": pykue_worker,
    "rq": rq_worker,
    "bullmq": bullmq_worker,
    "arq": arq_worker,
    "saq": saq_worker,
    "huey": huey_worker,
    "dramatiq": dramatiq_worker,
}
