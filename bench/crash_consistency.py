"""Crash consistency: SIGKILL an ingest batch at random points, then doctor, then check.

    uv run python -m bench.crash_consistency [--rounds 20] [--seed N]

The batch is 50 corpus PDFs (the smallest digital ones; a few are rejected by design). A
reference run ingests it completely and is timed. Each round then, in a fresh data directory:

1. runs ``contract-archive ingest --json --jobs 2 BATCH`` in its own process group and kills the
   whole group (the CLI, the forkserver and the parser processes) with SIGKILL after a random
   delay between 0 and the reference duration;
2. runs ``contract-archive doctor --repair --json`` (what it repaired is counted); doctor run
   again must then find nothing;
3. checks every file of the batch: either fully archived (record, original byte-identical with
   the recorded SHA-256, text file with its recorded SHA-256, index entry found by
   ``sha256:``, sealed and verified where the seal exists) or absent (no record, no object,
   no index entry, no claim);
4. ingests the whole batch again: every file ends as the reference run ended it, and doctor is
   clean.

``tests/test_crash.py`` runs one round on a batch of 20 (ARCHIVE_TEST_CRASH_ROUNDS,
ARCHIVE_TEST_CRASH_FILES); this script runs 20 rounds of 50 and prints what the kills hit. Any
violation raises.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import CORPUS, machine

PROGRAM = str(Path(sys.executable).parent / "contract-archive")
BATCH_SIZE = 50
DIGITAL = ("zh", "en-cuad", "edge", "signed")


def batch_files(n: int = BATCH_SIZE) -> list[Path]:
    """The ``n`` smallest distinct digital PDFs of the corpus."""
    found: dict[str, Path] = {}
    for folder in DIGITAL:
        for path in sorted((CORPUS / folder).rglob("*")):
            if path.is_file() and path.suffix.lower() == ".pdf":
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                found.setdefault(digest, path)
    chosen = sorted(found.values(), key=lambda p: (p.stat().st_size, str(p)))[:n]
    if len(chosen) < n:
        raise RuntimeError(f"the corpus has only {len(chosen)} digital PDFs, {n} wanted")
    return chosen


def make_batch(target: Path, n: int = BATCH_SIZE) -> dict[str, str]:
    """Copy the batch into ``target``; return {file name: SHA-256}."""
    target.mkdir(parents=True, exist_ok=True)
    digests = {}
    for i, src in enumerate(batch_files(n)):
        name = f"{i:02d}-{src.name}"
        shutil.copyfile(src, target / name)
        digests[name] = hashlib.sha256(src.read_bytes()).hexdigest()
    return digests


def _env(data_dir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVE_")}
    env.update({"ARCHIVE_DATA_DIR": str(data_dir), "ARCHIVE_LOG_LEVEL": "error"})
    env.update(extra or {})
    return env


def cli(data_dir: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 600):
    return subprocess.run(
        [PROGRAM, *args],
        capture_output=True,
        text=True,
        env=_env(data_dir, env),
        timeout=timeout,
        check=False,
    )


def ingest_results(stdout: str) -> dict[str, dict]:
    results = {}
    for line in stdout.splitlines():
        if line.startswith("{"):
            item = json.loads(line)
            results[Path(item["file"]).name] = item
    return results


@dataclass
class Reference:
    seconds: float
    first_result: float
    """Seconds from the start to the first file's result (start-up and the first file)."""
    outcome: dict[str, str]
    """file name -> archived / rejected."""


def reference_run(batch: Path, workdir: Path, env: dict[str, str] | None = None) -> Reference:
    data = workdir / "reference"
    started = time.monotonic()
    first = None
    lines = []
    proc = subprocess.Popen(
        [PROGRAM, "ingest", "--json", "--jobs", "2", str(batch)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(data, env),
    )
    assert proc.stdout is not None and proc.stderr is not None
    for line in proc.stdout:
        first = first or time.monotonic() - started
        lines.append(line)
    stderr = proc.stderr.read()
    proc.wait()
    seconds = time.monotonic() - started
    results = ingest_results("".join(lines))
    if proc.returncode not in (0, 1) or not results or first is None:
        raise AssertionError(f"the reference ingest failed ({proc.returncode}): {stderr[-2000:]}")
    outcome = {name: item["status"] for name, item in results.items()}
    if set(outcome.values()) - {"archived", "rejected"}:
        raise AssertionError(f"unexpected outcomes in the reference run: {outcome}")
    shutil.rmtree(data, ignore_errors=True)
    return Reference(seconds, first, outcome)


def _group_alive(pgid: int) -> list[int]:
    alive = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            alive.append(int(entry.name))
    return alive


def kill_ingest(
    batch: Path, data: Path, when: tuple[str, float], env: dict[str, str] | None = None
) -> int:
    """Start a batch ingest and SIGKILL its whole process group: ``("start", s)`` that many
    seconds after the start, ``("first", s)`` that many seconds after the first file's result.
    Returns how many files it reported as done before dying."""
    out_path = data.parent / f"{data.name}.out"
    data.parent.mkdir(parents=True, exist_ok=True)
    mode, delay = when
    with open(out_path, "w") as out:
        proc = subprocess.Popen(
            [PROGRAM, "ingest", "--json", "--jobs", "2", str(batch)],
            stdout=out,
            stderr=subprocess.DEVNULL,
            env=_env(data, env),
            start_new_session=True,
        )
        try:
            if mode == "first":
                deadline = time.monotonic() + 600
                while out_path.stat().st_size == 0 and proc.poll() is None:
                    if time.monotonic() > deadline:
                        raise AssertionError("the ingest produced no result in 10 minutes")
                    time.sleep(0.02)
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            pass
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
    deadline = time.monotonic() + 10
    while (left := _group_alive(proc.pid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    if left:
        raise AssertionError(f"processes of the killed ingest survive: {left}")
    return len(ingest_results(out_path.read_text(errors="replace")))


def kill_point(reference: Reference, rng: random.Random) -> tuple[str, float]:
    """A quarter of the kills fall in start-up and the first file, the rest in the batch."""
    if rng.random() < 0.25:
        return ("start", rng.uniform(0.0, reference.first_result))
    return ("first", rng.uniform(0.0, reference.seconds - reference.first_result))


def check_files(data: Path, digests: dict[str, str], env: dict[str, str] | None = None) -> Counter:
    """Every file is fully archived and verifiable, or absent. Returns the counts."""
    from core.settings import Settings
    from services.archive import Archive
    from services.doctor import Doctor

    settings = Settings(data_dir=data, _env_file=None, **_settings_overrides(env))  # type: ignore[call-arg]
    counts: Counter = Counter()
    with Archive(settings, parser_workers=1).open(migrate=False) as archive:
        claims = {c.sha256 for c in archive.records.claims()}
        indexed = archive.index.ids()
        for name, digest in digests.items():
            record = archive.records.find_by_sha256(digest)
            keys = list(archive.objects.iter_keys(f"packages/{digest[:2]}/{digest}/"))
            if record is None:
                if keys:
                    raise AssertionError(f"{name}: no record but objects {keys}")
                if digest in claims:
                    raise AssertionError(f"{name}: no record but an ingest claim")
                counts["absent"] += 1
                continue
            with archive.objects.open(record.original_key) as fh:
                if hashlib.sha256(fh.read()).hexdigest() != digest:
                    raise AssertionError(f"{name}: the stored original differs")
            with archive.objects.open(record.text_key) as fh:
                text = fh.read()
            if hashlib.sha256(text).hexdigest() != record.text_sha256:
                raise AssertionError(f"{name}: the stored text differs from its record")
            if len(json.loads(text)["pages"]) != record.page_count:
                raise AssertionError(f"{name}: the text has the wrong number of pages")
            if record.id not in indexed:
                raise AssertionError(f"{name}: archived as {record.id} but not indexed")
            hits = archive.search(f"sha256:{digest}").hits
            if [h.id for h in hits] != [record.id]:
                raise AssertionError(f"{name}: sha256:{digest} finds {hits}")
            if digest in claims:
                raise AssertionError(f"{name}: archived but its ingest claim is still held")
            seal = getattr(archive, "seal", None)
            if seal is not None:  # sealed and verifiable (the seal stage exists)
                # The archive's own checks pass; a deliberately broken signature inside a
                # corpus PDF is the file's business (reported, not ours to pass).
                report = seal.verify(record.id)
                failed = [c.id for c in report.by_status("FAILED") if c.id != "embedded_signatures"]
                if report.seal_state != "sealed" or failed:
                    raise AssertionError(f"{name}: not verifiable: {report.summary()}")
            counts["archived"] += 1
        extra = indexed - archive.records.contract_ids()
        if extra:
            raise AssertionError(f"index entries without records: {sorted(extra)}")
        report = Doctor(archive).run()
        if report.findings:
            raise AssertionError(f"doctor is not clean: {report.to_dict()}")
    return counts


def _settings_overrides(env: dict[str, str] | None) -> dict[str, str]:
    return {
        k.removeprefix("ARCHIVE_").lower(): v
        for k, v in (env or {}).items()
        if k.startswith("ARCHIVE_")
    }


@dataclass
class RoundResult:
    when: tuple[str, float]
    reported_done: int
    repaired: Counter = field(default_factory=Counter)
    state: Counter = field(default_factory=Counter)


def crash_round(
    batch: Path,
    digests: dict[str, str],
    reference: Reference,
    data: Path,
    rng: random.Random,
    env: dict[str, str] | None = None,
) -> RoundResult:
    when = kill_point(reference, rng)
    done = kill_ingest(batch, data, when, env)
    result = RoundResult(when=when, reported_done=done)

    r = cli(data, "doctor", "--repair", "--json", "--grace", "3600", env=env)
    if r.returncode != 0:
        raise AssertionError(
            f"doctor --repair left problems ({r.returncode}): {r.stdout}{r.stderr}"
        )
    report = json.loads(r.stdout)
    for finding in report["findings"]:
        if finding["repaired"] is None and finding["severity"] == "error":
            raise AssertionError(f"doctor did not repair {finding}")
        result.repaired[finding["code"]] += 1
    result.state = check_files(data, digests, env)  # and doctor finds nothing now

    r = cli(data, "ingest", "--json", "--jobs", "2", str(batch), env=env)
    again = ingest_results(r.stdout)
    for name, expected in reference.outcome.items():
        got = again.get(name, {}).get("status")
        ok = got in ("archived", "duplicate") if expected == "archived" else got == expected
        if not ok:
            raise AssertionError(
                f"{name}: re-ingested as {got}, expected {expected}: {again.get(name)}"
            )
    final = check_files(data, digests, env)
    if final["archived"] != sum(1 for s in reference.outcome.values() if s == "archived"):
        raise AssertionError(
            f"after re-ingest: {final}, reference {Counter(reference.outcome.values())}"
        )
    return result


REFERENCE: list[Reference] = []


def run(
    rounds: int,
    seed: int,
    workdir: Path,
    env: dict[str, str] | None = None,
    files: int = BATCH_SIZE,
) -> list[RoundResult]:
    rng = random.Random(seed)
    batch = workdir / "batch"
    digests = make_batch(batch, files)
    reference = reference_run(batch, workdir, env)
    REFERENCE[:] = [reference]
    results = []
    for i in range(rounds):
        data = workdir / f"round-{i:02d}" / "var"
        results.append(crash_round(batch, digests, reference, data, rng, env))
        shutil.rmtree(data.parent, ignore_errors=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--seed", type=int, default=20261202)
    parser.add_argument("--files", type=int, default=BATCH_SIZE, help="files in the batch")
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="crash-") as tmp:
        results = run(args.rounds, args.seed, Path(tmp), files=args.files)
    print(f"machine: {machine()}")
    print(f"{len(results)} rounds, {time.monotonic() - started:.0f} s, all consistent")
    print(
        f"reference: {REFERENCE[0].seconds:.1f} s, first result {REFERENCE[0].first_result:.1f} s"
    )
    repaired: Counter = Counter()
    for i, res in enumerate(results):
        repaired.update(res.repaired)
        print(
            f"round {i:2d}: killed {res.when[1]:5.2f} s after the {res.when[0]:5s}, "
            f"{res.reported_done:2d} files reported, "
            f"{res.state['archived']:2d} archived / {res.state['absent']:2d} absent after doctor, "
            f"repaired {dict(res.repaired) or 'nothing'}"
        )
    print(f"repairs over all rounds: {dict(repaired)}")


if __name__ == "__main__":
    main()
