"""Workers: threads that fetch, run and finish jobs, and a heartbeat that keeps leases.

Per job in steady state a worker thread makes ONE round trip: ``move_to_finished.lua``
finishes the current job and hands back the next. Idle threads block on BLPOP of the
type's notify list (short timeout), sent together with the fetch that follows. The
heartbeat thread renews the leases of all the group's active jobs in one call, promotes
delayed jobs and sweeps stalled ones.

With ``prefetch=K`` (K > 1) a worker thread takes up to K jobs in one call
(``move_batch.lua``), each active under its own lease token, runs them one after the
other, and finishes them all in the call that takes the next K: one round trip per K
jobs. A finished job is reported with its batch, or before the batch's next job starts
once it has waited :data:`FLUSH_AFTER` s. Until then it stays active (leased, renewed by
the heartbeat): a worker killed before its report loses nothing, the jobs come back by
the stall sweep and run again.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import redis

from pykue import scripts
from pykue.errors import JobDataError
from pykue.handlers import handler_kind, run_handler
from pykue.job import Job, to_json
from pykue.keys import FETCHED_FIELDS  # noqa: F401 - where tests look for it

if TYPE_CHECKING:
    from pykue.job import Link
    from pykue.redis_conn import RedisConnection

IDLE_WAIT = 0.5  # s an idle worker blocks on BLPOP before it looks again
QUIET = 5.0  # s after Redis came back in which a stale connection's failure is no news
FLUSH_AFTER = 0.1  # s after which a prefetching worker reports its finished jobs early


class WorkerGroup:
    """The workers started by one ``queue.process(type, handler, concurrency)`` call."""

    def __init__(
        self,
        conn: RedisConnection,
        link: Link,
        job_type: str,
        handler: Callable[..., Any],
        concurrency: int,
        prefetch: int = 1,
    ):
        self.conn = conn
        self.link = link  # what the jobs this group fetches talk to
        self.type = job_type
        self.handler = handler
        self.kind = handler_kind(handler)
        self.concurrency = max(1, int(concurrency))
        self.prefetch = max(1, int(prefetch))
        self.name = uuid.uuid4().hex[:12]
        self._tokens = itertools.count(1)
        self.stopping = threading.Event()  # take no new jobs
        self.abandon = threading.Event()  # stop waiting for unfinished done-style handlers
        self.closed = False
        self.wake = threading.Event()  # set on close: the heartbeat stops sleeping
        self.active: dict[int, Job] = {}  # id -> job held by this group (with its token)
        self.lock = threading.Lock()
        self.threads: list[threading.Thread] = []
        self.heartbeat: threading.Thread | None = None
        self._lost = 0  # Redis failed us since it last answered: 1 reported, 2 not (_report)
        self._back_at = -QUIET
        self._retry_wait = 0.0  # back-off after a job whose handler met a Redis failure
        self._fetch = scripts.load("move_to_active")
        self._finish = scripts.load("move_to_finished")
        self._give_back = scripts.load("move_to_inactive")
        self._batch = scripts.load("move_batch")
        self._pipelined: bool | None = None  # see _pipelined_wait

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        target = self._slot if self.prefetch == 1 else self._batch_slot
        for slot in range(self.concurrency):
            thread = threading.Thread(
                target=target, name=f"pykue-worker-{self.type}-{slot}", daemon=True
            )
            self.threads.append(thread)
            thread.start()
        self.heartbeat = threading.Thread(
            target=self._heartbeat, name=f"pykue-heartbeat-{self.type}", daemon=True
        )
        self.heartbeat.start()

    def busy(self) -> bool:
        with self.lock:
            return bool(self.active)

    def give_back(self) -> int:
        """Return every job still held to inactive (lease released); how many."""
        self.abandon.set()
        with self.lock:
            held = list(self.active.values())
            self.active.clear()
        script = scripts.load("move_to_inactive")
        count = 0
        for job in held:
            try:
                count += int(
                    script(
                        self.conn.client,
                        self.conn.keys.fixed,
                        [self.conn.keys.base, job.id, job._token],
                    )
                )
            except redis.RedisError:
                pass  # its lease will lapse and the sweep will return it
        return count

    def join(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for thread in [*self.threads, self.heartbeat]:
            if thread is not None:
                thread.join(max(0.0, deadline - time.monotonic()))

    # -- the worker threads --------------------------------------------------------------

    def _new_token(self) -> str:
        return f"{self.name}:{next(self._tokens)}"

    def _hold(self, fields: list | None, token: str) -> Job | None:
        if not fields:
            return None
        job = Job.fetched(self.link, self.type, fields, token)
        with self.lock:
            self.active[job.id] = job
        return job

    def _back_off(self, exc: Exception, backoff: float) -> float:
        """Report ``exc``, wait ``backoff`` s (less if stopping); the next wait, doubled, <= 2 s."""
        self._report(exc)
        self.stopping.wait(backoff)
        return min(backoff * 2, 2.0)

    def _own_client(self) -> redis.Redis:
        """A client that keeps one connection (no pool round per command)."""
        if self.conn.cluster:  # the cluster client is thread-safe and follows the slot
            return self.conn.client
        return redis.Redis(connection_pool=self.conn.pool, single_connection_client=True)

    def _connect(self) -> redis.Redis | None:
        """This thread's client, retrying while Redis is unreachable; None when stopping.

        Connecting can fail at start (Redis down) or because shutdown is closing the
        pool's connections: neither may end the thread with a traceback.
        """
        backoff = 0.05
        while not self.stopping.is_set() and not self.closed:
            try:
                return self._own_client()
            except redis.RedisError as exc:
                if self.closed or self.stopping.is_set():  # shutdown closed it: no news
                    break
                backoff = self._back_off(exc, backoff)
        return None

    @contextlib.contextmanager
    def _thread_resources(self):
        """This thread's client (None when stopping first) and, for async handlers, its
        event loop; both closed when the thread ends."""
        client = self._connect()
        if client is None:
            yield None, None
            return
        loop = asyncio.new_event_loop() if self.kind == "async" else None
        try:
            yield client, loop
        finally:
            if loop is not None:
                loop.close()
            try:
                if client is not self.conn.client:
                    client.close()
            except Exception:
                pass

    def _survive(self, dropped) -> None:
        """After an unexpected error: say it, forget the ``dropped`` jobs, pause.

        Never let one bad job kill the worker: a job dropped here keeps its lease only
        until it lapses, then the sweep returns (or fails) it.
        """
        print("pykue: worker error:", file=sys.stderr)
        traceback.print_exc(file=sys.stderr)
        with self.lock:
            for job in dropped:
                self.active.pop(job.id, None)
        self.stopping.wait(0.1)

    def _slot(self) -> None:
        with self._thread_resources() as (client, loop):
            if client is None:
                return
            job: Job | None = None
            while not self.closed:
                try:
                    if job is None:
                        if self.stopping.is_set():
                            break
                        job = self._next(client)
                        continue
                    job = self._run(client, job, loop)
                except Exception:
                    if self.closed:  # a socket closed under us by shutdown is no news
                        break
                    self._survive([job] if job is not None else [])
                    job = None

    def _run(
        self, client: redis.Redis, job: Job, loop: asyncio.AbstractEventLoop | None
    ) -> Job | None:
        """Run ``job``'s handler, finish it, and return the next job (or None)."""
        ran = self._run_only(client, job, loop)
        return None if ran is None else self._complete(client, *ran)

    def _give_back_after_redis_error(self, client: redis.Redis, job: Job, error: str) -> None:
        """``job``'s handler met a Redis failure (e.g. ``job.log()`` on a full Redis): the
        job goes back to inactive, no attempt counted, and this worker waits (growing up
        to 10 s) before it takes another job, instead of burning through the queue."""
        self._retry_wait = min(max(self._retry_wait * 2, 0.5), 10.0)
        print(
            f"pykue: job {job.id} given back to inactive, not failed: Redis failed its handler"
            f" ({error}); next job in {self._retry_wait:g}s",
            file=sys.stderr,
            flush=True,
        )
        job._finishing = True
        backoff = 0.05
        q = self.conn
        while not self.closed:
            try:
                self._eval(client, self._give_back, [q.keys.base, job.id, job._token])
                break
            except redis.RedisError as exc:  # its lease lapses meanwhile: the sweep returns it
                backoff = self._back_off(exc, backoff)
                if self.stopping.is_set():
                    break
        with self.lock:
            self.active.pop(job.id, None)
        self.stopping.wait(self._retry_wait)

    def _next(self, client: redis.Redis) -> Job | None:
        """Fetch a job, blocking (BLPOP) while there is none; None when stopping."""
        q = self.conn
        backoff = 0.05
        idle = False  # the last fetch found nothing: wait for a wake-up token first
        while not self.stopping.is_set() and not self.closed:
            try:
                q.prepare()
                token = self._new_token()
                args = [q.keys.base, self.type, token, q.lease_ms]
                if idle:
                    fields = self._wait_then_eval(client, self._fetch, args)
                else:
                    fields = self._eval(client, self._fetch, args)
                job = self._hold(fields, token)
                self._back()
                if job is not None:
                    if self.stopping.is_set():  # taken while shutdown began: not to run
                        self._give_back_held(client, [job])
                        return None
                    return job
                idle = True
                backoff = 0.05
            except redis.RedisError as exc:
                idle = False
                backoff = self._back_off(exc, backoff)
        return None

    def _pipelined_wait(self, client: redis.Redis) -> bool:
        """True on a real Redis, which drops the queued commands of a client that went
        away while blocked (fakeredis's server would still run the fetch: a job taken
        for nobody until its lease lapses). Asked once per group."""
        if self._pipelined is None:
            try:
                self._pipelined = "redis_version" in client.info("server")
            except redis.ResponseError:  # no INFO: not a real Redis
                self._pipelined = False
        return self._pipelined

    def _wait_then_eval(self, client: redis.Redis, script: scripts.Script, args: list) -> Any:
        """BLPOP the notify list (up to IDLE_WAIT s), then run ``script``: both sent at once.

        Redis reads a blocked client's next command only once its BLPOP returns, so the
        fetch runs the moment a wake-up token arrives, without a round trip back to us.
        """
        notify = self.conn.keys.notify(self.type)
        conn = getattr(client, "connection", None)
        if conn is None or not self._pipelined_wait(client):  # one after the other
            client.blpop([notify], timeout=IDLE_WAIT)
            return self._eval(client, script, args)
        keys = self.conn.keys.fixed
        try:
            conn.send_packed_command(
                conn.pack_commands(
                    [
                        ("BLPOP", notify, IDLE_WAIT),
                        ("EVALSHA", script.sha, len(keys), *keys, *args),
                    ]
                )
            )
            conn.read_response()  # the token, or None after IDLE_WAIT
            try:
                return conn.read_response()
            except redis.exceptions.NoScriptError:
                pass
        except BaseException:
            conn.disconnect()  # a half-read reply must not be read as the next one's
            raise
        return script(client, keys, args)

    def _complete(self, client: redis.Redis, job: Job, outcome: str, payload: str) -> Job | None:
        """Finish ``job`` and (unless stopping) fetch the next, in one script call."""
        q = self.conn
        backoff = 0.05
        job._finishing = True
        while not self.closed:
            fetch = not self.stopping.is_set()
            token = self._new_token() if fetch else ""
            try:
                reply = self._eval(
                    client,
                    self._finish,
                    [
                        q.keys.base,
                        job.id,
                        job._token,
                        outcome,
                        payload,
                        self.type if fetch else "",
                        token,
                        q.lease_ms,
                    ],
                )
            except redis.RedisError as exc:
                backoff = self._back_off(exc, backoff)
                continue
            self._back()
            status = reply[0]
            with self.lock:
                self.active.pop(job.id, None)
            if status == "fenced":
                print(
                    f"pykue: job {job.id} was not finished by this worker: its lease was lost "
                    "(it ran too long without a heartbeat, or shutdown gave it back)",
                    file=sys.stderr,
                )
            return self._hold(reply[1:], token) if len(reply) > 2 else None
        return None

    # -- prefetch: K jobs per round trip -------------------------------------------------

    def _batch_slot(self) -> None:
        """A worker thread with ``prefetch`` K > 1: see the module's docstring."""
        with self._thread_resources() as (client, loop):
            if client is None:
                return
            held: list[Job] = []  # taken, not run yet (in the order they run)
            done: list[tuple[Job, str, str]] = []  # run, not reported: (job, outcome, payload)
            first_done = 0.0
            while not self.closed:
                try:
                    if self.stopping.is_set():
                        self._report_batch(client, done, fetch=False)
                        done = []
                        self._give_back_held(client, held)
                        held = []
                        break
                    if not held:
                        held = self._report_batch(client, done, fetch=True)
                        done = []
                        if not held:
                            self._idle_wait(client)
                        continue
                    job = held.pop(0)
                    ran = self._run_only(client, job, loop)
                    if ran is not None:
                        if not done:
                            first_done = time.monotonic()
                        done.append(ran)
                    if done and held and time.monotonic() - first_done >= FLUSH_AFTER:
                        self._report_batch(client, done, fetch=False)
                        done = []
                except Exception:
                    if self.closed:
                        break
                    self._survive([*held, *(d[0] for d in done)])
                    held, done = [], []

    def _run_only(
        self, client: redis.Redis, job: Job, loop: asyncio.AbstractEventLoop | None
    ) -> tuple[Job, str, str] | None:
        """Run ``job``'s handler: (job, outcome, payload) to report, or None (given back)."""
        outcome, payload = run_handler(self.handler, job, self.abandon, loop, self.kind)
        if outcome is None:  # shutdown gave it back
            return None
        if outcome == "retry":  # Redis failed the handler: not the job's fault
            self._give_back_after_redis_error(client, job, payload)
            return None
        self._retry_wait = 0.0
        if outcome == "complete":
            try:
                payload = to_json(payload, "handler result")
            except JobDataError as exc:
                outcome, payload = "failed", str(exc)
        else:
            payload = str(payload)
        job._finishing = True
        return job, outcome, payload

    def _report_batch(
        self, client: redis.Redis, done: list[tuple[Job, str, str]], fetch: bool
    ) -> list[Job]:
        """Finish the jobs ``done`` and (``fetch``) take up to K next, in one script call."""
        if not done and not fetch:
            return []
        q = self.conn
        backoff = 0.05
        while not self.closed:
            fetch = fetch and not self.stopping.is_set()
            if not done and not fetch:
                return []
            token = self._new_token()
            args: list[Any] = [q.keys.base, self.type if fetch else "", token, q.lease_ms]
            args.append(self.prefetch)
            for job, outcome, payload in done:
                args += [job.id, job._token, outcome, payload]
            try:
                q.prepare()
                statuses, fetched = self._eval(client, self._batch, args)
            except redis.RedisError as exc:
                backoff = self._back_off(exc, backoff)
                continue
            self._back()
            with self.lock:
                for job, _, _ in done:
                    self.active.pop(job.id, None)
            for (job, _, _), status in zip(done, statuses, strict=True):
                if status == "fenced":
                    print(
                        f"pykue: job {job.id} was not finished by this worker: its lease was "
                        "lost (it waited or ran too long without a heartbeat, or shutdown "
                        "gave it back)",
                        file=sys.stderr,
                    )
            jobs = [
                Job.fetched(self.link, self.type, fields, f"{token}.{i}")
                for i, fields in enumerate(fetched, 1)
            ]
            if jobs:
                with self.lock:
                    for job in jobs:
                        self.active[job.id] = job
            return jobs
        return []

    def _give_back_held(self, client: redis.Redis, held: list[Job]) -> None:
        """Return prefetched jobs that never ran to inactive (stopping: take no new jobs)."""
        q = self.conn
        for job in held:
            try:
                self._eval(client, self._give_back, [q.keys.base, job.id, job._token])
            except redis.RedisError:
                pass  # its lease will lapse and the sweep will return it
            with self.lock:
                self.active.pop(job.id, None)

    def _idle_wait(self, client: redis.Redis) -> None:
        """No job: block on the notify list (BLPOP, short timeout) until one may be there."""
        try:
            client.blpop([self.conn.keys.notify(self.type)], timeout=IDLE_WAIT)
        except redis.RedisError as exc:
            if self.closed:
                return
            self._report(exc)
            self.stopping.wait(0.05)

    def _eval(self, client: redis.Redis, script: scripts.Script, args: list[Any]) -> Any:
        """Run ``script`` (KEYS = the queue's fixed keys) on the worker's own connection.

        The hot path: EVALSHA straight on the connection, without redis-py's per-command
        layers (retry wrapper, response callbacks); anything unusual (NOSCRIPT, a cluster)
        goes through :class:`pykue.scripts.Script`.
        """
        keys = self.conn.keys.fixed
        conn = getattr(client, "connection", None)
        if conn is None:  # cluster client, or not a single-connection client
            return script(client, keys, args)
        try:
            conn.send_command("EVALSHA", script.sha, len(keys), *keys, *args)
            return conn.read_response()
        except redis.exceptions.NoScriptError:
            return script(client, keys, args)
        except BaseException:
            conn.disconnect()  # a half-read reply must not be read as the next one's
            raise

    def _report(self, exc: Exception) -> None:
        """Say once that Redis is lost (the threads retry quietly until :meth:`_back`).

        A stale connection failing just after Redis came back (within ``QUIET`` s) is a
        loss too, but not news: it is not reported, nor is its end."""
        if self.closed or self._lost:
            return
        with self.lock:
            if self._lost:
                return
            quiet = time.monotonic() - self._back_at < QUIET
            self._lost = 2 if quiet else 1
        if not quiet:
            print(
                f"pykue: workers of {self.type!r}: {self.conn.translate(exc)} "
                "(retrying until it answers)",
                file=sys.stderr,
                flush=True,
            )

    def _back(self) -> None:
        """Redis answered: if it was lost, say once that it is back."""
        if not self._lost:  # the hot path: one attribute read
            return
        with self.lock:
            reported, self._lost = self._lost == 1, 0
            self._back_at = time.monotonic()
        if reported:
            print(
                f"pykue: workers of {self.type!r}: Redis at {self.conn.url_shown} is back",
                file=sys.stderr,
                flush=True,
            )

    # -- the heartbeat -------------------------------------------------------------------

    def _heartbeat(self) -> None:
        q = self.conn
        extend = scripts.load("extend_lease")
        sweep = scripts.load("move_stalled_to_inactive")
        promote = scripts.load("promote_delayed")
        renew_every = q.lease_ms / 3000
        sweep_every = q.lease_ms / 2000
        next_renew = time.monotonic() + renew_every
        next_sweep = time.monotonic()
        while not self.closed:
            now = time.monotonic()
            wait = 0.25
            try:
                if now >= next_renew:
                    next_renew = now + renew_every
                    with self.lock:
                        held = [(j.id, j._token) for j in self.active.values()]
                    if held:
                        args: list[Any] = [q.keys.base, q.lease_ms]
                        for job_id, token in held:
                            args += [job_id, token]
                        lost = extend(q.client, q.keys.fixed, args)
                        with self.lock:  # a job finished meanwhile is not lost
                            lost = [
                                i
                                for i in lost
                                if int(i) in self.active and not self.active[int(i)]._finishing
                            ]
                        if lost:
                            print(
                                f"pykue: lease lost for job(s) {', '.join(lost)}", file=sys.stderr
                            )
                if now >= next_sweep:
                    next_sweep = now + sweep_every
                    sweep(q.client, q.keys.fixed, [q.keys.base, q.max_stalls, 100])
                moved, due_ms = promote(q.client, q.keys.fixed, [q.keys.base, 100])
                if moved >= 100:
                    wait = 0
                elif due_ms >= 0:
                    wait = min(wait, due_ms / 1000)
                self._back()
            except Exception as exc:  # redis-py may fail oddly while shutdown closes sockets
                if self.closed:
                    break
                if not isinstance(exc, redis.RedisError):
                    traceback.print_exc(file=sys.stderr)
                self._report(exc)
                wait = 0.5
            wait = min(
                wait,
                max(0.0, next_renew - time.monotonic()),
                max(0.0, next_sweep - time.monotonic()),
            )
            if self.closed:
                break
            self.wake.wait(max(wait, 0.005))
