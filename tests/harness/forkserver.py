"""Start graded scripts from a process that has already imported FastAPI, uvicorn, redis-py.

Every grader starts the learner's script as ``python N-name.py``; most of the time that
takes (a second for a web app, a third of one for a redis-py script) goes into importing
FastAPI, pydantic, uvicorn and redis-py again. A fork server (as ``multiprocessing``'s
``forkserver``) pays for those imports once per pytest process and kind:
:class:`ForkServer` starts ``python -m harness.forkserver FD MODULES``, which imports the
modules of its kind (:data:`PRELOADS`: a plain script's, or a web app's) and then, for
each request, forks a child that *is* ``python SCRIPT``: its own session (process
group), the request's cwd, environment, ``sys.argv`` and ``sys.path[0]``, stdin from
/dev/null and stdout/stderr on the caller's pipes, default signal handlers, and the
script run as ``__main__`` (``runpy.run_path``). An uncaught exception prints the
learner's traceback without this module's frames and exits 1; the end of the script is
the interpreter's own exit (non-daemon threads joined, atexit).

The caller gets a :class:`ForkedProcess`, which answers ``pid``, ``poll``, ``wait``,
``send_signal`` and ``returncode`` as ``subprocess.Popen`` does (the fork server reaps
the child and sends its exit code). :meth:`ForkServer.can_fork` says when a start must be a
plain subprocess: an interpreter setting in the environment differs from the fork
server's, or the command is not ``python SCRIPT ARGS...``; and :func:`fork_server` gives
none for a PYTHONPATH other than the repository's (it may run code at start-up).
``GRADER_FORKSERVER=0`` turns it off.
"""

from __future__ import annotations

import importlib
import json
import os
import runpy
import selectors
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

SCRIPT_PRELOAD = ("redis", "redis.asyncio", "pykue")
WEB_PRELOAD = (
    *SCRIPT_PRELOAD,
    "fastapi",
    "fastapi.responses",
    "fastapi.staticfiles",
    "pydantic",
    "httpx",
    "pykue.web.guard",
    "uvicorn",
    "uvicorn.config",
    "uvicorn.server",
    "uvicorn.lifespan.on",
    "uvicorn.loops.auto",
    "uvicorn.protocols.http.auto",
    "uvicorn.protocols.websockets.auto",
)
PRELOADS = {"script": SCRIPT_PRELOAD, "web": WEB_PRELOAD}  # one fork server for each kind
# Environment variables read when an interpreter starts: a child forked from the server
# has the server's, so a start whose environment differs in one of them is a subprocess.
STARTUP_ENV = (
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONUNBUFFERED",
    "PYTHONDONTWRITEBYTECODE",
    "PYTHONIOENCODING",
    "PYTHONUTF8",
    "PYTHONHASHSEED",
    "PYTHONWARNINGS",
    "PYTHONSTARTUP",
    "PYTHONSAFEPATH",
    "PYTHONDEVMODE",
    "PYTHONFAULTHANDLER",
    "PYTHONTRACEMALLOC",
    "PYTHONOPTIMIZE",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
)
MAX_MESSAGE = 1 << 20
# The PYTHONPATH of harness.process.script_env: the repository. What it runs at start-up
# (nothing, or in a gradebook's grader copy a sitecustomize setting the same RLIMIT_AS for
# every script) runs once in the fork server and is inherited. Another PYTHONPATH may
# hold a sitecustomize that reads per-start switches (task 9's grader fixture): such a
# start is always a plain subprocess.
PLAIN_PYTHONPATH = str(Path(__file__).resolve().parents[2])
OUR_FRAMES = (__file__, runpy.__file__, "<frozen runpy>")  # left out of a learner's traceback


def enabled() -> bool:
    return os.environ.get("GRADER_FORKSERVER", "1") != "0"


def startup_settings(env: dict[str, str]) -> dict[str, str | None]:
    return {name: env.get(name) for name in STARTUP_ENV}


# -- the server side: python -m harness.forkserver FD MODULES ------------------------------


def _child(request: dict, fds: list[int], closing: list) -> int:
    """In the forked child: become ``python SCRIPT``; return its exit code."""
    os.setsid()
    for thing in closing:
        thing.close()
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    out, err = fds
    os.dup2(out, 1)
    os.dup2(err, 2)
    os.close(out)
    os.close(err)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    script, *args = request["argv"][1:]
    sys.argv = [script, *args]
    sys.path[0] = str(Path(script).resolve().parent)
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit:
        raise
    except BaseException as error:  # noqa: BLE001 - the interpreter's own last resort
        tb = error.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename in OUR_FRAMES:
            tb = tb.tb_next
        sys.excepthook(type(error), error.with_traceback(tb), tb)
        return 1
    return 0


def serve(fd: int, preload: list[str]) -> int:
    """Import ``preload``, then answer fork requests on the socket ``fd`` until it closes."""
    for name in preload:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    conn = socket.socket(fileno=fd)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    selector = selectors.DefaultSelector()
    selector.register(conn, selectors.EVENT_READ)
    selector.register(wake_r, selectors.EVENT_READ)
    children: set[int] = set()
    while True:
        for key, _ in selector.select():
            if key.fileobj is conn:
                data, fds, _flags, _addr = socket.recv_fds(conn, MAX_MESSAGE, 2)
                if not data:
                    return 0
                pid = os.fork()
                if pid == 0:
                    selector.close()
                    os.close(wake_r)
                    os.close(wake_w)
                    return _child(json.loads(data), fds, [conn])
                for received in fds:
                    os.close(received)
                children.add(pid)
                conn.sendall(json.dumps({"started": pid}).encode() + b"\n")
            else:
                os.read(wake_r, 4096)
        for pid in list(children):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                children.discard(pid)
                code = os.waitstatus_to_exitcode(status)
                conn.sendall(json.dumps({"exited": pid, "code": code}).encode() + b"\n")


# -- the caller's side ----------------------------------------------------------------------


class ForkedProcess:
    """A child of the fork server, seen as a ``subprocess.Popen`` (the parts graders use)."""

    def __init__(self, pid: int, stdout, stderr) -> None:
        self.pid = pid
        self.stdout = stdout
        self.stderr = stderr
        self.returncode: int | None = None
        self._exited = threading.Event()

    def _set_exit(self, code: int) -> None:
        self.returncode = code
        self._exited.set()

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if not self._exited.wait(timeout):
            raise subprocess.TimeoutExpired([str(self.pid)], timeout)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.returncode is None:
            try:
                os.kill(self.pid, signum)
            except ProcessLookupError:
                pass


class ForkServer:
    """One fork server process for this pytest process, started on first use."""

    def __init__(self, env: dict[str, str], preload: tuple[str, ...]) -> None:
        ours, theirs = socket.socketpair()
        self.settings = startup_settings(env)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "harness.forkserver", str(theirs.fileno()), ",".join(preload)],
            env=env,
            cwd=Path(__file__).resolve().parent.parent,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            pass_fds=(theirs.fileno(),),
        )
        theirs.close()
        self.conn = ours
        self.lock = threading.Lock()
        self.started = threading.Condition()
        self.children: dict[int, ForkedProcess] = {}
        self.early_exits: dict[int, int] = {}  # exits read before start() registered the child
        self.last_started: int | None = None
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def can_fork(self, argv: list[str], env: dict[str, str]) -> bool:
        return (
            self.proc.poll() is None
            and len(argv) >= 2
            and argv[0] == sys.executable
            and not argv[1].startswith("-")
            and startup_settings(env) == self.settings
        )

    def _read(self) -> None:
        for line in self.conn.makefile("rb"):
            message = json.loads(line)
            with self.started:
                if "started" in message:
                    self.last_started = message["started"]
                    self.started.notify_all()
                elif (child := self.children.pop(message["exited"], None)) is not None:
                    child._set_exit(message["code"])
                else:
                    self.early_exits[message["exited"]] = message["code"]
        with self.started:  # the server died: nothing more will be started or reaped
            self.last_started = -1
            self.started.notify_all()

    def start(self, argv: list[str], env: dict[str, str], cwd: Path) -> ForkedProcess:
        """Fork ``argv`` (``python SCRIPT ...``) with pipes for its stdout and stderr."""
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        request = json.dumps({"argv": argv, "env": env, "cwd": str(cwd)}).encode()
        with self.lock:
            with self.started:
                self.last_started = None
                socket.send_fds(self.conn, [request], [out_w, err_w])
                os.close(out_w)
                os.close(err_w)
                if not self.started.wait_for(lambda: self.last_started is not None, 30):
                    raise RuntimeError("the grader's fork server did not answer")
                pid = self.last_started
                if pid < 0:
                    raise RuntimeError("the grader's fork server stopped")
                child = ForkedProcess(
                    pid,
                    open(out_r, encoding="utf-8", errors="replace"),
                    open(err_r, encoding="utf-8", errors="replace"),
                )
                if pid in self.early_exits:
                    child._set_exit(self.early_exits.pop(pid))
                else:
                    self.children[pid] = child
        return child


_servers: dict[str, ForkServer] = {}
_servers_lock = threading.Lock()


def fork_server(env: dict[str, str], kind: str) -> ForkServer | None:
    """This process's fork server of ``kind`` ("script" or "web"), started on first use;
    None for an environment whose PYTHONPATH may run code at start-up."""
    if env.get("PYTHONPATH") != PLAIN_PYTHONPATH:
        return None
    with _servers_lock:
        server = _servers.get(kind)
        if server is None or server.proc.poll() is not None:
            server = _servers[kind] = ForkServer(env, PRELOADS[kind])
        return server


if __name__ == "__main__":
    sys.exit(serve(int(sys.argv[1]), [name for name in sys.argv[2].split(",") if name]))
