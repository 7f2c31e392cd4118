"""Errors of the seal and verification package."""

from __future__ import annotations

from core.errors import ArchiveError, ConfigurationError, Unavailable


class SigningError(ArchiveError):
    code = "signing_error"
    http_status = 500


class KeyMaterialError(SigningError, ConfigurationError):
    """A seal key, certificate or trust anchor file cannot be read or is unfit for sealing:
    a configuration error, which stops the program at start-up."""

    code = "key_material_error"


class SealFailed(SigningError):
    """The manifest could not be sealed (the key refused, the timestamp could not be had)."""

    code = "seal_failed"
    http_status = 503


class TimestampUnavailable(SealFailed, Unavailable):
    """The time-stamping authority could not be reached or did not grant a timestamp."""

    code = "timestamp_unavailable"
    http_status = 503


class ManifestError(SigningError):
    """A manifest cannot be built, written or read."""

    code = "manifest_error"


class VersionNotIssued(SealFailed):
    """A change was not saved because its next manifest version could not be issued (the
    manifest could not be written to the object store, its row or ledger leaf not added): the
    change and its version are one unit of work, so neither happened."""

    code = "manifest_version_not_issued"
    http_status = 503
