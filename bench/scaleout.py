"""Scale-out: the same work on the embedded engines and on PostgreSQL + S3 + OpenSearch.

    uv run python -m bench.scaleout [--docs 1000] [--queries 80] [--no-ocr]
                                    [--postgres-url URL] [--only embedded|scaleout] [--json F]

Two configurations, each in a child process of its own (so that its peak RSS and CPU are its
own), on the same corpus:

- **embedded**: the defaults (objects in a local directory, records in SQLite, tantivy);
- **scale-out**: records in PostgreSQL (a database of its own, created and dropped here, on
  ``--postgres-url``, default ``$ARCHIVE_TEST_POSTGRES_URL`` or the local test server), objects
  in SeaweedFS's S3 gateway (a bucket with versioning and Object Lock) and the index in
  osmem-server (OpenSearch's API). Elasticsearch and MinIO cannot run on this machine; SeaweedFS
  and osmem are the dev dependencies the test suite starts (``tests/servers.py``), started here
  the same way on free ports with throw-away data directories.

Each child, through :class:`services.archive.Archive` (what ``serve`` and the CLI run):

1. **ingest**: every fourth en-cuad PDF, the Chinese PDFs and one Chinese DOCX (LibreOffice
   rendition), 12 contracts and 257 pages, one job: pages/s, and CPU per contract and per page
   of this process, its parser processes and the servers (SeaweedFS, osmem, the PostgreSQL
   backends of its database);
2. **OCR**: the real Chinese scan (3 pages) through :class:`services.ocr.OcrService`, 1 worker:
   CPU per page (worker, tesseract, this process);
3. **bytes stored**: every object by kind (original, rendition, text, OCR words, searchable copy,
   manifests and seals), the records database's growth and its rows, the index's growth;
4. **index**: ``--docs`` contracts stitched from 3-8 real corpus pages (as in
   ``bench.search_latency``) added to the same index in batches of 200; contracts/s and index
   bytes per contract and per page;
5. **search**: ``--queries`` queries (Chinese words and phrases, English phrases, exclusions,
   OR groups, filters) through ``Archive.search`` with snippets, then with facets: p50/p95 wall,
   and CPU per query of this process and of the search server;
6. **fixity**: the full audit (``run_audit``, 2 workers): MB/s and CPU;
7. **RSS**: the child's peak, its resident size after the searches (anonymous and file-backed),
   and the servers' resident sizes.

Then a projection to 1 million and 10 million contracts from the per-page and per-contract
costs (``--pages-per-contract``, ``--scan-share``); ``docs/sizing.md`` explains it.

Every process, directory and database it makes is removed when it ends, on Ctrl-C or SIGTERM
too (``tests/test_bench_scaleout.py``). About 130 CPU seconds in all; 591 s of wall time at load
average 13-24 on 2 cores.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import CORPUS, ROOT, descendants, machine, percentile
from bench.search_latency import queries as search_queries

TICK = os.sysconf("SC_CLK_TCK")
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

QUERIES_ZH = ["违约", "合同", "甲方", "定金", "房屋", "租赁", "责任", "仲裁", "违约责任",
              "不可抗力", "争议解决", "解除合同", "质量保证"]  # fmt: skip
QUERIES_EN = ['"limitation of liability"', '"governing law"', "indemnification", "termination",
              '"force majeure"', "confidential information", "exclusive -termination",
              "(warranty OR warranties) damages", "assignment consent"]  # fmt: skip
FILTERS = ['customer:"Acme Corp"', "archived:[2024-01-01 TO 2026-12-31]", "customer:南京房产"]
CUSTOMERS = ["青岛木门有限公司", "南京房产", "Acme Corp", "Globex"]
STITCHED_FIRST_ID = 10_000_000
"""Ids of the stitched index-only contracts: far above the ingested ones."""


# --- the corpus --------------------------------------------------------------------------------
SCAN = CORPUS / "scanned" / "real" / "青岛市木门买卖合同示范文本.pdf"
"""The real Chinese scan (3 pages, the third sideways), read by OCR."""


def ingest_files() -> list[Path]:
    """Every fourth en-cuad PDF (7 of 28), the Chinese PDFs (the scan apart: it is the OCR
    phase's) and one DOCX (rendered by LibreOffice)."""
    en = sorted(p for p in (CORPUS / "en-cuad").rglob("*") if p.suffix.lower() == ".pdf")[::4]
    zh = sorted(p for p in (CORPUS / "zh").rglob("*") if p.suffix.lower() in {".pdf", ".docx"})
    docx = [p for p in zh if p.suffix.lower() == ".docx"][:1]
    return en + [p for p in zh if p.suffix.lower() == ".pdf" and p.name != SCAN.name] + docx


def corpus_pages() -> list[str]:
    pages: list[str] = []
    for path in sorted((CORPUS / "en-cuad").rglob("*.txt")):
        text = path.read_text(errors="replace")
        pages += [text[i : i + 3000] for i in range(0, len(text), 3000)]
    for path in sorted((CORPUS / "zh").rglob("*.txt")):
        text = path.read_text(errors="replace")
        pages += [text[i : i + 1500] for i in range(0, len(text), 1500)]
    return [p for p in pages if p.strip()]


def queries(rng: random.Random, count: int) -> list[str]:
    """bench.search_latency's mix of queries over this bench's own words and filters."""
    return search_queries(rng, count, zh=QUERIES_ZH, en=QUERIES_EN, filters=FILTERS)


# --- measuring processes -----------------------------------------------------------------------
def proc_cpu(pid: int, *, waited: bool = True) -> float:
    """CPU seconds of ``pid`` (with its children that ended and were waited for)."""
    try:
        f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(f[11]) + int(f[12]) + ((int(f[13]) + int(f[14])) if waited else 0)
    return ticks / TICK


def proc_rss(pid: int, field: str = "VmRSS") -> int:
    """A ``/proc/PID/status`` memory field in bytes (0 when the process is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def self_cpu() -> float:
    """This process and its ended children, plus the living ones (parser and OCR workers)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    gone = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = me.ru_utime + me.ru_stime + gone.ru_utime + gone.ru_stime
    return total + sum(proc_cpu(p) for p in descendants(os.getpid()))


class Servers:
    """The scale-out servers' CPU and RSS, read from /proc (the child is not their parent)."""

    def __init__(self, pids: dict[str, int], pg_admin_url: str | None, pg_db: str | None):
        self.pids = pids
        self.pg_admin_url = pg_admin_url
        self.pg_db = pg_db

    def _pg_backends(self) -> list[int]:
        if not self.pg_admin_url:
            return []
        import psycopg

        with psycopg.connect(pg_dsn(self.pg_admin_url)) as conn:
            rows = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s", (self.pg_db,)
            ).fetchall()
        return [int(r[0]) for r in rows]

    def cpu(self) -> dict[str, float]:
        out = {
            name: proc_cpu(pid) + sum(proc_cpu(c) for c in descendants(pid))
            for name, pid in self.pids.items()
        }
        if self.pg_admin_url:
            out["postgres"] = sum(proc_cpu(p, waited=False) for p in self._pg_backends())
        return out

    def rss(self) -> dict[str, int]:
        out = {name: proc_rss(pid) for name, pid in self.pids.items()}
        if self.pg_admin_url:
            out["postgres backends"] = sum(proc_rss(p) for p in self._pg_backends())
        return out


class Meter:
    """Wall and CPU seconds of a phase: this process tree and each server."""

    def __init__(self, servers: Servers):
        self.servers = servers

    @contextlib.contextmanager
    def phase(self, into: dict[str, Any]) -> Iterator[None]:
        servers, mine = self.servers.cpu(), self_cpu()
        load = os.getloadavg()[0]
        started = time.perf_counter()
        yield
        into["wall"] = time.perf_counter() - started
        into["cpu"] = self_cpu() - mine
        into["server_cpu"] = {k: v - servers.get(k, 0.0) for k, v in self.servers.cpu().items()}
        into["load"] = [load, os.getloadavg()[0]]


def pg_dsn(url: str) -> str:
    """A psycopg DSN from an SQLAlchemy URL."""
    return re.sub(r"^postgresql\+psycopg://", "postgresql://", url)


def dir_bytes(path: Path) -> int:
    """Bytes the files under ``path`` take on disk (allocated blocks)."""
    total = 0
    for p in path.rglob("*") if path.exists() else []:
        with contextlib.suppress(OSError):
            if p.is_file() and not p.is_symlink():
                total += p.stat().st_blocks * 512
    return total


def object_kind(key: str) -> str:
    name = key.rsplit("/", 1)[-1]
    name = re.sub(r"\.v\d+(?=\.)", "", name)
    name = re.sub(r"[0-9a-f]{16,}", "*", name)
    return name if key.count("/") >= 1 else key


# --- the child: one configuration --------------------------------------------------------------
def records_bytes(archive: Any) -> dict[str, int]:
    """Bytes of the records database by table (its indexes with it), from the database itself
    (PostgreSQL: ``pg_total_relation_size``; SQLite: ``dbstat`` after a WAL checkpoint)."""
    from sqlalchemy import text

    engine = archive.records.engine
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            rows = conn.execute(
                text(
                    "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE c.relkind = 'r' AND n.nspname = current_schema()"
                )
            ).all()
            return {str(name): int(size) for name, size in rows}
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        rows = conn.execute(
            text(
                "SELECT m.tbl_name, SUM(d.pgsize) FROM dbstat d "
                "JOIN sqlite_master m ON m.name = d.name GROUP BY m.tbl_name"
            )
        ).all()
        return {str(name): int(size) for name, size in rows}


def growth(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}


def records_rows(archive: Any) -> dict[str, int]:
    from sqlalchemy import inspect, text

    engine = archive.records.engine
    out = {}
    with engine.connect() as conn:
        for table in inspect(engine).get_table_names():
            if table == "alembic_version":
                continue
            n = int(conn.execute(text(f'SELECT count(*) FROM "{table}"')).scalar() or 0)
            if n:
                out[table] = n
    return out


def index_bytes(archive: Any, settings: Any, servers: Servers) -> int:
    """Bytes of the index: tantivy's directory; OpenSearch's store size (osmem keeps its index in
    memory and may report none: then its RSS, measured apart)."""
    if settings.index_backend == "tantivy":
        return dir_bytes(settings.index_dir)
    import urllib.request

    with urllib.request.urlopen(f"{settings.index_url}/_stats", timeout=30) as r:
        stats = json.load(r)
    store = stats.get("_all", {}).get("total", {}).get("store", {})
    return int(store.get("size_in_bytes", 0))


def stitched(n: int, rng: random.Random) -> Iterator[list[Any]]:
    from storage.index.base import IndexDocument

    pages = corpus_pages()
    start = datetime(2024, 1, 1, tzinfo=UTC)
    batch: list[Any] = []
    for i in range(n):
        batch.append(
            IndexDocument(
                id=STITCHED_FIRST_ID + i,
                sha256=f"{STITCHED_FIRST_ID + i:064x}",
                title=f"合同 Contract {i}",
                customer=rng.choice(CUSTOMERS),
                filename=f"{i}.pdf",
                created_at=start + timedelta(hours=rng.randint(0, 24 * 1000)),
                pages=rng.sample(pages, rng.randint(3, 8)),
            )
        )
        if len(batch) == 200:
            yield batch
            batch = []
    if batch:
        yield batch


def run_config(args: argparse.Namespace) -> dict[str, Any]:
    from core.settings import Settings
    from services.archive import Archive
    from signing.audit import run_audit

    overrides = json.loads(args.settings)
    settings = Settings(data_dir=Path(args.data_dir), _env_file=None, **overrides)  # type: ignore[call-arg]
    servers = Servers(json.loads(args.server_pids), args.pg_admin_url, args.pg_db)
    meter = Meter(servers)
    out: dict[str, Any] = {"config": args.config}
    rng = random.Random(7)
    archive = Archive(settings, parser_workers=1).open()
    try:
        objects_dir = settings.objects_dir
        base = {
            "records": records_bytes(archive),
            "index": index_bytes(archive, settings, servers),
            "server_rss": servers.rss(),
        }
        # -- 1. ingest
        paths = ingest_files()
        archive.warm_up()  # the parser process starts outside the timing
        results = []
        ingest: dict[str, Any] = {}
        with meter.phase(ingest):
            for path in paths:
                results.append(archive.ingest_path(path))
        bad = [(r.file, r.status, r.reason) for r in results if r.status != "archived"]
        if bad:
            raise SystemExit(f"{args.config}: not archived: {bad}")
        ingest["contracts"] = len(results)
        ingest["pages"] = sum(r.pages or 0 for r in results)
        ingest["original_bytes"] = sum(p.stat().st_size for p in paths)
        out["ingest"] = ingest
        # -- 2. OCR
        if not args.no_ocr:
            from services.ocr import OcrService

            scan = archive.ingest_path(SCAN)
            assert scan.status == "archived" and scan.id is not None, scan
            service = OcrService(archive, workers=1, only={scan.id})
            service.open(warm=True)
            before = service.worker_usage()
            ocr: dict[str, Any] = {"contract": scan.id, "original_bytes": SCAN.stat().st_size}
            try:
                with meter.phase(ocr):
                    service.start()
                    counts = service.wait_for([scan.id], poll=0.1, timeout=600)
                    after = service.worker_usage()
            finally:
                service.stop()
            if counts.failed or counts.done == 0:
                raise SystemExit(f"{args.config}: OCR failed: {counts}")
            ocr["pages"] = counts.done
            # the worker process's own CPU and its tesseract runs (it is a descendant, so the
            # phase's figure holds it too while it lives; these are the precise ones)
            ocr["worker_cpu"] = sum(
                a["worker_cpu"] + a["tesseract_cpu"] - b["worker_cpu"] - b["tesseract_cpu"]
                for a, b in zip(after, before, strict=True)
            )
            out["ocr"] = ocr
        # -- 3. bytes stored by the ingested contracts
        kinds: dict[str, list[int]] = {}
        for key in archive.objects.iter_keys():
            kinds.setdefault(object_kind(key), []).append(archive.objects.stat(key).size)
        out["objects"] = {k: [len(v), sum(v)] for k, v in sorted(kinds.items())}
        if settings.object_store == "local":
            out["objects_on_disk"] = dir_bytes(objects_dir)
        elif args.s3_data_dir:
            out["objects_on_disk"] = dir_bytes(Path(args.s3_data_dir))
        out["records_growth"] = growth(records_bytes(archive), base["records"])
        out["records_rows"] = records_rows(archive)
        out["contracts"] = archive.records.count_contracts()
        out["index_growth_ingested"] = index_bytes(archive, settings, servers) - base["index"]
        # -- 4. stitched contracts into the same index
        before_index = index_bytes(archive, settings, servers)
        rss_before = servers.rss()
        build: dict[str, Any] = {"contracts": args.docs, "pages": 0, "chars": 0}
        batches = list(stitched(args.docs, rng))
        for batch in batches:
            build["pages"] += sum(len(d.pages) for d in batch)
            build["chars"] += sum(len(p) for d in batch for p in d.pages)
        with meter.phase(build):
            for batch in batches:
                archive.index.add(batch)
        build["index_growth"] = index_bytes(archive, settings, servers) - before_index
        build["server_rss_growth"] = {k: v - rss_before.get(k, 0) for k, v in servers.rss().items()}
        out["build"] = build
        del batches
        # -- 5. search
        qs = queries(rng, args.queries)
        for q in qs[:10]:  # warm the caches and the reader once
            archive.search(q, limit=10, facets=True)
        rss_before_search = proc_rss(os.getpid())
        for label, facets in (("snippets", False), ("facets", True)):
            walls, cpus, totals = [], [], []
            series: dict[str, Any] = {}
            with meter.phase(series):
                for q in qs:
                    t, c = time.perf_counter(), time.process_time()
                    response = archive.search(q, limit=10, facets=facets)
                    walls.append((time.perf_counter() - t) * 1000)
                    cpus.append((time.process_time() - c) * 1000)
                    totals.append(response.total)
            series.update(
                p50=percentile(walls, 50),
                p95=percentile(walls, 95),
                cpu_p50=percentile(cpus, 50),
                cpu_p95=percentile(cpus, 95),
                hits_p50=percentile(totals, 50),
                n=len(qs),
            )
            out[f"search_{label}"] = series
        out["rss_search_growth"] = proc_rss(os.getpid()) - rss_before_search
        # -- 6. fixity
        audit: dict[str, Any] = {}
        with meter.phase(audit):
            summary = run_audit(archive.seal, restart=True, workers=2)
        if summary.run.failed:
            raise SystemExit(f"{args.config}: the audit failed: {summary.findings}")
        audit.update(bytes=summary.run.bytes_hashed, checked=summary.run.checked)
        out["audit"] = audit
        # -- 7. memory
        out["rss"] = {
            "after_search": proc_rss(os.getpid()),
            "anon": proc_rss(os.getpid(), "RssAnon"),
            "file": proc_rss(os.getpid(), "RssFile"),
            "parser_workers": sum(proc_rss(p) for p in descendants(os.getpid())),
            "servers": servers.rss(),
            "servers_at_start": base["server_rss"],
        }
    finally:
        archive.close()
    out["rss"]["peak"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    out["load_end"] = os.getloadavg()[0]
    return out


# --- the parent: servers, children, report -----------------------------------------------------
SERVER_DIRS: list[Path] = []
"""Directories of the servers this bench started outside ``tmp`` (SeaweedFS's, in /tmp for its
socket paths): removed again after the last sweep, when no server can still be writing there."""


class Stop(Exception):
    """SIGTERM: unwind like Ctrl-C, so that every server and directory is cleaned up."""


def _on_term(signum: int, frame: object) -> None:
    raise Stop(f"signal {signum}")


def run_child(argv: list[str], log: Path, timeout: float) -> dict[str, Any]:
    """Run one configuration in a child (its own session: a Ctrl-C reaches the parent only,
    which stops the child and everything below it)."""
    out = log.with_suffix(".json")
    # the child's temporary files (multiprocessing's forkserver folder among them) go below the
    # bench's own folder, which the parent removes: a child stopped by a signal leaves nothing
    scratch = log.with_suffix(".tmp")
    scratch.mkdir(exist_ok=True)
    with open(log, "wb") as fh:
        child = subprocess.Popen(
            [sys.executable, "-m", "bench.scaleout", *argv, "--out", str(out)],
            cwd=ROOT,
            env={**os.environ, "TMPDIR": str(scratch)},
            stdout=fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            child.wait(timeout=timeout)
        finally:
            stop_tree(child)
    if child.returncode != 0 or not out.exists():
        raise SystemExit(f"{argv[1]} failed (exit {child.returncode}):\n{log.read_text()[-4000:]}")
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def stop_tree(proc: subprocess.Popen[bytes]) -> None:
    """Stop ``proc`` and every process below it, including those in groups of their own."""
    tree = descendants(proc.pid)
    if proc.poll() is None:
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    for pid in tree:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def sweep(grace: float = 5.0) -> None:
    """Stop whatever still runs below this process (a server interrupted while it started, before
    its handle existed): SIGTERM, then SIGKILL after ``grace`` seconds."""
    left = descendants(os.getpid())
    for pid in left:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in left):
        with contextlib.suppress(ChildProcessError):
            os.waitpid(-1, os.WNOHANG)
        time.sleep(0.1)
    for pid in left:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


@contextlib.contextmanager
def postgres_database(url: str) -> Iterator[tuple[str, str]]:
    """A fresh database on the server of ``url``: (its URL, its name); dropped at the end."""
    import psycopg

    name = f"bench_scaleout_{uuid.uuid4().hex[:10]}"
    admin = pg_dsn(url)
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as exc:
        raise SystemExit(
            f"the scale-out column needs a PostgreSQL server where it may create a database "
            f"(--postgres-url {url}): {str(exc).strip()}"
        ) from None
    try:
        yield re.sub(r"/[^/?]*(\?|$)", f"/{name}\\1", url, count=1), name
    finally:
        with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def per(x: float, n: float) -> float:
    return x / n if n else 0.0


def mb(x: float) -> str:
    return f"{x / 1e6:.1f} MB"


def kb(x: float) -> str:
    return f"{x / 1e3:.1f} KB"


PACKAGE_FILES = {"original", "text.json", "words.json", "searchable.pdf", "rendition.pdf",
                 "rendition.json"}  # fmt: skip
"""Object kinds that are not manifests and seals."""


def costs(r: dict[str, Any], ocr_pages: int) -> dict[str, float]:
    """Per-page and per-contract costs of one configuration."""
    ing, build = r["ingest"], r["build"]
    objs = r["objects"]

    def kind_bytes(*names: str) -> int:
        return sum(v[1] for k, v in objs.items() if k in names)

    contracts = r["contracts"]
    text_pages = ing["pages"]
    scan_pages = max(ocr_pages, 1)
    scan = r.get("ocr", {})
    return {
        "original_per_text_page": per(ing["original_bytes"], text_pages),
        "text_per_page": per(kind_bytes("text.json"), text_pages + ocr_pages),
        "rendition_per_contract": per(kind_bytes("rendition.pdf", "rendition.json"), contracts),
        "original_per_scan_page": per(scan.get("original_bytes", 0), scan_pages),
        "searchable_per_scan_page": per(kind_bytes("searchable.pdf"), scan_pages),
        "words_per_scan_page": per(kind_bytes("words.json"), scan_pages),
        "evidence_per_contract": per(
            sum(v[1] for k, v in objs.items() if k not in PACKAGE_FILES), contracts
        ),
        "records_per_contract": per(
            sum(v for k, v in r["records_growth"].items() if k != "search_words"), contracts
        ),
        "vocabulary": r["records_growth"].get("search_words", 0),
        "rows_per_contract": per(
            sum(v for k, v in r["records_rows"].items() if k != "search_words"), contracts
        ),
        "index_per_page": per(build["index_growth"], build["pages"]),
        "index_per_contract": per(build["index_growth"], build["contracts"]),
        "ingest_cpu_per_page": per(ing["cpu"] + sum(ing["server_cpu"].values()), text_pages),
        "ocr_cpu_per_page": per(
            scan.get("cpu", 0) + sum(scan.get("server_cpu", {}).values()), scan_pages
        ),
        "index_cpu_per_contract": per(
            build["cpu"] + sum(build["server_cpu"].values()), build["contracts"]
        ),
    }


def servers_line(cpu: dict[str, float], n: float, scale: float = 1.0) -> str:
    """``name seconds`` of each server's CPU per unit (``n`` units, times ``scale``)."""
    parts = [f"{k} {per(v, n) * scale:.2f}" for k, v in cpu.items() if per(v, n) * scale >= 0.005]
    return ", ".join(parts) or "none"


def cells(r: dict[str, Any], docs: int) -> dict[str, str]:
    """The report's rows for one configuration."""
    ing, build, audit, rss = r["ingest"], r["build"], r["audit"], r["rss"]
    c = costs(r, r.get("ocr", {}).get("pages", 0))
    out = {
        "contracts ingested / pages": f"{ing['contracts']} / {ing['pages']}",
        "ingest, 1 job: pages/s (wall)": f"{ing['pages'] / ing['wall']:.1f}",
        "ingest CPU per contract (s): archive; servers": (
            f"{per(ing['cpu'], ing['contracts']):.3f}; "
            + servers_line(ing["server_cpu"], ing["contracts"])
        ),
        "ingest CPU per page, all processes (ms)": f"{c['ingest_cpu_per_page'] * 1000:.1f}",
    }
    if "ocr" in r:
        ocr = r["ocr"]
        out["OCR: pages; CPU per page (s): all processes, worker + tesseract"] = (
            f"{ocr['pages']}; {c['ocr_cpu_per_page']:.2f}, "
            f"{per(ocr['worker_cpu'], ocr['pages']):.2f}"
        )
    out[f"index {docs} stitched contracts: contracts/s (wall)"] = (
        f"{build['contracts'] / build['wall']:.0f}"
    )
    out["index CPU per contract (ms): archive; servers"] = (
        f"{per(build['cpu'], build['contracts']) * 1000:.1f}; "
        + servers_line(build["server_cpu"], build["contracts"], 1000)
    )
    for label in ("snippets", "facets"):
        q = r[f"search_{label}"]
        out[f"search + {label}: p50 / p95 wall (ms)"] = f"{q['p50']:.2f} / {q['p95']:.2f}"
        out[f"search + {label}: CPU per query (ms): archive p50 / p95; servers (mean)"] = (
            f"{q['cpu_p50']:.2f} / {q['cpu_p95']:.2f}; "
            + servers_line(q["server_cpu"], q["n"], 1000)
        )
    audit_cpu = audit["cpu"] + sum(audit["server_cpu"].values())
    out["fixity audit (2 workers): MB/s wall; contracts/s wall"] = (
        f"{audit['bytes'] / 1e6 / audit['wall']:.1f}; {audit['checked'] / audit['wall']:.1f}"
    )
    out["fixity audit: MB per CPU second, all processes"] = (
        f"{audit['bytes'] / 1e6 / audit_cpu:.1f}"
    )
    logical = sum(v[1] for v in r["objects"].values())
    out["objects stored: logical; on disk"] = f"{mb(logical)}; {mb(r.get('objects_on_disk', 0))}"
    out["records per contract without the vocabulary: bytes / rows"] = (
        f"{kb(c['records_per_contract'])} / {c['rows_per_contract']:.0f}"
    )
    out["records: the vocabulary (search_words): bytes / words"] = (
        f"{mb(c['vocabulary'])} / {r['records_rows'].get('search_words', 0)}"
    )
    out["index bytes per stitched contract (per page)"] = (
        f"{kb(c['index_per_contract'])} ({kb(c['index_per_page'])})"
        if build["index_growth"] > 0
        else "not reported"
    )
    out["peak RSS of the archive process"] = mb(rss["peak"])
    out["archive RSS after the searches (anonymous / file-backed)"] = (
        f"{mb(rss['after_search'])} ({mb(rss['anon'])} / {mb(rss['file'])})"
    )
    out["servers' RSS at the end"] = (
        ", ".join(f"{k} {mb(v)}" for k, v in rss["servers"].items()) or "none"
    )
    osmem = build["server_rss_growth"].get("osmem")
    out["search server's RSS growth from the stitched contracts"] = (
        mb(osmem) if osmem is not None else "-"
    )
    phases = [
        r[k]["wall"] for k in ("ingest", "ocr", "build", "search_snippets", "audit") if k in r
    ]
    out["wall seconds: ingest, OCR, index, search, audit"] = ", ".join(f"{w:.0f}" for w in phases)
    out["load average (1 min): start / end"] = f"{ing['load'][0]:.1f} / {r['load_end']:.1f}"
    return out


COLUMNS = {
    "embedded": "embedded (dir, SQLite, tantivy)",
    "scaleout": "PostgreSQL + S3 + OpenSearch",
}


def report(results: dict[str, dict[str, Any]], args: argparse.Namespace) -> None:
    table = {name: cells(r, args.docs) for name, r in results.items()}
    print("\n| | " + " | ".join(COLUMNS[n] for n in results) + " |")
    print("|---|" + "---|" * len(results))
    for label in next(iter(table.values())):
        print(f"| {label} | " + " | ".join(t.get(label, "-") for t in table.values()) + " |")
    name, first = next(iter(results.items()))
    print(f"\nobjects by kind, {name} (count, bytes):")
    for kind, (n, b) in first["objects"].items():
        print(f"  {kind}: {n}, {mb(b)}")
    rows = ", ".join(f"{k} {v}" for k, v in first["records_rows"].items())
    print(f"records rows, {name}: {rows}")
    projection(results, args)


def projection(results: dict[str, dict[str, Any]], args: argparse.Namespace) -> None:
    """Storage, index and CPU for 1 and 10 million contracts from the measured costs."""
    p, s = args.pages_per_contract, args.scan_share
    text_pages, scan_pages = p * (1 - s), p * s
    print(
        f"\nprojection: {p:g} pages per contract, {s:.0%} of them scanned (OCR); bytes and CPU "
        "as measured above, per page and per contract (docs/sizing.md)"
    )
    print("| per contract | " + " | ".join(results) + " | 1 million | 10 million |")
    print("|---|" + "---|" * (len(results) + 2))
    cs = {name: costs(r, r.get("ocr", {}).get("pages", 0)) for name, r in results.items()}
    lines: list[tuple[str, Callable[[dict[str, float]], float], str]] = [
        ("originals", lambda c: text_pages * c["original_per_text_page"]
         + scan_pages * c["original_per_scan_page"], "B"),
        ("text (all pages)", lambda c: p * c["text_per_page"], "B"),
        ("OCR words (scanned pages)", lambda c: scan_pages * c["words_per_scan_page"], "B"),
        ("searchable copies (scanned pages)",
         lambda c: scan_pages * c["searchable_per_scan_page"], "B"),
        ("renditions (Office, images: share as measured)",
         lambda c: c["rendition_per_contract"], "B"),
        ("manifests and seals", lambda c: c["evidence_per_contract"], "B"),
        ("records (without the vocabulary)", lambda c: c["records_per_contract"], "B"),
        ("index", lambda c: p * c["index_per_page"], "B"),
        ("ingest CPU (text pages)", lambda c: text_pages * c["ingest_cpu_per_page"], "s"),
        ("OCR CPU (scanned pages)", lambda c: scan_pages * c["ocr_cpu_per_page"], "s"),
        ("index build CPU", lambda c: c["index_cpu_per_contract"] * p / 5.5, "s"),
    ]  # fmt: skip
    totals = dict.fromkeys(results, 0.0)
    for label, fn, unit in lines:
        values = [fn(cs[name]) for name in results]
        big = max(values)
        if unit == "B":
            for name, v in zip(results, values, strict=True):
                totals[name] += v
            cells = [kb(v) for v in values] + [f"{big * n / 1e9:,.1f} GB" for n in (1e6, 1e7)]
        else:
            cells = [f"{v:.2f} s" for v in values]
            cells += [f"{big * n / 3600:,.0f} CPU h" for n in (1e6, 1e7)]
        print(f"| {label} | " + " | ".join(cells) + " |")
    big = max(totals.values())
    print(
        "| bytes in all | " + " | ".join(kb(v) for v in totals.values())
        + f" | {big * 1e6 / 1e12:,.2f} TB | {big * 1e7 / 1e12:,.2f} TB |"
    )  # fmt: skip
    print("(the million columns take the larger of the two configurations; the stitched index")
    print(" contracts have 5.5 pages on average, so index build CPU is scaled by pages)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=1000, help="stitched contracts to index")
    parser.add_argument("--queries", type=int, default=80)
    parser.add_argument("--no-ocr", action="store_true", help="skip the OCR phase")
    parser.add_argument("--only", choices=["embedded", "scaleout"], default=None)
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("ARCHIVE_TEST_POSTGRES_URL") or DEFAULT_POSTGRES,
        help="a PostgreSQL server where a database may be created (and is dropped after)",
    )
    parser.add_argument("--pages-per-contract", type=float, default=10.0)
    parser.add_argument("--scan-share", type=float, default=0.3)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per configuration")
    # the child's arguments (internal)
    parser.add_argument("--config", help=argparse.SUPPRESS)
    parser.add_argument("--settings", default="{}", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    parser.add_argument("--server-pids", default="{}", help=argparse.SUPPRESS)
    parser.add_argument("--pg-admin-url", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--pg-db", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--s3-data-dir", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.docs < 1 or args.queries < 1:
        parser.error("--docs and --queries must be at least 1")
    if not 0 <= args.scan_share <= 1 or args.pages_per_contract <= 0:
        parser.error("--scan-share must be in 0..1 and --pages-per-contract above 0")
    if args.config:  # a child
        Path(args.out).write_text(json.dumps(run_config(args)))
        return
    signal.signal(signal.SIGTERM, _on_term)
    print(f"machine: {machine()}")
    print(f"load average (1 min) at the start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    started = time.perf_counter()
    results: dict[str, dict[str, Any]] = {}
    common = ["--docs", str(args.docs), "--queries", str(args.queries)]
    common += ["--no-ocr"] if args.no_ocr else []
    tmp = Path(tempfile.mkdtemp(prefix="scaleout-bench-"))
    try:
        if args.only in (None, "embedded"):
            results["embedded"] = run_child(
                ["--config", "embedded", "--data-dir", str(tmp / "embedded"), *common],
                tmp / "embedded.log",
                args.timeout,
            )
            print(f"embedded done in {time.perf_counter() - started:.0f} s", flush=True)
        if args.only in (None, "scaleout"):
            results["scaleout"] = scaleout(args, tmp, common)
            print(f"scale-out done in {time.perf_counter() - started:.0f} s", flush=True)
    except (KeyboardInterrupt, Stop):
        print("interrupted: stopping the servers and removing the temporary files", flush=True)
        raise SystemExit(130) from None
    finally:
        sweep()
        shutil.rmtree(tmp, ignore_errors=True)
        for path in SERVER_DIRS:  # removed by their own cleanup, unless a signal cut it short
            shutil.rmtree(path, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    report(results, args)
    print(f"\nload average (1 min) at the end: {os.getloadavg()[0]:.2f}; "
          f"the whole run took {time.perf_counter() - started:.0f} s")  # fmt: skip


def scaleout(args: argparse.Namespace, tmp: Path, common: list[str]) -> dict[str, Any]:
    from osmem_server import OsmemServer

    sys.path.insert(0, str(ROOT))
    from tests.servers import seaweedfs

    with contextlib.ExitStack() as stack:
        db_url, db_name = stack.enter_context(postgres_database(args.postgres_url))
        s3 = stack.enter_context(seaweedfs(SERVER_DIRS))
        osmem = OsmemServer.start(
            japanese=False, binary=os.environ.get("OSMEM_SERVER_BIN") or None, startup_timeout=60
        )
        stack.callback(osmem.close)
        settings = {
            "database_url": db_url,
            "object_store": "s3",
            "s3_endpoint": s3.endpoint,
            "s3_access_key": s3.access_key,
            "s3_secret_key": s3.secret_key,
            "s3_bucket": s3.make_bucket(),
            "index_backend": "opensearch",
            "index_url": osmem.url,
            "index_name": "bench-scaleout",
        }
        return run_child(
            [
                "--config",
                "scaleout",
                "--data-dir",
                str(tmp / "scaleout"),
                "--settings",
                json.dumps(settings),
                "--server-pids",
                json.dumps({"seaweedfs": s3.process.pid, "osmem": osmem.pid}),
                "--pg-admin-url",
                args.postgres_url,
                "--pg-db",
                db_name,
                "--s3-data-dir",
                str(s3.data_dir),
                *common,
            ],
            tmp / "scaleout.log",
            args.timeout,
        )


if __name__ == "__main__":  # the OCR pool starts its workers with forkserver
    main()
