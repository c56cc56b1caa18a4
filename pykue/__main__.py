"""``python -m pykue``: command-line tools for a queue.

    python -m pykue counts    [--redis URL] [--prefix q]
    python -m pykue dashboard [--port 3000] [--host 127.0.0.1] [--token T]
                              [--redis URL] [--prefix q]
    python -m pykue check     [--repair] [--redis URL] [--prefix q]

``--redis`` defaults to env REDIS_URL, else redis://localhost:6379/0. The dashboard's
``--token`` defaults to env PYKUE_DASHBOARD_TOKEN: when set, every state change needs it.
Exit codes: 0 fine, 1 problems remain (check), Redis unreachable or the port is taken,
2 bad usage.
"""

from __future__ import annotations

import argparse
import json
import sys

import pykue


def _common(parser: argparse.ArgumentParser, top: bool = False) -> None:
    # given before or after the subcommand; a subcommand's default must not hide the other
    parser.add_argument(
        "--redis",
        "--redis-url",
        dest="redis_url",
        default=None if top else argparse.SUPPRESS,
        metavar="URL",
        help="Redis URL (default: env REDIS_URL, else redis://localhost:6379/0)",
    )
    parser.add_argument(
        "--prefix", default="q" if top else argparse.SUPPRESS, help="queue prefix (default q)"
    )


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 < port < 65536:
        raise argparse.ArgumentTypeError(f"port must be 1..65535, not {port}")
    return port


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (one subparser per tool)."""
    parser = argparse.ArgumentParser(
        prog="python -m pykue", description="pykue's tools: counts, dashboard, check."
    )
    _common(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    counts = sub.add_parser("counts", help="print the number of jobs in each state (JSON)")
    _common(counts)
    dash = sub.add_parser("dashboard", help="serve the dashboard and Kue's JSON API")
    _common(dash)
    dash.add_argument("--port", type=_port, default=3000, help="port (default 3000)")
    dash.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default 127.0.0.1; 0.0.0.0 exposes the queue to the network)",
    )
    dash.add_argument(
        "--token",
        default=None,
        help="require this token (16+ characters) on every state change "
        "(default: env PYKUE_DASHBOARD_TOKEN; the env var keeps it out of `ps`)",
    )
    chk = sub.add_parser("check", help="verify the queue's invariants in Redis")
    _common(chk)
    chk.add_argument("--repair", action="store_true", help="fix what can be fixed")
    return parser


def _counts(queue: pykue.Queue) -> int:
    print(json.dumps(queue.counts()))
    return 0


def _dashboard(queue: pykue.Queue, host: str, port: int, secret: str | None) -> int:
    from pykue.web import create_app
    from pykue.web.guard import LOCAL_HOSTS, allowed_hosts, serve
    from pykue.web.token import Token

    token = Token.from_env(secret)
    queue.counts()  # fail early and clearly when Redis is unreachable
    if not token.required and host.strip("[]") not in LOCAL_HOSTS:
        print(
            f"warning: the dashboard on {host} lets anyone who reaches it change the queue: "
            "set --token or PYKUE_DASHBOARD_TOKEN (see the README)",
            file=sys.stderr,
        )

    def listening(url: str) -> None:
        print(f"pykue dashboard for queue {queue.prefix!r} on {url}/", flush=True)
        if token.required:
            print("changes need the token: sign in on the page (or send Authorization: Bearer)")

    app = create_app(queue, token=token, hosts=allowed_hosts(bound=host))
    serve(app, on_listening=listening, host=host, port=port, log_level="warning")
    return 0


def _check(queue: pykue.Queue, repair: bool) -> int:
    from pykue.check import check, summary

    problems = queue._call(lambda: check(queue, queue.prefix, repair=repair))
    for problem in problems:
        print(problem)
    remaining = problems
    if repair and problems:
        remaining = queue._call(lambda: check(queue, queue.prefix))
        for problem in remaining:
            print(f"still: {problem}")
    print(summary(problems) + ("; consistent now" if repair and problems and not remaining else ""))
    if remaining:
        print(f"{len(remaining)} problem(s) remain", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run a tool; the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    if args.command == "dashboard":
        from pykue.web.token import Token

        try:
            Token.from_env(args.token)
        except ValueError as exc:
            parser.error(str(exc))
    queue = pykue.create_queue(args.redis_url, prefix=args.prefix)
    try:
        if args.command == "counts":
            return _counts(queue)
        if args.command == "dashboard":
            return _dashboard(queue, args.host, args.port, args.token)
        return _check(queue, args.repair)
    except pykue.PykueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        queue.shutdown(timeout=1)


if __name__ == "__main__":
    sys.exit(main())
