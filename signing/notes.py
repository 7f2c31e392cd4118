"""Signed notes (c2sp.org/signed-note) with an Ed25519 key: the access log's checkpoints and
extracts, and the evidence ledger's checkpoints (``signing.ledger``), are signed this way, so
anyone holding the public key can check them offline.

A note is a text ending in a newline, a blank line, and signature lines
``— <key name> base64(key id || signature)``. The key id is the first four bytes of
SHA-256(key name || 0x0A || 0x01 || public key); the verifier key is written as
``<name>+<key id, 8 hex digits>+base64(0x01 || public key)`` (the format of Go's
``golang.org/x/mod/sumdb/note``).

The log key lives at ``DATA_DIR/keys/access-log-ed25519.pem`` (PKCS#8, mode 0600), made on first
use. Its public half is also written as an object (``audit/keys/<key id>.pub``) so that
checkpoints keep verifying after a key is replaced. The ledger's key is another file beside it
(``ledger-ed25519.pem``), made the same way.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from core.errors import ArchiveError, ConfigurationError

ED25519 = b"\x01"
SIG_PREFIX = "\u2014 "
KEY_FILE = "access-log-ed25519.pem"


class NoteError(ArchiveError):
    code = "invalid_note"
    http_status = 400


def _valid_name(name: str) -> str:
    if not name or any(c.isspace() for c in name) or "+" in name:
        raise ConfigurationError(
            f"invalid signing key name {name!r}: no spaces and no '+'",
            hint="set ARCHIVE_LOG_NAME to something like archive.example.com/access-log",
        )
    return name


def key_id(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + ED25519 + public).digest()[:4]


@dataclass(frozen=True)
class VerifierKey:
    name: str
    public: bytes

    @property
    def id(self) -> bytes:
        return key_id(self.name, self.public)

    @property
    def id_hex(self) -> str:
        return self.id.hex()

    def to_text(self) -> str:
        encoded = base64.b64encode(ED25519 + self.public).decode()
        return f"{self.name}+{self.id_hex}+{encoded}"

    @classmethod
    def from_text(cls, text: str) -> VerifierKey:
        parts = text.strip().split("+", 2)  # base64 may hold "+", name and id cannot
        if len(parts) != 3:
            raise NoteError("a verifier key reads <name>+<8 hex digits>+<base64 key>")
        name, hex_id, encoded = parts
        try:
            raw = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise NoteError(f"the verifier key is not valid base64: {exc}") from exc
        if len(raw) != 33 or raw[:1] != ED25519:
            raise NoteError("the verifier key is not an Ed25519 key")
        key = cls(name=name, public=raw[1:])
        if key.id_hex != hex_id.lower():
            raise NoteError("the verifier key's id does not match its name and key")
        return key

    def to_pem(self) -> bytes:
        return Ed25519PublicKey.from_public_bytes(self.public).public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    @classmethod
    def from_pem(cls, name: str, pem: bytes) -> VerifierKey:
        try:
            key = serialization.load_pem_public_key(pem)
        except ValueError as exc:
            raise NoteError(f"not a PEM public key: {exc}") from exc
        if not isinstance(key, Ed25519PublicKey):
            raise NoteError("the PEM public key is not an Ed25519 key")
        raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return cls(name=name, public=raw)

    def verify(self, text: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public).verify(signature, text)
        except InvalidSignature:
            return False
        return True


class NoteSigner:
    def __init__(self, name: str, private: Ed25519PrivateKey) -> None:
        self.name = _valid_name(name)
        self._private = private
        public = private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.verifier = VerifierKey(name=self.name, public=public)

    def sign_raw(self, text: bytes) -> bytes:
        return self._private.sign(text)

    def sign(self, text: str) -> str:
        """The signed note for ``text`` (which must end with a newline)."""
        body = check_text(text)
        signature = self.verifier.id + self.sign_raw(body.encode())
        return f"{body}\n{SIG_PREFIX}{self.name} {base64.b64encode(signature).decode()}\n"


def check_text(text: str) -> str:
    if not text.endswith("\n"):
        raise NoteError("a note's text must end with a newline")
    if any(ord(c) < 0x20 and c != "\n" for c in text):
        raise NoteError("a note's text must not contain control characters")
    return text


@dataclass(frozen=True)
class Note:
    text: str
    signatures: tuple[tuple[str, bytes], ...]
    """(key name, key id || signature) of each signature line."""

    @classmethod
    def from_text(cls, note: str) -> Note:
        if len(note) > 1_000_000:
            raise NoteError("the note is too large")
        if not note.endswith("\n"):
            raise NoteError("a signed note ends with a newline")
        split = note.rstrip("\n").rfind("\n\n")
        if split < 0:
            raise NoteError("no blank line separates the note's text from its signatures")
        text = check_text(note[: split + 1])
        sigs = []
        for line in note[split + 2 :].splitlines():
            if not line.startswith(SIG_PREFIX):
                raise NoteError(f"not a signature line: {line[:60]!r}")
            name, _, encoded = line[len(SIG_PREFIX) :].partition(" ")
            try:
                raw = base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise NoteError(f"a signature is not valid base64: {exc}") from exc
            if len(raw) < 5:
                raise NoteError("a signature is too short")
            sigs.append((name, raw))
        if not sigs:
            raise NoteError("the note has no signature")
        return cls(text=text, signatures=tuple(sigs))

    def verified_by(self, key: VerifierKey) -> bool:
        """True when a signature line of ``key`` (same name and id) verifies; a line of the key
        that fails makes the whole note fail."""
        found = False
        for name, raw in self.signatures:
            if name == key.name and raw[:4] == key.id:
                if not key.verify(self.text.encode(), raw[4:]):
                    return False
                found = True
        return found


def load_or_create_signer(
    keys_dir: Path, name: str, *, file: str = KEY_FILE, what: str = "the access log key"
) -> NoteSigner:
    """The Ed25519 key ``file`` from ``keys_dir`` (mode 0600), made on first use."""
    path = keys_dir / file
    try:
        keys_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not path.exists():
            pem = Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            tmp = keys_dir / f".{file}.{os.getpid()}.tmp"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(pem)
                fh.flush()
                os.fsync(fh.fileno())
            try:
                os.link(tmp, path)  # never replaces a key another process made meanwhile
            except FileExistsError:
                pass
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            raise ConfigurationError(
                f"{what} {path} is readable by others (mode {mode:o})",
                hint=f"chmod 600 {path}",
            )
        private = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except OSError as exc:
        raise ConfigurationError(
            f"cannot read or create {what} {path}: {exc.strerror or exc}",
            hint="ARCHIVE_DATA_DIR/keys must be writable by the archive's user",
        ) from exc
    except ValueError as exc:
        raise ConfigurationError(f"{what} {path} is damaged: {exc}") from exc
    if not isinstance(private, Ed25519PrivateKey):
        raise ConfigurationError(f"{what} {path} is not an Ed25519 key")
    return NoteSigner(name, private)
