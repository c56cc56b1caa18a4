"""The Lua scripts that make every state change: loaded from ``lua/``, run with EVALSHA.

Each script is the file named after the move it makes, preceded by what it needs of
``lua/_lib.lua`` (the shared helpers): the lib's opening lines (the key bindings), then
only the helper functions the script calls, directly or through other helpers, in the
lib's order. Redis runs a script's whole text on every call, so each helper a script
does not use would cost a closure per call. EVALSHA sends only the hash; on NOSCRIPT
(a restarted or new Redis) the script is loaded again and the call repeated.
"""

from __future__ import annotations

import hashlib
import re
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


_FUNCTION = re.compile(r"^local function (\w+)", re.M)


@cache
def lib_parts() -> tuple[str, tuple[tuple[str, str], ...]]:
    """``lua/_lib.lua`` split: its opening (up to the first helper) and (name, text) of
    each helper function, in order (a helper's text starts after the previous one)."""
    lib = (LUA_DIR / "_lib.lua").read_text(encoding="utf-8")
    starts = [m.start() for m in _FUNCTION.finditer(lib)]
    head = lib[: starts[0]] if starts else lib
    parts = []
    for i, start in enumerate(starts):
        text = lib[start : starts[i + 1] if i + 1 < len(starts) else len(lib)]
        parts.append((_FUNCTION.match(text, 0).group(1), text))
    return head, tuple(parts)


def _calls(code: str, name: str) -> bool:
    return re.search(rf"(?<![\w.:]){name}\(", code) is not None


def with_lib(body: str) -> str:
    """``body`` preceded by the lib's opening and the helpers it needs (transitively)."""
    head, parts = lib_parts()
    needed: set[str] = set()
    wanted = [body]
    while wanted:
        code = wanted.pop()
        for name, text in parts:
            if name not in needed and _calls(code, name):
                needed.add(name)
                wanted.append(text)
    return head + "".join(text for name, text in parts if name in needed) + "\n" + body


@cache
def load(name: str) -> Script:
    """The script ``lua/<name>.lua`` with the shared helpers it uses in front."""
    body = (LUA_DIR / f"{name}.lua").read_text(encoding="utf-8")
    return Script(name, with_lib(body))


SCRIPT_NAMES = tuple(sorted(p.stem for p in LUA_DIR.glob("*.lua") if not p.stem.startswith("_")))
"""Every script, one per ``lua/*.lua`` file (``_lib.lua`` is the helpers they share)."""
