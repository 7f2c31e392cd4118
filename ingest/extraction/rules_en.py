"""Rules for English contracts: parties, dates, term, renewal, governing law, number."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from core.names import loose_key
from ingest.extraction.dates import DateMatch, find_dates
from ingest.extraction.found import Found, found, renewal_value
from ingest.extraction.numbers import EN_NUMBER_WORDS, EN_ORDINAL_WORDS, en_number, en_ordinal
from ingest.extraction.text import Document, Page

# --- parties ------------------------------------------------------------------------------------
LEGAL_SUFFIX = (
    r"(?:Inc|Incorporated|Corp|Corporation|Company|Co|LLC|L\.L\.C|Ltd|Limited|LLP|L\.L\.P|"
    r"L\.P|LP|N\.A|PLC|plc|GmbH|AG|S\.A|SA|S\.A\.S|B\.V|BV|N\.V|NV|Pty|S\.À\s?R\.L|S\.a\.r\.l|"
    r"S\.r\.l|AB|AS|A/S|KG|SE|Bank|Trust|Partners|Holdings?|Group|Fund(?:\s+[IVX]+)?)\.?"
)
_LEGAL_END = re.compile(rf"(?:^|[\s,]){LEGAL_SUFFIX}(?:\s+[IVX]{{1,4}})?$", re.I)
_CONNECT = {"of", "and", "&", "the", "de", "du", "la", "del", "der", "von", "d/b/a", "dba", "à"}
# A word of a name: capitalised, a number, an initial, "&" or a joining word.
_WORD = re.compile(r"[A-Z0-9][\w&'.\-/À-ÿ]*|&|[a-zà-ÿ][\w'./-]*|,")

_DEFINED = re.compile(
    r"[({]\s*(?:(?:the|each|individually|collectively|together|hereinafter|herein|referred|to|"
    r"as|called|a|an|and|in|its|capacity|,)\s+)*"
    r"(?:[\"*](?P<q>[^\"()*{}]{1,60})\"|'(?P<s>[^'()]{1,60})'|\?(?P<x>[^?()]{1,40})\?)"
)
"""A defined term: ("Alias"), (the 'Alias'), (?Alias?) where a text layer lost the quotes, and
as OCR reads a scan: (*Alias"} (the opening quote read as *, the bracket as a brace)."""
_NOT_PARTY = re.compile(
    r"^(?:the\s+)?(?:this\s+)?(?:agreement|effective date|execution date|parties|party|"
    r"amendment|contract|territory|products?|services?|term|plan|merger|offering|"
    r"joint\s+venture|venture|program|business|licen[cs]ed?|trademarks?|marks|patents?|"
    r"confidential\s+information|eligible\s+account\s+holders|shares|common\s+stock|"
    r".*\b(?:date|agreement|act|program|period|stock|shares?|notes?|plan|rights?|offering|"
    r"holders?|conversion|regulations?|designee|affiliates?|subsidiaries|materials?)\b.*)$",
    re.I,
)
_ANCHORS = (
    (re.compile(r"\bby\s+and\s+(?:between|among)\b\s*:?", re.I), 0.9),
    (
        re.compile(
            r"\b(?:entered\s+into|made|executed|agreed\s+to|concluded)\b[^.;]{0,160}?"
            r"\b(?:between|among)\b\s*:?",
            re.I,
        ),
        0.85,
    ),
    (re.compile(r"(?:^|\n)\s*BETWEEN\s*:?", re.I), 0.8),
)
_SEGMENT_END = re.compile(
    r"\b(?:WHEREAS|RECITALS?|BACKGROUND|WITNESSETH|W\s?I\s?T\s?N\s?E\s?S\s?S|NOW,?\s+THEREFORE|"
    r"agrees?\s+as\s+follows|hereby\s+agrees?|TABLE\s+OF\s+CONTENTS|Preliminary\s+Statement)\b"
)


@dataclass(frozen=True)
class _Party:
    name: str
    alias: str | None
    page: Page
    start: int
    end: int
    strength: float


def _clean_name(name: str) -> str:
    name = re.sub(r"\s+", " ", name).strip(" ,;:\n")
    name = re.sub(r"^(?:and|between|among|by|the\s+undersigned)\s+", "", name, flags=re.I)
    # Descriptions that follow the name: ", a Delaware corporation", ", with offices at"
    name = re.split(
        r",?\s+(?:a|an)\s+(?:[A-Z][a-z]+\s+)*(?:corporation|company|limited|partnership|"
        r"bank|national|state|savings|public|private|federal|professional|[a-z])|"
        r",?\s+(?:with|having|whose|located|organized|incorporated|registered|represented|"
        r"acting|in\s+his|in\s+her|its\s+|on\s+behalf)\b",
        name,
    )[0]
    name = re.sub(r"\s*[,(]\s*$", "", name).strip(" ,;:")
    while name.lower().endswith((" and", " the", " of", " &")):
        name = name.rsplit(" ", 1)[0]
    return name.strip(" ,;:")


_DESCRIPTOR_BEFORE = re.compile(
    r"(?:\b(?:a|an|in|at|of|the|by|under|located|organized|incorporated|existing|with|to|from|for|"
    r"the\s+laws\s+of|state\s+of|office\s+at|offices\s+at|address\s+at|represented\s+by)|"
    r"\d)[\s,]*$",
    re.I,
)
_OBJECT_BEFORE = re.compile(
    r"\b(?:(?:insured|regulated|supervised|approved|registered|filed|issued|guaranteed|"
    r"administered|licensed|owned|controlled|employed|appointed|required|promulgated)\s+"
    r"(?:by|with)|(?:regulations?|rules|laws|policies|requirements|approval|consent)\s+of)"
    r"\s+(?:the\s+)?(?:[A-Z][\w&-]*\s+(?:of\s+)?){0,4}$"
)
"""A body the contract's sentence names as an agent of something else (a regulator, an insurer,
an employer): not a party, even with a defined term."""
_BOUNDARY_BEFORE = re.compile(r"(?:^|[\n:;,(]|\b(?:and|between|among|AND|BETWEEN)\b)\s*$")
_ADDRESS = re.compile(
    r"\b(?:Street|St\.|Road|Rd\.|Avenue|Ave\.|Suite|Floor|Boulevard|Blvd|Drive|Lane|Court|"
    r"Plaza|Building|P\.?O\.? Box|Highway|Square)\b|\b[A-Z]{2}\s+\d{5}\b|\b\d{5}(?:-\d{4})?\b"
)
_GENERIC = re.compile(
    r"^(?:the\s+)?(?:Company|Companies|Parties|Party|Agreement|Exhibit|Schedule|Section|Article|"
    r"Recitals?|Ladies|Gentlemen|Dear|Re|Attention|Attn|Source|Page|Execution\s+Version|"
    r"Execution\s+Copy|Confidential|Redacted|Client|Customer|Seller|Buyer|Licensee|Licensor)$",
    re.I,
)


def _initials(text: str) -> str:
    return "".join(w[0] for w in re.findall(r"[A-Za-z][\w.&'-]*", text) if w[0].isupper())


def _run_score(chunk: str, start: int, name: str, alias: str | None) -> float:
    before = chunk[:start]
    score = 0.0
    if _LEGAL_END.search(name):
        score += 3.0
    if _BOUNDARY_BEFORE.search(before):
        score += 1.0
    if _OBJECT_BEFORE.search(before):
        score -= 5.0  # 'insured by the Federal Deposit Insurance Corporation ("FDIC")'
    if _DESCRIPTOR_BEFORE.search(before):
        score -= 3.0
    if _ADDRESS.search(name):
        score -= 4.0
    if _GENERIC.match(name):
        score -= 4.0
    if re.search(r"\b(?:Agreement|Exhibit|Schedule|Article|Section|Amendment)\b", name, re.I):
        score -= 3.0
    after = chunk[start + len(name) : start + len(name) + 20]
    if re.match(r"\s*,?\s*[A-Z]{2}\s+\d{5}", after):
        score -= 4.0  # a city before a state and a ZIP code
    words = name.split()
    if len(words) >= 2 and name.upper() == name and any(c.isalpha() for c in name):
        score += 0.5
    if alias:
        alias_words = {w.lower() for w in re.findall(r"\w+", alias)} - {"the"}
        name_words = {w.lower() for w in re.findall(r"\w+", name)}
        if alias_words & name_words or _initials(name).upper().startswith(alias.upper()[:3]):
            score += 2.0
    return score


def _name_before(
    text: str, stop: int, floor: int, alias: str | None = None
) -> tuple[int, str] | None:
    """The party name that a defined term at ``stop`` names, picked among the capitalised runs
    before it: company names end in a legal form, follow a boundary (start, "and", a comma), are
    not places ("a Delaware corporation"), addresses or generic words, and often share words or
    initials with their defined term."""
    floor = max(floor, stop - 700)
    chunk = text[floor:stop]
    best: tuple[float, int, str] | None = None
    for start, _end, raw in _capital_runs(chunk):
        name = _clean_name(raw)
        if not _plausible(name):
            continue
        if name[0].islower() and not _LEGAL_END.search(name):
            continue  # "iShip.com, Inc.", never "e-mail Address"
        offset = start + max(raw.find(name[:8]), 0)
        score = _run_score(chunk, offset, name, alias)
        if best is None or score > best[0]:
            best = (score, offset, name)
    if best is None or best[0] < 0:
        return None
    return floor + best[1], best[2]


def _capital_runs(chunk: str) -> Iterator[tuple[int, int, str]]:
    """Runs of name words: capitalised words, joined by connectors and whitespace, commas
    before a legal suffix; a run ends at a lowercase word that is not a connector or at any
    other character. A run that crosses a line break is also offered from after each break
    (a title line above a name is not part of it)."""
    words = list(_WORD.finditer(chunk))
    i = 0
    while i < len(words):
        w = words[i].group()
        if not (w[0].isupper() or w[0].isdigit() or _LOWER_NAME.fullmatch(w)):
            i += 1
            continue
        start = words[i].start()
        end = words[i].end()
        j = i + 1
        while j < len(words):
            token = words[j].group()
            gap = chunk[end : words[j].start()]
            inner = _PAREN_IN_NAME.match(chunk, end)
            if inner and words[j].start() < inner.end():
                # "Oaktree Capital Management (International) Limited", "SHBV (HONG KONG) LTD"
                while j < len(words) and words[j].start() < inner.end():
                    j += 1
                end = inner.end()
                continue
            if gap.strip(" \t\n«»") or "\n\n" in gap:
                break
            if token == ",":  # noqa: S105
                nxt = words[j + 1].group() if j + 1 < len(words) else ""
                if re.fullmatch(LEGAL_SUFFIX, nxt, re.I):
                    end = words[j].end()
                    j += 1
                    continue
                break
            if token[0].isupper() or token[0].isdigit() or token.lower() in _CONNECT:
                end = words[j].end()
                j += 1
                continue
            break
        run = chunk[start:end]
        yield start, end, run
        for cut in re.finditer(r"\n|\band\s+|&\s+", run):
            rest = run[cut.end() :]
            if rest.strip():
                yield start + cut.end(), end, rest
        i = j


_LOWER_NAME = re.compile(
    r"[a-z]\d[\w.-]*|[a-z]+[A-Z][\w.&-]*|[a-z][\w-]*\.(?:com|net|org)|[a-z]-[a-z]+"
)
"""Words that begin a name in lower case: "iPayment", "iShip.com", "theglobe.com", "e-centives",
"b4b"; such a name needs its legal form ("e-centives, Inc.", never "e-mail")."""
_PAREN_IN_NAME = re.compile(
    rf"\s*\((?:[A-Z][\w.&'\-]*\s*){{1,3}}\)(?=\s*\([A-Z]|\s+[A-Z0-9]|\s*,?\s*{LEGAL_SUFFIX}(?!\w))"
)
"""Words in brackets inside a name, more of the name after them."""


def _plausible(name: str) -> bool:
    if len(name) < 2 or len(name) > 150:
        return False
    words = name.split()
    if len(words) > 14:
        return False
    low = name.lower()
    if low in {"agreement", "this agreement", "the parties", "parties", "party", "whereas"}:
        return False
    if low in _CONNECT or low in {"between", "among", "or", "by", "with"}:
        return False
    if re.match(r"^(?:this|section|article|exhibit|schedule|source|page|table)\b", low):
        return False
    if re.match(r"^\d+(?:\.\d+)*\.?\s", name):
        return False
    if low in {"bank", "company", "trust", "fund", "holdings", "group", "corporation"}:
        return False
    if _ONLY_LEGAL.fullmatch(name):
        return False  # "Inc.", "Co., Ltd.", "(PTY) LIMITED": the end of a name cut off
    return any(c.isalpha() for c in name)


_ONLY_LEGAL = re.compile(rf"(?:[\s,()]*{LEGAL_SUFFIX})+[\s,().]*", re.I)


def _defined_parties(page: Page, start: int, end: int, strength: float) -> list[_Party]:
    text = page.text
    parties: list[_Party] = []
    floor = start
    for m in _DEFINED.finditer(text, start, end):
        alias = " ".join((m.group("q") or m.group("s") or m.group("x") or "").split())
        # The rest of the brackets ('or "Franchisor")', '"ArTara, Inc.")') names no one.
        close = text.find(")", m.end(), m.end() + 200)
        after = close + 1 if close >= 0 and "(" not in text[m.end() : close] else m.end()
        if not alias or _NOT_PARTY.match(alias):
            floor = after
            continue
        got = _name_before(text, m.start(), floor, alias)
        floor = after
        if got is None:
            got = _form_field(page, alias)
            if got is None:
                continue
        at, name = got
        parties.append(_Party(name, alias, page, at, at + len(name), strength))
    return parties


def _form_field(page: Page, alias: str) -> tuple[int, str] | None:
    """``the company set forth below ("Company")`` ... ``Company: Bravatek Solutions, Inc.``"""
    pattern = re.compile(rf"(?:^|\n)\s*{re.escape(alias)}\s*:\s*(?P<name>[^\n]{{2,80}})")
    m = pattern.search(page.text)
    if m is None:
        return None
    name = _clean_name(
        re.split(r"\s{2,}|\(|\s+(?:Telephone|Phone|Tel|Fax|Address|E-?mail)\b", m.group("name"))[0]
    )
    if not _plausible(name) or not _LEGAL_END.search(name):
        return None
    return m.start("name"), name


_SIGNATURE_NEXT = re.compile(r"^\s*(?:By\s*:|/s/|Name\s*:|Signature|Signed)", re.I)


def _signature_parties(doc: Document) -> list[_Party]:
    """Entities named above a signature line: ``HPS MEZZANINE PARTNERS II, LLC`` / ``By: ...``."""
    parties: list[_Party] = []
    seen: set[str] = set()
    pages = doc.pages if len(doc.pages) <= 6 else doc.pages[-4:]
    for page in pages:
        lines = page.text.split("\n")
        pos = 0
        for i, line in enumerate(lines):
            start = pos
            pos += len(line) + 1
            if i + 1 < len(lines) and re.fullmatch(rf"\s*{LEGAL_SUFFIX}\s*", lines[i + 1], re.I):
                continue  # the name goes on in the next line
            if i > 0 and re.fullmatch(rf"\s*{LEGAL_SUFFIX}\s*", line, re.I):
                start -= len(lines[i - 1]) + 1
                line = lines[i - 1].rstrip() + " " + line.strip()
            name = _clean_name(line)
            if not name or not _LEGAL_END.search(name) or not _plausible(name):
                continue
            if name.lower().startswith("by") or len(name) > 100:
                continue
            following = lines[i + 1 : i + 4]
            if not any(_SIGNATURE_NEXT.match(f) for f in following):
                continue
            key = loose_key(name)
            if key in seen:
                continue
            seen.add(key)
            at = start + max(line.find(name[:8]), 0)
            parties.append(_Party(name, None, page, at, at + len(name), 0.6))
    return parties


_AFTER_LEGAL_FORM = re.compile(
    rf"(?<=[\w.]),\s+(?!(?i:{LEGAL_SUFFIX})(?![\w-])|a\s|an\s|the\s|each\s|with\s|having\s)"
    r"(?=[A-Z])"
)


_DEFINED_START = re.compile(
    r"\s*\((?=\s*(?:[\"“'?]|the\b|each\b|collectively\b|individually\b|hereinafter\b|"
    r"together\b))"
)


def _name_like(name: str) -> bool:
    """Every word of ``name`` can be a word of a company's name: no sentence, no quotes."""
    if re.search(r"[\"“”()]", name):
        return False
    return all(
        w[0].isupper() or w[0].isdigit() or w.lower() in _CONNECT or _LOWER_NAME.fullmatch(w)
        for w in re.findall(r"[^\s,]+", name)
    )


def _listed_parties(page: Page, start: int, end: int, strength: float) -> list[_Party]:
    """Parties named without defined terms: ``BY AND BETWEEN / X, INC. / AND / Y LLC``."""
    while end < len(page.text) and end > start and page.text[end - 1 : end + 1].isalnum():
        end -= 1  # the region ends inside a word ("AG|REEMENT"): not a legal form
    text = page.text[start:end]
    parties: list[_Party] = []
    pos = 0
    for whole in re.split(r"(\n|\band\b|\bAND\b|;)", text):
        at = pos
        pos += len(whole)
        if whole in ("\n", "and", "AND", ";") or not whole.strip():
            continue
        piece = _DEFINED_START.split(whole, maxsplit=1)[0]  # 'S.R.L. ("Party" and ...'
        # "SCULPTOR CAPITAL LP, SCULPTOR MANAGEMENT, INC.": a comma after a legal form and
        # before a name ends one party.
        while cut := next(
            (c for c in _AFTER_LEGAL_FORM.finditer(piece) if _LEGAL_END.search(piece[: c.start()])),
            None,
        ):
            first = _clean_name(piece[: cut.start()])
            if _plausible(first) and _name_like(first):
                offset = start + at + piece.find(first[:10])
                parties.append(_Party(first, None, page, offset, offset + len(first), strength))
            at += cut.end()
            piece = piece[cut.end() :]
        candidate = _clean_name(piece)
        if (
            candidate
            and _LEGAL_END.search(candidate)
            and _plausible(candidate)
            and _name_like(candidate)
        ):
            offset = start + at + piece.find(candidate[:10])
            parties.append(_Party(candidate, None, page, offset, offset + len(candidate), strength))
        elif parties and not candidate:
            pass
        elif parties and len(parties) >= 2:
            break
    return parties


def find_parties(doc: Document, max_pages: int = 8) -> list[Found]:
    anchored: list[tuple[list[_Party], float]] = []
    headed: list[tuple[list[_Party], float]] = []
    for page in doc.pages[:max_pages]:
        text = page.text
        for anchor, strength in _ANCHORS:
            for m in anchor.finditer(text):
                stop = _SEGMENT_END.search(text, m.end())
                end = min(stop.start() if stop else len(text), m.end() + 1500)
                parties = _defined_parties(page, m.end(), end, strength)
                if len(parties) < 2:
                    listed = _listed_parties(page, m.end(), min(end, m.end() + 400), strength - 0.1)
                    if len(listed) >= 2:
                        parties = listed
                if parties:
                    anchored.append((parties, strength))
        if page.number <= 2:
            # A preamble without "between": Name ("Alias") and Name ("Alias") agree ...
            head_end = min(len(text), 2500)
            stop = _SEGMENT_END.search(text, 0, head_end)
            parties = _defined_parties(page, 0, stop.start() if stop else head_end, 0.6)
            if len(parties) >= 2:
                headed.append((parties, 0.6))
    # The first page with an anchored segment naming two or more parties wins; within it, the
    # strongest segment with the most parties.
    full = [seg for seg in anchored if len(seg[0]) >= 2]
    pool = full or headed or anchored
    if not full and not headed:
        signed = _signature_parties(doc)
        if len(signed) >= 2:
            pool = [(signed, 0.6)]
    if not pool:
        return []
    first_page = min(seg[0][0].page.number for seg in pool)
    on_page = [seg for seg in pool if seg[0][0].page.number == first_page]
    best_parties, best_strength = max(on_page, key=lambda seg: (seg[1], min(len(seg[0]), 6)))
    confirmed: dict[str, int] = {}
    for parties, _ in anchored + headed:
        for p in parties:
            key = loose_key(p.name)
            confirmed[key] = confirmed.get(key, 0) + 1
    results: list[Found] = []
    seen: set[str] = set()
    best_parties = sorted(best_parties, key=lambda p: (p.page.number, p.start))
    for index, p in enumerate(best_parties):
        key = loose_key(p.name)
        if not key or key in seen:
            continue
        seen.add(key)
        confidence = best_strength * (0.8 if p.alias is None else 0.95)
        if confirmed.get(key, 0) > 1:
            confidence = min(0.97, confidence + 0.05)
        role = f"party_{chr(ord('a') + min(index, 25))}"
        results.append(
            found(
                "party",
                {"role": role, "role_label": p.alias, "name": p.name},
                f"{p.alias or role}: {p.name}",
                confidence,
                "rule:en-preamble",
                p.page,
                p.start,
                p.end,
            )
        )
    return results


# --- dates --------------------------------------------------------------------------------------
_SIGN_CONTEXT = re.compile(
    r"(?:\b(?:dated|made|entered\s+into|executed|signed|concluded)\b[^.;\"()\n]{0,45}|"
    r"\bagreement\s+date|\blast\s+updated|\bdate\s+of\s+(?:this\s+)?agreement)[\s:,]*$",
    re.I,
)
_ANOTHER_AGREEMENT = re.compile(
    r"\b(?:(?:a|an|that|certain|its|any|such|each|said|prior|existing)\s+(?:[\w&-]+\s+){0,6}?|"
    r"the\s+(?:[\w&-]+\s+){1,6}?)(?:agreement|contract|amendment|lease|indenture|letter|plan|"
    r"note|license|licence)s?\s*,?\s*(?:(?:as\s+)?amended\s+)?dated\b[^.;\"()\n]{0,45}$",
    re.I,
)
"""'parties to an arrangement agreement dated as of', 'that certain Credit Agreement dated':
the date of another agreement, which the contract names, not the date of the contract."""
_EFFECTIVE_BEFORE = re.compile(
    r"(?:\beffective(?:\s+(?:as\s+of|as\s+from|from|on|date\s+(?:of|is|shall\s+be)))?|"
    r"\bcommenc\w*(?:\s+(?:on|as\s+of|from))?|"
    r"\b(?:come|comes|enter|enters)\s+into\s+(?:force|effect)\s+(?:as\s+of|on|from)|"
    r"\btakes?\s+effect\s+(?:as\s+of|on|from)|"
    r"\b(?:effective|commencement)\s+date[\"”']?(?:\s+(?:of|for)\s+[^.;:\"”]{1,40}?)?\s*"
    r"(?:means|shall\s+mean|shall\s+be|will\s+be|is|:)\s*:?"
    r"(?:\s*(?:the\s+)?\d{1,2}:\d{2}\s*[ap]\.?\s?m\.?[^.;]{0,40}?\bon)?)"
    r"[\s:,]*(?:the\s+|this\s+)*(?:day\s+of\s+)?$",
    re.I,
)
"""'effective as of', 'commencing on', 'shall come into force as of', '"Effective Date" means',
'THE EFFECTIVE DATE OF THIS RESELLER AGREEMENT SHALL BE:', '"EFFECTIVE DATE" means 12:01 a.m.
Eastern Standard Time on', 'Commencement Date: ': what stands before the date the contract
takes effect."""
_UPON_SIGNING = re.compile(
    r"\b(?:commences?|effective|take\s+effect|come\s+into\s+force)\s+(?:up)?on\s+"
    r"(?:the\s+)?(?:execution|signing|signature)\b|"
    r"\b(?:effective|commencement)\s+date[\"”']?\s+(?:means|shall\s+(?:mean|be)|is)\s+the\s+"
    r"date\s+(?:hereof|of\s+this\s+agreement|first\s+(?:above\s+)?(?:written|set\s+forth))\b",
    re.I,
)
"""The contract takes effect when it is signed, or it defines its effective date as the date it
is dated ('"Effective Date" means the date of this Agreement'). Not 'is effective as of the date
hereof': CUAD leaves such an effective date out (the cooperation agreement of the corpus)."""
_ENDING_BEFORE = re.compile(
    r"\b(?:terminat\w*|expir\w*|cancel\w*|rescind\w*|rescission|resign\w*|withdraw\w*)\b"
    r"[^.;]*$",
    re.I,
)
"""'termination shall be effective on <date>': the date a clause ends something, not the
date the contract takes effect."""
_EFFECTIVE_AFTER = re.compile(r"^\s*[,)]?\s*\(?\s*(?:the|this)?\s*\"?effective\s+date\"?", re.I)
# --- the term: a stated end date, a length from the start, or no end at all --------------------
_EXPIRY_BEFORE = re.compile(
    r"(?:\bthrough|\buntil|\btill|\bend(?:s|ing)?(?:\s+(?:on|at|as\s+of))?|\bterminat\w*\s+on|"
    r"\bexpir\w*(?:\s+on)?|\bterminating|\bthrough\s+and\s+including|\bto|"
    r"\buntil\s+the\s+(?:earlier|earliest|first)\s+(?:of|to\s+occur\s+of)\s*(?:\((?:i|a|1)\))?|"
    r"\bno\s+(?:event\s+)?later\s+than|"
    r"\b(?:termination|expiration|expiry)\s+date\W{0,3}\s*(?:(?:means|shall\s+be|is)\b)?)"
    r"[\s:,]*(?:the\s+)?$",
    re.I,
)
"""What stands before a date that ends the contract: 'until', 'ending on', 'shall expire on',
'until the earlier of (i)', 'Termination Date:', '"Expiration Date" means'."""
_TERM_CONTEXT = re.compile(
    r"\b(?:terms?(?!\s+and\s+conditions)|expir\w*|contract\s+period|shall\s+(?:continue|remain)|"
    r"valid\w*|terminat\w+\s+on|commenc\w*|effective\s+(?:until|through)|"
    r"in\s+(?:full\s+)?(?:force|effect)|duration|(?:termination|expiration)\s+date|ending|ends?)\b",
    re.I,
)
_COUNT = (
    rf"(?P<n>\d{{1,3}}|(?:{EN_NUMBER_WORDS})(?:[\s-](?:{EN_NUMBER_WORDS}))?)"
    r"(?:\s*\((?:\d{1,3}|I)\))?"
)
_UNIT = r"(?:full\s+)?(?:calendar\s+|contract\s+)?(?P<unit>years?|months?)(?:\(s\))?"
_TERM_LENGTH = re.compile(
    r"(?:\b(?:for|of|be|is|until|continu\w*|remain\w*|extend\w*|last\w*)|"
    r"\bterm\s*:|\b(?P<ends>end\w*|terminat\w*|expir\w*))"
    r"\s+(?:(?:a|an|the|its|initial|minimum|fixed|entire|period|term|duration|of|for|effect|"
    r"force|full|in|and)\s+){0,6}" + _COUNT + r"[\s-]*" + _UNIT + r"\b"
    r"(?P<from>\s+(?:after|following|from|thereafter|therefrom|commencing|beginning))?",
    re.I,
)
"""A length tied to the agreement by its verb: 'shall continue for a period of five (5) years',
'the term of this Agreement is 24 months', 'shall end fifteen months therefrom' (an ending verb
needs the 'from/after/therefrom' that makes the length count from the start)."""
_TERM_SENTENCE = re.compile(
    r"\b(?:this\s+(?:\w+\s+)?(?:agreement|contract)|the\s+agreement|(?:the\s+|initial\s+)term|"
    r"term\s+of|agreement\s+term|duration|^\W*term\b)",
    re.I,
)
_LENGTH_NOT_TERM = re.compile(
    r"^\s*(?:['’]s?\s*)?(?:(?:prior\s+)?(?:advance\s+)?(?:written\s+)?notice|"
    r"(?:following|after|prior\s+to|before|from|of|upon)\s+(?:the\s+|such\s+|any\s+|its\s+)?"
    r"(?:termination|expiration|expiry|end\b|term\b|receipt|notice|written|delivery|"
    r"date\s+of\s+(?:any|such|termination|expiration)))",
    re.I,
)
"""'twelve months' notice', 'two years after the termination': a period that is not the term."""
_LENGTH_AFTER_END = re.compile(
    r"(?:(?:expiration|expiry|termination|end)\s+of\s+(?:this|the)\s+agreement|"
    r"\b(?:renew\w*|additional|successive|consecutive|further|subsequent|extension)|"
    r"\bduring\s+the\s+term)\b[^.;]{0,40}$",
    re.I,
)
"""'renewed for successive periods of one year', 'after the end of this Agreement, for two
years': lengths of renewals or of what follows the term."""
_NOT_TERM_SENTENCE = re.compile(
    r"\b(?:confidential\w*|surviv\w*|compet\w*|solicit\w*|warrant\w*|indemnif\w*|audit\w*|"
    r"insur\w*|records)\b",
    re.I,
)
_DEFINED_NAME = re.compile(r"^[^.;]{0,80}?\(\s*(?:the\s+)?[\"“*]+\s*([^\"”]{1,40}?)\s*[\"”]")
"""'... for a period of two (2) months (the "Production Period")': the length defines a named
period; unless the name is the term's, it is not the contract's length."""
_DEFINES_OTHER = re.compile(
    r"(\w[\w ]{0,30}?)[\"”]?\s*(?:means|shall\s+mean|:)\s*(?:the\s+|a\s+)?(?:period\s+)?$"
)
"""'Year: the period of 12 months': a length that defines another word."""
_TERM_NAME = re.compile(r"\bterm\b|\bperiod\s+of\s+(?:this\s+)?agreement", re.I)
_ORDINAL = rf"(?P<ord>{EN_ORDINAL_WORDS}|\d{{1,2}}\s*(?:st|nd|rd|th))(?:\s*\([^)]{{1,6}}\))?"
_ANNIVERSARY = re.compile(
    rf"(?:{_ORDINAL}|(?P<num>\d{{1,2}}|{EN_NUMBER_WORDS})(?:\s*\(\d{{1,2}}\))?[\s-]*year)\s+"
    r"anniversary\s+of\s+(?:the\s+|this\s+)?(?:(?:effective|execution|commencement|signing|"
    r"launch)\s+date|date\s+(?:hereof|of\s+this\s+agreement)|agreement|execution)",
    re.I,
)
_ANNIVERSARY_WORD = re.compile(r"anniversary", re.I)
"""A word every match of ``_ANNIVERSARY`` holds, found much faster than the rule's start."""
_YEAR_END = re.compile(
    rf"\bend\s+of\s+(?:the\s+)?(?:{_ORDINAL}\s+(?:contract\s+|agreement\s+)?year|"
    r"year\s+(?P<num>\d{1,2}))\b",
    re.I,
)
_ENDS_AT = re.compile(
    r"\b(?:until|end\w*|terminat\w*|expir\w*|through|in\s+effect|later|earlier|earliest|"
    r"continu\w*|remain\w*)\b[^.;]{0,90}$",
    re.I,
)
_PERPETUAL = re.compile(
    r"\b(?:perpetual(?:ly)?(?!\s*,|\s+(?:and\s+)?(?:irrevocable|non-?exclusive|exclusive|royalty|"
    r"fully|worldwide|licen[cs]e|right))|(?:in|for)\s+perpetuity|indefinite(?:ly)?|"
    r"(?:until|when)\s+(?:it\s+is\s+)?terminat(?:ed|ion)\b(?!\s+date)|not\s+be\s+terminable)",
    re.I,
)
_PERPETUAL_VERB = re.compile(
    r"\b(?:continu\w*|remain\w*|in\s+(?:full\s+)?(?:force|effect)|effective|term|duration|"
    r"valid\w*|terminable)\b",
    re.I,
)
_PERPETUAL_NOT = re.compile(
    r"\b(?:years?|months?|renew\w*|extend\w*|extension|licen[cs]e[sd]?\s+(?:is|are|shall))\b",
    re.I,
)


def _sentence_around(text: str, start: int, end: int) -> tuple[int, str]:
    left = max(text.rfind(". ", 0, start), text.rfind("\n\n", 0, start), start - 400)
    right_candidates = [i for i in (text.find(". ", end), text.find("\n\n", end)) if i >= 0]
    right = min([*right_candidates, end + 300])
    left = max(left, 0)
    return left, text[left:right]


def find_dates_en(doc: Document, max_pages: int = 10) -> list[Found]:
    results: list[Found] = []
    sign: Found | None = None
    effective: Found | None = None
    expiry: Found | None = None
    term: Found | None = None
    for page in doc.pages[:max_pages]:
        text = page.text
        dates: list[DateMatch] = find_dates(text)
        for d in dates:
            before = text[max(0, d.start - 60) : d.start]
            after = text[d.end : d.end + 40]
            iso = d.value.isoformat()
            is_effective = bool(
                _EFFECTIVE_AFTER.match(after)
                or (_EFFECTIVE_BEFORE.search(before) and not _ENDING_BEFORE.search(before))
            )
            if (
                sign is None
                and _SIGN_CONTEXT.search(before)
                and not _ANOTHER_AGREEMENT.search(text[max(0, d.start - 120) : d.start])
            ):
                sign = found("sign_date", iso, iso, 0.9, "rule:en-dated", page, d.start, d.end)
                if is_effective and effective is None:
                    effective = found(
                        "effective_date", iso, iso, 0.9, "rule:en-effective", page, d.start, d.end
                    )
                continue
            if effective is None and is_effective:
                in_preamble = page.number <= 3 and bool(
                    _EFFECTIVE_AFTER.match(after)
                    or re.search(r"effective\s+as\s+(?:of|from)[\s,]*(?:the\s+)?$", before, re.I)
                )
                effective = found(
                    "effective_date",
                    iso,
                    iso,
                    0.85,
                    "rule:en-effective-preamble" if in_preamble else "rule:en-effective",
                    page,
                    d.start,
                    d.end,
                )
                continue
            if expiry is None and _EXPIRY_BEFORE.search(before):
                _, sentence = _sentence_around(text, d.start, d.end)
                if _TERM_CONTEXT.search(sentence) and not re.search(
                    r"\b(?:prior\s+to|before)\s*$", before, re.I
                ):
                    expiry = found(
                        "expiry_date", iso, iso, 0.75, "rule:en-term-until", page, d.start, d.end
                    )
    if term is None:
        term = _term_length(doc)
    if sign is None:
        sign = _signature_date(doc)
    # "effective as of X (the Effective Date)" in the preamble is also the date the contract
    # is dated (CUAD's agreement date); "commences upon execution" makes the signing date the
    # effective one.
    if sign is None and effective is not None and effective.method == "rule:en-effective-preamble":
        sign = Found(
            "sign_date",
            effective.value,
            effective.display,
            0.6,
            "rule:en-preamble-effective",
            effective.span,
        )
    if effective is None and sign is not None:
        for page in doc.pages[:max_pages]:
            m = _UPON_SIGNING.search(page.text)
            if m:
                effective = Found(
                    "effective_date",
                    sign.value,
                    sign.display,
                    0.7,
                    "rule:en-upon-signing",
                    page.span(m.start(), m.end()),
                )
                break
    for f in (sign, effective, expiry, term):
        if f is not None:
            results.append(f)
    return results


def _months(n: int | None, unit: str) -> int | None:
    if not n:
        return None
    return n * 12 if unit.lower().startswith("year") else n


def _term_length(doc: Document) -> Found | None:
    """The contract's length or 'perpetual': of all the wordings on a page, the first one."""
    for page in doc.pages:
        got = [
            f
            for f in (_term_length_page(page), _anniversary_page(page), _perpetual(page))
            if f is not None
        ]
        if got:
            return min(got, key=lambda f: f.span.start if f.span else 0)
    return None


def _term_length_page(page: Page) -> Found | None:
    text = page.text
    for m in _TERM_LENGTH.finditer(text):
        after = text[m.end("unit") : m.end("unit") + 60].removeprefix("(s)")
        if _LENGTH_NOT_TERM.match(after):
            continue
        if _LENGTH_AFTER_END.search(text[max(0, m.start() - 60) : m.start("n")]):
            continue
        if m.group("ends") and (
            not m.group("from") or text[max(0, m.start() - 4) : m.start()].lower() == "the "
        ):
            continue  # 'terminate ... 12 months', 'by the end of 12 months after': not the term
        _, sentence = _sentence_around(text, m.start(), m.end())
        if not _TERM_SENTENCE.search(sentence) or _NOT_TERM_SENTENCE.search(sentence):
            continue
        named = _DEFINED_NAME.match(text[m.end() : m.end() + 120])
        subject = text[max(0, m.start() - 80) : m.start()]
        if named and not _TERM_NAME.search(named.group(1)) and not _TERM_NAME.search(subject):
            continue
        other = _DEFINES_OTHER.search(text[max(0, m.start() - 40) : m.start()])
        if other and not _TERM_NAME.search(other.group(1)):
            continue
        months = _months(en_number(m.group("n")), m.group("unit"))
        if months:
            n = months // 12 if months % 12 == 0 and "year" in m.group("unit").lower() else months
            unit = "year" if "year" in m.group("unit").lower() else "month"
            return found(
                "term",
                {"months": months},
                f"{n} {unit}{'s' if n > 1 else ''}",
                0.7,
                "rule:en-term-length",
                page,
                m.start(),
                m.end(),
            )
    return None


def _anniversary_page(page: Page) -> Found | None:
    """'ends on the fifth anniversary of the Effective Date', 'until the end of the fifteenth
    Contract Year': a length counted in years from the start."""
    text = page.text
    for rule, method, needs in (
        (_ANNIVERSARY, "rule:en-term-anniversary", _ANNIVERSARY_WORD),
        (_YEAR_END, "rule:en-term-year", None),
    ):
        if needs is not None and not needs.search(text):
            continue  # the rule's words are not on the page: spare its slow scan
        for m in rule.finditer(text):
            if not _ENDS_AT.search(text[max(0, m.start() - 90) : m.start()]):
                continue
            if _LENGTH_AFTER_END.search(text[max(0, m.start() - 60) : m.start()]):
                continue
            if re.search(
                r"\b(?:following|after)\s+(?:the\s+)?$",
                text[max(0, m.start() - 20) : m.start()],
                re.I,
            ):
                continue  # 'at any time following the 7th anniversary': a right, not the end
            _, sentence = _sentence_around(text, m.start(), m.end())
            if not _TERM_SENTENCE.search(sentence) or _NOT_TERM_SENTENCE.search(sentence):
                continue
            raw = m.group("ord") or m.group("num")
            years = en_ordinal(raw.replace(" ", "")) if m.group("ord") else en_number(raw)
            if years:
                return found(
                    "term",
                    {"months": years * 12},
                    f"{years} year{'s' if years > 1 else ''}",
                    0.7,
                    method,
                    page,
                    m.start(),
                    m.end(),
                )
    return None


def _perpetual(page: Page) -> Found | None:
    """'shall continue until terminated', 'in perpetuity', 'for an indefinite term': no end
    date, in a sentence about the agreement with no length, renewal or licence wording before
    the words that say so."""
    text = page.text
    for m in _PERPETUAL.finditer(text):
        left, sentence = _sentence_around(text, m.start(), m.end())
        before = text[left : m.start()]
        if not _TERM_SENTENCE.search(before) or not _PERPETUAL_VERB.search(sentence):
            continue
        if _PERPETUAL_NOT.search(before) or _NOT_TERM_SENTENCE.search(sentence):
            continue
        return found(
            "term",
            {"perpetual": True},
            "perpetual",
            0.6,
            "rule:en-perpetual",
            page,
            m.start(),
            m.end(),
        )
    return None


_SIGNED_NEAR = re.compile(r"/s/|\bDated?\s*:\s*$", re.I)


def _signature_date(doc: Document) -> Found | None:
    """A date written in a signature block (``/s/ Name`` ... ``5/17/12``, ``Date: ...``)."""
    for page in reversed(doc.pages[-4:]):
        text = page.text
        for d in find_dates(text):
            line_start = text.rfind("\n", 0, d.start) + 1
            if re.match(r"\s*Source\s*:", text[line_start : d.start]):
                continue  # a filing's page footer, not a signature
            before = text[max(0, d.start - 80) : d.start]
            if _SIGNED_NEAR.search(before) or re.search(r"\bDated?\s*:\s*$", before, re.I):
                iso = d.value.isoformat()
                return found(
                    "sign_date", iso, iso, 0.5, "rule:en-signature-date", page, d.start, d.end
                )
    return None


# --- renewal ------------------------------------------------------------------------------------
_AUTO_RENEW = re.compile(
    r"\b(?:automatic(?:ally)?|tacit(?:ly)?)\b[^.;]{0,40}?\b(?:renew\w*|extend\w*|extension|continu\w*)|"
    r"\b(?:renew\w*|extend\w*|continu\w*)\s+(?:\w+\s+)?(?:automatically|tacitly)|"
    r"\bauto-renew\w*|\bevergreen\b|\bcontinue\s+on\s+a\s+month[\s-]+to[\s-]+month|"
    r"\b(?:indefinitely|perpetually|in\s+perpetuity)\s+(?:after\s+that|thereafter)\b|"
    r"\b(?:continu\w*|remain\w*)\s+(?:\w+\s+){0,5}?thereafter\s+(?:indefinitely|in\s+perpetuity|"
    r"until\s+(?:terminated|either|one)\b)",
    re.I,
)
"""Renewing by itself, and a term that goes on after its first period until someone ends it
("one (1) year and indefinitely after that until terminated", "shall continue in full force
and effect thereafter until terminated by either Party")."""
_MANUAL_RENEW = re.compile(
    r"\b(?:may|can|could)\s+(?:\w+\s+){0,3}?(?:renew|extend)\w*|\brenewable\b|"
    r"\b(?:option|right)\s+(?:\w+\s+){0,3}?to\s+(?:\w+\s+){0,3}?(?:renew|extend)\w*|"
    r"\boption\s+to\s+continue\b|"
    r"\b(?:renew|extend)\w*\s+(?:this\s+agreement|the\s+term|the\s+agreement)\b|"
    r"\brenew\w*\s+for\s+(?:successive|additional|consecutive|further|subsequent)\b|"
    r"\bshall\s+renew\b",
    re.I,
)
_RENEW_TERM = re.compile(
    rf"(?P<n>\d{{1,3}}|(?:{EN_NUMBER_WORDS}))(?:\s*\((?:\d{{1,3}}|I)\))?[\s~-]*"
    rf"(?:full\s+)?(?:calendar\s+)?(?P<unit>years?|months?)\b|"
    rf"(?P<yearly>\b(?:from\s+)?year[\s-]+to[\s-]+year\b|\bevery\s+year\b|\bannual(?:ly)?\b|"
    rf"\beach\s+year\b|\byearly\s+basis\b)|"
    rf"(?P<monthly>\bmonth[\s-]+to[\s-]+month\b|\bmonthly\b|\badditional\s+month\b)|"
    rf"(?P<half>\bhalf\s+a\s+year\b)",
    re.I,
)
"""The length of one renewal: after the words that renew; one before them only when it is
called a renewal ('successive one-year terms shall renew')."""
_RENEW_NOT_LENGTH = re.compile(
    r"^\W*(?:(?:prior|advance|written|in\s+advance)\b|notice|before|following|after)", re.I
)
_RENEW_LENGTH_BEFORE = re.compile(
    r"\b(?:successive|additional|consecutive|further|subsequent|renewal|extension)\b\W*(?:\w+\W+){0,3}$",
    re.I,
)


def _renewal_months(sentence: str, at: int) -> int | None:
    """Months of one renewal in the sentence, the renewing words at ``at``."""
    before = [rm for rm in _RENEW_TERM.finditer(sentence, 0, at)]
    for rm in [*_RENEW_TERM.finditer(sentence, at), *reversed(before)]:
        if rm.start() < at and not _RENEW_LENGTH_BEFORE.search(sentence[: rm.start()]):
            continue
        if _RENEW_NOT_LENGTH.match(sentence[rm.end() : rm.end() + 30]):
            continue  # 'sixty days prior', 'twelve (12) months written notice'
        if re.search(r"\bup\s+to\s*$", sentence[: rm.start()], re.I):
            continue  # 'up to ten (10) years': a limit, not one renewal
        if rm.group("yearly"):
            return 12
        if rm.group("monthly"):
            return 1
        if rm.group("half"):
            return 6
        n = en_number(rm.group("n"))
        if n:
            return n * 12 if rm.group("unit").lower().startswith("year") else n
    return None


_RENEWALS_COUNT = re.compile(
    rf"\b(?:up\s+to\s+|a\s+maximum\s+of\s+|no\s+more\s+than\s+)?"
    rf"(?P<n>\d{{1,2}}|(?:{EN_NUMBER_WORDS}))(?:\s*\(\d{{1,2}}\))?\s+(?!or\s+more)"
    rf"(?:(?:additional|successive|consecutive|further|subsequent|renewal|extension|option)\s+)+"
    rf"(?:[^\s.;]+[\s-]+){{0,4}}?(?:terms?|periods?|renewals?|extensions?|times|options?)\b|"
    rf"\b(?P<once>once|twice)\b",
    re.I,
)
"""A stated number of renewals: "two (2) additional terms of ten years", "up to three successive
terms", "one additional period of one year", "renewed twice"; never "successive one-year
periods" (a length, not a count)."""
_RENEWALS_UNLIMITED = re.compile(
    r"\bsuccessive\b|\bconsecutive\b|\bevergreen\b|\bindefinite(?:ly)?\b|\bperpetu\w+|"
    r"\bunlimited\b|\b(?:year|month)[\s-]+to[\s-]+(?:year|month)\b|\beach\s+year\b|"
    r"\bevery\s+year\b|\bannual(?:ly)?\b|\byearly\s+basis\b|\bfrom\s+time\s+to\s+time\b|"
    r"\bfor\s+(?:additional|subsequent|further)\s+(?:\S+[\s-]+){0,4}?(?:terms|periods)\b|"
    r"\bone\s+or\s+more\b|\buntil\s+(?:terminated|either|one|such\s+time|the\s+\w+\s+"
    r"(?:terminat|give)\w*)|\bunless\s+and\s+until\b|\bthereafter\b[^.;]{0,60}\buntil\b",
    re.I,
)
"""Renewals without a limit: "successive one-year periods", "from year to year", "for additional
terms" (plural, no number), "indefinitely", "in perpetuity", "until terminated" ("the initial
term and any renewal terms" is not one: it names the terms, it does not renew)."""


_RENEWALS_UP_TO = re.compile(
    rf"\b(?:up\s+to|a\s+maximum\s+of|no\s+more\s+than|not\s+(?:to\s+)?exceed(?:ing)?)\s+"
    rf"(?:a\s+total\s+of\s+)?(?:\d{{1,3}}|(?:{EN_NUMBER_WORDS}))(?:\s*\(\d{{1,3}}\))?[\s-]*"
    rf"(?:additional\s+)?(?:years?|months?)\b",
    re.I,
)
"""A limit on the renewals' total length: "extended on a yearly basis up to ten (10) years"."""


def _renewals(sentence: str, kind: str = "manual") -> tuple[bool | None, int | None]:
    """(perpetual, number of renewals) of a renewal sentence: a stated number of renewals is a
    limit (False, N), and so is a limit on their total length (False, None); wording of
    renewals without end is (True, None); an automatic renewal that states no limit renews at
    the end of each renewal term again (True, None: CUAD's "successive"); else (None, None)."""
    if _RENEWALS_UP_TO.search(sentence):
        return False, None
    for m in _RENEWALS_COUNT.finditer(sentence):
        if m.group("once"):
            return False, 1 if m.group("once").lower() == "once" else 2
        n = en_number(m.group("n"))
        if n and n <= 20:
            return False, n
    if kind == "automatic" or _RENEWALS_UNLIMITED.search(sentence):
        return True, None
    return None, None


_NOTICE = re.compile(
    rf"(?:at\s+least\s+)?(?P<n>\d{{1,3}}|(?:{EN_NUMBER_WORDS}))(?:\s*\(\d{{1,3}}\))?\s*"
    rf"(?P<unit>days?|months?)['’]?\s*(?:prior\s+|advance\s+)?(?:written\s+)?notice",
    re.I,
)


def find_renewal_en(doc: Document) -> list[Found]:
    for page in doc.pages:
        text = page.text
        for pattern, kind, confidence in (
            (_AUTO_RENEW, "automatic", 0.8),
            (_MANUAL_RENEW, "manual", 0.55),
        ):
            m = pattern.search(text)
            if not m:
                continue
            left, sentence = _sentence_around(text, m.start(), m.end())
            if kind == "manual" and not re.search(
                r"\b(?:agreement|term|contract)\b", sentence, re.I
            ):
                continue
            term_months = _renewal_months(sentence, m.start() - left)
            notice_days = None
            nm = _NOTICE.search(text, left, min(len(text), left + len(sentence) + 300))
            if nm:
                n = en_number(nm.group("n"))
                if n:
                    notice_days = n * 30 if nm.group("unit").lower().startswith("month") else n
            perpetual, renewals = _renewals(sentence, kind)
            value = renewal_value(kind, term_months, notice_days, perpetual, renewals)
            shown = kind + (f", {term_months} months" if term_months else "")
            if perpetual:
                shown += ", successive renewals without limit"
            elif renewals:
                shown += f", at most {renewals} renewal" + ("s" if renewals > 1 else "")
            shown += f", notice {notice_days} days" if notice_days else ""
            return [
                found(
                    "renewal",
                    value,
                    shown,
                    confidence,
                    f"rule:en-renewal-{kind}",
                    page,
                    m.start(),
                    m.end(),
                )
            ]
    return []


# --- governing law ------------------------------------------------------------------------------
_LAW_NAME = r"(?P<law>[A-Za-z][A-Za-z.' ]{1,40}?)"
_LAW_STOP = (
    r"(?=\s*(?:[,.;(\n]|$)|\s+(?:without|excluding|including|applicable|as\s|in\s|its\s|"
    r"and\s+(?:the|shall|any|will|each)|shall|will|USA|U\.S\.A|United\s+States|exclusive|"
    r"(?:\(|and\s+)?English\s+common|notwithstanding|except|other\s+than))"
)
_LAW_OF = (
    rf"\blaws?\s+of\s+(?:the\s+)?(?:(?:State|Commonwealth|Province|Republic|Kingdom)\s+of\s+)?"
    rf"{_LAW_NAME}{_LAW_STOP}"
)
_GOVERNED = re.compile(
    rf"\b(?:agreement|contract)\b[^.;]{{0,120}}?\b(?:governed|construed|enforced|interpreted)\b"
    rf"[^.;]{{0,160}}?{_LAW_OF}",
    re.I,
)
_LAWS_GOVERN = re.compile(rf"{_LAW_OF}[^.;]{{0,160}}?\b(?:(?:shall|will)\s+)?govern\b", re.I)
_HEADING = re.compile(r"\bGoverning\s+Law\b[.:]?", re.I)


def _law_name(raw: str) -> str | None:
    name = re.sub(r"\s+", " ", raw).strip(" .,")
    name = re.sub(r"^(?:the\s+)?(?:State|Commonwealth)\s+of\s+", "", name, flags=re.I)
    if not name or name.lower() in {"the", "any", "such", "general", "each", "that"}:
        return None
    if name.isupper():
        name = name.title()
    return name


def find_governing_law_en(doc: Document) -> list[Found]:
    best: Found | None = None
    for page in doc.pages:
        for pattern, confidence, method in (
            (_GOVERNED, 0.9, "rule:en-governed-by"),
            (_LAWS_GOVERN, 0.85, "rule:en-laws-govern"),
        ):
            for m in pattern.finditer(page.text):
                name = _law_name(m.group("law"))
                if not name:
                    continue
                # A choice-of-law clause, not "organized under the laws of".
                if re.search(r"organi[sz]ed|existing|incorporated|opinion", m.group(), re.I):
                    continue
                candidate = found(
                    "governing_law",
                    name,
                    name,
                    confidence,
                    method,
                    page,
                    m.start("law"),
                    m.end("law"),
                )
                heading = _HEADING.search(page.text, max(0, m.start() - 200), m.start() + 1)
                if heading:
                    return [
                        found(
                            "governing_law",
                            name,
                            name,
                            0.95,
                            method,
                            page,
                            m.start("law"),
                            m.end("law"),
                        )
                    ]
                if best is None or candidate.confidence > best.confidence:
                    best = candidate
    return [best] if best else []


# --- contract number ----------------------------------------------------------------------------
_NUMBER = re.compile(
    r"\b(?:Contract|Agreement|Order|PO|Reference|Ref)\s*(?:No\.?|Number|#)\s*[:.]?\s*"
    r"(?P<no>[A-Z0-9][A-Z0-9\-/_.]{2,40}[A-Z0-9])",
    re.I,
)


def find_contract_no_en(doc: Document) -> list[Found]:
    for page in doc.pages[:3]:
        for m in _NUMBER.finditer(page.text):
            number = m.group("no")
            if not re.search(r"\d", number):
                continue
            return [
                found(
                    "contract_no",
                    number,
                    number,
                    0.8,
                    "rule:en-contract-no",
                    page,
                    m.start("no"),
                    m.end("no"),
                )
            ]
    return []
