"""The Redis side of one queue: its client, key names and settings, and error translation.

What the Redis backend, its workers and its event thread share (rq's ``connection``):
none of them needs the :class:`pykue.Queue`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import redis
from redis.cluster import ClusterNode, RedisCluster

from pykue import scripts
from pykue.errors import PykueError, RedisUnavailable, is_transient
from pykue.keys import Keys

DEFAULT_URL = "redis://localhost:6379/0"
CLUSTER_SCHEME = "+cluster://"  # redis+cluster://host:port (or rediss+cluster://): a Redis Cluster
TIMEOUTS = {"socket_connect_timeout": 3, "socket_timeout": 15, "socket_keepalive": True}


def safe_url(url: str) -> str:
    """``url`` without its password."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


class RedisConnection:
    """Client, keys and settings of one queue on Redis; nothing connects until used."""

    def __init__(
        self,
        redis_url: str | None,
        prefix: str,
        client: redis.Redis | None,
        lease_ms: int,
        max_stalls: int,
    ) -> None:
        self.prefix = prefix
        self.keys = Keys(prefix)
        self.lease_ms = int(lease_ms)
        self.max_stalls = int(max_stalls)
        self.scripts_loaded = False
        self.cluster = isinstance(client, RedisCluster) or (
            client is None and CLUSTER_SCHEME in (redis_url or os.environ.get("REDIS_URL") or "")
        )
        self.pool: redis.ConnectionPool | None = None
        self.lean = False
        if self.cluster:
            self._init_cluster(redis_url, client)
            return
        if client is not None:
            pool = client.connection_pool
            kwargs = dict(pool.connection_kwargs)
            kwargs["decode_responses"] = True
            self.url = "redis://{}:{}/{}".format(
                kwargs.get("host", "?"), kwargs.get("port", "?"), kwargs.get("db", 0)
            )
            self.pool = type(pool)(connection_class=pool.connection_class, **kwargs)
        else:
            self.url = redis_url or os.environ.get("REDIS_URL") or DEFAULT_URL
            self.pool = redis.ConnectionPool.from_url(self.url, decode_responses=True, **TIMEOUTS)
        self.client = redis.Redis(connection_pool=self.pool)
        # the lean EVALSHA path (evalsha) needs redis-py's own socket connections
        self.lean = self.pool.connection_class.__module__ == "redis.connection"

    def _init_cluster(self, redis_url: str | None, client: RedisCluster | None) -> None:
        """A Redis Cluster client: every key of the queue has the hash tag ``{prefix}``, so
        the cluster client sends each command and script to the one node serving that slot."""
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
            self.url.replace(CLUSTER_SCHEME, "://", 1), decode_responses=True, **TIMEOUTS
        )

    @property
    def url_shown(self) -> str:
        """The Redis URL without its password."""
        return safe_url(self.url)

    def unavailable(self, reason: object) -> RedisUnavailable:
        """The error to raise when Redis fails us."""
        return RedisUnavailable(self.url_shown, reason)

    def translate(self, exc: redis.RedisError) -> PykueError:
        """The pykue error for a redis-py one: RedisUnavailable when Redis is down, slow or
        full (it may work again later), else PykueError (Redis refused the command)."""
        if is_transient(exc):
            return self.unavailable(exc)
        return PykueError(f"Redis at {self.url_shown} refused a command: {exc}")

    def call(self, fn: Callable[[], Any]) -> Any:
        """Run a Redis call; turn redis-py errors into pykue errors."""
        try:
            return fn()
        except redis.RedisError as exc:
            raise self.translate(exc) from None

    def prepare(self) -> None:
        """Load the Lua scripts into Redis once (raises RedisUnavailable)."""
        if not self.scripts_loaded:
            self.call(lambda: scripts.load_all(self.client))
            self.scripts_loaded = True

    def run(self, name: str, *args: Any) -> Any:
        """Run the script ``lua/<name>.lua`` with ``args`` after the key prefix."""
        return self.evalsha(scripts.load(name), [self.keys.base, *args])

    def evalsha(self, script: scripts.Script, args: list[Any]) -> Any:
        """Run ``script`` (KEYS = the fixed keys) with ``args``; pykue errors on failure.

        EVALSHA on a connection of the pool, without redis-py's per-command layers (retry
        wrapper, response callbacks); the pool still checks the connection it hands out
        (a stale one is reconnected). NOSCRIPT, a cluster and in-process fakeredis go
        through :class:`pykue.scripts.Script`.
        """
        keys = self.keys.fixed
        pool = self.pool
        if pool is not None and self.lean:
            try:
                conn = pool.get_connection("EVALSHA")
            except redis.RedisError as exc:
                raise self.translate(exc) from None
            try:
                conn.send_command("EVALSHA", script.sha, len(keys), *keys, *args)
                return conn.read_response()
            except redis.exceptions.NoScriptError:
                pass
            except redis.exceptions.ResponseError as exc:  # the reply was read: conn is fine
                raise self.translate(exc) from None
            except BaseException as exc:
                conn.disconnect()  # a half-read reply must not be read as the next one's
                if isinstance(exc, redis.RedisError):
                    raise self.translate(exc) from None
                raise
            finally:
                pool.release(conn)
        return self.call(lambda: script(self.client, keys, args))

    def disconnect(self) -> None:
        """Close every connection (wakes threads blocked in BLPOP or pub/sub reads)."""
        try:
            if self.pool is None:  # cluster: close every node's connections
                self.client.close()
            else:
                self.pool.disconnect(inuse_connections=True)
        except Exception:  # in-process fakeredis cannot close a socket in use; no matter
            pass
