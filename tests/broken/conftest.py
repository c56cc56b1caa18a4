"""Broken variants are graded with ``--target tests/broken/NAME``, never collected as tests.

Task 11's variants are learner test modules (``8-job_test.py``); without this, a plain
``pytest`` run would collect them from here.
"""

collect_ignore_glob = ["*"]
