"""What ``scripts/grade N`` shows for the usual slips of a learner (issue 11).

Each test grades a throwaway copy of exercises/ whose task file has one slip, the way a
learner makes it, and checks the learner sees the real cause first: their own error line
and where it is, not a hint that blames the output. Not graders (no task marker).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GRADE = REPO / "scripts" / "grade"


def grade_with(tmp_path: Path, task: int, filename: str, edit) -> str:
    """Grade task ``task`` on a copy of exercises/ where ``filename`` is the solution, edited."""
    target = tmp_path / "exercises"
    shutil.copytree(REPO / "exercises", target, ignore=shutil.ignore_patterns("__pycache__"))
    solution = (REPO / "solutions" / filename).read_text(encoding="utf-8")
    changed = edit(solution)
    assert changed != solution, "the slip must change the file"
    (target / filename).write_text(changed, encoding="utf-8")
    env = dict(os.environ, NO_COLOR="1", GRADE_STATE_FILE=str(tmp_path / "state.json"))
    done = subprocess.run(
        [str(GRADE), str(task), "--target", str(target)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    return done.stdout + done.stderr


def test_a_syntax_error_is_shown_with_its_line(tmp_path):
    out = grade_with(
        tmp_path, 1, "0-redis_client.py", lambda s: s.replace("def main(", "def main((", 1)
    )
    assert "raised SyntaxError at line" in out, out
    assert "Nothing was printed" not in out, out


def test_a_misspelt_import_names_the_module_and_the_venv(tmp_path):
    def slip(source: str) -> str:
        return source.replace("import sys\n", "import sys\nimport rediss\n", 1)

    out = grade_with(tmp_path, 2, "1-redis_op.py", slip)
    assert "raised ModuleNotFoundError at line" in out and "'rediss'" in out, out
    assert "source .venv/bin/activate" in out, out
    assert "Nothing was printed" not in out, out


def test_a_misspelt_import_inside_the_guard_shows_the_guards_line(tmp_path):
    out = grade_with(
        tmp_path,
        2,
        "1-redis_op.py",
        lambda s: s.replace("    import redis\n", "    import rediss\n"),
    )
    assert "The script wrote to stderr" in out and "No module named 'rediss'" in out, out
    assert "Nothing was printed" not in out, out


def test_a_name_error_shows_the_learners_line_not_output_stops_early(tmp_path):
    def slip(source: str) -> str:
        return source.replace("print(client.hgetall(", "print(clientt.hgetall(", 1)

    out = grade_with(tmp_path, 4, "4-redis_advanced_op.py", slip)
    assert "raised NameError at line" in out and "name 'clientt' is not defined" in out, out
    assert "clientt.hgetall(" in out, "the learner's own line is shown"
    assert "The output stops early" not in out, out
    assert out.index("raised NameError") < out.index("--- expected"), "error first, diff after"


def test_bytes_printed_get_a_decode_hint(tmp_path):
    out = grade_with(
        tmp_path,
        2,
        "1-redis_op.py",
        lambda s: s.replace("decode_responses=True", "decode_responses=False"),
    )
    assert "+b'School'" in out and "that is bytes" in out, out


def test_a_print_loop_is_cut_and_the_timeout_is_one_plain_line(tmp_path):
    def slip(source: str) -> str:
        return source.replace(
            "def main(", "def main_loop():\n    while True:\n        print('x')\n\n\ndef main(", 1
        ).replace("    main()\n", "    main_loop()\n")

    out = grade_with(tmp_path, 2, "1-redis_op.py", slip)
    assert len(out.splitlines()) < 200, f"{len(out.splitlines())} lines shown"
    assert "lines cut" in out, out
    assert "was still running after" in out, out
    for leak in ("timed out after", "During handling of the above exception", "Command '["):
        assert leak not in out, out
