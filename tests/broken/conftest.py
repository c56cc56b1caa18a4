"""Broken variants (``*.patch``, see ``toolkit.variants``) are graded, never collected.

A full-copy folder of the older layout (``taskNN-name/`` with ``VARIANT.md``) may hold a
learner test module (task 11's ``8-job_test.py``); without this, a plain ``pytest`` run
would collect it from here.
"""

collect_ignore_glob = ["*"]
