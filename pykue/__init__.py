"""pykue: Kue's job-queue model for Python, on Redis, with atomic Lua state moves.

``queue = pykue.create_queue()``; ``queue.create(type, data).save()``;
``queue.process(type, handler)``. See README, "pykue".
"""

from pykue.errors import JobDataError, JobNotFound, PykueError, RedisUnavailable
from pykue.job import PRIORITIES, Job
from pykue.keys import STATES
from pykue.queue import Queue, create_queue

__all__ = [
    "PRIORITIES",
    "STATES",
    "Job",
    "JobDataError",
    "JobNotFound",
    "PykueError",
    "Queue",
    "RedisUnavailable",
    "create_queue",
]
