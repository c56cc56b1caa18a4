"""A throwaway 3-node Redis Cluster on free local ports, for pykue's cluster tests.

``start_cluster()`` starts three ``redis-server --cluster-enabled yes`` processes (no
persistence, a fresh temporary directory), joins them with ``redis-cli --cluster create``
(three primaries, no replicas) and waits until every node reports ``cluster_state:ok``.
``LocalCluster.stop()`` terminates the servers and deletes the directory.

``skip_reason()`` says why a cluster cannot run here (fakeredis has no cluster mode; the
real binaries may be missing), or None.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))

from toolkit.redis_servers import free_port, port_is_open  # noqa: E402

HOST = "127.0.0.1"


def skip_reason() -> str | None:
    """Why no local cluster can run here, or None."""
    if os.environ.get("REDIS_TEST_SERVER", "").strip().lower() == "fake":
        return "REDIS_TEST_SERVER=fake: fakeredis has no cluster mode (needs real redis-server)"
    for binary in ("redis-server", "redis-cli"):
        if shutil.which(binary) is None:
            return f"{binary} is not installed: a local Redis Cluster needs the real binaries"
    return None


@dataclass
class LocalCluster:
    """Three primaries on ``ports``; ``url`` is pykue's cluster URL of the first (seed)."""

    ports: list[int]
    workdir: Path
    procs: list[subprocess.Popen] = field(default_factory=list, repr=False)

    @property
    def seed(self) -> tuple[str, int]:
        return HOST, self.ports[0]

    @property
    def url(self) -> str:
        """``redis+cluster://`` URL pointing pykue at the seed node."""
        return f"redis+cluster://{HOST}:{self.ports[0]}/0"

    def client(self, port: int | None = None):
        """A plain (non-cluster) client of one node (the seed by default)."""
        import redis

        return redis.Redis(HOST, port or self.ports[0], decode_responses=True)

    def cluster_client(self):
        """A ``redis.cluster.RedisCluster`` client (follows slots and MOVED replies)."""
        from redis.cluster import RedisCluster

        return RedisCluster(HOST, self.ports[0], decode_responses=True)

    def slot_owner(self, key: str) -> int:
        """Port of the primary that serves ``key``'s slot (from CLUSTER SHARDS/SLOTS)."""
        seed = self.client()
        try:
            slot = int(seed.execute_command("CLUSTER", "KEYSLOT", key))
            for start, end, primary, *_ in seed.execute_command("CLUSTER", "SLOTS"):
                if int(start) <= slot <= int(end):
                    return int(primary[1])
        finally:
            seed.close()
        raise AssertionError(f"no node serves slot {slot}")

    def log_tail(self, lines: int = 20) -> str:
        parts = []
        for port in self.ports:
            log = self.workdir / f"redis-{port}.log"
            if log.exists():
                tail = log.read_text(errors="replace").splitlines()[-lines:]
                parts.append(f"--- node {port} ---\n" + "\n".join(tail))
        return "\n".join(parts)

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs.clear()
        shutil.rmtree(self.workdir, ignore_errors=True)


def _info_state(port: int) -> str:
    out = subprocess.run(
        ["redis-cli", "-h", HOST, "-p", str(port), "cluster", "info"],
        capture_output=True,
        text=True,
        timeout=5,
    ).stdout
    for line in out.splitlines():
        if line.startswith("cluster_state:"):
            return line.split(":", 1)[1].strip()
    return ""


def start_cluster(nodes: int = 3, timeout: float = 30.0) -> LocalCluster:
    """Start ``nodes`` primaries, create the cluster, wait for ``cluster_state:ok``."""
    workdir = Path(tempfile.mkdtemp(prefix="pykue-cluster-"))
    ports: list[int] = []
    while len(ports) < nodes:
        port = free_port()
        # the cluster bus listens on port + 10000: both must be free
        if port not in ports and port + 10000 < 65536 and not port_is_open(HOST, port + 10000):
            ports.append(port)
    cluster = LocalCluster(ports, workdir)
    try:
        for port in ports:
            cmd = [
                "redis-server",
                "--port", str(port),
                "--bind", HOST,
                "--cluster-enabled", "yes",
                "--cluster-config-file", f"nodes-{port}.conf",
                "--cluster-node-timeout", "5000",
                "--dir", str(workdir),
                "--dbfilename", f"dump-{port}.rdb",
                "--save", "",
                "--appendonly", "no",
                "--protected-mode", "no",
                "--logfile", str(workdir / f"redis-{port}.log"),
            ]  # fmt: skip
            cluster.procs.append(
                subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            )
        deadline = time.monotonic() + timeout
        for port, proc in zip(ports, cluster.procs, strict=True):
            while not port_is_open(HOST, port):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"cluster node {port} did not start\n{cluster.log_tail()}")
                time.sleep(0.02)
        created = subprocess.run(
            ["redis-cli", "--cluster", "create", *(f"{HOST}:{p}" for p in ports)]
            + ["--cluster-replicas", "0", "--cluster-yes"],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if created.returncode != 0:
            raise RuntimeError(
                f"redis-cli --cluster create failed:\n{created.stdout}\n{created.stderr}"
            )
        while not all(_info_state(p) == "ok" for p in ports):
            if time.monotonic() > deadline:
                raise RuntimeError(f"cluster_state never became ok\n{cluster.log_tail()}")
            time.sleep(0.05)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def prefix_on_other_node(cluster: LocalCluster, base: str = "cq") -> str:
    """A queue prefix whose slot (hash tag ``{prefix}``) is served by a node other than
    the seed, so the test proves pykue follows the cluster's routing."""
    for n in range(1000):
        prefix = f"{base}{n}"
        if cluster.slot_owner("{" + prefix + "}:ids") != cluster.ports[0]:
            return prefix
    raise AssertionError("every tried prefix hashes to the seed node")


if __name__ == "__main__":  # manual check: python tests/pykue/cluster.py
    c = start_cluster()
    try:
        print("cluster up on", c.ports, "prefix", prefix_on_other_node(c))
    finally:
        c.stop()
