"""Structural checks of a signed PDF that pyHanko's per-signature validation does not make.

:mod:`signing.embedded` validates each signature with pyHanko; these checks look at the file
as a whole, the way the EU DSS validator and the PDF-insecurity research (Mladenov et al.,
"1 Trillion Dollar Refund", CCS 2019; Mainka et al., "Shadow Attacks", NDSS 2021) do:

* :func:`byte_range_problems`: every signature's /ByteRange starts at 0 and leaves out exactly
  its /Contents value, nothing else (signature wrapping moves objects into that gap); no two
  signature dictionaries share one byte range or have overlapping gaps (signature spoofing);
* :func:`xref_problems`: an incremental update after a signature only points its xref entries
  at objects written in that update, never back into bytes already there ("via Refs" shadow
  attacks: the update is nothing but an xref table that brings back an object hidden in the
  signed part, or puts another object's bytes under a signed object's number);
* :func:`changed_signed_values`: a form field value that was filled in when the document was
  signed is not overwritten later (the "replace via overlay" shadow attack: form filling is
  permitted, but only of what the signer left empty);
* :func:`raw_problems`: the byte-range checks on the raw bytes, for a file no parser can read;
* :func:`pades_diff_policy`: pyHanko's standard difference policy, except that a PAdES-LTV
  update of the document security store (DSS) may update an existing /VRI entry, as ETSI
  EN 319 142-1 allows and as LTV tools (the EU DSS library among them) do when they add
  validation data twice; pyHanko's own rule calls that a suspicious modification.

Each function returns plain strings: the reasons a signature is "modified after signing or
broken".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

_BYTE_RANGE = re.compile(rb"/ByteRange\s*\[\s*([^\]]{0,200})\]")
_HOLE = re.compile(rb"\s*<[0-9A-Fa-f\s]*>\s*")
_DSS_KEYS = {"/Type", "/VRI", "/Certs", "/CRLs", "/OCSPs"}
_VRI_KEYS = {"/Type", "/TU", "/TS", "/Cert", "/CRL", "/OCSP"}


def _ints(text: bytes) -> list[int] | None:
    try:
        return [int(x) for x in text.split()]
    except ValueError:
        return None


def _range_problem(ranges: list[int] | None, data: bytes) -> str | None:
    """What is wrong with one /ByteRange [a b c d] of ``data``, if anything."""
    if ranges is None or len(ranges) != 4 or any(x < 0 for x in ranges):
        return "its /ByteRange is not four non-negative numbers"
    a, b, c, d = ranges
    if a != 0:
        return f"its /ByteRange does not start at the beginning of the file ({ranges})"
    if not b < c or c + d > len(data):
        return f"its /ByteRange does not fit the file ({ranges}, {len(data)} bytes)"
    if not _HOLE.fullmatch(data[b:c]):
        return (
            "the unsigned gap of its /ByteRange holds more than the signature value "
            "(signature wrapping)"
        )
    return None


def byte_range_problems(data: bytes, signatures: list[tuple[str, Any]]) -> dict[int, list[str]]:
    """Problems per signature index, for ``signatures`` as ``(field name, /ByteRange)``."""
    problems: dict[int, list[str]] = {}
    holes: list[tuple[int, int, int, str]] = []
    for index, (field, raw) in enumerate(signatures):
        try:
            ranges = [int(x) for x in raw]
        except (TypeError, ValueError):
            ranges = None
        problem = _range_problem(ranges, data)
        if problem is not None:
            problems.setdefault(index, []).append(problem)
        elif ranges is not None:
            holes.append((ranges[1], ranges[2], index, field))
    for i, (s1, e1, idx1, f1) in enumerate(holes):
        for s2, e2, idx2, f2 in holes[i + 1 :]:
            if (s1, e1) == (s2, e2):
                text = f"two signature dictionaries ({f1}, {f2}) share one /ByteRange (spoofing)"
            elif s1 < e2 and s2 < e1:
                text = (
                    f"the /ByteRange gaps of {f1} and {f2} overlap: two signature dictionaries "
                    "claim the same signature value (spoofing)"
                )
            else:
                continue
            problems.setdefault(idx1, []).append(text)
            problems.setdefault(idx2, []).append(text)
    return problems


def raw_problems(data: bytes) -> list[str]:
    """The byte-range checks on the raw bytes, for a signed file no parser could read: only
    what proves a forgery (objects in a signature's gap, one /ByteRange claimed twice)."""
    found: list[str] = []
    seen: dict[tuple[int, ...], int] = {}
    for match in _BYTE_RANGE.finditer(data):
        ranges = _ints(match.group(1))
        if ranges is None or len(ranges) != 4 or ranges[0] != 0:
            continue  # not recognisably a byte range: proves nothing either way
        _start, b, c, d = ranges
        if not b < c or c + d > len(data):
            continue  # a truncated or damaged file: it cannot be checked, not proven forged
        problem = _range_problem(ranges, data)
        if problem is not None:
            found.append(f"a signature at byte {match.start()}: {problem}")
        key = tuple(ranges)
        seen[key] = seen.get(key, 0) + 1
    for key, count in seen.items():
        if count > 1:
            found.append(
                f"{count} signature dictionaries share one /ByteRange {list(key)} (spoofing)"
            )
    return list(dict.fromkeys(found))


def orphaned_signatures(data: bytes, seen: Iterable[tuple[int, ...]]) -> list[str]:
    """Signatures whose bytes are in the file (a well-formed /ByteRange around a /Contents
    value) but that the document no longer refers to: a later revision replaced the catalog,
    the form or the field, so the signature vanished from view (a hide-and-replace shadow
    attack replacing the whole document, or a signature removed after signing)."""
    known = {tuple(r) for r in seen}
    found = []
    for match in _BYTE_RANGE.finditer(data):
        ranges = _ints(match.group(1))
        if ranges is None or _range_problem(ranges, data) is not None:
            continue
        if tuple(ranges) not in known:
            found.append(
                f"the signature at byte {match.start()} (/ByteRange {ranges}) is no longer part "
                "of the document: a later revision replaced what refers to it"
            )
    return list(dict.fromkeys(found))[:5]


def xref_problems(reader: Any) -> dict[int, list[str]]:
    """Per revision (0 the oldest): xref entries of that incremental update that point back
    into bytes written before it, at anything but the object they already pointed to."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.xref import ObjStreamRef

    xrefs = reader.xrefs
    found: dict[int, list[str]] = {}
    for revision in range(1, xrefs.total_revisions):
        start = xrefs.get_xref_container_info(revision - 1).end_location
        if xrefs.get_xref_container_info(revision).start_location < start:
            # not an update appended to the file: the first-page section of a linearized
            # file, which sits before the main one (and before any signature)
            continue
        data = xrefs.get_xref_data(revision)
        sections = [data] + ([data.hybrid.xref_data] if data.hybrid is not None else [])
        for section in sections:
            for idnum, (generation, offset) in section.standard_xrefs.items():
                if offset >= start:
                    continue
                ref = generic.Reference(idnum, generation)
                before = xrefs.get_historical_ref(ref, revision - 1)
                if before != offset:
                    found.setdefault(revision, []).append(
                        f"revision {revision + 1} points object {idnum} at byte {offset}, inside "
                        "an earlier revision, without writing it anew (xref manipulation: "
                        "a shadow attack)"
                    )
            for idnum, loc in section.xrefs_in_objstm.items():
                ref = generic.Reference(idnum, 0)
                before = xrefs.get_historical_ref(ref, revision - 1)
                stream_ref = generic.Reference(loc.obj_stream_id, 0)
                stream_written = stream_ref in {
                    generic.Reference(i, g) for i, g in section.explicit_refs_in_revision
                }
                if not stream_written and isinstance(before, ObjStreamRef) and before != loc:
                    found.setdefault(revision, []).append(
                        f"revision {revision + 1} moves object {idnum} into an object stream of "
                        "an earlier revision (xref manipulation: a shadow attack)"
                    )
    return {r: list(dict.fromkeys(v))[:5] for r, v in found.items()}


def _fields(root: Any) -> Iterator[tuple[str, Any, Any]]:
    """(fully qualified name, field type, value) of every terminal form field."""
    try:
        form = root.get("/AcroForm")
        top = form.get_object().get("/Fields") if form is not None else None
    except Exception:  # noqa: BLE001 - a damaged form has no fields to compare
        return
    if top is None:
        return
    stack: list[tuple[Any, str, Any, int]] = [(f, "", None, 0) for f in top]
    seen = 0
    while stack and seen < 5000:
        seen += 1
        item, prefix, inherited_type, depth = stack.pop()
        try:
            field = item.get_object()
            partial = field.get("/T")
            name = f"{prefix}.{partial}" if prefix and partial else str(partial or prefix)
            ftype = field.get("/FT", inherited_type)
            kids = field.get("/Kids")
            if kids is not None and depth < 20 and any("/T" in k.get_object() for k in kids):
                stack.extend((k, name, ftype, depth + 1) for k in kids)
                continue
            yield name, ftype, field.get("/V")
        except Exception:  # noqa: BLE001, S112 - one damaged field must not stop the rest
            continue


def _text(value: Any) -> str | None:
    if value is None:
        return None
    try:
        value = value.get_object()
    except AttributeError:
        pass
    text = str(value)
    return text if text.strip() else None


def changed_signed_values(reader: Any, signed_revision: int) -> list[str]:
    """Form fields (other than signature fields) that had a value in the signed revision and
    have another one now."""
    try:
        old_root = reader.get_historical_root(signed_revision)
    except Exception:  # noqa: BLE001 - then pyHanko's own diff analysis reports the damage
        return []
    before = {name: _text(v) for name, t, v in _fields(old_root) if t != "/Sig"}
    found = []
    for name, ftype, value in _fields(reader.root):
        if ftype == "/Sig" or name not in before or before[name] is None:
            continue
        now = _text(value)
        if now != before[name]:
            found.append(
                f"the value of form field {name!r} was {before[name]!r} when signed and is "
                f"{now!r} now: signed content was replaced (shadow attack)"
            )
    return found[:5]


# --- the difference policy --------------------------------------------------------------------
def pades_diff_policy() -> Any:
    from pyhanko.sign.diff_analysis import (
        CatalogModificationRule,
        DocInfoRule,
        FormUpdatingRule,
        GenericFieldModificationRule,
        MetadataUpdateRule,
        ModificationLevel,
        ObjectStreamRule,
        SigFieldCreationRule,
        SigFieldModificationRule,
        StandardDiffPolicy,
        XrefStreamRule,
    )

    lta = ModificationLevel.LTA_UPDATES
    return StandardDiffPolicy(
        global_rules=[
            CatalogModificationRule(),  # type: ignore[no-untyped-call]
            DocInfoRule().as_qualified(lta),
            XrefStreamRule().as_qualified(lta),
            ObjectStreamRule().as_qualified(lta),
            _dss_rule().as_qualified(lta),
            MetadataUpdateRule().as_qualified(lta),  # type: ignore[no-untyped-call]
        ],
        form_rule=FormUpdatingRule(
            field_rules=[
                SigFieldCreationRule(),  # type: ignore[no-untyped-call]
                SigFieldModificationRule(),
                GenericFieldModificationRule(),
            ],
        ),
    )


def _dss_rule() -> Any:
    from pyhanko.pdf_utils import generic
    from pyhanko.sign.diff_analysis import ReferenceUpdate, SuspiciousModification, WhitelistRule

    def streams(value: Any, what: str) -> None:
        value = value.get_object()
        if not isinstance(value, generic.ArrayObject):
            raise SuspiciousModification(f"{what} in the DSS is not an array")
        for item in value:
            if not isinstance(item, generic.IndirectObject) or not isinstance(
                item.get_object(),  # type: ignore[no-untyped-call]
                generic.StreamObject,
            ):
                raise SuspiciousModification(f"{what} in the DSS holds a non-stream entry")

    def check_structure(dss: Any) -> None:
        if not isinstance(dss, generic.DictionaryObject):
            raise SuspiciousModification("/DSS is not a dictionary")
        if not set(dss.keys()) <= _DSS_KEYS:
            raise SuspiciousModification(f"unexpected keys in the DSS: {set(dss) - _DSS_KEYS}")
        for key in ("/Certs", "/CRLs", "/OCSPs"):
            if key in dss:
                streams(dss.raw_get(key), key)
        if "/VRI" not in dss:
            return
        vri = dss["/VRI"]
        if not isinstance(vri, generic.DictionaryObject):
            raise SuspiciousModification("/VRI is not a dictionary")
        for key in vri:
            entry = vri[key]
            if not isinstance(entry, generic.DictionaryObject):
                raise SuspiciousModification("a /VRI entry is not a dictionary")
            if not set(entry.keys()) <= _VRI_KEYS:
                raise SuspiciousModification(f"unexpected keys in a /VRI entry: {set(entry)}")
            for sub in ("/Cert", "/CRL", "/OCSP"):
                if sub in entry:
                    streams(entry.raw_get(sub), sub)

    class PadesDssRule(WhitelistRule):
        """Changes to the DSS: every object written anew under /DSS is approved, provided the
        DSS has the structure PAdES gives it and no object that existed outside the old DSS
        is overwritten through it."""

        def apply(self, old: Any, new: Any) -> Iterable[Any]:
            if "/DSS" not in new.root:
                return
            new_raw = new.root.raw_get("/DSS")
            check_structure(new_raw.get_object())
            xrefs = old.reader.xrefs
            old_refs: set[Any] = set()
            if "/DSS" in old.root:
                old_refs = _reachable(old.root.raw_get("/DSS"))
            for ref in _reachable(new_raw):
                before = xrefs.get_historical_ref(ref, old.revision)
                if before == xrefs.get_historical_ref(ref, new.revision):
                    continue  # not changed by this update
                if before is not None and ref not in old_refs:
                    raise SuspiciousModification(
                        f"the DSS update overwrites object {ref.idnum}, which was not part of "
                        "the DSS"
                    )
                yield ReferenceUpdate(ref)

    def _reachable(start: Any, limit: int = 100_000) -> set[Any]:
        """Every indirect reference reachable from ``start`` (resolved in its revision)."""
        found: set[Any] = set()
        stack = [start]
        while stack and len(found) < limit:
            item = stack.pop()
            if isinstance(item, generic.IndirectObject):
                ref = item.reference
                if ref in found:
                    continue
                found.add(ref)
                item = item.get_object()  # type: ignore[no-untyped-call]
            if isinstance(item, generic.DictionaryObject):  # streams too
                stack.extend(item.raw_get(k) for k in item)
            elif isinstance(item, generic.ArrayObject):
                stack.extend(item.raw_get(i) for i in range(len(item)))
        return found

    return PadesDssRule()


__all__ = [
    "byte_range_problems",
    "changed_signed_values",
    "orphaned_signatures",
    "pades_diff_policy",
    "raw_problems",
    "xref_problems",
]
