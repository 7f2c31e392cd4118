"""E-mail messages (``.eml``, RFC 5322): read with the standard library's ``email`` package
(``policy.default``), in the killable worker.

An e-mail is archived as one contract record whose original is the ``.eml`` file, byte-identical
(content type ``message/rfc822``). Its PDF rendition shows the headers (from, to, cc, date,
subject), the text body and the list of attachments: written here as plain HTML (every value
escaped; an HTML body is reduced to its text first, so no remote content or script of the
message reaches LibreOffice) and converted by LibreOffice, as for Office documents. The record's
title is the subject; the header fields are kept in the text document (``email``).

Each attachment is archived by the service as a contract of its own, linked to the message
(its master, relation ``annex``: 附件); :func:`save_attachments` writes them out for that.
"""

from __future__ import annotations

import html
import os
import re
import tempfile
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from ingest.errors import RejectFile
from ingest.images import Rendition
from ingest.office import TOOL, convert_to_pdf, find_soffice, missing, version
from storage.maintenance import owner_tag

LABEL = "an e-mail message"
MAX_BODY_CHARS = 2_000_000
MAX_HEADER_CHARS = 2_000


def _damaged(detail: str) -> RejectFile:
    return RejectFile(
        f"damaged e-mail: the message cannot be read ({detail})",
        hint="save the message again from the mail program (as .eml) and archive that",
    )


def _parse(path: Path) -> EmailMessage:
    try:
        with open(path, "rb") as fh:
            message = BytesParser(policy=policy.default).parse(fh)
    except Exception as exc:
        raise _damaged(str(exc) or type(exc).__name__) from exc
    assert isinstance(message, EmailMessage)
    return message


def _header(message: EmailMessage, name: str) -> str:
    try:
        value = message.get(name)
    except Exception:  # noqa: BLE001 - a header the policy cannot parse: its raw text
        value = None
        for key, raw in message.raw_items():
            if key.lower() == name.lower():
                value = raw
                break
    text = " ".join(str(value or "").split())
    return text[:MAX_HEADER_CHARS]


class _Text(HTMLParser):
    """The text of an HTML body: tags dropped, script and style skipped, blocks on new lines."""

    _BLOCKS = frozenset({"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "table"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_text(markup: str) -> str:
    parser = _Text()
    parser.feed(markup)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.parts).splitlines()]
    return "\n".join(line for line in lines if line)


def _body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except Exception as exc:  # noqa: BLE001 - an undecodable body: said in the text
        return f"[the body could not be decoded: {exc}]"
    text = str(content)
    if part.get_content_type() == "text/html":
        text = html_text(text)
    return text[:MAX_BODY_CHARS]


def attachment_parts(message: EmailMessage) -> list[EmailMessage]:
    parts = []
    for part in message.iter_attachments():
        assert isinstance(part, EmailMessage)
        parts.append(part)
    return parts


_UNSAFE_NAME = re.compile(r"[\\/\x00-\x1f]")


def attachment_name(part: EmailMessage, number: int) -> str:
    try:
        name = part.get_filename() or ""
    except Exception:  # noqa: BLE001 - a damaged filename parameter
        name = ""
    name = _UNSAFE_NAME.sub("_", name).strip(". ")[:200]
    return name or f"attachment-{number}"


def describe(path: Path, max_attachments: int) -> dict[str, Any]:
    """The message's header fields, body text and attachments (names, types, sizes)."""
    message = _parse(path)
    if not any(message.get(h) for h in ("From", "To", "Subject", "Date")):
        raise _damaged("it has no From, To, Subject or Date header")
    parts = attachment_parts(message)
    if len(parts) > max_attachments:
        raise RejectFile(
            f"the e-mail has {len(parts)} attachments, more than "
            f"ARCHIVE_MAX_EMAIL_ATTACHMENTS ({max_attachments})",
            hint="save the attachments and archive them as files, or raise "
            "ARCHIVE_MAX_EMAIL_ATTACHMENTS",
        )
    attachments = []
    for number, part in enumerate(parts, 1):
        payload = part.get_payload(decode=True)
        size = len(payload) if isinstance(payload, bytes) else len(part.as_bytes())
        attachments.append(
            {
                "name": attachment_name(part, number),
                "content_type": part.get_content_type(),
                "size": size,
            }
        )
    return {
        "from": _header(message, "From"),
        "to": _header(message, "To"),
        "cc": _header(message, "Cc"),
        "date": _header(message, "Date"),
        "subject": _header(message, "Subject"),
        "message_id": _header(message, "Message-ID"),
        "body": _body(message),
        "attachments": attachments,
    }


def message_html(info: dict[str, Any]) -> str:
    """The page the rendition is made from: header table, body, attachment list."""
    esc = html.escape
    rows = "".join(
        f"<tr><th>{label}</th><td>{esc(info[key])}</td></tr>"
        for key, label in (
            ("from", "From"),
            ("to", "To"),
            ("cc", "Cc"),
            ("date", "Date"),
            ("subject", "Subject"),
        )
        if info.get(key)
    )
    body = "".join(f"<p>{esc(line) or '&#160;'}</p>" for line in info["body"].splitlines())
    listed = "".join(
        f"<li>{esc(a['name'])} ({esc(a['content_type'])}, {a['size']} bytes)</li>"
        for a in info["attachments"]
    )
    attachments = f"<h3>Attachments</h3><ul>{listed}</ul>" if listed else ""
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><style>'
        "th{text-align:left;padding-right:1em;vertical-align:top}p{margin:0}"
        f"</style></head><body><table>{rows}</table><hr>{body}{attachments}</body></html>"
    )


def render_email(
    path: Path, out: Path, timeout: float, program_path: str, max_attachments: int
) -> Rendition:
    """Read the message at ``path`` and write its PDF rendition to ``out``."""
    info = describe(path, max_attachments)
    program = find_soffice(program_path)
    if program is None:
        raise missing("eml", LABEL)
    fd, name = tempfile.mkstemp(prefix=owner_tag() + "email-", suffix=".html", dir=out.parent)
    page = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(message_html(info))
        convert_to_pdf(program, page, "html", out, LABEL, timeout)
    finally:
        page.unlink(missing_ok=True)
    return Rendition(
        pages=0,
        made_by={
            "tool": TOOL,
            "version": version(program),
            "method": "the message's header fields, text body and attachment list written as "
            "HTML by contract-archive (email package, policy.default), converted by "
            "soffice --headless --convert-to pdf",
            "from": "original",
        },
        details={"email": {k: v for k, v in info.items() if k != "body"}},
    )


def save_attachments(path: Path, folder: Path, max_attachments: int) -> list[tuple[str, Path]]:
    """Write each attachment of the message at ``path`` into ``folder``: (name, file)."""
    message = _parse(path)
    parts = attachment_parts(message)[:max_attachments]
    saved: list[tuple[str, Path]] = []
    for number, part in enumerate(parts, 1):
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):  # an attached message (message/rfc822)
            inner = part.get_payload()
            first = inner[0] if isinstance(inner, list) and inner else None
            payload = first.as_bytes() if isinstance(first, EmailMessage) else b""
        target = folder / f"{number:04d}"
        target.write_bytes(payload)
        saved.append((attachment_name(part, number), target))
    return saved
