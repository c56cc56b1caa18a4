"""The Lua scripts that make every state change: loaded from ``lua/``, run with EVALSHA.

Each script is ``lua/_lib.lua`` (shared helpers) followed by the file named after the move
it makes. EVALSHA sends only the hash; on NOSCRIPT (a restarted or new Redis) the script
is loaded again and the call repeated.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import Any

import redis
from redis.cluster import RedisCluster

LUA_DIR = Path(__file__).with_name("lua")


class Script:
    """One Lua script: its source and SHA1, callable on a client or a pipeline."""

    def __init__(self, name: str, source: str) -> None:
        self.name = name
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()

    def __call__(self, client: redis.Redis, keys: list[str], args: list[Any]) -> Any:
        """Run on ``client``: EVALSHA, loading the script first if Redis lacks it."""
        try:
            return client.evalsha(self.sha, len(keys), *keys, *args)
        except redis.exceptions.NoScriptError:
            pass
        # EVAL runs the script and caches it for the next EVALSHA. fakeredis's TCP server
        # closes a connection after any error reply, so the first try may meet that.
        try:
            return client.eval(self.source, len(keys), *keys, *args)
        except redis.exceptions.ConnectionError as exc:
            if "closed by server" not in str(exc):
                raise
            return client.eval(self.source, len(keys), *keys, *args)

    def queue_on(self, pipe: redis.client.Pipeline, keys: list[str], args: list[Any]) -> None:
        """Add a call to ``pipe`` (call :meth:`ensure_loaded` on its client first)."""
        # execute_command: a cluster pipeline blocks pipe.evalsha() but routes EVALSHA by KEYS
        pipe.execute_command("EVALSHA", self.sha, len(keys), *keys, *args)

    def ensure_loaded(self, client: redis.Redis) -> None:
        """SCRIPT LOAD, so pipelined EVALSHA calls cannot meet NOSCRIPT."""
        client.script_load(self.source)


def load_all(client: redis.Redis) -> None:
    """SCRIPT LOAD every script in one round trip (so EVALSHA rarely meets NOSCRIPT)."""
    if isinstance(client, RedisCluster):  # no SCRIPT LOAD in a cluster pipeline
        for name in SCRIPT_NAMES:
            client.script_load(load(name).source)  # sent to every primary
        return
    pipe = client.pipeline(transaction=False)
    for name in SCRIPT_NAMES:
        pipe.script_load(load(name).source)
    pipe.execute()


@cache
def load(name: str) -> Script:
    """The script ``lua/<name>.lua`` with the shared helpers in front."""
    lib = (LUA_DIR / "_lib.lua").read_text(encoding="utf-8")
    body = (LUA_DIR / f"{name}.lua").read_text(encoding="utf-8")
    return Script(name, lib + "\n" + body)


SCRIPT_NAMES = tuple(sorted(p.stem for p in LUA_DIR.glob("*.lua") if not p.stem.startswith("_")))
"""Every script, one per ``lua/*.lua`` file (``_lib.lua`` is the helpers they share)."""
