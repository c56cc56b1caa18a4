"""The README's task table is the registry's: regenerate it when scripts/tasks.toml changes."""

from toolkit.readme_table import README, current, render


def test_readme_task_table_matches_registry():
    assert current(README.read_text(encoding="utf-8")) == render(), (
        "README.md's task table differs from scripts/tasks.toml: run "
        "`python -m toolkit.readme_table --write` from scripts/ (or `cd scripts && ...`)"
    )
