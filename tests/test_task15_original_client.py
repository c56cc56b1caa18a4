"""Task 15 against dbendy/message-queue's own ``Producer`` and ``Consumer`` (issue 14.2).

The original client (``src/Producer.js``, ``src/Consumer.js``, on axios 0.16) is a thin
layer over three requests; what it sends and what it accepts are facts read from its
source and captured on the wire from it:

- ``addNewMessage(payload)``: ``POST /message/new`` with ``Content-Type:
  application/json;charset=utf-8`` and the body ``{"payload": ...}``; it resolves with
  ``data.id``.
- ``getNextMessage()``: ``GET /message/next``; it resolves with the JSON body as is
  (``example.js`` reads ``message.id`` and ``message.payload``). The original server
  answers an empty queue with a 200 and a JSON object without ``id``.
- ``notifyProcessed(id)``: ``POST /message/ID/status/done`` with no body (and axios'
  default ``Content-Type: application/x-www-form-urlencoded``); it resolves with
  ``data.status === 'processed'``. The original server answers every refusal (unknown
  id, done twice, done after the timeout) with a 200 and a body without that status, so
  the client resolves false.

axios rejects any status outside 200-299, so every one of those replies must be a 2xx
with a JSON body. The first tests state those facts with httpx (both Redis backends);
the last runs the real client with node: the original ``src/`` transpiled by its own
babel configuration into ``run/message-queue/`` (never committed), and its
``example.js`` with only the port changed. It skips, saying why, where node, npm, the
mirror of the original or the npm registry is missing.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
from test_task15_message_queue import FILE, fail

from harness.originals import git, original_repo
from harness.process import script_env
from harness.webserver import Servers

REPO = Path(__file__).resolve().parents[1]
ORIGINAL = "dbendy/message-queue"
BUILD = REPO / "run" / "message-queue"

# The headers axios 0.16.2 sends (captured from the original client).
AXIOS = {"accept": "application/json, text/plain, */*", "user-agent": "axios/0.16.2"}
AXIOS_JSON = AXIOS | {"content-type": "application/json;charset=utf-8"}
AXIOS_NO_BODY = AXIOS | {"content-type": "application/x-www-form-urlencoded"}


@pytest.fixture
def original_client_server(target, redis_url):
    """Start the graded server on this test's fresh database, with the original's default
    timeout in the original's variable (PENDING_TIMEOUT=10000). Started inside the test,
    so an unstarted task fails with one line."""
    started = Servers(target, script_env(redis_url, PENDING_TIMEOUT="10000"))
    yield lambda: started.script(FILE)
    started.close()


class Axios:
    """The three requests of the original client, byte for byte but for the port."""

    def __init__(self, port: int):
        self.http = httpx.Client(base_url=f"http://localhost:{port}", timeout=15)

    def accepted(self, response: httpx.Response, call: str) -> dict:
        """The body the original client gets; fail where axios would reject the reply."""
        if not 200 <= response.status_code < 300:
            fail(
                f"{call}: the server answered {response.status_code} {response.text[:200]!r}; "
                "message-queue's client (axios) rejects any status outside 200-299"
            )
        try:
            return response.json()
        except ValueError:
            fail(f"{call}: the client expects a JSON body; got {response.text[:200]!r}")

    def add_new_message(self, payload) -> int:
        body = json.dumps({"payload": payload}).encode()
        response = self.http.post("/message/new", content=body, headers=AXIOS_JSON)
        return self.accepted(response, "Producer.addNewMessage").get("id")

    def get_next_message(self) -> dict:
        return self.accepted(self.http.get("/message/next", headers=AXIOS), "getNextMessage")

    def notify_processed(self, message_id) -> bool:
        response = self.http.post(f"/message/{message_id}/status/done", headers=AXIOS_NO_BODY)
        return self.accepted(response, "Consumer.notifyProcessed").get("status") == "processed"


@pytest.mark.task(15)
def test_the_original_clients_requests_get_the_replies_it_accepts(target, original_client_server):
    client = Axios(original_client_server().port)
    if [client.add_new_message("foo"), client.add_new_message({"n": 2})] != [1, 2]:
        fail("Producer.addNewMessage must resolve with the new ids 1, 2 on a fresh database")
    first = client.get_next_message()
    if (first.get("id"), first.get("payload")) != (1, "foo"):
        fail(f"getNextMessage must resolve with message.id 1, message.payload 'foo': {first}")
    if client.notify_processed(1) is not True:
        fail("notifyProcessed(1) of a pending message must resolve true (status 'processed')")
    for what, message_id in (("done twice", 1), ("an unknown id", 99), ("a malformed id", "x")):
        if client.notify_processed(message_id) is not False:
            fail(f"notifyProcessed with {what} must resolve false, as against the original")
    if client.notify_processed(2) is not False:
        fail("notifyProcessed of a queued (not pending) message must resolve false")
    second = client.get_next_message()
    if (second.get("id"), second.get("payload")) != (2, {"n": 2}):
        fail(f"getNextMessage must hand out message 2 next: {second}")
    empty = client.get_next_message()
    if "id" in empty:
        fail(f"getNextMessage on an empty queue: a JSON object without id; got {empty}")
    if client.notify_processed(2) is not True:
        fail("notifyProcessed(2) of a pending message must resolve true")


@pytest.mark.task(15)
def test_our_python_clients_still_work_against_the_same_server(
    target, original_client_server, monkeypatch
):
    port = original_client_server().port
    module = target.load_module(FILE, monkeypatch)
    producer = target.function(module, "Producer", FILE)("127.0.0.1", port)
    consumer = target.function(module, "Consumer", FILE)("127.0.0.1", port)
    error = target.function(module, "MessageQueueError", FILE)
    message_id = producer.add_new_message(["a", 1])
    if consumer.get_next_message() != {"id": message_id, "payload": ["a", 1]}:
        fail("Consumer.get_next_message() must return {'id', 'payload'}")
    consumer.notify_processed(message_id)
    with pytest.raises(error) as refused:
        consumer.notify_processed(message_id)
    if refused.value.status != "unknown" or "does not exist" not in str(refused.value):
        fail(f"a second notify_processed must raise with status 'unknown': {refused.value!r}")


# --- the real client, with node ------------------------------------------------------------


def build_original_client() -> Path:
    """``run/message-queue`` with the original's ``src/`` transpiled into ``dist/``.

    Only what the client needs is installed: axios (the original's range), babel-cli and
    the original's own babel preset and plugin, configured as its package.json says.
    """
    for tool in ("node", "npm", "git"):
        if shutil.which(tool) is None:
            pytest.skip(f"the original client needs {tool}, which is not installed")
    mirror, why = original_repo(ORIGINAL)
    if mirror is None:
        pytest.skip(f"the original client: {why}")
    BUILD.mkdir(parents=True, exist_ok=True)
    with (BUILD / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build at a time across pytest workers
        if not (BUILD / "dist" / "index.js").is_file():
            _build(mirror)
    return BUILD


def _build(mirror: Path) -> None:
    archive = git(
        mirror,
        "archive",
        "HEAD",
        "src",
        "example.js",
        "package.json",
        capture_output=True,
        check=True,
    )
    subprocess.run(["tar", "x", "-C", str(BUILD)], input=archive.stdout, check=True)
    original = json.loads((BUILD / "package.json").read_text())
    wanted = {
        "name": "message-queue-original-client",
        "private": True,
        "babel": original["babel"],
        "dependencies": {
            "axios": original["dependencies"]["axios"],
            "babel-cli": "^6.26.0",
            **{name: original["devDependencies"][name] for name in _babel_packages(original)},
        },
    }
    (BUILD / "package.json").write_text(json.dumps(wanted, indent=2))
    install = subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=BUILD,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if install.returncode != 0:
        pytest.skip(f"npm install of the original client failed: {install.stderr[-400:]}")
    # The original's build script: "babel src -d dist".
    subprocess.run(["npx", "babel", "src", "-d", "dist"], cwd=BUILD, check=True, timeout=120)


def _babel_packages(package: dict) -> list[str]:
    """The preset and plugin packages its babel configuration names."""
    babel = package["babel"]
    return [f"babel-preset-{name}" for name in babel["presets"]] + [
        f"babel-plugin-{name}" for name in babel["plugins"]
    ]


EXAMPLE_OUTPUT = """\
message 1 added
message 2 added
next message to be processed is 1: foo
notified successfully? yes
next message to be processed is 2: bar
notified successfully? no
"""


@pytest.mark.task(15)
def test_the_original_example_runs_unchanged_but_for_the_port(target, original_client_server):
    """example.js adds foo and bar, processes one, then reports the other done 12 s later,
    after the original's default 10 s timeout (PENDING_TIMEOUT=10000 here): too late."""
    port = original_client_server().port
    folder = build_original_client()
    example = (folder / "example.js").read_text()
    here = example.replace("new Producer()", f"new Producer({{ port: {port} }})").replace(
        "new Consumer()", f"new Consumer({{ port: {port} }})"
    )
    if here.count(str(port)) != 2:
        fail("example.js no longer builds its Producer and Consumer as this test expects")
    script = folder / f"example-{port}.js"  # the same folder: it requires ./dist
    script.write_text(here)
    run = subprocess.run(
        ["node", script.name], cwd=folder, capture_output=True, text=True, timeout=60
    )
    if run.stdout != EXAMPLE_OUTPUT or run.returncode != 0:
        fail(
            "message-queue's example.js against this server printed:\n"
            f"{run.stdout}{run.stderr}\nexpected (as against the original server):\n"
            f"{EXAMPLE_OUTPUT}"
        )
