# shellcheck shell=bash
# Shared helpers for the bash entry points in scripts/ (source it, do not run it):
#   ensure_venv            create .venv and install requirements.txt on first use
#   redis_url_port         the port of REDIS_URL (6379 by default)
#   redis_answers H P      true when a Redis answers PING on H:P
#   port_open H P          true when anything accepts TCP connections on H:P
#   ensure_redis           export REDIS_URL; start a Redis there when none answers (local only)
# Messages go to stderr so that a script's stdout stays exactly its own output.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# The virtual environment (VENV_DIR overrides it, e.g. the tests' own venv).
VENV_DIR="${VENV_DIR:-$REPO_ROOT/.venv}"
VENV_PYTHON="$VENV_DIR/bin/python"
# Runtime state (Redis copies, pid files, logs); git ignores run/. Tests point it elsewhere.
RUN_DIR="${RUN_DIR:-$REPO_ROOT/run}"
DEFAULT_REDIS_URL="redis://localhost:6379/0"

say() { echo "$*" >&2; }

# A Python 3.11 or newer to create the venv with.
find_python() {
    local candidate
    for candidate in python3.13 python3.12 python3.11 python3; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    say "error: Python 3.11 or newer is needed (python3 --version says:" \
        "$(python3 --version 2>&1 || echo 'no python3')). Install it and try again."
    return 1
}

# True when every pinned line of requirements.txt is installed in .venv (no pip call).
requirements_satisfied() {
    "$VENV_PYTHON" - "$REPO_ROOT/requirements.txt" <<'PY' 2>/dev/null
import re
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

requirements = Path(sys.argv[1])
for raw in requirements.read_text(encoding="utf-8").splitlines():
    line = raw.split("#", 1)[0].strip()
    if not line:
        continue
    try:
        if line.startswith("-e"):  # the project itself, editable: its name from pyproject
            folder = requirements.parent / line[2:].strip()
            name = tomllib.loads((folder / "pyproject.toml").read_text())["project"]["name"]
            version(name)
            continue
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)(\[[^\]]*\])?\s*==\s*(\S+)", line)
        if not match or version(match.group(1)) != match.group(3):
            sys.exit(1)
    except (PackageNotFoundError, OSError, KeyError):
        sys.exit(1)
PY
}

# Make sure .venv exists with requirements.txt installed. Installs on first use, and again
# whenever requirements.txt is newer than the stamp file left by the last install.
ensure_venv() {
    local stamp="$VENV_DIR/.requirements.stamp"
    local requirements="$REPO_ROOT/requirements.txt"
    if [[ ! -x "$VENV_PYTHON" ]]; then
        local python
        python="$(find_python)" || return 1
        say "Creating .venv with $("$python" --version 2>&1) (first use) ..."
        "$python" -m venv "$VENV_DIR" || {
            say "error: could not create .venv (on Debian/Ubuntu: apt-get install python3-venv)"
            return 1
        }
        rm -f "$stamp"
    fi
    if [[ -f "$stamp" && ! "$requirements" -nt "$stamp" ]]; then
        return 0
    fi
    if ! requirements_satisfied; then
        say "Installing requirements.txt into .venv (first use or requirements changed) ..."
        (cd "$REPO_ROOT" &&
            "$VENV_PYTHON" -m pip install --quiet --disable-pip-version-check \
                -r requirements.txt) >&2 || {
            say "error: pip install -r requirements.txt failed (see above)"
            return 1
        }
    fi
    touch "$stamp" 2>/dev/null || true
}

# The port in REDIS_URL (redis://[user:password@]host[:port][/db]); 6379 when absent.
redis_url_port() {
    local url="${REDIS_URL:-$DEFAULT_REDIS_URL}" rest
    rest="${url#*://}"
    rest="${rest##*@}"
    rest="${rest%%/*}"
    if [[ "$rest" =~ :([0-9]+)$ ]]; then
        echo "${BASH_REMATCH[1]}"
    else
        echo 6379
    fi
}

# The host in REDIS_URL (localhost when absent).
redis_url_host() {
    local url="${REDIS_URL:-$DEFAULT_REDIS_URL}" rest
    rest="${url#*://}"
    rest="${rest##*@}"
    rest="${rest%%/*}"
    rest="${rest%:*}"
    echo "${rest:-localhost}"
}

# True when HOST:PORT accepts a TCP connection (bash's /dev/tcp, no other tool needed).
port_open() {
    (exec 2>/dev/null 3<>"/dev/tcp/$1/$2")
}

# True when a Redis answers PING on HOST:PORT (+PONG, or an auth error: it is a Redis).
redis_answers() {
    local reply
    reply="$(
        exec 2>/dev/null 3<>"/dev/tcp/$1/$2" || exit 1
        printf '*1\r\n$4\r\nPING\r\n' >&3
        IFS= read -r -t 3 line <&3 && printf '%s' "$line"
    )" || return 1
    [[ "$reply" == "+PONG"* || "$reply" == "-NOAUTH"* || "$reply" == "-LOADING"* ]]
}

# True while process PID runs (a zombie waiting for its parent to reap it has stopped).
process_alive() {
    local state
    kill -0 "$1" 2>/dev/null || return 1
    state="$(ps -o stat= -p "$1" 2>/dev/null)" || return 1
    [[ -n "$state" && "$state" != Z* ]]
}

# "real" or "embedded" and the pid of what start-redis started on PORT, if it still runs.
started_redis() {
    local port="$1" kind pidfile pid
    for kind in real embedded; do
        pidfile="$RUN_DIR/redis-$port/$kind.pid"
        [[ -f "$pidfile" ]] || continue
        pid="$(tr -dc '0-9' <"$pidfile")"
        if [[ -n "$pid" ]] && process_alive "$pid" &&
            ps -p "$pid" -o command= 2>/dev/null | grep -q -e redis-server -e embedded_redis; then
            echo "$kind $pid"
            return 0
        fi
    done
    return 1
}

# Parse "--port N" (the only option the status and stop scripts take).
parse_port_option() {
    PORT=""
    while [[ $# -gt 0 ]]; do
        case "$1" in
            --port)
                PORT="${2:-}"
                shift 2 || true
                ;;
            --port=*)
                PORT="${1#--port=}"
                shift
                ;;
            -h | --help)
                usage
                exit 0
                ;;
            *)
                say "error: unknown argument: $1"
                usage >&2
                exit 2
                ;;
        esac
    done
    PORT="${PORT:-$(redis_url_port)}"
    if ! [[ "$PORT" =~ ^[0-9]+$ ]]; then
        say "error: --port needs a number"
        exit 2
    fi
}

# Export REDIS_URL (default redis://localhost:6379/0) and make sure a Redis answers there:
# start one with scripts/start-redis when the URL points at this machine, else fail.
# (REDIS_HOST/REDIS_PORT, not HOST/PORT: those are the web apps' own, and may be exported.)
ensure_redis() {
    export REDIS_URL="${REDIS_URL:-$DEFAULT_REDIS_URL}"
    local REDIS_HOST REDIS_PORT PROBE_HOST
    REDIS_HOST="$(redis_url_host)"
    REDIS_PORT="$(redis_url_port)"
    case "$REDIS_HOST" in
        localhost | 127.0.0.1 | "[::1]" | ::1) PROBE_HOST=127.0.0.1 ;;
        *) PROBE_HOST="$REDIS_HOST" ;;
    esac
    redis_answers "$PROBE_HOST" "$REDIS_PORT" && return 0
    if [[ "$PROBE_HOST" != 127.0.0.1 ]]; then
        say "error: no Redis answers at $REDIS_URL (start it on $REDIS_HOST, or unset REDIS_URL)"
        return 1
    fi
    "$REPO_ROOT/scripts/start-redis" --port "$REDIS_PORT" >&2
}
