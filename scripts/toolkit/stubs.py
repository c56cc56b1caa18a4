"""The shipped exercise stubs, known by their SHA-256 (``scripts/stubs.sha256``).

A file is "not started" while its content is still a shipped stub. Comparing with
``exercises/`` itself cannot tell (that is the file being graded), and comparing with
git HEAD stops working once a learner commits, so the hashes are recorded when the
stubs are written: ``python -m toolkit.stubs --write`` (from ``scripts/``).
``--check`` exits 1 when the manifest and ``exercises/`` disagree.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from functools import cache
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
EXERCISES = REPO_ROOT / "exercises"
MANIFEST = REPO_ROOT / "scripts" / "stubs.sha256"


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@cache
def shipped() -> dict[str, str]:
    """File name -> SHA-256 of its shipped stub (``sha256sum`` format, one per line)."""
    if not MANIFEST.is_file():
        return {}
    hashes = {}
    for line in MANIFEST.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            sha, path = line.split(maxsplit=1)
            hashes[Path(path).name] = sha
    return hashes


def is_stub(path: Path) -> bool:
    """True when ``path`` holds exactly the shipped stub of its file name."""
    sha = shipped().get(path.name)
    return sha is not None and path.is_file() and digest(path.read_bytes()) == sha


def current() -> dict[str, str]:
    """File name -> SHA-256 of every learner file now in ``exercises/``."""
    return {
        p.name: digest(p.read_bytes())
        for p in sorted(EXERCISES.iterdir())
        if p.is_file() and not p.name.startswith(".")
    }


def render(hashes: dict[str, str]) -> str:
    header = "# SHA-256 of each shipped stub. Regenerate: python -m toolkit.stubs --write"
    lines = [header]
    lines += [f"{sha}  exercises/{name}" for name, sha in sorted(hashes.items())]
    return "\n".join(lines) + "\n"


def stub_from_git(filename: str) -> bytes | None:
    """The shipped stub's bytes, from the newest commit whose version matches the manifest.

    Walks the file's history, so a learner who committed their work still gets the stub.
    """
    sha = shipped().get(filename)
    if sha is None:
        return None
    log = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "log", "--format=%H", "--", f"exercises/{filename}"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    for commit in log.stdout.split():
        blob = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "show", f"{commit}:exercises/{filename}"],
            capture_output=True,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        if blob.returncode == 0 and digest(blob.stdout) == sha:
            return blob.stdout
    return None


def main(argv: list[str]) -> int:
    if "--write" in argv:
        MANIFEST.write_text(render(current()), encoding="utf-8")
        print(f"wrote {MANIFEST.relative_to(REPO_ROOT)}")
        return 0
    if "--check" in argv:
        if current() != shipped():
            print("scripts/stubs.sha256 differs from exercises/ (edited stubs or stale manifest)")
            return 1
        print("exercises/ holds exactly the shipped stubs")
        return 0
    print(render(current()), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
