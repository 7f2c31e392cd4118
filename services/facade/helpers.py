"""Pure helpers the front ends use that live in lower layers: no archive data, no caller.

Front ends import from ``services.facade`` only (an import-linter contract); what they need
from below that is a plain function of its arguments is re-exported here.
"""

from __future__ import annotations

from services.access.credentials import csrf_token, same_secret
from services.search import apply_corrections
from storage.index.analysis import is_cjk, normalize
from storage.index.highlight import Span, find_spans, mark
from storage.index.query import parse, positive_texts

__all__ = [
    "Span",
    "apply_corrections",
    "csrf_token",
    "find_spans",
    "is_cjk",
    "mark",
    "normalize",
    "parse",
    "positive_texts",
    "same_secret",
]
