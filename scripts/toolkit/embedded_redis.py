"""The embedded Redis: a fakeredis TCP server in the foreground, preloaded from an RDB file.

``scripts/start-redis`` runs it in the background where no ``redis-server`` is installed
(or with ``--embedded``)::

    python -m toolkit.embedded_redis --port 6379 --rdb run/redis-6379/dump.rdb

It serves the string keys of the RDB file (``dump.rdb``: Holberton = School), keeps its
data in memory only (it never writes the RDB file), and stops cleanly on SIGTERM or
Ctrl+C, exit code 0.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

from toolkit.redis_servers import DUMP_RDB, serve_fake


def _stop(signum, frame) -> None:
    raise KeyboardInterrupt  # leaves serve_forever() like Ctrl+C does


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m toolkit.embedded_redis",
        description="Serve an in-memory Redis (fakeredis) on TCP, preloaded from an RDB file.",
    )
    parser.add_argument("--port", type=int, default=6379, help="TCP port (default 6379)")
    parser.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    parser.add_argument(
        "--rdb", type=Path, default=DUMP_RDB, help="RDB file whose keys to load (read only)"
    )
    parser.add_argument("--pidfile", type=Path, help="write the process id here while serving")
    args = parser.parse_args(argv)

    signal.signal(signal.SIGTERM, _stop)
    try:
        server = serve_fake(args.port, args.host, args.rdb)
    except OSError as error:
        print(
            f"embedded Redis: cannot listen on {args.host}:{args.port}: {error.strerror}",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        return 0
    try:
        if args.pidfile:
            args.pidfile.write_text(f"{os.getpid()}\n", encoding="utf-8")
        print(f"Embedded Redis (fakeredis) listening on {args.host}:{args.port}", flush=True)
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        if args.pidfile:
            args.pidfile.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
