"""Job events: applied to Job objects, and delivered across processes by pub/sub.

The Lua scripts PUBLISH every job event on one channel per queue (JSON: event, id, args).
The process that saved a job runs one subscriber thread (:class:`EventHub`) that calls
``job.on`` and ``queue.on`` callbacks in the order the events happened. Lost messages
(e.g. a pub/sub reconnect) cannot make a waiting creator hang: the hub also polls the
state of the jobs it waits for.

The hub subscribes only once events are wanted: a listener on the queue or on a job, or
a ``wait_for_jobs()``. A producer that only saves (no listener, no wait) never receives
the events of its own saves (a round of pub/sub parsing per job, on a second thread).
Jobs saved before the subscription was live are polled once, right after it is, so the
end of a job that finished meanwhile is still delivered: the poll is followed by a marker
published on the channel, and what it found is applied when the marker comes back, after
every event published before the poll (so a poll never overtakes an event in flight).
"""

from __future__ import annotations

import json
import sys
import threading
import time
import traceback
import uuid
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import redis

if TYPE_CHECKING:
    from pykue.job import Job
    from pykue.redis_conn import RedisConnection

TERMINAL = ("complete", "failed")
MARK = "pykue-catch-up:"  # a marker on the events channel (not JSON: others ignore it)


def apply_event(job: Job, event: str, args: list) -> None:
    """Update ``job``'s attributes from an event about it."""
    if event == "start":
        job.state = "active"
    elif event == "progress":
        job.progress_percent = args[0] if args else job.progress_percent
        job.progress_data = args[1] if len(args) > 1 else None
    elif event == "complete":
        job.state = "complete"
        job.result = args[0] if args else None
    elif event == "failed":
        job.state = "failed"
        job.error = args[0] if args else None
    elif event == "failed attempt":
        job.error = args[0] if args else None
        if len(args) > 1:
            job.attempts_made = args[1]
    elif event == "promotion":
        job.state = "inactive"
    elif event == "remove":
        job.state = "removed"


def deliver_here(job: Job, event: str, args: list, fire: Callable[[str, list], Any]) -> None:
    """Apply ``event`` to ``job`` and run its callbacks, then the queue's (``fire``)."""
    apply_event(job, event, args)
    job._fire(event, args)
    fire("job " + event, [job.id, *args])


class EventHub:
    """One subscriber thread per queue object: delivers events to its jobs and listeners."""

    def __init__(
        self,
        conn: RedisConnection,
        fire: Callable[[str, list], Any],
        poll_interval: float = 1.0,
    ) -> None:
        self.conn = conn
        self.fire = fire  # the queue-level listeners: fire("job complete", [id, result])
        self.poll_interval = poll_interval
        # RLock: a callback may save a new job (re-entering from the hub thread).
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.pending: dict[int, Job] = {}  # saved here, not finished yet (strong refs)
        self.aliases: dict[int, list[Job]] = {}  # more objects of a pending id (unique jobs)
        self.finished: weakref.WeakValueDictionary[int, Job] = weakref.WeakValueDictionary()
        self.subscribed = threading.Event()
        self.last_error: Exception | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._suspects: set[int] = set()  # seen finished by polling, event not yet here
        self.wanted = False  # someone listens or waits: stay subscribed from now on
        self.unheard: set[int] = set()  # saved while not subscribed: to poll once subscribed
        self._marks: dict[str, list] = {}  # marker -> the catch-up poll's finished rows

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Start the subscriber thread (once)."""
        with self.lock:
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(
                    target=self._run, name=f"pykue-events-{self.conn.prefix}", daemon=True
                )
                self._thread.start()

    def want(self) -> None:
        """Events are wanted from now on (a listener, a wait): subscribe (in the background)."""
        self.wanted = True
        self.start()

    def ensure_subscribed(self, timeout: float = 5.0) -> None:
        """Return once the subscription is live; raise RedisUnavailable if it cannot be."""
        if self.subscribed.is_set():
            return
        self.start()
        deadline = time.monotonic() + timeout
        while not self.subscribed.wait(0.02):
            error = self.last_error
            if error is not None or time.monotonic() > deadline:
                raise self.conn.unavailable(error or "event subscription timed out")

    def stop(self, timeout: float = 1.0) -> None:
        """Stop the subscriber thread."""
        self._stop.set()
        thread = self._thread
        if timeout and thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    # -- registration and waiting --------------------------------------------------------

    def track(self, job: Job, heard: bool = True) -> None:
        """Deliver events of ``job`` (just saved) to it; call with :attr:`lock` held.

        ``heard``: the subscription was live before the job was saved (else the job is
        polled once when it is)."""
        if not heard:
            self.unheard.add(job.id)  # polled by _catch_up once subscribed
        if self._marks:  # tracked anew (a restart): what a catch-up poll saw is stale
            for marker, rows in self._marks.items():
                self._marks[marker] = [row for row in rows if row[0] != job.id]
        first = self.pending.get(job.id)
        if first is not None and first is not job:  # a duplicate of a unique job saved here
            self.aliases.setdefault(job.id, []).append(job)
            return
        self.pending[job.id] = job

    def wait(self, jobs: list[Job] | None, timeout: float | None, interrupted) -> bool:
        """Block until the jobs (default: all saved here) finished; False on timeout/stop."""
        deadline = None if timeout is None else time.monotonic() + timeout
        first_unfinished = 0  # a finished job stays finished: never look at it again
        with self.cond:
            while True:
                if jobs is None:
                    left = bool(self.pending)
                else:
                    while first_unfinished < len(jobs) and jobs[first_unfinished]._finished:
                        first_unfinished += 1
                    left = first_unfinished < len(jobs)
                if not left:
                    return True
                if interrupted():
                    return False
                wait_for = 0.2
                if deadline is not None:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return False
                    wait_for = min(wait_for, remaining)
                self.cond.wait(wait_for)

    # -- the thread ----------------------------------------------------------------------

    def _run(self) -> None:
        backoff = 0.05
        next_poll = time.monotonic() + self.poll_interval
        while not self._stop.is_set():
            pubsub = None
            try:
                pubsub = self.conn.client.pubsub()
                pubsub.subscribe(self.conn.keys.events)
                while not self._stop.is_set():
                    message = pubsub.get_message(timeout=0.2)
                    if message is not None:
                        # events flowing: the subscription is healthy, polling can wait
                        next_poll = time.monotonic() + self.poll_interval
                        if message["type"] == "subscribe":
                            self.last_error = None
                            backoff = 0.05
                            self.subscribed.set()
                        elif message["type"] == "message":
                            self._handle(message["data"])
                    if self.unheard and self.subscribed.is_set():
                        self._catch_up()
                    if time.monotonic() >= next_poll:
                        next_poll = time.monotonic() + self.poll_interval
                        self._poll()
            except redis.RedisError as exc:
                self.last_error = exc
                self.subscribed.clear()
                self._marks.clear()  # their markers may be lost: the regular poll covers them
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 1.0)
                next_poll = time.monotonic()  # catch up on what we may have missed
            except Exception:
                if self._stop.is_set():
                    break
                print("pykue: event thread error:", file=sys.stderr)
                traceback.print_exc(file=sys.stderr)
                self._stop.wait(0.5)
            finally:
                if pubsub is not None:
                    try:
                        pubsub.close()
                    except Exception:
                        pass
        self.subscribed.clear()

    def _handle(self, raw: str) -> None:
        """One message: an event, or a JSON array of events (a worker's "complete" of one
        job and "start" of the next come in one message), delivered in order."""
        if raw.startswith(MARK):
            self._settle(raw)
            return
        try:
            message = json.loads(raw)
        except ValueError:
            return
        for one in message if isinstance(message, list) else (message,):
            try:
                event, job_id, args = one["event"], int(one["id"]), one.get("args", [])
            except (KeyError, TypeError, ValueError):
                continue
            self.deliver(job_id, event, args)

    def deliver(self, job_id: int, event: str, args: list, job: Job | None = None) -> None:
        """Apply and dispatch one event about ``job_id`` (to its Job, then the queue)."""
        with self.cond:
            if job is None:
                job = self.pending.get(job_id) or self.finished.get(job_id)
            if job is not None and job._finished and event != "remove":
                job = None  # finished (maybe found by polling): late events only reach the queue
            if job is not None:
                apply_event(job, event, args)
                job._fire(event, args)
                if self.pending.get(job_id) is job:
                    for alias in self.aliases.get(job_id, ()):
                        apply_event(alias, event, args)
                        alias._fire(event, args)
            if event in TERMINAL and job is None and job_id in self.finished:
                return  # this job's end was already reported (by polling): never twice
            self.fire("job " + event, [job_id, *args])
            if job is not None and event in TERMINAL:
                job._finished = True
                if self.pending.get(job_id) is job:
                    for alias in self.aliases.pop(job_id, ()):
                        alias._finished = True
                self.pending.pop(job_id, None)
                self._suspects.discard(job_id)
                self.finished[job_id] = job
                self.cond.notify_all()

    def _catch_up(self) -> None:
        """Poll, once, the jobs saved while not subscribed (the subscription is live now:
        what happens to them from here on comes as events). What it finds finished is
        applied by :meth:`_settle` when the marker published after the poll comes back."""
        with self.lock:
            ids = [i for i in self.unheard if i in self.pending]
            self.unheard.clear()
        if not ids:
            return
        marker = MARK + uuid.uuid4().hex
        pipe = self.conn.client.pipeline(transaction=False)
        for job_id in ids:
            pipe.hmget(self.conn.keys.job(job_id), "state", "result", "error")
        pipe.publish(self.conn.keys.events, marker)
        rows = pipe.execute()[:-1]
        with self.lock:
            self._marks[marker] = [
                (job_id, *row)
                for job_id, row in zip(ids, rows, strict=True)
                if (row[0] in TERMINAL or row[0] is None) and job_id in self.pending
            ]

    def _settle(self, marker: str) -> None:
        """The marker of a catch-up poll is back: every event published before the poll
        has been delivered; deliver the ends the poll found that no event brought."""
        with self.lock:
            rows = self._marks.pop(marker, ())
        for job_id, state, result, error in rows:
            self._end_found(job_id, state, result, error)

    def _poll(self) -> None:
        """Find tracked jobs that finished without their event reaching us."""
        with self.lock:
            ids = list(self.pending)[:2000]
        if not ids:
            return
        pipe = self.conn.client.pipeline(transaction=False)
        for job_id in ids:
            pipe.hmget(self.conn.keys.job(job_id), "state", "result", "error")
        rows = pipe.execute()
        for job_id, (state, result, error) in zip(ids, rows, strict=True):
            if state not in TERMINAL and state is not None:
                continue
            if job_id not in self._suspects:
                # maybe its event is still on the way: decide at the next poll
                self._suspects.add(job_id)
                continue
            self._end_found(job_id, state, result, error)

    def _end_found(self, job_id: int, state: str | None, result, error) -> None:
        """Deliver the end of a tracked job found by polling (``state`` None: removed)."""
        with self.cond:
            job = self.pending.get(job_id)
            if job is None or job._finished:
                return
            if state == "complete":
                self.deliver(job_id, "complete", [json.loads(result) if result else None])
            elif state == "failed":
                self.deliver(job_id, "failed", [error or ""])
            else:  # removed (or remove_on_complete): finished, nothing to report
                job.state = "removed"
                job._finished = True
                for alias in self.aliases.pop(job_id, ()):
                    alias._finished = True
                self.pending.pop(job_id, None)
                self._suspects.discard(job_id)
                self.cond.notify_all()
