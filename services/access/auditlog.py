"""The access log's integrity: chain verification, signed daily checkpoints, signed extracts.

* **Chain.** Entry *n* carries the SHA-256 of entry *n-1*'s canonical form
  (``storage.records.access_base.canonical_bytes``); the first entry carries 64 zeros.
  :func:`AuditLog.verify` walks the chain and reports the first broken link.
* **Checkpoints.** The chain head and the entry count, as a signed note, stored as an object
  under ``audit/checkpoints/<UTC day>/<count>.note``: written automatically for each day when
  the first entry of a later day is appended, and on demand (``contract-archive audit
  checkpoint``). A checkpoint is what makes deleting or rewriting entries, even directly in the
  database, detectable: the chain after the change no longer reaches the signed head. The body
  is a stable canonical byte string (:meth:`Checkpoint.body`), ready to be sealed as well.
* **Extracts.** A ZIP of selected entries with a signed note over their digest and the log head,
  the log's public key and instructions, verifiable offline (:func:`verify_extract`).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from core.errors import ArchiveError
from services.access.notes import Note, NoteError, NoteSigner, VerifierKey
from storage.errors import ObjectExists, StorageError
from storage.objects.base import ObjectStore
from storage.records.access_base import (
    AccessStore,
    LogEntry,
    LogFilter,
    LogHead,
    canonical_bytes,
    iso,
)

log = logging.getLogger(__name__)

CHECKPOINT_PREFIX = "audit/checkpoints/"
SEAL_SUFFIX = ".p7s"
KEYS_PREFIX = "audit/keys/"
CHECKPOINT_KIND = "contract-archive access-log checkpoint v1"
EXTRACT_KIND = "contract-archive access-log extract v1"
MAX_EXTRACT_BYTES = 512 * 1024 * 1024
CSV_FIELDS = (
    "seq",
    "at",
    "actor",
    "via",
    "ip",
    "user_agent",
    "action",
    "contract_id",
    "outcome",
    "purpose",
    "details",
    "prev",
    "hash",
)

Status = Literal["PASSED", "FAILED"]


# --- checkpoints -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Checkpoint:
    origin: str
    count: int
    head: str
    time: datetime | None

    def body(self) -> bytes:
        """The canonical bytes that are signed (and, with the archive seal, sealed)."""
        return self.text().encode("utf-8")

    def text(self) -> str:
        when = iso(self.time) if self.time else "-"
        return (
            f"{self.origin}\n{CHECKPOINT_KIND}\ncount {self.count}\nhead {self.head}\ntime {when}\n"
        )

    @classmethod
    def from_text(cls, text: str) -> Checkpoint:
        lines = text.split("\n")
        if len(lines) != 6 or lines[1] != CHECKPOINT_KIND or lines[5] != "":
            raise NoteError("not an access log checkpoint")
        try:
            count = int(_field(lines[2], "count"))
            head = _field(lines[3], "head")
            when = _field(lines[4], "time")
            time = None if when == "-" else datetime.fromisoformat(when.replace("Z", "+00:00"))
        except ValueError as exc:
            raise NoteError(f"malformed checkpoint: {exc}") from exc
        if len(head) != 64 or any(c not in "0123456789abcdef" for c in head) or count < 0:
            raise NoteError("malformed checkpoint: bad head or count")
        return cls(origin=lines[0], count=count, head=head, time=time)

    def key(self) -> str:
        day = (self.time or datetime.now(UTC)).astimezone(UTC).date().isoformat()
        return f"{CHECKPOINT_PREFIX}{day}/{self.count:012d}.note"


def _field(line: str, name: str) -> str:
    label, _, value = line.partition(" ")
    if label != name or not value:
        raise ValueError(f"expected '{name} <value>', found {line[:40]!r}")
    return value


@dataclass(frozen=True)
class StoredCheckpoint:
    key: str
    checkpoint: Checkpoint | None
    signed: bool
    problem: str | None = None


# --- reports ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Problem:
    seq: int
    message: str


@dataclass(frozen=True)
class ChainReport:
    status: Status
    entries_checked: int
    head_seq: int
    head_hash: str
    base_seq: int
    checkpoints_checked: int
    first_broken: int | None = None
    reason: str | None = None
    problems: tuple[Problem, ...] = ()

    def summary(self) -> str:
        if self.status == "PASSED":
            return (
                f"PASSED: {self.entries_checked} entries link up to entry {self.head_seq} "
                f"(head {self.head_hash[:16]}…); {self.checkpoints_checked} signed checkpoints "
                "agree"
            )
        return f"FAILED at entry {self.first_broken}: {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "entries_checked": self.entries_checked,
            "head_seq": self.head_seq,
            "head_hash": self.head_hash,
            "base_seq": self.base_seq,
            "checkpoints_checked": self.checkpoints_checked,
            "first_broken": self.first_broken,
            "reason": self.reason,
            "problems": [{"seq": p.seq, "message": p.message} for p in self.problems],
            "summary": self.summary(),
        }


# --- the log ---------------------------------------------------------------------------------
class AuditLog:
    """Checkpoints, verification and extracts over an access store and an object store."""

    def __init__(
        self,
        store: AccessStore,
        objects: ObjectStore,
        signer: NoteSigner,
        seal: Callable[[bytes], bytes] | None = None,
    ) -> None:
        self.store = store
        self.objects = objects
        self.signer = signer
        self.seal = seal
        """The archive seal (a detached CMS signature over the given bytes), once the archive
        has one: each checkpoint's body is also sealed, beside its note, as ``.p7s``."""

    # -- keys ------------------------------------------------------------------------------
    def publish_key(self) -> None:
        """Keep the public key beside the checkpoints it signs (write-once, idempotent)."""
        key = f"{KEYS_PREFIX}{self.signer.verifier.id_hex}.pub"
        data = (self.signer.verifier.to_text() + "\n").encode()
        try:
            self.objects.put(key, io.BytesIO(data), content_type="text/plain")
        except ObjectExists:
            log.warning("a different public key is stored under %s", key)

    def known_keys(self) -> list[VerifierKey]:
        keys = {self.signer.verifier.to_text(): self.signer.verifier}
        for key in self.objects.iter_keys(KEYS_PREFIX):
            try:
                with self.objects.open(key) as fh:
                    parsed = VerifierKey.from_text(fh.read(4096).decode())
            except (ArchiveError, UnicodeDecodeError) as exc:
                log.warning("ignoring the stored key %s: %s", key, exc)
                continue
            keys.setdefault(parsed.to_text(), parsed)
        return list(keys.values())

    # -- checkpoints -----------------------------------------------------------------------
    def checkpoint_for(self, head: LogHead) -> Checkpoint:
        return Checkpoint(
            origin=self.signer.name, count=head.seq, head=head.entry_hash, time=head.at
        )

    def write_checkpoint(self, head: LogHead | None = None) -> tuple[str, Checkpoint] | None:
        """Sign and store a checkpoint of ``head`` (default: the current head). Writing the same
        checkpoint twice is a no-op. None when the log is empty."""
        head = head or self.store.head()
        if head.seq <= 0:
            return None
        checkpoint = self.checkpoint_for(head)
        note = self.signer.sign(checkpoint.text()).encode()
        key = checkpoint.key()
        self.publish_key()
        try:
            self.objects.put(key, io.BytesIO(note), content_type="text/plain; charset=utf-8")
        except ObjectExists:
            # Same count and day, different bytes: only a different key signs differently.
            log.warning("checkpoint %s exists with other bytes (a replaced log key?)", key)
        self._seal_checkpoint(key, checkpoint)
        return key, checkpoint

    def _seal_checkpoint(self, key: str, checkpoint: Checkpoint) -> None:
        """Seal the checkpoint's body with the archive key (when there is one). Checked with
        ``openssl cms -verify -binary -inform DER -in <key>.p7s -content <body>``, the body
        being the note's text (its lines before the blank line)."""
        if self.seal is None or self.objects.exists(key + SEAL_SUFFIX):
            return
        try:
            sealed = self.seal(checkpoint.body())
            self.objects.put(
                key + SEAL_SUFFIX, io.BytesIO(sealed), content_type="application/pkcs7-signature"
            )
        except ObjectExists:
            pass
        except ArchiveError as exc:
            # The note is signed either way; `audit checkpoint` seals it again later.
            log.warning("checkpoint %s not sealed with the archive key: %s", key, exc.message)

    def new_day(self, previous: LogHead) -> None:
        """The append hook: the first entry of a new UTC day checkpoints the day before."""
        try:
            self.write_checkpoint(previous)
        except ArchiveError as exc:
            # The entry is written; the checkpoint is caught up by the next one or by
            # `contract-archive audit checkpoint`. Never fail the action for it.
            log.warning("daily access log checkpoint not written: %s", exc.message)

    def checkpoints(self) -> list[StoredCheckpoint]:
        keys = self.known_keys()
        out = []
        for key in sorted(self.objects.iter_keys(CHECKPOINT_PREFIX)):
            if key.endswith(SEAL_SUFFIX):
                continue
            try:
                with self.objects.open(key) as fh:
                    raw = fh.read(1_000_001)
                note = Note.from_text(raw.decode("utf-8"))
                checkpoint = Checkpoint.from_text(note.text)
            except (ArchiveError, UnicodeDecodeError) as exc:
                message = exc.message if isinstance(exc, ArchiveError) else str(exc)
                out.append(StoredCheckpoint(key, None, False, f"unreadable: {message}"))
                continue
            signed = any(note.verified_by(k) for k in keys)
            problem = None if signed else "not signed by a known access log key"
            out.append(StoredCheckpoint(key, checkpoint, signed, problem))
        return out

    # -- verification ----------------------------------------------------------------------
    def verify(self) -> ChainReport:
        """Walk the whole chain and check it against the head row and every checkpoint."""
        head = self.store.head()
        stored = self.checkpoints()
        problems: list[Problem] = []
        wanted = {c.checkpoint.count for c in stored if c.checkpoint and c.signed}
        hashes: dict[int, str] = {}
        expected_seq = head.base_seq + 1 if head.base_seq >= 0 else None
        prev = head.base_hash
        checked = 0
        last: LogEntry | None = None
        for entry in self.store.iter_entries():
            if expected_seq is None:  # no head row: start where the entries start
                expected_seq, prev = entry.seq, entry.prev_hash
            if entry.seq != expected_seq:
                problems.append(
                    Problem(
                        expected_seq,
                        f"entry {expected_seq} is missing: the next stored entry is {entry.seq}",
                    )
                )
                break
            computed = entry.computed_hash()
            if entry.prev_hash != prev:
                problems.append(
                    Problem(
                        entry.seq,
                        f"entry {entry.seq} does not link to entry {entry.seq - 1}: it names "
                        f"{entry.prev_hash[:16]}…, but the entry before hashes to {prev[:16]}…",
                    )
                )
                break
            if computed != entry.entry_hash:
                problems.append(
                    Problem(
                        entry.seq,
                        f"entry {entry.seq} was changed: its content hashes to "
                        f"{computed[:16]}…, not the {entry.entry_hash[:16]}… it was written with",
                    )
                )
                break
            if entry.seq in wanted:
                hashes[entry.seq] = computed
            prev = computed
            expected_seq += 1
            checked += 1
            last = entry
        broken = bool(problems)
        last_seq = last.seq if last else head.base_seq
        if not broken and head.base_seq >= 0:
            if head.seq > last_seq:
                problems.append(
                    Problem(
                        last_seq + 1,
                        f"entries {last_seq + 1} to {head.seq} are missing: the log's head "
                        f"says it has {head.seq} entries",
                    )
                )
            elif head.seq < last_seq or (last is not None and head.entry_hash != prev):
                problems.append(Problem(last_seq, f"the head row does not match entry {last_seq}"))
        if head.base_seq > 0:
            vouched = any(
                c.signed
                and c.checkpoint
                and c.checkpoint.count == head.base_seq
                and c.checkpoint.head == head.base_hash
                for c in stored
            )
            if not vouched:
                problems.append(
                    Problem(
                        head.base_seq,
                        f"the log starts after entry {head.base_seq}, but no signed checkpoint "
                        "vouches for that entry: entries were removed from the start",
                    )
                )
        top = last_seq if not broken else -1
        for c in stored:
            cp = c.checkpoint
            if cp is None or not c.signed:
                seq = cp.count if cp else 0
                problems.append(Problem(seq, f"checkpoint {c.key}: {c.problem}"))
                continue
            if cp.count <= head.base_seq:
                continue
            if not broken and cp.count > top:
                problems.append(
                    Problem(
                        top + 1,
                        f"the signed checkpoint {c.key} covers {cp.count} entries, the log has "
                        f"{top}: entries were removed",
                    )
                )
            elif cp.count in hashes and hashes[cp.count] != cp.head:
                problems.append(
                    Problem(
                        cp.count,
                        f"entry {cp.count} differs from the signed checkpoint {c.key}: the log "
                        "was rewritten",
                    )
                )
        if not problems:
            return ChainReport(
                status="PASSED",
                entries_checked=checked,
                head_seq=head.seq,
                head_hash=head.entry_hash,
                base_seq=max(head.base_seq, 0),
                checkpoints_checked=len(stored),
            )
        problems.sort(key=lambda p: p.seq)
        return ChainReport(
            status="FAILED",
            entries_checked=checked,
            head_seq=head.seq,
            head_hash=head.entry_hash,
            base_seq=max(head.base_seq, 0),
            checkpoints_checked=len(stored),
            first_broken=problems[0].seq,
            reason=problems[0].message,
            problems=tuple(problems),
        )

    # -- retention -------------------------------------------------------------------------
    def prune(self, before: datetime) -> int:
        """Remove entries older than ``before``, after signing a checkpoint of the last one
        removed (the new start of the chain). The newest entry always stays."""
        head = self.store.head()
        old = self.store.entries(LogFilter(until=before), limit=1, descending=True)
        if not old:
            return 0
        anchor = old[0]
        if anchor.seq >= head.seq:
            anchor_seq = head.seq - 1
            found = self.store.get_entry(anchor_seq) if anchor_seq > 0 else None
            if found is None:
                return 0
            anchor = found
        self.write_checkpoint(
            LogHead(
                seq=anchor.seq,
                entry_hash=anchor.entry_hash,
                at=anchor.at,
                base_seq=head.base_seq,
                base_hash=head.base_hash,
            )
        )
        return self.store.prune(before_seq=anchor.seq)

    # -- extracts --------------------------------------------------------------------------
    def extract(self, entries: Iterable[LogEntry], *, flt: LogFilter, created_by: str) -> bytes:
        """A ZIP that verifies offline: the entries, a signed note over them, the public key."""
        lines = io.BytesIO()
        count = 0
        for entry in entries:
            lines.write(canonical_bytes(entry.to_dict()) + b"\n")
            count += 1
        data = lines.getvalue()
        head = self.store.head()
        text = (
            f"{self.signer.name}\n{EXTRACT_KIND}\nentries {count}\n"
            f"entries-sha256 {hashlib.sha256(data).hexdigest()}\n"
            f"log-count {head.seq}\nlog-head {head.entry_hash}\n"
            f"created {iso(datetime.now(UTC))}\n"
            f"created-by {json.dumps(created_by)}\n"
            f"filter {json.dumps(flt.as_dict(), sort_keys=True)}\n"
        )
        note = self.signer.sign(text)
        signature = self.signer.sign_raw(text.encode())
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("entries.jsonl", data)
            z.writestr("extract.note", note)
            z.writestr("extract.txt", text)
            z.writestr("extract.sig", signature)
            z.writestr("log-key.pem", self.signer.verifier.to_pem())
            z.writestr("log-key.vkey", self.signer.verifier.to_text() + "\n")
            z.writestr("VERIFY.txt", VERIFY_TEXT)
        return out.getvalue()


VERIFY_TEXT = """\
How to verify this access log extract without the archive
==========================================================

1. The key. Compare log-key.vkey with the key the archive publishes
   (`contract-archive audit key`, or GET /api/v1/access-log/key); an extract is only as
   trustworthy as the key you check it with.

2. The signature over extract.txt (Ed25519, OpenSSL 3):

     openssl pkeyutl -verify -pubin -inkey log-key.pem -rawin -in extract.txt -sigfile extract.sig

   extract.note holds the same text and signature as a signed note (c2sp.org/signed-note).

3. The entries are the ones signed for:

     sha256sum entries.jsonl      # must equal the entries-sha256 line of extract.txt
     wc -l entries.jsonl          # must equal the entries line

4. Each entry's own hash: every line is the entry's canonical JSON (keys sorted, no spaces,
   UTF-8) plus its "hash". Remove "hash", serialise the rest the same way, take SHA-256: it must
   equal "hash". Where two entries follow each other (seq n and n+1), the second one's "prev"
   must equal the first one's "hash".

Or, with the archive's command line (no data directory needed):

     contract-archive audit verify-extract extract.zip --key log-key.vkey
"""


@dataclass(frozen=True)
class ExtractReport:
    status: Status
    entries: int
    key: str
    key_from_extract: bool
    log_count: int | None = None
    problems: tuple[str, ...] = field(default=())

    def summary(self) -> str:
        if self.status == "PASSED":
            source = (
                "the key shipped inside the extract: compare it with the archive's published key"
                if self.key_from_extract
                else "the key you gave"
            )
            return f"PASSED: {self.entries} entries, signed by {self.key} ({source})"
        return "FAILED: " + "; ".join(self.problems)

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "entries": self.entries,
            "key": self.key,
            "key_from_extract": self.key_from_extract,
            "log_count": self.log_count,
            "problems": list(self.problems),
            "summary": self.summary(),
        }


def verify_extract(data: bytes, key: VerifierKey | None = None) -> ExtractReport:
    """Check an extract made by :meth:`AuditLog.extract`; needs nothing but its bytes (and,
    ideally, the key to trust)."""
    problems: list[str] = []

    def failed(msg: str, *, key_text: str = "", entries: int = 0) -> ExtractReport:
        return ExtractReport("FAILED", entries, key_text, key is None, None, (*problems, msg))

    if len(data) > MAX_EXTRACT_BYTES:
        return failed("the file is larger than any extract this archive makes")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            members = {i.filename: i for i in z.infolist()}
            for name in ("entries.jsonl", "extract.note"):
                if name not in members:
                    return failed(f"{name} is missing")
            if sum(i.file_size for i in members.values()) > MAX_EXTRACT_BYTES:
                return failed("the extract unpacks to more than any extract this archive makes")
            entries_data = z.read("entries.jsonl")
            note_text = z.read("extract.note").decode("utf-8")
            shipped = z.read("log-key.vkey").decode() if "log-key.vkey" in members else None
    except (zipfile.BadZipFile, UnicodeDecodeError, OSError, ValueError) as exc:
        return failed(f"not a readable extract: {exc}")
    try:
        trusted = key or (VerifierKey.from_text(shipped) if shipped else None)
    except NoteError as exc:
        return failed(f"the shipped key is unusable: {exc.message}")
    if trusted is None:
        return failed("no key given and none in the extract")
    key_text = trusted.to_text()
    try:
        note = Note.from_text(note_text)
    except NoteError as exc:
        return failed(f"extract.note: {exc.message}", key_text=key_text)
    if not note.verified_by(trusted):
        return failed("the signature does not verify with the key", key_text=key_text)
    fields = _extract_fields(note.text)
    if fields is None:
        return failed("extract.note is not an access log extract", key_text=key_text)
    if hashlib.sha256(entries_data).hexdigest() != fields.get("entries-sha256"):
        problems.append("entries.jsonl is not the file that was signed (SHA-256 differs)")
    lines = entries_data.splitlines()
    if str(len(lines)) != fields.get("entries"):
        problems.append(f"entries.jsonl has {len(lines)} lines, the note says {fields['entries']}")
    previous: dict[str, Any] | None = None
    for number, line in enumerate(lines, 1):
        try:
            item = json.loads(line)
            claimed = item.pop("hash")
        except (ValueError, KeyError, AttributeError):
            problems.append(f"line {number} is not an access log entry")
            break
        if hashlib.sha256(canonical_bytes(item)).hexdigest() != claimed:
            problems.append(f"entry {item.get('seq')} (line {number}) does not match its hash")
        if (
            previous is not None
            and item.get("seq") == previous["seq"] + 1
            and item.get("prev") != previous["hash"]
        ):
            problems.append(f"entry {item.get('seq')} does not link to entry {previous['seq']}")
        previous = {"seq": item.get("seq"), "hash": claimed}
    log_count = int(fields["log-count"]) if fields.get("log-count", "").isdigit() else None
    status: Status = "FAILED" if problems else "PASSED"
    return ExtractReport(status, len(lines), key_text, key is None, log_count, tuple(problems))


def _extract_fields(text: str) -> dict[str, str] | None:
    lines = text.rstrip("\n").split("\n")
    if len(lines) < 3 or lines[1] != EXTRACT_KIND:
        return None
    out = {}
    for line in lines[2:]:
        name, _, value = line.partition(" ")
        out[name] = value
    return out


# --- exports ---------------------------------------------------------------------------------
def jsonl_lines(entries: Iterable[LogEntry]) -> Iterator[bytes]:
    for entry in entries:
        yield canonical_bytes(entry.to_dict()) + b"\n"


def csv_lines(entries: Iterable[LogEntry]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def flush() -> bytes:
        data = buffer.getvalue().encode("utf-8")
        buffer.seek(0)
        buffer.truncate()
        return data

    writer.writerow(CSV_FIELDS)
    yield b"\xef\xbb\xbf" + flush()  # a BOM, so that spreadsheet programs read UTF-8
    for entry in entries:
        d = entry.to_dict()
        row = [
            d["seq"],
            d["at"],
            d["actor"],
            d["via"],
            d["ip"] or "",
            d["user_agent"] or "",
            d["action"],
            "" if d["contract_id"] is None else d["contract_id"],
            d["outcome"],
            d["purpose"] or "",
            json.dumps(d["details"], ensure_ascii=False, sort_keys=True),
            d["prev"],
            d["hash"],
        ]
        writer.writerow([_csv_safe(v) for v in row])
        yield flush()


def _csv_safe(value: object) -> object:
    """Keep spreadsheet programs from running a cell as a formula (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


__all__ = [
    "AuditLog",
    "ChainReport",
    "Checkpoint",
    "ExtractReport",
    "StorageError",
    "csv_lines",
    "jsonl_lines",
    "verify_extract",
]
