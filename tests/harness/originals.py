"""The original projects' git repositories, which some graders read (never run from here).

Task 15 runs message-queue's own client, task 16 serves pop-queue's own page, the
dashboard tests run Kue's own tests. Each reads files of the original from a git
repository found, in this order, at ``$ORIGINALS_DIR/OWNER+NAME/repo`` (default
``/work/.mirror``, where this project's machines keep them), then at
``run/originals/OWNER+NAME.git``; when neither exists it is cloned there from GitHub
(``$ORIGINALS_URL/OWNER/NAME``, default ``https://github.com``) once; a failed clone is
not tried again until its ``.failed`` file is deleted (``GRADER_FETCH_ORIGINALS=0``: no
clone at all). :func:`original_repo` returns None,
with the reason, when there is no copy and none can be made: the caller skips.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
LOCAL = REPO_ROOT / "run" / "originals"
CLONE_SECONDS = 120


def base_url() -> str:
    return os.environ.get("ORIGINALS_URL", "https://github.com").rstrip("/")


def _is_repo(path: Path) -> bool:
    return (path / "HEAD").is_file() or (path / ".git").exists()


def original_repo(slug: str) -> tuple[Path | None, str]:
    """(the git directory of ``slug`` "OWNER/NAME", or None; what was tried)."""
    folder = slug.replace("/", "+")
    kept = Path(os.environ.get("ORIGINALS_DIR", "/work/.mirror")) / folder / "repo"
    if _is_repo(kept):
        return kept, ""
    local = LOCAL / f"{folder}.git"
    if _is_repo(local):
        return local, ""
    if os.environ.get("GRADER_FETCH_ORIGINALS", "1") == "0":
        return None, f"no copy of {slug} at {kept} or {local} (GRADER_FETCH_ORIGINALS=0)"
    LOCAL.mkdir(parents=True, exist_ok=True)
    with (LOCAL / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one clone at a time across pytest workers
        failed = LOCAL / f"{folder}.failed"
        if not _is_repo(local) and not failed.exists():
            try:
                cloned = subprocess.run(
                    ["git", "clone", "--quiet", "--bare", f"{base_url()}/{slug}", str(local)],
                    capture_output=True,
                    text=True,
                    timeout=CLONE_SECONDS,
                    env=dict(os.environ, GIT_TERMINAL_PROMPT="0"),
                )
                why = cloned.stderr.strip()[-300:]
            except subprocess.TimeoutExpired:
                why = f"no answer within {CLONE_SECONDS} s"
            if not _is_repo(local):
                failed.write_text(why)  # this checkout does not try again: delete to retry
    if _is_repo(local):
        return local, ""
    reason = failed.read_text() if failed.exists() else ""
    return None, (
        f"no copy of {slug} at {kept} or {local}, and cloning it from GitHub failed "
        f"({reason or 'no reason given'}); set ORIGINALS_DIR, or delete {failed} to retry"
    )


def git(repo: Path, *args: str, **kwargs) -> subprocess.CompletedProcess:
    """``git ARGS`` in ``repo``, whoever owns it (a gradebook's sandbox uid does not)."""
    return subprocess.run(
        ["git", "-c", "safe.directory=*", "--git-dir", str(_git_dir(repo)), *args], **kwargs
    )


def _git_dir(repo: Path) -> Path:
    return repo / ".git" if (repo / ".git").exists() else repo
