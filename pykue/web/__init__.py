"""pykue's dashboard: Kue's JSON API (same routes, replies and job JSON) and an HTML page.

``create_app(queue)`` builds the FastAPI app; ``python -m pykue dashboard`` serves it on
127.0.0.1:3000. Modules, one job each: ``app`` (assembly), ``routes`` (the route table),
``params`` (path parameters), ``reads`` (what is read from Redis, degrading on bad data),
``kue_json`` (a job as Kue's JSON), ``search`` (``/job/search``), ``create``
(``POST /job``), ``moves`` (state changes), ``token`` (the optional token), ``page``
(the HTML page), ``schema`` (the OpenAPI description), ``errors``, and ``guard`` (what
every app of the repository shares at the door).
"""

from __future__ import annotations

from pykue.web.app import create_app

__all__ = ["create_app"]
