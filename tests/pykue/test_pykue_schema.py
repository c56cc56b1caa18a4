"""Issue 15.3: the schema is written once. The Lua side (key helpers, the KEYS binding, the
job hash's fields, the states, each script's header) is checked against the Python side
(pykue.keys, pykue.job, pykue.check)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import pykue.web
from pykue import check, job, keys, scripts
from pykue.keys import FETCHED_FIELDS, FIXED_KEYS, JOB_FIELDS, LATER_FIELDS, STATES, Keys

LUA = Path(scripts.__file__).with_name("lua")
LIB = (LUA / "_lib.lua").read_text(encoding="utf-8")
SCRIPTS = sorted(p for p in LUA.glob("*.lua") if p.name != "_lib.lua")
HOSTILE_TYPES = ["email", "x:complete", "a{b}", "50%", "ünï"]


def code_of(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))


def lib_functions() -> dict[str, str]:
    found = {}
    for match in re.finditer(r"^local function (\w+)\(.*?(?=^local |\Z)", LIB, re.S | re.M):
        found[match.group(1)] = code_of(match.group(0).split("\n", 1)[1])
    return found


def uses(code: str) -> tuple[set[str], set[str]]:
    """The K_ keys and the events ``code`` uses, directly or through _lib.lua helpers."""
    funcs = lib_functions()
    keys_used: set[str] = set()
    events: set[str] = set()
    todo, seen = [code], set()
    while todo:
        text = todo.pop()
        keys_used |= set(re.findall(r"\bK_[A-Z]+\b", text))
        events |= set(re.findall(r"(?:publish|event_json)\('([a-z ]+)'", text))
        for name, body in funcs.items():
            if name not in seen and re.search(rf"\b{name}\(", text):
                seen.add(name)
                todo.append(body)
    return keys_used, events


def header(text: str, name: str) -> str:
    match = re.search(rf"^-- {name}: (.*)$", text, re.M)
    assert match, f"no '-- {name}:' line in the header"
    return match.group(1).strip()


def test_scripts_are_every_file_in_lua():
    assert scripts.SCRIPT_NAMES == tuple(p.stem for p in SCRIPTS)
    assert "check_job" in scripts.SCRIPT_NAMES


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.stem)
def test_each_header_names_its_keys_argv_returns_and_events(path):
    text = path.read_text(encoding="utf-8")
    code = code_of(text)
    keys_used, events = uses(code)
    declared_keys = set(header(text, "KEYS").split()) - {"none"}
    assert declared_keys == keys_used
    declared_events = {e.strip() for e in header(text, "Events").split(",")} - {"none"}
    assert declared_events == events
    assert header(text, "Returns")
    argv_block = text[text.index("-- ARGV:") : text.index("-- Returns:")]
    declared = {int(n) for n in re.findall(r"\[(\d+)\]", argv_block)}
    variadic = re.search(r"\[(\d+)\.\.\.\]", argv_block)
    used = {int(n) for n in re.findall(r"ARGV\[(\d+)\]", code)}
    assert used <= declared, f"ARGV used but not in the header: {used - declared}"
    assert declared == set(range(1, max(declared) + 1))
    if variadic:
        assert int(variadic.group(1)) == max(declared) + 1
    assert "P .. '" not in code, "keys are built by the helpers of _lib.lua"


def test_lib_binds_the_fixed_keys_in_their_order():
    bound = re.findall(r"\b(K_[A-Z]+)\b(?=[^\n]*=\s*KEYS)", LIB)
    indexes = [int(n) for n in re.findall(r"KEYS\[(\d+)\]", code_of(LIB))]
    assert indexes == list(range(1, len(FIXED_KEYS) + 1))
    by_meaning = {"all_jobs": "K_JOBS"}
    assert bound == [by_meaning.get(name, "K_" + name.upper()) for name in FIXED_KEYS]


def test_lua_key_helpers_build_the_names_keys_py_builds(redis_client):
    body = (
        "return {K_IDS, K_SEQ, K_JOBS, K_ACTIVE, K_DELAYED, K_TYPES, K_UNIQUE, K_EVENTS,"
        " jkey(ARGV[2]), state_key(ARGV[3]), type_key(ARGV[4]), type_key(ARGV[4], ARGV[3]),"
        " wait_key(ARGV[4]), notify_key(ARGV[4])}"
    )
    script = scripts.Script("names", LIB + "\n" + body)
    k = Keys("t")
    for job_type in HOSTILE_TYPES:
        got = script(redis_client, k.fixed, [k.base, "7", "failed", job_type])
        assert got == [
            *k.fixed,
            k.job(7),
            k.state("failed"),
            k.of_type(job_type),
            k.of_type(job_type, "failed"),
            k.wait(job_type),
            k.notify(job_type),
        ]


def test_add_job_writes_the_job_fields_in_their_order():
    text = code_of((LUA / "add_job.lua").read_text(encoding="utf-8"))
    call = re.search(r"HSET', jkey\(id\), (.*?)\)\n", text, re.S).group(1)
    tokens = [token.strip() for token in call.split(",")]  # 'name', value, 'name', value ...
    assert tuple(token.strip("'") for token in tokens[0::2]) == JOB_FIELDS


def test_take_next_reads_the_fetched_fields():
    hmget = re.search(r"local fields = redis.call\('HMGET', k, (.*?)\)", LIB, re.S).group(1)
    assert tuple(re.findall(r"'(\w+)'", hmget)) == (*FETCHED_FIELDS, "ttl")


def test_every_field_python_reads_is_one_lua_writes():
    lua = "\n".join(p.read_text(encoding="utf-8") for p in LUA.glob("*.lua"))
    for field in LATER_FIELDS:
        assert f"'{field}'" in lua, field
    every = set(JOB_FIELDS) | set(LATER_FIELDS)
    assert set(FETCHED_FIELDS) <= every
    assert set(job.LOADERS) <= every
    assert set(job.LAZY_FIELDS.values()) == set(job.LOADERS)


def test_check_job_knows_the_states():
    text = (LUA / "check_job.lua").read_text(encoding="utf-8")
    valid = re.search(r"local VALID = \{(.*?)\}", text).group(1)
    assert tuple(re.findall(r"(\w+) = true", valid)) == STATES
    by_id = re.search(r"local BY_ID = \{(.*?)\}", text).group(1)
    assert tuple(re.findall(r"'(\w+)'", by_id)) == check.BY_ID
    assert keys.STATES == STATES


def test_the_dashboard_page_shows_every_state_once():
    page = (Path(pykue.web.__file__).parent / "dashboard.html").read_text(encoding="utf-8")
    shown = re.findall(r'<button data-state="(\w+)"', page)
    assert sorted(shown) == sorted(STATES)  # the page's script reads its states from these
