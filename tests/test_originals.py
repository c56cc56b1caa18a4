"""Graders find the originals' repositories where they are kept, or clone them once."""

from __future__ import annotations

import subprocess

from harness import originals


def make_repo(path):
    """A bare repository at ``path`` with one commit holding ui/index.html."""
    work = path.parent / f"{path.name}-work"
    work.mkdir(parents=True)
    (work / "ui").mkdir()
    (work / "ui" / "index.html").write_text("<h1>original</h1>\n")
    run = lambda *args: subprocess.run(["git", *args], cwd=work, check=True, capture_output=True)  # noqa: E731
    run("init", "-q")
    run("add", ".")
    run("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "one")
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(path)], check=True)
    return path


def test_a_kept_copy_is_used_as_it_is(tmp_path, monkeypatch):
    make_repo(tmp_path / "kept" / "owner+name" / "repo")
    monkeypatch.setenv("ORIGINALS_DIR", str(tmp_path / "kept"))
    monkeypatch.setattr(originals, "LOCAL", tmp_path / "clones")
    repo, why = originals.original_repo("owner/name")
    assert (repo, why) == (tmp_path / "kept" / "owner+name" / "repo", "")
    shown = originals.git(repo, "show", "HEAD:ui/index.html", capture_output=True, text=True)
    assert shown.stdout == "<h1>original</h1>\n"
    assert not (tmp_path / "clones").exists()


def test_a_missing_copy_is_cloned_once_then_reused(tmp_path, monkeypatch):
    make_repo(tmp_path / "remote" / "owner" / "name")
    monkeypatch.setenv("ORIGINALS_DIR", str(tmp_path / "nothing-here"))
    monkeypatch.setenv("ORIGINALS_URL", f"file://{tmp_path / 'remote'}")
    monkeypatch.setattr(originals, "LOCAL", tmp_path / "clones")
    repo, why = originals.original_repo("owner/name")
    assert (repo, why) == (tmp_path / "clones" / "owner+name.git", "")
    monkeypatch.setenv("ORIGINALS_URL", f"file://{tmp_path / 'gone'}")
    assert originals.original_repo("owner/name") == (repo, "")  # no second clone needed


def test_a_failed_clone_says_why_and_is_not_retried(tmp_path, monkeypatch):
    monkeypatch.setenv("ORIGINALS_DIR", str(tmp_path / "nothing-here"))
    monkeypatch.setenv("ORIGINALS_URL", f"file://{tmp_path / 'no-remote'}")
    monkeypatch.setattr(originals, "LOCAL", tmp_path / "clones")
    repo, why = originals.original_repo("owner/name")
    assert repo is None and "cloning it from GitHub failed" in why and "ORIGINALS_DIR" in why
    make_repo(tmp_path / "no-remote" / "owner" / "name")  # now it would work ...
    assert originals.original_repo("owner/name")[0] is None  # ... but is not tried again
    (tmp_path / "clones" / "owner+name.failed").unlink()
    assert originals.original_repo("owner/name")[0] == tmp_path / "clones" / "owner+name.git"


def test_no_clone_when_turned_off(tmp_path, monkeypatch):
    monkeypatch.setenv("ORIGINALS_DIR", str(tmp_path / "nothing-here"))
    monkeypatch.setenv("GRADER_FETCH_ORIGINALS", "0")
    monkeypatch.setattr(originals, "LOCAL", tmp_path / "clones")
    repo, why = originals.original_repo("owner/name")
    assert repo is None and "GRADER_FETCH_ORIGINALS=0" in why
