"""The watched folder (issue 16): what is dropped into a folder is archived once complete.

One implementation for ``contract-archive watch DIR`` and for the server's watcher
(``ARCHIVE_WATCH_DIR``); both act through the caller-bound facade (``f.watch.watcher``), so what
the watcher may do and what is logged are the facade's ingest actions.

A file is **complete** when a ``NAME.done`` marker lies beside it, or when its size and time
have not changed for ``stable_seconds`` across looks. It is then **claimed** by a rename into
``FOLDER/.processing/<host id>-<pid>-<ns>/RELATIVE`` (of two watchers on one folder, or on two
machines sharing it, exactly one rename succeeds), archived as ``ingest`` would, and **placed**:
moved to ``archived/RELATIVE`` (archived or duplicate) or ``rejected/RELATIVE`` with
``NAME.reason.txt`` beside it (the reason and the hint). A claimed file is never left half-way:
an error that is not the file's (the database is down) moves it back where it was, to be taken
again; a watcher that is stopped finishes the file it holds first; the claims of a process that
died (on this host) are moved back when a watcher starts, and ``doctor`` reports them.

**The folder rule** (:func:`folder_rule`, shared with ``ingest FOLDER``): the first level of
folders names the customer, the second a classification code of the current scheme; deeper
folders are only the archivist's order. A folder named ``batches`` at any level holds batch scans
and takes no place in the counting. A second-level folder that is not a code of the scheme, and
a first-level folder whose name is one, is refused with the reason (nothing is guessed).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import TYPE_CHECKING

from core.access_errors import Forbidden
from core.errors import ArchiveError, ConfigurationError, InvalidRequest
from core.rules import valid_classification
from ingest.context import IngestResult
from services.batches import BatchOutcome
from services.facade.batches import BATCH_FOLDER, is_batch_scan
from storage.maintenance import owner_tag, tag_owner_alive

if TYPE_CHECKING:
    from services.facade.facade import Facade

log = logging.getLogger(__name__)

ARCHIVED = "archived"
REJECTED = "rejected"
WORKING = ".processing"
DONE_SUFFIX = ".done"
REASON_SUFFIX = ".reason.txt"
OWN_FOLDERS = frozenset({ARCHIVED, REJECTED, WORKING})
"""The watcher's own folders at the top of the watched folder: never looked into for files."""


# --- the folder rule ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Placement:
    """What a file's folders say: its customer and classification, or why they are refused."""

    customer: str | None = None
    classification: str | None = None
    reason: str | None = None
    hint: str | None = None

    @property
    def ok(self) -> bool:
        return self.reason is None


def _as_code(name: str) -> str | None:
    try:
        return valid_classification(name)
    except InvalidRequest:
        return None


def folder_rule(
    relative: PurePath,
    codes: Collection[str],
    *,
    customer_given: bool = False,
    classification_given: bool = False,
) -> Placement:
    """The customer and classification of a file at ``relative`` (below the watched or ingested
    folder), given the codes of the current scheme: ``CUSTOMER/x.pdf`` → the customer;
    ``CUSTOMER/CODE/x.pdf`` (and anything deeper) → the customer and the code; a ``batches``
    folder anywhere is left out of the counting. Refused: a second-level folder that is not a
    code of the scheme (``CUSTOMER/2024/x.pdf``), and a first-level folder that is one
    (``XS/x.pdf``: a code where the customer belongs). ``customer_given`` /
    ``classification_given`` (``ingest --customer`` / ``--classification``, which win over
    the folders): that level is not read, nor refused."""
    dirs = [part for part in relative.parent.parts if part != BATCH_FOLDER]
    if not dirs:
        return Placement()
    listed = ", ".join(sorted(codes)) or "none (the scheme has no codes)"
    first = _as_code(dirs[0])
    if first is not None and first in codes and not customer_given:
        return Placement(
            reason=f"the folder {dirs[0]!r} is a classification code, where the customer "
            "belongs: the first level of folders names the customer, the second the "
            "classification",
            hint=f"put the file in CUSTOMER/{first}/ (a customer's folder, then the code); "
            f"codes of the scheme: {listed}",
        )
    customer = " ".join(dirs[0].split())[:500] or None
    if len(dirs) == 1 or classification_given:
        return Placement(customer=customer)
    code = _as_code(dirs[1])
    if code is None or code not in codes:
        return Placement(
            customer=customer,
            reason=f"the folder {dirs[1]!r} is not a code of the classification scheme: the "
            "second level of folders names the classification",
            hint=f"use one of the codes: {listed}; folders below CUSTOMER/CODE/ may have any name",
        )
    return Placement(customer=customer, classification=code)


# --- what became of one file ----------------------------------------------------------------
@dataclass(frozen=True)
class WatchEvent:
    """One file taken: where it went and what became of it."""

    file: str
    """Its place below the watched folder, as it was dropped."""
    moved_to: PurePath
    """Where it lies now, below the watched folder (``archived/...`` or ``rejected/...``)."""
    ok: bool
    """Archived (or a duplicate); for a batch: the batch and every contract of it."""
    results: tuple[IngestResult, ...]
    """The file's result, then its attachments' (an e-mail's); for a batch: the batch's and
    each contract's."""
    batch: BatchOutcome | None = None
    """A batch scan's outcome, when it could be split."""


@dataclass
class _Seen:
    size: int
    mtime_ns: int
    since: float


@dataclass
class _State:
    seen: dict[Path, _Seen] = field(default_factory=dict)


def folder_problem(folder: Path) -> str | None:
    """Why the watcher cannot work in ``folder`` (None: it can)."""
    if not folder.exists():
        return f"the watched folder {folder} does not exist"
    if not folder.is_dir():
        return f"the watched folder {folder} is not a folder"
    if not os.access(folder, os.R_OK | os.W_OK | os.X_OK):
        return (
            f"the watched folder {folder} is not readable and writable by this process "
            f"(uid {os.getuid()})"
        )
    for own in OWN_FOLDERS:
        sub = folder / own
        if sub.exists() and not (sub.is_dir() and os.access(sub, os.R_OK | os.W_OK | os.X_OK)):
            return f"{sub} is not a folder this process can write to (uid {os.getuid()})"
    return None


def check_folder(folder: Path, setting: str | None = None) -> None:
    """ConfigurationError when the watcher cannot work in ``folder``."""
    problem = folder_problem(folder)
    if problem is not None:
        where = f" ({setting})" if setting else ""
        raise ConfigurationError(
            problem + where,
            hint="create the folder and give the archive's user read and write access to it"
            + (f", or unset {setting}" if setting else ""),
        )


def stale_claims(folder: Path) -> Iterator[Path]:
    """The claim folders in ``FOLDER/.processing`` of processes on this host that died."""
    working = folder / WORKING
    with contextlib.suppress(OSError):
        for entry in sorted(working.iterdir()):
            if entry.is_dir() and tag_owner_alive(entry.name) is False:
                yield entry


def _remove_empty(top: Path, stop: Path) -> None:
    """Remove ``top`` and its empty parents up to (not including) ``stop``."""
    here = top
    while here != stop and stop in here.parents:
        try:
            here.rmdir()
        except OSError:
            return
        here = here.parent


def release_claim(folder: Path, claim: Path) -> list[Path]:
    """Move the files of a claim folder back where they were dropped (a file of that name
    dropped meanwhile keeps its place, and the claimed one gets a number); the places."""
    moved = []
    for path in sorted(p for p in claim.rglob("*") if p.is_file()):
        relative = path.relative_to(claim)
        target = _free(folder / relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.rename(path, target)
        moved.append(target)
    for sub in sorted((p for p in claim.rglob("*") if p.is_dir()), reverse=True):
        with contextlib.suppress(OSError):
            sub.rmdir()
    with contextlib.suppress(OSError):
        claim.rmdir()
    return moved


def _free(target: Path) -> Path:
    final = target
    n = 1
    while final.exists():
        final = target.with_name(f"{target.stem}.{n}{target.suffix}")
        n += 1
    return final


class FolderWatcher:
    """Watches one folder for one caller (the facade it is given)."""

    def __init__(
        self,
        facade: Facade,
        folder: Path,
        *,
        stable_seconds: float = 5.0,
        split_batches: bool = False,
        on_event: Callable[[WatchEvent], None] | None = None,
    ) -> None:
        self.f = facade
        self.folder = folder
        self.stable_seconds = stable_seconds
        self.split_batches = split_batches
        self.on_event = on_event
        self._state = _State()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.taking: str | None = None
        """The file being archived now (None between files)."""

    # -- looking -----------------------------------------------------------------------------
    def candidates(self) -> list[Path]:
        """Files waiting below the folder: every file at any depth except hidden ones, ``.done``
        markers and what lies in the watcher's own folders at the top."""
        found: list[Path] = []

        def walk(where: Path, top: bool) -> None:
            try:
                entries = sorted(where.iterdir())
            except OSError:
                return  # vanished meanwhile, or unreadable: nothing to take there
            for entry in entries:
                if entry.name.startswith(".") or (top and entry.name in OWN_FOLDERS):
                    continue
                if entry.is_dir() and not entry.is_symlink():
                    walk(entry, False)
                elif entry.is_file() and not entry.name.endswith(DONE_SUFFIX):
                    found.append(entry)

        walk(self.folder, True)
        return found

    def pending(self) -> bool:
        return bool(self.candidates())

    def idle(self) -> bool:
        """Nothing waiting in the folder and no file being archived."""
        return self.taking is None and not self.pending()

    def _ready(self, path: Path, now: float) -> bool:
        """Complete: a ``NAME.done`` marker beside it, or size and time unchanged for
        ``stable_seconds`` across looks."""
        if path.with_name(path.name + DONE_SUFFIX).exists():
            return True
        try:
            st = path.stat()
        except FileNotFoundError:
            return False
        seen = self._state.seen
        last = seen.get(path)
        if last is None or (last.size, last.mtime_ns) != (st.st_size, st.st_mtime_ns):
            seen[path] = _Seen(st.st_size, st.st_mtime_ns, now)
            return False
        return now - last.since >= self.stable_seconds

    def scan(self) -> list[WatchEvent]:
        """One look: take every file that is complete (stopping between two files once
        :meth:`stop` was called)."""
        now = time.monotonic()
        found = self.candidates()
        present = set(found)
        for gone in [p for p in self._state.seen if p not in present]:
            del self._state.seen[gone]  # taken by another watcher, or removed
        codes: frozenset[str] | None = None
        events: list[WatchEvent] = []
        for path in found:
            if self._stop.is_set():
                break
            if not self._ready(path, now):
                continue
            self._state.seen.pop(path, None)
            if codes is None:
                codes = frozenset(self.f.watch.codes())
            event = self._take(path, codes)
            if event is not None:
                events.append(event)
                if self.on_event is not None:
                    self.on_event(event)
        return events

    # -- one file ----------------------------------------------------------------------------
    def _claim(self, path: Path, relative: Path) -> Path | None:
        """Rename the file into a claim folder of this process: of two watchers, exactly one
        gets it (None: another one did)."""
        mine = self.folder / WORKING / f"{owner_tag()}{time.time_ns()}" / relative
        mine.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(path, mine)
        except FileNotFoundError:
            _remove_empty(mine.parent, self.folder / WORKING)
            return None
        return mine

    def _take(self, path: Path, codes: frozenset[str]) -> WatchEvent | None:
        relative = path.relative_to(self.folder)
        place = folder_rule(relative, codes)
        batch = is_batch_scan(path, split_all=self.split_batches)  # by its bytes, before the move
        claimed = self._claim(path, relative)
        if claimed is None:
            return None  # another watcher took it
        self.taking = str(relative)
        try:
            if not place.ok:
                assert place.reason is not None
                refused = IngestResult(
                    file=str(relative), status="rejected", reason=place.reason, hint=place.hint
                )
                moved = self._move(claimed, relative, False, [place.reason], place.hint)
                event = WatchEvent(str(relative), moved, False, (refused,))
            elif batch:
                event = self._split(claimed, relative, place)
            else:
                event = self._ingest(claimed, relative, place)
        except BaseException:
            if claimed.exists():
                target = _free(path)
                target.parent.mkdir(parents=True, exist_ok=True)
                os.rename(claimed, target)  # back where it was: taken again next time
            raise
        finally:
            self.taking = None
            _remove_empty(claimed.parent, self.folder / WORKING)
        path.with_name(path.name + DONE_SUFFIX).unlink(missing_ok=True)
        return event

    def _ingest(self, claimed: Path, relative: Path, place: Placement) -> WatchEvent:
        try:
            result = self.f.contracts.ingest_path(
                claimed,
                display_name=str(relative),
                customer=place.customer,
                classification=place.classification,
            ).result
        except (Forbidden, InvalidRequest) as exc:  # the file's (or its folder's) fault
            result = IngestResult(
                file=str(relative), status="rejected", reason=exc.message, hint=exc.hint
            )
        moved = self._move(
            claimed, relative, result.ok, [result.reason or result.status], result.hint
        )
        flat: list[IngestResult] = []
        pending = [result]
        while pending:
            one = pending.pop(0)
            flat.append(one)
            pending[0:0] = one.attachments
        return WatchEvent(
            str(relative), moved, result.status not in ("rejected", "failed"), tuple(flat)
        )

    def _split(self, claimed: Path, relative: Path, place: Placement) -> WatchEvent:
        """Split and archive a batch scan (as ``ingest --split-batches``), then move it to
        ``archived/``, or to ``rejected/`` with the reason: a batch that cannot be split (found
        before anything is archived), or one of whose parts was refused."""
        try:
            outcome = self.f.batches.ingest_path(
                claimed,
                display_name=str(relative),
                customer=place.customer,
                classification=place.classification,
            )
        except ArchiveError as exc:
            moved = self._move(claimed, relative, False, [exc.message], exc.hint)
            refused = IngestResult(
                file=str(relative), status="rejected", reason=exc.message, hint=exc.hint
            )
            return WatchEvent(str(relative), moved, False, (refused,))
        parts = tuple(r for r in (outcome.batch, *outcome.results) if r is not None)
        reasons = [f"{r.file}: {r.reason or r.status}" for r in parts if not r.ok]
        hint = next((r.hint for r in parts if not r.ok and r.hint), None)
        moved = self._move(claimed, relative, outcome.ok, reasons, hint)
        return WatchEvent(str(relative), moved, outcome.ok, parts, batch=outcome)

    def _move(
        self, claimed: Path, relative: Path, kept: bool, reasons: list[str], hint: str | None
    ) -> PurePath:
        """Move a processed file to ``archived/`` or ``rejected/`` (keeping its subfolders),
        with ``NAME.reason.txt`` beside a rejected one; a name already there gets a number."""
        final = _free(self.folder / (ARCHIVED if kept else REJECTED) / relative)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.rename(claimed, final)
        if not kept:
            lines = list(reasons)
            if hint:
                lines.append(f"hint: {hint}")
            final.with_name(final.name + REASON_SUFFIX).write_text("\n".join(lines) + "\n")
        return final.relative_to(self.folder)

    # -- running -----------------------------------------------------------------------------
    def recover(self) -> list[Path]:
        """Move the files claimed by processes of this host that died back where they were
        dropped; the places."""
        moved: list[Path] = []
        for claim in stale_claims(self.folder):
            moved += release_claim(self.folder, claim)
        return moved

    def run(self, *, interval: float, once: bool = False) -> None:
        """Look every ``interval`` seconds until stopped (``once``: until nothing is left). An
        error that is not a file's own (the database is down) ends the run (the file goes
        back)."""
        while not self._stop.is_set():
            self.scan()
            if once and not self.pending():
                return
            self._stop.wait(interval)

    def start(self, *, interval: float) -> None:
        """Watch in a thread of this process (the server) until :meth:`stop`. A folder that
        goes missing, or an error that is not a file's own, is logged (once until it changes)
        and the next look tries again: the server goes on."""
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._serve, args=(interval,), name="watch-folder", daemon=True
        )
        self._thread.start()

    def _serve(self, interval: float) -> None:
        last_problem: str | None = None
        recovered = False
        while not self._stop.is_set():
            try:
                problem = folder_problem(self.folder)
                if problem is None:
                    if not recovered:
                        for place in self.recover():
                            log.warning(
                                "watched folder: %s was claimed by a dead process and "
                                "is taken again",
                                place,
                            )
                        recovered = True
                    self.scan()
            except ArchiveError as exc:
                problem = f"{exc.message}" + (f" (hint: {exc.hint})" if exc.hint else "")
            except Exception as exc:  # the server goes on; logged with the trace
                problem = f"{type(exc).__name__}: {exc}"
                if problem != last_problem:
                    log.exception("watched folder %s: the watcher failed", self.folder)
                    last_problem = problem
            if problem != last_problem:
                if problem is None:
                    log.info("watched folder %s: watching again", self.folder)
                else:
                    log.error("watched folder %s: %s", self.folder, problem)
                last_problem = problem
            self._stop.wait(interval)

    def stop(self) -> None:
        """Stop looking; the file being archived (if any) is finished and placed first."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread.is_alive():
            if self.taking is not None:
                log.info("watched folder: finishing %s before stopping", self.taking)
            thread.join()
        self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()
