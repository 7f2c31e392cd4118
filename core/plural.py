"""English counts of one take the singular: one rule for the web's English texts
(:func:`search_api.web.i18n.translate`) and the command line's messages.

Messages are written with the plural ("{n} contracts", "{n} new reminders"); :func:`counted`
turns "1 contracts" into "1 contract" after the numbers are filled in. Chinese needs no second
form. Only the nouns of :data:`SINGULAR` change, and only after a bare count of exactly 1 (not
"0.1 pages/s", "11 pages", "#1 files"), with at most one word between ("1 new reminders",
"1 OCR pages"); a console markup tag that closes the count's style is passed over
("[bold]1[/] contracts").
"""

from __future__ import annotations

import re

SINGULAR = {
    "contracts": "contract",
    "pages": "page",
    "sheets": "sheet",
    "files": "file",
    "entries": "entry",
    "days": "day",
    "hits": "hit",
    "matches": "match",
    "customers": "customer",
    "payments": "payment",
    "attempts": "attempt",
    "jobs": "job",
    "versions": "version",
    "manifests": "manifest",
    "packages": "package",
    "leaves": "leaf",
    "checkpoints": "checkpoint",
    "reminders": "reminder",
    "rows": "row",
    "examples": "example",
    "processes": "process",
    "bytes": "byte",
    "problems": "problem",
    "steps": "step",
    "signatures": "signature",
    "renewals": "renewal",
    "rules": "rule",
    "objects": "object",
    "times": "time",
}
_ONE = re.compile(
    r"(?<![\w.,#/])1((?:\[/[a-z ]*\])? (?:[A-Za-z]+ )?)(" + "|".join(SINGULAR) + r")\b(?!/)"
)


def counted(text: str) -> str:
    """``text`` with every count of one followed by its noun in the singular."""
    return _ONE.sub(lambda m: f"1{m[1]}{SINGULAR[m[2]]}", text)


def count(n: int, plural: str) -> str:
    """``n`` and the noun (given in the plural), as :func:`counted` writes them: "1 page",
    "2 pages". For a count beside text that is not ours (a file name, a title), which
    :func:`counted` must not touch."""
    return counted(f"{n} {plural}")
