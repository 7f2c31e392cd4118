"""Every setting of the archive, in one place.

Each field is read from an ``ARCHIVE_``-prefixed environment variable (or a ``.env`` file in the
working directory). The README documents every field; ``tests/test_docs.py`` fails when one is
missing there. Code reaches the settings through :func:`get_settings`; tests call
:func:`reset_settings` after changing the environment.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.clock import known_zone
from core.errors import ConfigurationError


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ARCHIVE_", env_file=".env", extra="ignore", frozen=True
    )

    # --- where data lives -------------------------------------------------------------------
    data_dir: Path = Field(
        Path("./var"),
        description="Directory for every embedded store: objects, SQLite database, index, keys.",
    )
    database_url: str | None = Field(
        None,
        description=(
            "SQLAlchemy URL of the records database. Default: SQLite at DATA_DIR/archive.db. "
            "Use postgresql+psycopg://user:pass@host/db for PostgreSQL."
        ),
    )
    object_store: Literal["local", "s3"] = Field(
        "local",
        description="Object store backend: `local` (a directory under DATA_DIR) or `s3` "
        "(MinIO or any S3 with versioning and Object Lock; the ARCHIVE_S3_* settings).",
    )
    index_backend: Literal["tantivy", "opensearch", "elasticsearch"] = Field(
        "tantivy",
        description="Search index backend: `tantivy` (a directory under DATA_DIR), "
        "`opensearch` or `elasticsearch` (a server at ARCHIVE_INDEX_URL).",
    )

    # --- scale-out engines: S3 / MinIO ------------------------------------------------------
    s3_endpoint: str | None = Field(
        None,
        description="URL of the S3 server, e.g. `https://minio.example:9000`; `https` means TLS.",
    )
    s3_access_key: str | None = Field(None, description="S3 access key id.")
    s3_secret_key: SecretStr | None = Field(None, description="S3 secret key.")
    s3_bucket: str = Field(
        "contract-archive",
        description="S3 bucket; it must have versioning and Object Lock enabled.",
    )
    s3_region: str | None = Field(
        None, description="S3 region; empty asks the server (MinIO: `us-east-1`)."
    )
    s3_ca_bundle: Path | None = Field(
        None, description="PEM file of the CA certificates to trust for the S3 server's TLS."
    )
    s3_part_size_mb: int = Field(
        16,
        ge=5,
        le=5120,
        description="Multipart part size in MiB: larger files are uploaded in parts, each held "
        "in memory once while it is sent.",
    )
    s3_presigned_downloads: bool = Field(
        False,
        description="Answer a download of an original with a redirect to a presigned S3 URL "
        "instead of streaming it through the API.",
    )
    s3_presign_seconds: int = Field(
        300, ge=1, le=604800, description="Lifetime of a presigned download URL, in seconds."
    )
    default_retention_days: int = Field(
        10950,
        ge=0,
        description="COMPLIANCE retention of every original on S3, in days from archiving, "
        "until the contract's classification sets it; 0 sets none. The local store cannot "
        "enforce retention.",
    )

    # --- scale-out engines: Elasticsearch / OpenSearch --------------------------------------
    index_url: str | None = Field(
        None,
        description="URL of the Elasticsearch or OpenSearch server, e.g. `https://es:9200`.",
    )
    index_username: str | None = Field(
        None, description="User name for the search server (HTTP basic authentication)."
    )
    index_password: SecretStr | None = Field(None, description="Password for the search server.")
    index_ca_bundle: Path | None = Field(
        None, description="PEM file of the CA certificates to trust for the search server's TLS."
    )
    index_name: str = Field(
        "contracts",
        pattern=r"^[a-z0-9][a-z0-9_-]{0,100}$",
        description="Alias of the live search index; the indexes behind it are named "
        "`<name>-v<layout version>-<generation>`.",
    )

    # --- ingest limits ----------------------------------------------------------------------
    max_upload_bytes: int = Field(
        200 * 1024 * 1024,
        gt=0,
        description="Largest accepted file in bytes; larger uploads are refused while streaming.",
    )
    max_body_bytes: int = Field(
        64 * 1024,
        ge=1024,
        description="Largest accepted request body in bytes on every route that takes no file "
        "(log-in, JSON and form requests); refused while streaming, before it is parsed. "
        "ARCHIVE_MAX_UPLOAD_BYTES applies to upload routes only.",
    )
    verify_download_max_bytes: int = Field(
        256 * 1024 * 1024,
        ge=0,
        description="Downloads of the original, the text and the searchable copy up to this "
        "size are checked against their recorded SHA-256 before the first byte is sent (a "
        "damaged file is refused with `integrity_failure`); larger ones are streamed unchecked "
        "(`verify` and the fixity audit still check them). 0 checks none.",
    )
    fixity_max_mb_per_s: float = Field(
        0,
        ge=0,
        le=100_000,
        description="The most the fixity audit (`verify --all`) reads, in MB per second, "
        "averaged over its batches, so that an audit on a busy server does not starve "
        "searches and uploads of disk and CPU. 0: as fast as it can.",
    )
    fixity_sm3_every: int = Field(
        4,
        ge=1,
        le=1000,
        description="The fixity audit compares every file's size and SHA-256, and the SM3 of "
        "one contract in this many (by id, turning with each finished audit), so each "
        "contract's SM3 is compared once in this many audits; SM3 costs five times SHA-256. "
        "SM3 is always computed at ingest and compared by `verify ID` and `verify --all "
        "--full`. 1: SM3 of every file in every audit.",
    )
    max_pages: int = Field(5000, gt=0, description="Largest accepted page count of a PDF.")
    min_text_chars_per_page: int = Field(
        20,
        ge=0,
        description=(
            "A page whose text layer has fewer letters or digits than this is marked `needs_ocr`."
        ),
    )
    min_free_bytes: int = Field(
        64 * 1024 * 1024,
        ge=0,
        description=(
            "Ingest is refused while less than this many bytes are free under DATA_DIR, so a "
            "filling disk stops new files cleanly before any store runs out of space."
        ),
    )
    parse_timeout_seconds: float = Field(
        120.0,
        gt=0,
        description="Longest time spent parsing and extracting one file before it is rejected.",
    )
    parser_workers: int = Field(
        0,
        ge=0,
        le=32,
        description="Parser processes (the killable workers that read uploaded files) of each "
        "process that archives: 0 means one per core (at most 4) for a command, and the cores "
        "shared among the server's workers for `serve` (cores / `ARCHIVE_WORKERS`, at least 1).",
    )
    parser_nice: int = Field(
        10,
        ge=0,
        le=19,
        description="Niceness the parser processes add to their own (0-19): their CPU-heavy "
        "work on uploads (reading, rendering, checking signatures) yields to searches and "
        "other requests when the cores are busy.",
    )
    upload_process: bool = Field(
        True,
        description="`serve` archives uploads in one process of their own beside its workers, "
        "so that an upload's work (terms, index, seal, records) never holds a worker that "
        "answers searches; false archives them in the workers (about 150 MB less memory).",
    )
    upload_nice: int = Field(
        10,
        ge=0,
        le=19,
        description="Niceness of `serve`'s ingest process (0-19): when the cores are busy, "
        "searches and page views go before uploads.",
    )
    office_timeout_seconds: float = Field(
        120.0,
        gt=0,
        description="Longest time LibreOffice may take to convert one Office document (DOCX, "
        "DOC, XLSX, ODT, ODS) to its PDF rendition; past it LibreOffice is killed and the file "
        "is refused.",
    )
    max_email_attachments: int = Field(
        100,
        ge=0,
        description="An e-mail with more attachments than this is refused whole (each "
        "attachment becomes a contract of its own).",
    )
    libreoffice_program: str = Field(
        "",
        description="LibreOffice's program (`soffice.bin` or the `soffice` launcher beside it) "
        "for Office renditions; empty: found in /usr/lib/libreoffice/program, "
        "/opt/libreoffice/program or on PATH. A path that does not exist: Office documents are "
        "refused as needing LibreOffice.",
    )

    # --- OCR --------------------------------------------------------------------------------
    ocr_languages: str = Field(
        "chi_sim+eng",
        pattern=r"^[A-Za-z0-9_]+(\+[A-Za-z0-9_]+)*$",
        description="Tesseract languages for OCR, joined by `+` (each needs its language pack).",
    )
    ocr_engine: Literal["tesseract", "rapidocr", "auto"] = Field(
        "auto",
        description=(
            "Which engine reads a scanned page: `tesseract` every page; `rapidocr` every page "
            "(RapidOCR, PP-OCRv4 models shipped in its wheel); `auto` tesseract's OSD tells "
            "the script first: a Chinese page is read by RapidOCR, any other by tesseract (and "
            "RapidOCR for a page tesseract then finds mostly Chinese). Chosen by "
            "measurement: README *Benchmarks*, OCR quality."
        ),
    )
    ocr_workers: int = Field(
        0, ge=0, le=64, description="OCR worker processes; 0 means one per core."
    )
    ocr_page_timeout_seconds: float = Field(
        180.0,
        gt=0,
        description="Longest time OCR may spend on one page before the page is marked failed.",
    )
    ocr_max_attempts: int = Field(
        3,
        ge=1,
        le=20,
        description=(
            "Attempts at OCR of one page, and at finishing one contract's OCR (text version, "
            "searchable copy), before it is marked `failed` with the reason."
        ),
    )
    ocr_retry_backoff_seconds: float = Field(
        30.0,
        ge=0,
        description=(
            "Wait before the second attempt at a failed OCR job; it doubles with each further "
            "attempt. Other contracts' work goes on meanwhile."
        ),
    )
    ocr_wait_seconds: float = Field(
        1800.0,
        gt=0,
        description=(
            "Longest time `contract-archive ingest` and `ocr --retry` wait for OCR in the "
            "foreground; what is still open then stays queued for the server or "
            "`contract-archive worker`."
        ),
    )
    ocr_background: bool = Field(
        True,
        description=(
            "The server OCRs queued pages in the background; `false` leaves them to "
            "`contract-archive worker`."
        ),
    )
    # --- background jobs other than OCR (issue 14): reminders, fixity audits, reindexing ------
    jobs_background: bool = Field(
        True,
        description=(
            "The server runs background jobs (scheduled reminders and fixity audits, queued "
            "reindexing); `false` leaves them to `contract-archive worker`."
        ),
    )
    job_max_attempts: int = Field(
        3, ge=1, le=20, description="Attempts at a background job before it is `failed`."
    )
    # --- the server's watched folder (issue 16) ---------------------------------------------
    watch_dir: Path | None = Field(
        None,
        description=(
            "A folder the server watches as `contract-archive watch` does: what is dropped into "
            "it is archived once complete and moved to `archived/` or `rejected/`. Unset: the "
            "server watches no folder."
        ),
    )
    watch_interval_seconds: float = Field(
        2.0, ge=0.1, le=3600, description="Seconds between two looks into ARCHIVE_WATCH_DIR."
    )
    watch_stable_seconds: float = Field(
        5.0,
        ge=0,
        le=86400,
        description=(
            "A file in ARCHIVE_WATCH_DIR without a NAME.done marker is taken once its size and "
            "time have not changed for this long."
        ),
    )
    watch_split_batches: bool = Field(
        False,
        description=(
            "Every PDF dropped into ARCHIVE_WATCH_DIR is a batch scan split at its separator "
            "sheets (`false`: only the PDFs in a `batches` folder)."
        ),
    )
    watch_user: str | None = Field(
        None,
        description=(
            "The archive user the server's watcher acts as (its ingests are logged under this "
            "name; it needs contracts:ingest, and contracts:classify for classification "
            "folders). Default: the first admin."
        ),
    )
    job_retry_backoff_seconds: float = Field(
        60.0,
        ge=0,
        description=(
            "Wait before the second attempt at a failed background job; it doubles with each "
            "further attempt. Other jobs go on meanwhile."
        ),
    )
    job_lease_seconds: float = Field(
        300.0,
        ge=1,
        description=(
            "A running background job's lease, renewed by its worker every third of it; when "
            "it runs out (the worker died) another worker takes the job again."
        ),
    )
    job_timeout_seconds: float = Field(
        21600.0,
        ge=0,
        description=(
            "A background job that runs longer stops at its next checkpoint (between contracts "
            "of a fixity audit or a reindex) and fails with that reason, so a hung job cannot "
            "hold a worker and its lease forever; 0: no limit. An audit resumes where it stopped."
        ),
    )
    job_poll_seconds: float = Field(
        5.0, gt=0, le=3600, description="How often the job worker looks for due and queued jobs."
    )
    reminder_interval_hours: float = Field(
        24.0,
        ge=0,
        description="How often the worker queues the reminder job (0: never; run it by hand).",
    )
    fixity_interval_hours: float = Field(
        24.0,
        ge=0,
        description=(
            "How often the worker queues a fixity audit of every contract (0: never); its "
            "failures are e-mailed to ARCHIVE_REMINDER_EMAIL_TO when SMTP is set up."
        ),
    )

    ocr_low_confidence: float = Field(
        60.0,
        ge=0,
        le=100,
        description=(
            "Words read with a confidence below this are listed, with their boxes, in the text "
            "file."
        ),
    )

    # --- the seal and verification (issue 4) --------------------------------------------------
    seal_key_file: Path | None = Field(
        None,
        description=(
            "The seal's private key: a PEM file (with ARCHIVE_SEAL_CERT_FILE) or a PKCS#12 "
            "file (.p12/.pfx, key and certificate). EC P-256 recommended. Unset: development "
            "keys are generated under DATA_DIR/keys, with a warning on every start."
        ),
    )
    seal_cert_file: Path | None = Field(
        None, description="PEM certificate of the seal key (not needed with a PKCS#12 file)."
    )
    seal_chain_file: Path | None = Field(
        None,
        description="PEM file of the intermediate certificates between the seal certificate "
        "and its root; they are embedded in every seal.",
    )
    seal_key_passphrase: SecretStr | None = Field(
        None,
        description="Passphrase of the seal key file. Give it in the environment, never in a "
        "file under version control.",
    )
    tsa_url: str | None = Field(
        None,
        description="URL of an external RFC 3161 time-stamping authority. Required with "
        "ARCHIVE_SEAL_KEY_FILE; unset with development keys, an in-process development TSA "
        "stamps.",
    )
    tsa_timeout_seconds: float = Field(
        10.0, gt=0, description="Longest wait for the time-stamping authority's answer."
    )
    ledger_origin: str = Field(
        "contract-archive/ledger",
        min_length=1,
        max_length=200,
        pattern=r"^[^\s+]+$",
        description=(
            "Origin line of the evidence ledger's checkpoints and name of its Ed25519 signing "
            "key; make it unique, e.g. archive.example.com/ledger."
        ),
    )
    ledger_checkpoint_hours: float = Field(
        24.0,
        gt=0,
        description=(
            "A signed ledger checkpoint is issued at least this often by the server, even "
            "when no manifest was added."
        ),
    )
    ledger_batch_seconds: float = Field(
        60.0,
        gt=0,
        description=(
            "How often the server looks for new ledger leaves; when the tree grew, it issues a "
            "checkpoint (the uploads of that time are one batch). `contract-archive ingest` "
            "issues one after each run."
        ),
    )
    trust_anchors_file: Path | None = Field(
        None,
        description="PEM file of the root certificates trusted for the seal and its "
        "timestamps (the seal's root and the TSA's root). Required with "
        "ARCHIVE_SEAL_KEY_FILE; with development keys the development root is always trusted "
        "and this adds to it.",
    )
    embedded_trust_anchors_file: Path | None = Field(
        None,
        description="PEM file of the root certificates trusted for the signatures inside "
        "uploaded PDFs. Unset: none is trusted, and intact signatures are reported as "
        "INDETERMINATE (untrusted).",
    )
    signature_timeout_seconds: float = Field(
        60.0,
        gt=0,
        description="Longest time spent validating the signatures inside one uploaded PDF; "
        "past it they are reported INDETERMINATE and the file is still archived.",
    )

    # --- search -----------------------------------------------------------------------------
    snippet_chars: int = Field(
        160, ge=40, description="Approximate length of one highlighted snippet, in characters."
    )
    snippets_per_hit: int = Field(3, ge=1, description="Most snippets returned per search hit.")

    # --- server -----------------------------------------------------------------------------
    host: str = Field("127.0.0.1", description="Address `contract-archive serve` listens on.")
    port: int = Field(8000, gt=0, lt=65536, description="Port `contract-archive serve` listens on.")
    workers: int = Field(1, ge=1, description="Number of server worker processes for `serve`.")
    trusted_proxies: str = Field(
        "",
        description="Addresses or networks (comma-separated, e.g. `127.0.0.1,10.0.0.0/8`) of "
        "the reverse proxies whose `X-Forwarded-For` and `X-Forwarded-Proto` headers "
        "`serve` believes. Empty (the default): no proxy header is believed, the peer's "
        "address is the client's (for the log-in limits and the access log).",
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info",
        description="Log level of the server; the CLI logs warnings only unless this is set.",
    )

    # --- access control and the access log ------------------------------------------------
    user: str | None = Field(
        None,
        description=(
            "The archive user the command line acts as (its accesses are logged under this "
            "name). Default: the first admin."
        ),
    )
    admin_password_file: Path | None = Field(
        None,
        description="A file holding the first administrator's password (one line, e.g. a "
        "Docker secret), used on the first start instead of a random one; it must still be "
        "changed at the first log-in. Unset: a random one-time password, shown on a terminal "
        "or else written to DATA_DIR/first-admin-password (mode 0600).",
    )
    token_days: int = Field(
        90, ge=1, description="Days an API token is valid unless another expiry is asked for."
    )
    token_max_days: int = Field(365, ge=1, description="Longest validity of an API token, in days.")
    session_idle_minutes: int = Field(
        30, ge=1, description="A browser session ends after this many minutes without a request."
    )
    session_max_hours: int = Field(
        12, ge=1, description="A browser session ends this many hours after log-in, used or not."
    )
    session_cookie_secure: bool | None = Field(
        None,
        description=(
            "Send the session cookie only over HTTPS. Default: when the request came over HTTPS "
            "(behind a proxy, run the server with proxy headers trusted)."
        ),
    )
    login_max_failures: int = Field(
        5,
        ge=1,
        description="Failed log-ins for one user name within the window before log-in is refused.",
    )
    login_max_failures_per_ip: int = Field(
        20,
        ge=1,
        description="Failed log-ins from one address within the window before it is refused.",
    )
    login_max_concurrent: int = Field(
        4,
        ge=1,
        le=64,
        description="Password checks (argon2, 64 MiB each) that run at once in one server "
        "process; a log-in that finds no room within a second is answered 429 with "
        "Retry-After.",
    )
    password_hash_memory_mib: int = Field(
        64,
        ge=19,
        le=4096,
        description="Memory argon2id spends on each password hash and check, in MiB (default "
        "64, RFC 9106; at least 19, OWASP's minimum). A stored password made with another cost "
        "is hashed again at its next log-in.",
    )
    password_hash_time_cost: int = Field(
        3,
        ge=2,
        le=20,
        description="Passes argon2id makes over its memory for each password hash (default 3; "
        "at least 2, OWASP's minimum).",
    )
    login_window_minutes: int = Field(
        15, ge=1, description="The window failed log-ins are counted in, in minutes."
    )
    access_log_retention_days: int | None = Field(
        None,
        ge=1,
        description=(
            "Days access log entries are kept; `contract-archive audit prune` removes older "
            "ones. Default: kept forever."
        ),
    )
    log_name: str = Field(
        "contract-archive/access-log",
        min_length=1,
        max_length=200,
        pattern=r"^[^\s+]+$",
        description=(
            "Name of the access log's signing key, first line of its signed checkpoints and "
            "extracts; make it unique, e.g. archive.example.com/access-log."
        ),
    )

    # --- contracts and customers (issue 6) -------------------------------------------------
    fonds_code: str | None = Field(
        None,
        max_length=20,
        pattern=r"^[0-9A-Za-z]+$",
        description=(
            "全宗号 (fonds code) given to contracts filed without one; filing refuses without it."
        ),
    )
    our_entities: str = Field(
        "",
        description=(
            "Names of our own contracting entities, separated by `;`. Extraction tells them "
            "from the counterparty and sales (XS) from purchases (CG)."
        ),
    )
    extract_terms: bool = Field(
        True, description="Extract contract terms (suggestions) from the text at ingest."
    )
    classifier_min_examples: int = Field(
        20,
        ge=2,
        description=(
            "Confirmed contracts needed before the trained classifier's suggestion is offered."
        ),
    )
    reminder_days: str = Field(
        "90,60,30",
        pattern=r"^\s*\d{1,4}(\s*,\s*\d{1,4})*\s*$",
        description="Days before an expiry or a notice deadline at which reminders are made.",
    )
    legal_minimum_years: int = Field(
        3,
        ge=0,
        le=100,
        description=(
            "Years a contract is kept after it ended at least (civil code limitation: 3); "
            "international sales keep 4. Disposal is due at the later of this and retention."
        ),
    )
    smtp_host: str | None = Field(
        None, description="SMTP server for reminder e-mails; unset: reminders are not mailed."
    )
    smtp_port: int = Field(587, gt=0, lt=65536, description="SMTP server port.")
    smtp_user: str | None = Field(None, description="SMTP login user, if the server needs one.")
    smtp_password: SecretStr | None = Field(None, description="SMTP login password.")
    smtp_starttls: bool = Field(True, description="Upgrade the SMTP connection with STARTTLS.")
    smtp_from: str = Field(
        "contract-archive@localhost", description="Sender address of reminder e-mails."
    )
    reminder_email_to: str = Field(
        "", description="Recipients of reminder e-mails, separated by `,`."
    )

    # --- time ----------------------------------------------------------------------------------
    timezone: str = Field(
        "UTC",
        description=(
            "The archive's time zone (an IANA name such as `Asia/Shanghai`): it decides which "
            "day it is for expiry, overdue payments, reminders and the archival year, and how "
            "the CLI and the web show times (a browser that reports its own zone is shown "
            "times in that zone). Stored times are UTC either way."
        ),
    )

    # --- workflows: approval and borrowing (借阅) ---------------------------------------
    frozen_now: datetime | None = Field(
        None,
        description=(
            "For tests and demonstrations only: the archive's clock stands still at this "
            "instant (ISO 8601 with a zone, e.g. `2026-01-01T09:00:00+08:00`). Unset: real time."
        ),
    )
    approval_reminder_hours: int = Field(
        48,
        ge=1,
        le=24 * 365,
        description="Hours an approval step may wait before its approvers are reminded.",
    )
    borrow_max_days: int = Field(
        365,
        ge=1,
        le=3650,
        description="The longest borrowing (借阅) a grant may give, in days.",
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        import ipaddress

        items = [v.strip() for v in value.split(",") if v.strip()]
        for item in items:
            if item == "*":
                raise ValueError("`*` would believe any client: name the proxies' addresses")
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or network") from None
        return ",".join(items)

    @property
    def trusted_proxy_list(self) -> list[str]:
        return [v for v in self.trusted_proxies.split(",") if v]

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        name = value.strip() or "UTC"
        if known_zone(name) is None:
            raise ValueError(
                f"{name!r} is not a time zone this machine knows: use an IANA name such as "
                "`Asia/Shanghai` or `UTC` (the list is in /usr/share/zoneinfo)"
            )
        return name

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @property
    def our_entity_names(self) -> tuple[str, ...]:
        return tuple(n.strip() for n in self.our_entities.split(";") if n.strip())

    @property
    def reminder_tiers(self) -> tuple[int, ...]:
        return tuple(sorted({int(d) for d in self.reminder_days.split(",")}, reverse=True))

    @property
    def reminder_recipients(self) -> tuple[str, ...]:
        return tuple(a.strip() for a in self.reminder_email_to.split(",") if a.strip())

    # --- 四性检测 at filing: the virus scan (issue 13) -------------------------------------
    clamav_program: str = Field(
        "clamscan",
        description="ClamAV's command-line scanner used by the 四性检测 (four-properties "
        "check) when a contract is filed (Debian package clamav); a name on PATH or a path. "
        "Missing: the security item's virus scan is INDETERMINATE.",
    )
    clamav_database: Path | None = Field(
        None,
        description="ClamAV signature database (a file such as .cvd/.ndb/.hdb, or a folder of "
        "them) given to clamscan with -d. Unset: clamscan's own (/var/lib/clamav, filled by "
        "freshclam). No signatures at all: the virus scan is INDETERMINATE, never PASSED.",
    )
    clamav_socket: str | None = Field(
        None,
        description="A running clamd (Debian package clamav-daemon) to scan with instead of "
        "clamscan: its Unix socket path (LocalSocket in clamd.conf) or host:port (TCPSocket). "
        "clamd keeps the signatures loaded, while clamscan loads the whole database for every "
        "filing (tens of seconds with the full ClamAV database). The files are streamed "
        "(INSTREAM), so clamd's user needs no access to the archive. Unreachable: the virus "
        "scan is INDETERMINATE with the reason.",
    )
    clamav_timeout_seconds: float = Field(
        300.0,
        gt=0,
        description="Longest time one virus scan of a contract's package may take; past it "
        "clamscan is killed and the scan is INDETERMINATE.",
    )

    # --- derived paths (not settings) --------------------------------------------------------
    @property
    def objects_dir(self) -> Path:
        return self.data_dir / "objects"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def tmp_dir(self) -> Path:
        return self.data_dir / "tmp"

    @property
    def effective_ocr_workers(self) -> int:
        import os

        return self.ocr_workers or max(1, os.cpu_count() or 1)

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'archive.db'}"


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment; a bad value is a ConfigurationError naming the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = "ARCHIVE_" + "_".join(str(p) for p in error["loc"]).upper()
            problems.append(f"{name}: {error['msg']}")
        raise ConfigurationError(
            "invalid setting " + "; ".join(problems),
            hint="fix the environment variable (see 'Settings' in the README)",
        ) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()


def reset_settings() -> None:
    get_settings.cache_clear()
