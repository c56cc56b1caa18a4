"""Alternative correct solutions are graded with ``--target tests/alternatives/NAME``.

tests/test_alternatives.py does that; they are never collected as tests themselves.
"""

collect_ignore_glob = ["*"]
