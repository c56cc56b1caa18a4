"""Kue 0.11.6 itself, fetched at test time, to run its own clients against the dashboard.

Nothing of Kue is committed. :func:`install` puts ``kue@0.11.6`` and the packages of its
``test/jsonapi.js`` (mocha, should, chai, supertest, async, reds) in ``run/kue-0.11.6/``
with npm, once; ``jsonapi.js`` itself is not in the npm package, so it is read from the
Kue repository at tag v0.11.6: ``KUE_MIRROR`` when set, else where the graders find
the originals (:mod:`harness.originals`). Each step skips the test with the reason when
it cannot be done (no node or npm, registry unreachable, no Kue repository).

Pointing Kue's clients at us changes none of Kue's files: a preload (``-r``) written here
gives Kue's own queue the test's Redis and, when TARGET_URL is set, makes supertest's
``request(app)`` talk to TARGET_URL instead of Kue's app. Kue's UI is its views rendered
with its own pug and stylus, and its ``lib/http/public`` files, served at the dashboard's
origin (:func:`serve_kue_ui`).
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

from harness.originals import git, original_repo

REPO = Path(__file__).resolve().parents[2]
VERSION = "0.11.6"
HOME = REPO / "run" / f"kue-{VERSION}"
KUE = HOME / "node_modules" / "kue"
PACKAGES = [
    f"kue@{VERSION}",
    "reds@0.2.5",  # Kue's optional search (jsonapi.js turns search on)
    "mocha@2",  # the versions of Kue's devDependencies
    "should@3",
    "chai@3",
    "supertest@1",
    "async@1",
]
STATES = ("active", "inactive", "failed", "complete", "delayed")  # Kue's list pages

PRELOAD = """\
// Written by tests/pykue/kue_original.py. Kue's own queue on KUE_REDIS_URL; with
// TARGET_URL set, supertest's request(app) talks to TARGET_URL instead of Kue's app.
const url = new URL(process.env.KUE_REDIS_URL);
const kue = require('kue');
const createQueue = kue.createQueue;
kue.createQueue = function (options) {
  const redis = { host: url.hostname, port: +url.port, db: +(url.pathname.slice(1) || 0) };
  return createQueue.call(this, Object.assign({}, options, { redis }));
};
if (process.env.TARGET_URL) {
  const supertest = require('supertest');
  const toTarget = function () { return supertest(process.env.TARGET_URL); };
  Object.assign(toTarget, supertest);
  require.cache[require.resolve('supertest')].exports = toTarget;
}
"""

RENDER = """\
// Written by tests/pykue/kue_original.py: Kue's list page for each state (its views,
// rendered with its own pug, as its routes/index.js does) and its stylesheet (its stylus).
const path = require('path'), fs = require('fs');
const [kue, out, types] = process.argv.slice(2);
const pug = require('pug'), stylus = require('stylus'), nib = require('nib');
const http = path.join(kue, 'lib', 'http');
for (const state of STATES) {
  const page = pug.renderFile(path.join(http, 'views', 'job', 'list.pug'),
                              { state, types: JSON.parse(types), title: 'Kue' });
  fs.writeFileSync(path.join(out, state + '.html'), page);
}
const styl = path.join(http, 'public', 'stylesheets', 'main.styl');
stylus(fs.readFileSync(styl, 'utf8')).set('filename', styl).use(nib()).render((err, css) => {
  if (err) throw err;
  fs.writeFileSync(path.join(out, 'main.css'), css);
});
""".replace("STATES", json.dumps(list(STATES)))


def _node_tools() -> None:
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            pytest.skip(f"Kue conformance: `{tool}` is not installed (Node.js 20 runs Kue)")


def install() -> Path:
    """Kue and its test packages in run/kue-0.11.6 (npm install once); the Kue folder."""
    _node_tools()
    HOME.mkdir(parents=True, exist_ok=True)
    with open(HOME / ".lock", "w") as lock:  # one npm install even with several workers
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not all(
            (HOME / "node_modules" / p.split("@")[0] / "package.json").is_file() for p in PACKAGES
        ):
            try:
                done = subprocess.run(
                    [
                        "npm",
                        "install",
                        "--no-audit",
                        "--no-fund",
                        "--no-save",
                        "--prefix",
                        str(HOME),
                        *PACKAGES,
                    ],
                    capture_output=True,
                    text=True,
                    timeout=600,
                )
            except subprocess.TimeoutExpired:
                pytest.skip("Kue conformance: `npm install` took over 10 minutes (registry slow?)")
            if done.returncode != 0:
                last = (done.stderr.strip().splitlines() or ["?"])[-1]
                pytest.skip(
                    f"Kue conformance: `npm install kue@{VERSION}` failed (offline?): {last}"
                )
        installed = json.loads((KUE / "package.json").read_text())["version"]
        assert installed == VERSION, f"run/kue-{VERSION} holds Kue {installed}"
        (HOME / "preload.js").write_text(PRELOAD)
        (HOME / "render.js").write_text(RENDER)
    return KUE


def jsonapi_test() -> Path:
    """Kue's own test/jsonapi.js at v0.11.6, unchanged, where it expects to be."""
    kue = install()
    if "KUE_MIRROR" in os.environ:
        mirror, why = Path(os.environ["KUE_MIRROR"]), ""
    else:
        mirror, why = original_repo("Automattic/kue")
    if mirror is None:
        pytest.skip(f"Kue conformance: {why} (or set KUE_MIRROR)")
    try:
        source = git(
            mirror,
            "show",
            f"v{VERSION}:test/jsonapi.js",
            capture_output=True,
            check=True,
            timeout=30,
        ).stdout
    except (subprocess.CalledProcessError, FileNotFoundError) as exc:
        pytest.skip(f"Kue conformance: cannot read test/jsonapi.js from {mirror}: {exc}")
    test = kue / "test" / "jsonapi.js"
    test.parent.mkdir(exist_ok=True)
    if not test.is_file() or test.read_bytes() != source:
        test.write_bytes(source)
    return test


@dataclass
class MochaRun:
    """The outcome of one mocha run: counts from its summary, and its output."""

    passing: int
    failing: int
    output: str


def run_jsonapi(redis_url: str, target_url: str | None) -> MochaRun:
    """Kue's test/jsonapi.js, against ``target_url`` (None: against Kue's own app)."""
    test = jsonapi_test()
    env = dict(os.environ, KUE_REDIS_URL=redis_url, NODE_NO_WARNINGS="1")
    env.pop("TARGET_URL", None)
    if target_url is not None:
        env["TARGET_URL"] = target_url
    mocha = HOME / "node_modules" / ".bin" / "mocha"
    argv = [str(mocha), "--require", "should", "--require", str(HOME / "preload.js")]
    argv += ["--reporter", "spec", "--timeout", "10000", str(test.relative_to(KUE))]
    done = subprocess.run(argv, cwd=KUE, env=env, capture_output=True, text=True, timeout=180)
    output = done.stdout + done.stderr

    def count(word: str) -> int:
        found = re.search(rf"(\d+) {word}", output)
        return int(found.group(1)) if found else 0

    return MochaRun(count("passing"), count("failing"), output)


def render_ui(out: Path, types: list[str]) -> Path:
    """Kue's UI pages for ``types`` (the filter's options) and stylesheet, into ``out``."""
    kue = install()
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, NODE_PATH=str(HOME / "node_modules"), NODE_NO_WARNINGS="1")
    subprocess.run(
        ["node", str(HOME / "render.js"), str(kue), str(out), json.dumps(types)],
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    return out


def serve_kue_ui(app: FastAPI, rendered: Path) -> FastAPI:
    """Kue's UI at ``app``'s own origin, where Kue's app serves it: ``/active`` ...
    (its list pages), ``/stylesheets``, ``/javascripts``, ``/images`` (its public files)."""
    public = KUE / "lib" / "http" / "public"
    css = (rendered / "main.css").read_text()

    def stylesheet() -> HTMLResponse:
        return HTMLResponse(css, media_type="text/css")

    app.add_api_route("/stylesheets/main.css", stylesheet, include_in_schema=False)
    for state in STATES:
        page = (rendered / f"{state}.html").read_text()
        app.add_api_route(
            f"/{state}", lambda page=page: HTMLResponse(page), include_in_schema=False
        )
    for folder in ("javascripts", "images", "stylesheets"):
        app.mount(f"/{folder}", StaticFiles(directory=public / folder), name=f"kue-{folder}")
    return app
