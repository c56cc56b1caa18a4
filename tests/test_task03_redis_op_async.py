"""Task 3 — ``2-redis_op_async.py``: task 2 with ``redis.asyncio``, ``async`` and ``await``.

Same output as task 2 and the same key stored; the file really uses ``redis.asyncio``,
and ``set_new_school`` and ``display_school_value`` are ``async def`` functions that
``await``.
"""

import ast

import pytest
from connect_checks import (
    asyncio_refused_message,
    closed_url,
    expect_exit_0,
    expect_not_connected,
    require,
)

from harness.compare import expect_lines
from harness.process import script_env

SCRIPT = "2-redis_op_async.py"
EXPECTED = ["Redis client connected to the server", "School", "Reply: OK", "100"]


def imports_redis_asyncio(tree: ast.Module) -> bool:
    """``import redis.asyncio``, ``from redis import asyncio`` or ``from redis.asyncio ...``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            if any(alias.name.startswith("redis.asyncio") for alias in node.names):
                return True
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.startswith("redis.asyncio"):
                return True
            if node.module == "redis" and any(alias.name == "asyncio" for alias in node.names):
                return True
    return False


@pytest.mark.task(3)
def test_written_with_redis_asyncio_and_async_def(target):
    path = target.script(SCRIPT)
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=SCRIPT)
    except SyntaxError as error:
        pytest.fail(f"task 3: {SCRIPT} is not valid Python: {error}", pytrace=False)
    require(
        imports_redis_asyncio(tree),
        f"task 3: {SCRIPT} must use redis.asyncio (import redis.asyncio, or "
        "from redis import asyncio)",
    )
    defined = {
        node.name: node
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    for name in ("set_new_school", "display_school_value"):
        node = defined.get(name)
        require(node is not None, f"task 3: MISSING FUNCTION {name}() in {SCRIPT}")
        require(
            isinstance(node, ast.AsyncFunctionDef),
            f"task 3: {name}() must be an async function: `async def {name}(...)`",
        )
        require(
            any(isinstance(inner, ast.Await) for inner in ast.walk(node)),
            f"task 3: {name}() must await its Redis call",
        )


@pytest.mark.task(3)
def test_prints_value_reply_and_new_value(target, run):
    finished = run(SCRIPT)
    expect_lines("task 3", EXPECTED, finished.stdout)
    expect_exit_0("task 3", SCRIPT, finished)


@pytest.mark.task(3)
def test_the_new_school_is_stored_in_redis(target, run, redis_client):
    run(SCRIPT)
    value = redis_client.get("HolbertonSanFrancisco")
    require(
        value == "100",
        f"task 3: after {SCRIPT}, GET HolbertonSanFrancisco returns {value!r}, expected '100'",
    )


@pytest.mark.task(3)
def test_server_down_prints_not_connected_and_exits_1(target, run):
    url, _ = closed_url()
    finished = run(SCRIPT, env_override=script_env(url))
    expect_not_connected("task 3", SCRIPT, finished, asyncio_refused_message(url))
