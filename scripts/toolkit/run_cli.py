"""``scripts/run N``: run a numbered task's script(s) against a Redis (see ``--help``).

Which Redis: the one the learner named with ``REDIS_URL``, used as given, up or down
(so task 1's "not connected" line can be seen); otherwise the repository's own Redis,
started by ``scripts/start-redis`` with its state under ``run/``. It never writes into a
Redis it did not start without saying so first, and always says which Redis it uses.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

from toolkit.redis_servers import REPO_ROOT, add_missing_dump_keys, free_port, port_is_open
from toolkit.registry import task
from toolkit.stubs import is_stub

RUN_DIR = Path(os.environ.get("RUN_DIR") or REPO_ROOT / "run")
PREFERRED_PORT_ENV = "SCRIPTS_RUN_REDIS_PORT"  # tests point it at a free port
FIRST_LINE_WAIT = 15  # seconds a background script gets to print its first line
STOP_WAIT = 10  # seconds a background script gets to stop after the last one ended

DESCRIPTION = """\
Run task N's script(s) from exercises/ (or the reference from solutions/ with
--solution). REDIS_URL, when you set it, is used as given (up or down: with
REDIS_URL=redis://127.0.0.1:1/0 task 1 shows its "not connected" line). Without it,
the repository's own Redis is used, started by scripts/start-redis under run/ when it is
not running (stop it with scripts/stop-redis --port N).
A task with two scripts (task 5) runs the first in the background and the second in
the foreground, each line prefixed with its script's name. ARGS go to the last script.
An exercise still identical to its stub is not run: "task N not started"."""


def say(message: str) -> None:
    print(f"scripts/run: {message}", file=sys.stderr, flush=True)


def _alive_redis(pidfile: Path) -> bool:
    """True when ``pidfile`` names a running redis-server or embedded Redis."""
    try:
        cmdline = Path(f"/proc/{int(pidfile.read_text().strip())}/cmdline").read_bytes()
    except (OSError, ValueError):
        return False
    return b"redis-server" in cmdline or b"embedded_redis" in cmdline


def own_redis_port() -> int | None:
    """The port of a Redis that scripts/start-redis started under run/ and that still runs."""
    for pidfile in sorted(RUN_DIR.glob("redis-*/*.pid")):
        port = pidfile.parent.name.removeprefix("redis-")
        if port.isdigit() and pidfile.stem in ("real", "embedded") and _alive_redis(pidfile):
            return int(port)
    return None


def _port_free(port: int) -> bool:
    """True when nothing listens on 127.0.0.1:port (checked by binding: no connection made)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def choose_redis() -> str | None:
    """REDIS_URL for the scripts, after saying which Redis it is; None when none could start."""
    given = os.environ.get("REDIS_URL")
    if given:
        say(f"using REDIS_URL={given} (set by you; used as given, up or down)")
        return given
    port = own_redis_port()
    if port is None:
        preferred = int(os.environ.get(PREFERRED_PORT_ENV) or 6379)
        port = preferred if _port_free(preferred) else free_port()
        started = subprocess.run(
            [str(REPO_ROOT / "scripts" / "start-redis"), "--port", str(port)],
            stdout=sys.stderr,
            check=False,
        )
        if started.returncode != 0:
            return None
    url = f"redis://localhost:{port}/0"
    say(f"using the repository's Redis at {url} (scripts/stop-redis --port {port} stops it)")
    return url


def _add_dump_keys(url: str) -> None:
    """The course's outputs expect the keys of dump.rdb (task 0): add those this Redis lacks."""
    host_port = url.split("://", 1)[-1].rsplit("@", 1)[-1].split("/", 1)[0]
    host, _, port = host_port.rpartition(":")
    if not port_is_open(host.strip("[]") or "localhost", int(port or 6379)):
        return  # a Redis that is down: the script shows the failure itself
    try:
        added = add_missing_dump_keys(url)
    except Exception as error:  # noqa: BLE001 - a warning, the script still runs
        say(f"warning: could not check the keys of dump.rdb on {url}: {error}")
        return
    if added:
        say(f"this Redis lacked the key(s) of dump.rdb; set {', '.join(added)} (as task 0 does)")


def runnable(number: int) -> tuple[str, ...]:
    """The scripts ``scripts/run N`` starts: a task's demo ``*_main.py`` alone when it has one."""
    scripts = task(number).scripts
    return tuple(name for name in scripts if name.endswith("_main.py")) or scripts


def not_started(number: int, folder: Path, scripts: tuple[str, ...]) -> str | None:
    for name in scripts:
        if not (folder / name).is_file():
            return (
                f"task {number} not started: exercises/{name} does not exist"
                f" (scripts/reset {number} restores the stub)"
            )
        if is_stub(folder / name):
            return (
                f"task {number} not started: edit exercises/{name}"
                f" (or run the reference: scripts/run {number} --solution)"
            )
    return None


def run_together(names: tuple[str, ...], args: list[str]) -> int:
    """Each script but the last in the background, the last in the foreground, lines prefixed."""
    width = max(len(name) for name in names)
    lock = threading.Lock()
    running: list[tuple[str, subprocess.Popen, threading.Thread]] = []

    def pump(proc: subprocess.Popen, name: str, ready: threading.Event) -> None:
        for line in proc.stdout:
            with lock:  # one write per line, so two scripts' lines never merge
                sys.stdout.write(f"{name:<{width}} | {line.rstrip(chr(10))}\n")
                sys.stdout.flush()
            ready.set()
        ready.set()

    try:
        for position, name in enumerate(names):
            last = position == len(names) - 1
            proc = subprocess.Popen(
                [sys.executable, name, *(args if last else [])],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            ready = threading.Event()
            reader = threading.Thread(target=pump, args=(proc, name, ready), daemon=True)
            reader.start()
            running.append((name, proc, reader))
            if not last:
                ready.wait(FIRST_LINE_WAIT)
        return _wait_all(running)
    except KeyboardInterrupt:  # Ctrl+C reached the scripts too: let them finish cleanly
        for _name, proc, reader in running:
            try:
                proc.wait(timeout=STOP_WAIT)
            except subprocess.TimeoutExpired:
                proc.kill()
            reader.join(5)
        return 130


def _wait_all(running: list[tuple[str, subprocess.Popen, threading.Thread]]) -> int:
    """Wait for the foreground script, then give the others STOP_WAIT seconds to stop."""
    codes = []
    foreground = running[-1][0]
    for position, (name, proc, reader) in enumerate(reversed(running)):
        try:
            codes.append(proc.wait(timeout=None if position == 0 else STOP_WAIT))
        except subprocess.TimeoutExpired:
            proc.terminate()
            proc.wait()
            say(
                f"{name} was still running {STOP_WAIT} s after {foreground} ended "
                "(it should stop by itself); it was stopped"
            )
            codes.append(1)
        reader.join(5)
    return next((code for code in codes if code), 0)


USAGE = "scripts/run N [--solution] [-- ARGS...]"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    own = argv[: argv.index("--")] if "--" in argv else argv
    if "-h" in own or "--help" in own:
        print(f"Usage: {USAGE}\n\n{DESCRIPTION}")
        return 0
    parser = argparse.ArgumentParser(prog="scripts/run", usage=USAGE, add_help=False)
    parser.add_argument("number", type=int, metavar="N")
    parser.add_argument("--solution", "--solutions", action="store_true")
    parser.add_argument("args", nargs="*", metavar="ARGS")
    options = parser.parse_args(argv)
    try:
        scripts = runnable(options.number)
    except KeyError as error:
        print(f"error: {error.args[0]}", file=sys.stderr)
        return 2
    folder = REPO_ROOT / ("solutions" if options.solution else "exercises")
    if not options.solution and (refusal := not_started(options.number, folder, scripts)):
        print(refusal, file=sys.stderr)
        return 1
    url = choose_redis()
    if url is None:
        return 1
    _add_dump_keys(url)
    os.environ.update(REDIS_URL=url, PYTHONUNBUFFERED="1")
    old_path = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = str(REPO_ROOT) + (f":{old_path}" if old_path else "")
    os.chdir(folder)
    if not scripts:  # task 0 has no script: show what the course checks, GET Holberton
        import redis

        say(f"task {options.number} has no script; GET Holberton on {url}:")
        print(redis.Redis.from_url(url, decode_responses=True).get("Holberton"))
        return 0
    if len(scripts) > 1:
        return run_together(scripts, options.args)
    if scripts[0].endswith("_test.py"):
        command = ["-m", "pytest", "-q", "-p", "no:cacheprovider", scripts[0], *options.args]
    else:
        command = [scripts[0], *options.args]
    os.execv(sys.executable, [sys.executable, *command])
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
