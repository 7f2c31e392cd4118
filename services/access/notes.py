"""Signed notes (c2sp.org/signed-note): moved to :mod:`signing.notes`, where the evidence ledger's
checkpoints are signed too; the access log's names are re-exported here."""

from __future__ import annotations

from signing.notes import (
    ED25519,
    KEY_FILE,
    SIG_PREFIX,
    Note,
    NoteError,
    NoteSigner,
    VerifierKey,
    check_text,
    key_id,
    load_or_create_signer,
)

__all__ = [
    "ED25519",
    "KEY_FILE",
    "SIG_PREFIX",
    "Note",
    "NoteError",
    "NoteSigner",
    "VerifierKey",
    "check_text",
    "key_id",
    "load_or_create_signer",
]
