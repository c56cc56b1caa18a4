"""``python -m pykue``: command-line entry point (subcommands are added here)."""

from __future__ import annotations

import argparse
import json
import sys

import pykue


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run a subcommand."""
    parser = argparse.ArgumentParser(prog="python -m pykue", description=pykue.__doc__)
    parser.add_argument("--redis-url", default=None, help="default: env REDIS_URL")
    parser.add_argument("--prefix", default="q", help="queue prefix (default q)")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("counts", help="print the number of jobs in each state (JSON)")
    args = parser.parse_args(argv)
    if args.command == "counts":
        queue = pykue.create_queue(args.redis_url, prefix=args.prefix)
        try:
            print(json.dumps(queue.counts()))
        except pykue.PykueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        finally:
            queue.shutdown()
        return 0
    parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
