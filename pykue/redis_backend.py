"""The Redis backend: jobs in Redis, every state move one Lua script (``lua/``), events by
pub/sub (:class:`pykue.events.EventHub`), workers in threads (:mod:`pykue.worker`)."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from pykue import scripts, signals
from pykue.backend import Backend, Connection
from pykue.emitter import Emitter
from pykue.errors import PykueError
from pykue.events import EventHub, deliver_here
from pykue.job import Job
from pykue.redis_conn import RedisConnection
from pykue.worker import WorkerGroup


def add_args(job: Job) -> list[Any]:
    """ARGV of ``lua/add_job.lua`` after the key prefix, for ``job``."""
    backoff = json.dumps(job.backoff_config) if job.backoff_config else ""
    return [
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


class RedisBackend(Backend):
    """Jobs of one queue in Redis; ``listeners``: the queue's own callbacks."""

    def __init__(self, conn: RedisConnection, listeners: Emitter, poll_interval: float) -> None:
        self.conn = conn
        self.link = Connection(self)  # for the jobs read from Redis: they stay on Redis
        self.listeners = listeners
        self.hub = EventHub(conn, listeners._fire, poll_interval=poll_interval)
        self.groups: list[WorkerGroup] = []
        self.closed = False
        self._add = scripts.load("add_job")

    # -- saving and moving jobs ----------------------------------------------------------

    def save(self, job: Job) -> None:
        if job.id is not None:
            raise PykueError(f"job {job.id} is already saved")
        conn, hub = self.conn, self.hub
        signals.install_guard()
        if not conn.scripts_loaded:
            conn.prepare()
        # Subscribe first only if someone listens (the job, the queue, a wait): a producer
        # that only saves never hears its own events (see pykue.events).
        heard = hub.subscribed.is_set()
        if not heard and (hub.wanted or job._listeners):
            conn.call(hub.ensure_subscribed)
            heard = True
        args = [conn.keys.base, *add_args(job)]
        with hub.lock:  # events of the new id wait until it is tracked
            reply = conn.evalsha(self._add, args)
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
            hub.track(job, heard)

    def save_bulk(self, jobs: list[Job]) -> None:
        if not jobs:
            return
        conn, hub = self.conn, self.hub
        conn.prepare()
        heard = hub.subscribed.is_set()
        if not heard and (hub.wanted or any(job._listeners for job in jobs)):
            conn.call(hub.ensure_subscribed)
            heard = True
        script = self._add

        def run() -> list[Any]:
            script.ensure_loaded(conn.client)
            pipe = conn.client.pipeline(transaction=False)
            for job in jobs:
                script.queue_on(pipe, conn.keys.fixed, [conn.keys.base, *add_args(job)])
            return pipe.execute()

        with hub.lock:
            ids = conn.call(run)
            for job, job_id in zip(jobs, ids, strict=True):
                job.id = int(job_id)
                job.state = "inactive"
                hub.track(job, heard)

    def progress(self, job: Job, percent: int, data: Any, data_json: str) -> None:
        if job._token is None:  # not running here: only this process hears of it
            job.emit("progress", percent, data)
            return
        if self.conn.run("update_progress", job.id, job._token, percent, data_json):
            job.progress_percent = percent
            job.progress_data = data

    def log(self, job: Job, line: str) -> None:
        conn = self.conn
        conn.call(lambda: conn.client.rpush(conn.keys.log(_saved(job)), line))

    def logs(self, job: Job) -> list[str]:
        conn = self.conn
        return conn.call(lambda: conn.client.lrange(conn.keys.log(_saved(job)), 0, -1))

    def remove(self, job: Job) -> bool:
        return bool(self.conn.run("remove_job", job.id))

    def set_state(self, job: Job, state: str, delay_ms: int) -> None:
        if not self.conn.run("set_state", job.id, state, delay_ms):
            raise PykueError(f"job {job.id} does not exist")

    def restart(self, job_id: int, states: list[str], job: Job | None) -> bool:
        self.conn.prepare()
        heard = self.hub.subscribed.is_set()
        with self.hub.lock:
            if int(self.conn.run("restart_job", job_id, *states)) != 1:
                return False
            tracked = self.hub.finished.get(job_id) or self.hub.pending.get(job_id)
            for obj in {id(o): o for o in (job, tracked) if o is not None}.values():
                obj.state, obj.attempts_made, obj.progress_percent = "inactive", 0, 0
                obj.stalls = 0
                if obj is tracked or obj.id in self.hub.pending:
                    obj._finished = False
                    self.hub.track(obj, heard)
        return True

    # -- reading -------------------------------------------------------------------------

    def read_fields(self, job_id: int, names: list[str]) -> list[str | None]:
        conn = self.conn
        return conn.call(lambda: conn.client.hmget(conn.keys.job(job_id), names))

    def get(self, job_id: int | str) -> Job | None:
        conn = self.conn
        fields = conn.call(lambda: conn.client.hgetall(conn.keys.job(job_id)))
        return Job.from_fields(self.link, fields) if fields else None

    def _active_ids(self, job_type: str | None) -> list[int]:
        """Ids of active jobs (the lease set), by id, of ``job_type`` if given."""
        client, keys = self.conn.client, self.conn.keys
        ids = client.zrange(keys.active, 0, -1)
        if job_type is not None and ids:
            pipe = client.pipeline(transaction=False)
            for job_id in ids:
                pipe.hget(keys.job(job_id), "type")
            ids = [i for i, t in zip(ids, pipe.execute(), strict=True) if t == job_type]
        return sorted(int(i) for i in ids)

    def _inactive_ids(self, job_type: str | None, start: int, stop: int, desc: bool) -> list:
        """Ids of inactive jobs in the order they will run (``desc``: reversed)."""
        client, keys = self.conn.client, self.conn.keys
        if job_type is not None:
            key = keys.wait(job_type)
            return (client.zrevrange if desc else client.zrange)(key, start, stop)
        merged: list[tuple[float, str]] = []
        for name in client.smembers(keys.types):
            merged += [
                (score, i) for i, score in client.zrange(keys.wait(name), 0, -1, withscores=True)
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
        keys = self.conn.keys
        if job_type is not None:
            key = keys.of_type(job_type, state)
        else:
            key = keys.state(state) if state else keys.all_jobs
        client = self.conn.client
        return (client.zrevrange if desc else client.zrange)(key, start, stop)

    def jobs(
        self, state: str | None, job_type: str | None, start: int, stop: int, desc: bool
    ) -> list[Job]:
        client, keys = self.conn.client, self.conn.keys

        def run() -> list[dict]:
            ids = self._ids(state, job_type, start, stop, desc)
            pipe = client.pipeline(transaction=False)
            for job_id in ids:
                pipe.hgetall(keys.job(job_id))
            return pipe.execute() if ids else []

        return [Job.from_fields(self.link, f) for f in self.conn.call(run) if f]

    def count(self, state: str, job_type: str | None) -> int:
        client, keys = self.conn.client, self.conn.keys

        def run() -> int:
            if state == "active":
                if job_type is None:
                    return client.zcard(keys.active)
                return len(self._active_ids(job_type))
            if state == "inactive":
                names = [job_type] if job_type is not None else client.smembers(keys.types)
                pipe = client.pipeline(transaction=False)
                for name in names:
                    pipe.zcard(keys.wait(name))
                return sum(pipe.execute()) if names else 0
            key = keys.of_type(job_type, state) if job_type is not None else keys.state(state)
            return client.zcard(key)

        return int(self.conn.call(run))

    def types(self) -> list[str]:
        conn = self.conn
        return sorted(conn.call(lambda: conn.client.smembers(conn.keys.types)))

    # -- events and workers --------------------------------------------------------------

    def emit(self, job: Job, event: str, args: list) -> None:
        if job.id is None:  # never saved: nothing to track
            deliver_here(job, event, args, self.listeners._fire)
            return
        self.hub.deliver(job.id, event, args, job=job)

    def listen(self) -> None:
        if self.closed:
            return
        self.hub.want()
        try:  # events from here on reach the new listener
            self.conn.call(self.hub.ensure_subscribed)
        except PykueError:
            pass  # the hub keeps trying (and polls the jobs it waits for once it is back)

    def watch(self, job: Job) -> None:
        hub = self.hub
        if self.closed or hub.subscribed.is_set() or job.id not in hub.pending:
            return
        hub.want()
        try:  # from here on its events reach it; its end, if it came already, by polling
            self.conn.call(hub.ensure_subscribed)
        except PykueError:
            pass  # the hub keeps trying, and polls the job once it is subscribed

    def wait(self, jobs: list[Job] | None, timeout: float | None) -> bool:
        if not self.closed:
            self.hub.want()
        with signals.stop_event() as stop:
            return self.hub.wait(jobs, timeout, stop.is_set)

    def process(
        self, job_type: str, handler: Callable[..., Any], concurrency: int, prefetch: int = 1
    ) -> None:
        if self.closed:
            raise PykueError("this queue was shut down")
        signals.install_guard()  # a SIGTERM before run() starts waiting still stops cleanly
        group = WorkerGroup(self.conn, self.link, job_type, handler, concurrency, prefetch)
        self.groups.append(group)
        group.start()

    def shutdown(self, timeout: float, hurry: threading.Event | None) -> None:
        if self.closed:
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
        self.closed = True
        for group in self.groups:
            group.closed = True
            group.wake.set()
        self.hub.stop(timeout=0)
        # Closing every connection wakes the threads blocked in BLPOP or pub/sub reads.
        self.conn.disconnect()
        hurried = hurry is not None and hurry.is_set()
        for group in self.groups:
            group.join(0.1 if hurried else 1.0)
        self.hub.stop(timeout=0.1 if hurried else 1.0)
        self.conn.disconnect()


def _saved(job: Job) -> int:
    if job.id is None:
        raise PykueError("the job is not saved yet: save() it before its log is used")
    return job.id
