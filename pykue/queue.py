"""The queue: create and save jobs, look them up, run workers, deliver events, shut down."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import redis
from redis.cluster import ClusterNode, RedisCluster

from pykue import scripts, signals
from pykue.errors import PykueError, RedisUnavailable, is_transient
from pykue.events import Emitter, EventHub, apply_event
from pykue.job import Job
from pykue.keys import STATES, Keys
from pykue.test_mode import TestMode
from pykue.worker import WorkerGroup

DEFAULT_URL = "redis://localhost:6379/0"
CLUSTER_SCHEME = "+cluster://"  # redis+cluster://host:port (or rediss+cluster://): a Redis Cluster


def create_queue(
    redis_url: str | None = None,
    prefix: str = "q",
    *,
    redis: redis.Redis | None = None,  # noqa: A002 - Kue-like keyword
    lease_ms: int = 10_000,
    max_stalls: int = 3,
    poll_interval: float = 1.0,
) -> Queue:
    """A queue on Redis (``redis_url``, else env REDIS_URL, else localhost:6379/0).

    Nothing connects until the queue is used, so test mode needs no Redis at all.
    ``lease_ms``: how long a worker's hold on an active job lasts without renewal;
    ``max_stalls``: how many lapsed leases a job survives before it fails.
    """
    return Queue(
        redis_url=redis_url,
        prefix=prefix,
        client=redis,
        lease_ms=lease_ms,
        max_stalls=max_stalls,
        poll_interval=poll_interval,
    )


def check_type(job_type: object) -> str:
    """``job_type`` if it is a non-empty str (any characters: keys encode it), else
    ValueError."""
    if not isinstance(job_type, str) or not job_type:
        raise ValueError(f"a job type must be a non-empty str, not {job_type!r}")
    return job_type


def _safe_url(url: str) -> str:
    """``url`` without its password."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


class Queue(Emitter):
    """Jobs of every type under one prefix; see :func:`create_queue`."""

    def __init__(
        self,
        redis_url: str | None = None,
        prefix: str = "q",
        client: redis.Redis | None = None,
        lease_ms: int = 10_000,
        max_stalls: int = 3,
        poll_interval: float = 1.0,
    ) -> None:
        super().__init__()
        self.prefix = prefix
        self.keys = Keys(prefix)
        self.lease_ms = int(lease_ms)
        self.max_stalls = int(max_stalls)
        self.cluster = isinstance(client, RedisCluster) or (
            client is None and CLUSTER_SCHEME in (redis_url or os.environ.get("REDIS_URL") or "")
        )
        if self.cluster:
            self._init_cluster(redis_url, client)
        elif client is not None:
            pool = client.connection_pool
            kwargs = dict(pool.connection_kwargs)
            kwargs["decode_responses"] = True
            self.url = "redis://{}:{}/{}".format(
                kwargs.get("host", "?"), kwargs.get("port", "?"), kwargs.get("db", 0)
            )
            self._pool = type(pool)(connection_class=pool.connection_class, **kwargs)
        else:
            self.url = redis_url or os.environ.get("REDIS_URL") or DEFAULT_URL
            self._pool = redis.ConnectionPool.from_url(
                self.url,
                decode_responses=True,
                socket_connect_timeout=3,
                socket_timeout=15,
                socket_keepalive=True,
            )
        if not self.cluster:
            self.client = redis.Redis(connection_pool=self._pool)
        self.test_mode = TestMode(self)
        self.hub = EventHub(self, poll_interval=poll_interval)
        self.groups: list[WorkerGroup] = []
        self._closed = False
        self._scripts_loaded = False

    def _init_cluster(self, redis_url: str | None, client: RedisCluster | None) -> None:
        """A Redis Cluster client: every key of the queue has the hash tag ``{prefix}``, so
        the cluster client sends each command and script to the one node serving that slot."""
        self._pool = None
        if client is not None:
            kwargs = dict(client.nodes_manager.connection_kwargs)
            kwargs.pop("redis_connect_func", None)
            kwargs["decode_responses"] = True
            nodes = [ClusterNode(n.host, n.port) for n in client.get_nodes()]
            self.client = RedisCluster(startup_nodes=nodes, **kwargs)
            self.url = f"redis+cluster://{nodes[0].host}:{nodes[0].port}"
            return
        self.url = redis_url or os.environ.get("REDIS_URL") or DEFAULT_URL
        self.client = RedisCluster.from_url(
            self.url.replace(CLUSTER_SCHEME, "://", 1),
            decode_responses=True,
            socket_connect_timeout=3,
            socket_timeout=15,
            socket_keepalive=True,
        )

    def _prepare(self) -> None:
        """Load the Lua scripts into Redis once (raises RedisUnavailable)."""
        if not self._scripts_loaded:
            self._call(lambda: scripts.load_all(self.client))
            self._scripts_loaded = True

    def __repr__(self) -> str:
        return f"<Queue {self.prefix!r} at {self.url_shown}>"

    @property
    def url_shown(self) -> str:
        """The Redis URL without its password."""
        return _safe_url(self.url)

    def unavailable(self, reason: object) -> RedisUnavailable:
        """The error to raise when Redis fails us."""
        return RedisUnavailable(_safe_url(self.url), reason)

    def _call(self, fn: Callable[[], Any]) -> Any:
        """Run a Redis call; turn redis-py errors into pykue errors."""
        try:
            return fn()
        except redis.RedisError as exc:
            raise self.translate(exc) from None

    def translate(self, exc: redis.RedisError) -> PykueError:
        """The pykue error for a redis-py one: RedisUnavailable when Redis is down, slow or
        full (it may work again later), else PykueError (Redis refused the command)."""
        if is_transient(exc):
            return self.unavailable(exc)
        return PykueError(f"Redis at {_safe_url(self.url)} refused a command: {exc}")

    def ping(self) -> bool:
        """True when Redis answers; raises RedisUnavailable (with the cause) when not."""
        return bool(self._call(lambda: self.client.ping()))

    # -- creating jobs -------------------------------------------------------------------

    def create(self, job_type: str, data: Any = None) -> Job:
        """A new job of ``job_type`` (not saved yet); data must be JSON."""
        return Job(self, check_type(job_type), data)

    def _add_args(self, job: Job) -> list[Any]:
        backoff = json.dumps(job.backoff_config) if job.backoff_config else ""
        return [
            self.keys.base,
            job.type,
            job._data_json,
            job.priority_value,
            job.max_attempts,
            backoff,
            job.delay_ms,
            job.ttl_ms,
            1 if job.remove_on_complete_flag else 0,
            *([job.unique_key] if job.unique_key else []),
        ]

    def _save(self, job: Job) -> None:
        if self.test_mode.active:
            self.test_mode.save(job)
            return
        if job.id is not None:
            raise PykueError(f"job {job.id} is already saved")
        signals.install_guard()
        self._prepare()
        self._call(lambda: self.hub.ensure_subscribed())
        script = scripts.load("add_job")
        with self.hub.lock:  # events of the new id wait until it is tracked
            reply = self._call(lambda: script(self.client, [self.keys.ids], self._add_args(job)))
            if isinstance(reply, list):  # saved with a unique key: [id, duplicate, (state)]
                job.id, job.duplicate = int(reply[0]), bool(int(reply[1]))
            else:
                job.id = int(reply)
            if job.duplicate:
                job.state = reply[2]
                if job.state in ("complete", "failed"):
                    job._finished = True  # nothing to wait for
                    return
            else:
                job.state = "delayed" if job.delay_ms else "inactive"
            self.hub.track(job)

    def create_bulk(self, job_type: str, items: Iterable[Any]) -> list[Job]:
        """Create and save one job per data item in a single pipelined round trip."""
        jobs = [Job(self, check_type(job_type), data) for data in items]
        if self.test_mode.active:
            for job in jobs:
                job.save()
            return jobs
        if not jobs:
            return jobs
        self._prepare()
        self._call(lambda: self.hub.ensure_subscribed())
        script = scripts.load("add_job")

        def run() -> list[Any]:
            script.ensure_loaded(self.client)
            pipe = self.client.pipeline(transaction=False)
            for job in jobs:
                script.queue_on(pipe, [self.keys.ids], self._add_args(job))
            return pipe.execute()

        with self.hub.lock:
            ids = self._call(run)
            for job, job_id in zip(jobs, ids, strict=True):
                job.id = int(job_id)
                job.state = "inactive"
                self.hub.track(job)
        return jobs

    # -- events --------------------------------------------------------------------------

    def on(self, event: str, fn: Callable[..., Any]) -> Queue:
        """Queue-level event: "job complete" fn(id, result), "job failed" fn(id, error) ..."""
        super().on(event, fn)
        if not self.test_mode.active and not self._closed:
            self.hub.start()
        return self

    def _deliver_local(self, job: Job, event: str, args: list) -> None:
        """``job.emit``: run the job's and the queue's callbacks in this thread."""
        if job.id is not None and not self.test_mode.active:
            self.hub.deliver(job.id, event, args, job=job)
            return
        apply_event(job, event, args)
        job._fire(event, args)
        self._fire("job " + event, [job.id, *args])

    def wait_for_jobs(self, jobs: list[Job] | None = None, timeout: float | None = None) -> bool:
        """Block until the jobs saved by this queue object (or ``jobs``) are finished.

        True when all finished; False on timeout, Ctrl+C or SIGTERM (which return cleanly).
        """
        if self.test_mode.active:
            return True
        with signals.stop_event() as stop:
            return self.hub.wait(jobs, timeout, stop.is_set)

    # -- for handlers (called through Job) -----------------------------------------------

    def _progress(self, job: Job, percent: int, data: Any, data_json: str) -> None:
        if self.test_mode.active or job._token is None:
            job.emit("progress", percent, data)
            return
        script = scripts.load("update_progress")
        ok = self._call(
            lambda: script(
                self.client,
                [self.keys.ids],
                [self.keys.base, job.id, job._token, percent, data_json],
            )
        )
        if ok:
            job.progress_percent = percent
            job.progress_data = data

    def _log(self, job: Job, line: str) -> None:
        if self.test_mode.active or job.id is None:
            job._test_logs.append(line)
            return
        self._call(lambda: self.client.rpush(self.keys.log(job.id), line))

    def _logs(self, job: Job) -> list[str]:
        if self.test_mode.active or job.id is None:
            return list(job._test_logs)
        return self._call(lambda: self.client.lrange(self.keys.log(job.id), 0, -1))

    def _remove(self, job: Job) -> bool:
        if self.test_mode.active:
            if job in self.test_mode.jobs:
                self.test_mode.jobs.remove(job)
            job.emit("remove", job.type)
            return True
        script = scripts.load("remove_job")
        return bool(
            self._call(lambda: script(self.client, [self.keys.ids], [self.keys.base, job.id]))
        )

    def restart(
        self, job: Job | int | str, only_from: tuple[str, ...] | list[str] = ("failed", "complete")
    ) -> bool:
        """Move a job (a Job or an id) back to inactive with its attempts reset, atomically,
        if it is in one of the states ``only_from``; False (nothing changed) if it is in
        another state or does not exist. A Job object saved here follows its new run."""
        states = [only_from] if isinstance(only_from, str) else list(only_from)
        for state in states:
            self._check_state(state)
        job_id = job.id if isinstance(job, Job) else int(job)
        if self.test_mode.active:
            return self.test_mode.restart(job_id, states)
        self._prepare()
        script = scripts.load("restart_job")
        with self.hub.lock:
            done = self._call(
                lambda: script(self.client, [self.keys.ids], [self.keys.base, job_id, *states])
            )
            if int(done) != 1:
                return False
            tracked = self.hub.finished.get(job_id) or self.hub.pending.get(job_id)
            for obj in {id(o): o for o in (job, tracked) if isinstance(o, Job)}.values():
                obj.state, obj.attempts_made, obj.progress_percent = "inactive", 0, 0
                obj.stalls = 0
                if obj is tracked or obj.id in self.hub.pending:
                    obj._finished = False
                    self.hub.track(obj)
        return True

    def _set_state(self, job: Job, state: str, delay_ms: int) -> None:
        script = scripts.load("set_state")
        found = self._call(
            lambda: script(self.client, [self.keys.ids], [self.keys.base, job.id, state, delay_ms])
        )
        if not found:
            raise PykueError(f"job {job.id} does not exist")

    # -- lookup --------------------------------------------------------------------------

    def get_job(self, job_id: int | str) -> Job | None:
        """The job with ``job_id`` as stored now, or None."""
        if self.test_mode.active:
            return next((j for j in self.test_mode.jobs if str(j.id) == str(job_id)), None)
        fields = self._call(lambda: self.client.hgetall(self.keys.job(job_id)))
        return Job.from_fields(self, fields) if fields else None

    def _check_state(self, state: str | None) -> None:
        if state is not None and state not in STATES:
            raise ValueError(f"unknown state {state!r}; use one of {', '.join(STATES)}")

    def _active_ids(self, job_type: str | None) -> list[int]:
        """Ids of active jobs (the lease set), by id, of ``job_type`` if given."""
        ids = self.client.zrange(self.keys.active, 0, -1)
        if job_type is not None and ids:
            pipe = self.client.pipeline(transaction=False)
            for job_id in ids:
                pipe.hget(self.keys.job(job_id), "type")
            ids = [i for i, t in zip(ids, pipe.execute(), strict=True) if t == job_type]
        return sorted(int(i) for i in ids)

    def _inactive_ids(self, job_type: str | None, start: int, stop: int, desc: bool) -> list:
        """Ids of inactive jobs in the order they will run (``desc``: reversed)."""
        if job_type is not None:
            key = self.keys.wait(job_type)
            return (self.client.zrevrange if desc else self.client.zrange)(key, start, stop)
        merged: list[tuple[float, str]] = []
        for name in self.client.smembers(self.keys.types):
            merged += [
                (score, i)
                for i, score in self.client.zrange(self.keys.wait(name), 0, -1, withscores=True)
            ]
        merged.sort(reverse=desc)
        return [i for _, i in merged[start : None if stop == -1 else stop + 1]]

    def _ids(
        self, state: str | None, job_type: str | None, start: int, stop: int, desc: bool
    ) -> list:
        if state == "inactive":
            return self._inactive_ids(job_type, start, stop, desc)
        if state == "active":
            ids = self._active_ids(job_type)
            if desc:
                ids.reverse()
            return ids[start : None if stop == -1 else stop + 1]
        if job_type is not None:
            key = self.keys.of_type(job_type, state)
        else:
            key = self.keys.state(state) if state else self.keys.all_jobs
        return (self.client.zrevrange if desc else self.client.zrange)(key, start, stop)

    def jobs(
        self,
        state: str | None = None,
        type: str | None = None,  # noqa: A002 - the API's name
        start: int = 0,
        stop: int = -1,
        order: str = "asc",
    ) -> list[Job]:
        """Jobs filtered by state and/or type, ``start``..``stop`` inclusive.

        Ordered by id, except inactive jobs: in the order they will run.
        """
        self._check_state(state)
        if self.test_mode.active:
            found = [
                j
                for j in self.test_mode.jobs
                if (state is None or j.state == state) and (type is None or j.type == type)
            ]
            found.sort(key=lambda j: j.id, reverse=order == "desc")
            return found[start : None if stop == -1 else stop + 1]

        def run() -> list[dict]:
            ids = self._ids(state, type, start, stop, order == "desc")
            pipe = self.client.pipeline(transaction=False)
            for job_id in ids:
                pipe.hgetall(self.keys.job(job_id))
            return pipe.execute() if ids else []

        return [Job.from_fields(self, f) for f in self._call(run) if f]

    def count(self, state: str, type: str | None = None) -> int:  # noqa: A002
        """How many jobs are in ``state`` (of ``type`` if given)."""
        self._check_state(state)
        if self.test_mode.active:
            return len(self.jobs(state, type))

        def run() -> int:
            if state == "active":
                if type is None:
                    return self.client.zcard(self.keys.active)
                return len(self._active_ids(type))
            if state == "inactive":
                names = [type] if type is not None else self.client.smembers(self.keys.types)
                pipe = self.client.pipeline(transaction=False)
                for name in names:
                    pipe.zcard(self.keys.wait(name))
                return sum(pipe.execute()) if names else 0
            key = self.keys.of_type(type, state) if type is not None else self.keys.state(state)
            return self.client.zcard(key)

        return int(self._call(run))

    def counts(self, type: str | None = None) -> dict[str, int]:  # noqa: A002
        """{"inactive": n, "delayed": n, "active": n, "complete": n, "failed": n}."""
        return {state: self.count(state, type) for state in STATES}

    def types(self) -> list[str]:
        """Every job type saved in this queue, sorted."""
        if self.test_mode.active:
            return sorted({j.type for j in self.test_mode.jobs})
        return sorted(self._call(lambda: self.client.smembers(self.keys.types)))

    # -- processing ----------------------------------------------------------------------

    def process(self, job_type: str, handler: Callable[..., Any], concurrency: int = 1) -> None:
        """Run ``handler`` on jobs of ``job_type`` in ``concurrency`` background workers.

        Handler forms: ``(job, done)``; ``(job)`` returning a result or raising;
        ``async def (job)``. Returns at once.
        """
        if self.test_mode.active:
            self.test_mode.register(job_type, handler)
            return
        if self._closed:
            raise PykueError("this queue was shut down")
        group = WorkerGroup(self, job_type, handler, concurrency)
        self.groups.append(group)
        group.start()

    def run(self, timeout: float = 5) -> None:
        """Block until SIGINT/SIGTERM, then :meth:`shutdown` (``timeout``); returns normally.

        A second SIGINT/SIGTERM during the shutdown hurries it: active jobs are given back
        at once instead of being waited for.
        """
        with signals.stop_event() as stop:
            try:
                while not stop.wait(0.5):
                    pass
            finally:
                with signals.stop_event() as hurry:  # the next signal lands here
                    self.shutdown(timeout, hurry=hurry)

    def shutdown(self, timeout: float = 5, hurry: threading.Event | None = None) -> None:
        """Stop taking jobs, let active ones finish within ``timeout`` s, give back the rest.

        Then stop the event thread and close the connections. ``hurry``: an Event that,
        once set, ends the wait for active jobs at once (they are given back).
        """
        if self._closed:
            return
        for group in self.groups:
            group.stopping.set()
        deadline = time.monotonic() + timeout
        if hurry is not None and timeout > 0 and any(g.busy() for g in self.groups):
            print(
                f"pykue: shutting down: waiting up to {timeout:g}s for active jobs "
                "(signal again to hand them back now)",
                file=sys.stderr,
                flush=True,
            )
        while any(g.busy() for g in self.groups) and time.monotonic() < deadline:
            if hurry is not None and hurry.wait(0.02):
                break
            if hurry is None:
                time.sleep(0.02)
        for group in self.groups:
            group.give_back()
        self._closed = True
        for group in self.groups:
            group.closed = True
            group.wake.set()
        self.hub.stop(timeout=0)
        # Closing every connection wakes the threads blocked in BLPOP or pub/sub reads.
        self._disconnect()
        hurried = hurry is not None and hurry.is_set()
        for group in self.groups:
            group.join(0.1 if hurried else 1.0)
        self.hub.stop(timeout=0.1 if hurried else 1.0)
        self._disconnect()

    def _disconnect(self) -> None:
        try:
            if self._pool is None:  # cluster: close every node's connections
                self.client.close()
            else:
                self._pool.disconnect(inuse_connections=True)
        except Exception:  # in-process fakeredis cannot close a socket in use; no matter
            pass
