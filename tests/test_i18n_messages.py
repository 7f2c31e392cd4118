"""Every message an archive error can carry has a Chinese form (issue 15, "both languages,
completely").

A Chinese page shows the messages of the layers below (an :class:`core.errors.ArchiveError`'s
message: a refused upload, a query-syntax error, a missing contract, ...) through
``search_api.web.i18n.MESSAGES_ZH``; a message no pattern knows is shown in English. This test
finds the messages by construction rather than by example: it walks the source of the archive's
packages for every construction of an ``ArchiveError`` subclass (``raise NotFound(...)``, and the
helpers that ``return RejectFile(...)`` for a caller to raise), renders the message (a literal; an
f-string with each placeholder as a sample word ``x1`` or number ``1``, or the module constant it
names) and asserts that :func:`search_api.web.i18n.localize` knows it.

A message the source cannot render (a variable, a message made elsewhere) is counted and must be
on :data:`UNRENDERED` with the reason it is not checked here; an entry whose site has gone fails,
so the list cannot rot.
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from core.errors import ArchiveError
from ingest.formats import ACCEPTED
from search_api.web.i18n import localize

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = (
    "core",
    "storage",
    "signing",
    "ingest",
    "schemas",
    "services",
    "contract_archive",
    "search_api",
)
SKIPPED = ("storage/records/migrations",)
"""Alembic's scripts: importable only inside alembic, and they raise nothing."""
SAMPLES = ("x1", "1")
"""What a placeholder of an f-string is rendered as; a message is known when one of the forms
is (a pattern's ``(\\d+)`` needs the number, a ``'([^']*)'`` either)."""
DATE_SAMPLE = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
"""A placeholder with a date format (``{when:%Y-%m-%d}``) takes a date instead."""


@dataclass
class Site:
    """One construction of an archive error: where, and what its message renders to."""

    path: str
    function: str
    line: int
    error: str
    source: str
    """The message argument as written (``ast.unparse``)."""
    data_only: bool = False
    """The message has no words of its own (``f"{what}: {exc}"``): its parts are the sites."""
    messages: list[list[str]] = field(default_factory=list)
    """Each message it can be (the branches of a conditional), as its sample forms."""

    @property
    def key(self) -> str:
        return f"{self.path}:{self.function}: {self.source}"


# --- finding the sites ------------------------------------------------------------------------
def _modules() -> Iterator[tuple[Path, str]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT)
            if str(rel).startswith(SKIPPED):
                continue
            parts = list(rel.with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            yield path, ".".join(parts)


def _namespace(module: ModuleType, tree: ast.Module) -> dict[str, Any]:
    """The module's globals, plus the names imported inside its functions."""
    names: dict[str, Any] = dict(vars(module))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                name = alias.asname or alias.name
                if name in names:
                    continue
                try:
                    names[name] = getattr(importlib.import_module(node.module), alias.name)
                except (ImportError, AttributeError):
                    pass
    return names


def _resolve(node: ast.expr, names: dict[str, Any]) -> Any:
    if isinstance(node, ast.Name):
        return names.get(node.id)
    if isinstance(node, ast.Attribute):
        base = _resolve(node.value, names)
        return getattr(base, node.attr, None) if base is not None else None
    return None


def _error_class(node: ast.expr, names: dict[str, Any]) -> type[ArchiveError] | None:
    found = _resolve(node, names)
    if isinstance(found, type) and issubclass(found, ArchiveError):
        return found
    return None


def _message_position(cls: type[ArchiveError]) -> int | None:
    """Where ``cls(...)`` takes its message, or None when the class writes its own."""
    params = [
        p
        for p in inspect.signature(cls.__init__).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ][1:]
    names = [p.name for p in params]
    return names.index("message") if "message" in names else None


class _Visitor(ast.NodeVisitor):
    def __init__(self, path: str, names: dict[str, Any]) -> None:
        self.path = path
        self.names = names
        self.stack: list[str] = []
        self.functions: list[ast.FunctionDef | ast.AsyncFunctionDef] = []
        self.relays: set[tuple[str, int, str]] = set()
        """(function, position, parameter): a parameter a message is written around."""
        self.classes: list[type[ArchiveError] | None] = []
        self.sites: list[Site] = []

    def _scoped(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
        self.stack.append(node.name)
        if not isinstance(node, ast.ClassDef):
            self.functions.append(node)
        if isinstance(node, ast.ClassDef):
            cls = self.names.get(node.name) if len(self.stack) == 1 else None
            ok = isinstance(cls, type) and issubclass(cls, ArchiveError)
            self.classes.append(cls if ok else None)
        self.generic_visit(node)
        if isinstance(node, ast.ClassDef):
            self.classes.pop()
        else:
            self.functions.pop()
        self.stack.pop()

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _scoped

    def visit_Call(self, node: ast.Call) -> None:
        self.generic_visit(node)
        cls = _error_class(node.func, self.names)
        message: ast.expr | None = None
        if cls is not None:
            position = _message_position(cls)
            if position is None:
                return  # the class writes its message: its super().__init__ is the site
            if len(node.args) > position:
                message = node.args[position]
            else:
                message = next((k.value for k in node.keywords if k.arg == "message"), None)
            name = cls.__name__
        elif self._is_super_init(node) and self.classes and self.classes[-1] is not None:
            if not node.args:
                return
            message = node.args[0]
            if isinstance(message, ast.Name) and message.id == "message":
                return  # passed through: the callers are the sites
            name = f"{self.classes[-1].__name__} (its own message)"
        else:
            return
        if message is None:
            return
        site = Site(
            path=self.path,
            function=".".join(self.stack) or "<module>",
            line=node.lineno,
            error=name,
            source=ast.unparse(message),
        )
        site.messages = _render(message, self.names) or []
        words = any(re.search(r"[A-Za-z]{2}", t) for t in _literals(message))
        site.data_only = bool(site.messages) and not words
        self.sites.append(site)
        self._note_relays(message)

    def _note_relays(self, message: ast.expr) -> None:
        """A message written around a parameter of its function (``_damaged(detail)``): what the
        callers pass there is part of the message too."""
        if not self.functions:
            return
        function = self.functions[-1]
        params = [a.arg for a in function.args.posonlyargs + function.args.args]
        if params and params[0] in ("self", "cls"):
            params = params[1:]
        keywords = [a.arg for a in function.args.kwonlyargs]
        parts = message.values if isinstance(message, ast.JoinedStr) else [message]
        for part in parts:
            value = part.value if isinstance(part, ast.FormattedValue) else part
            if not isinstance(value, ast.Name):
                continue
            if value.id in params:
                self.relays.add((function.name, params.index(value.id), value.id))
            elif value.id in keywords:
                self.relays.add((function.name, -1, value.id))

    def relayed(self, tree: ast.Module) -> list[Site]:
        """The parts of messages the callers of a relaying function pass it (in this module)."""
        found = []
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            for function, position, param in self.relays:
                if called != function:
                    continue
                arg = next((k.value for k in node.keywords if k.arg == param), None)
                if arg is None and 0 <= position < len(node.args):
                    arg = node.args[position]
                if arg is None:
                    continue
                rendered = _render(arg, self.names)
                if rendered is None or not _has_words(arg):
                    continue  # data (an exception's text, a name): a placeholder of the message
                site = Site(
                    path=self.path,
                    function=function,
                    line=node.lineno,
                    error=f"part {param!r} of the message of {function}()",
                    source=ast.unparse(arg),
                    messages=rendered,
                )
                found.append(site)
        return found

    @staticmethod
    def _is_super_init(node: ast.Call) -> bool:
        func = node.func
        return (
            isinstance(func, ast.Attribute)
            and func.attr == "__init__"
            and isinstance(func.value, ast.Call)
            and isinstance(func.value.func, ast.Name)
            and func.value.func.id == "super"
        )


def _literals(node: ast.expr) -> list[str]:
    return [
        n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    ]


def _has_words(node: ast.expr) -> bool:
    """Whether a part passed into a message is words (``'it has no pages'``), not data: a name
    (``'signed_from'``, ``'ARCHIVE_USER'``, ``f"{where}: roles"``) or an exception's text."""
    return any(re.search(r"[A-Za-z]{2,}\s+[A-Za-z]{2,}", text) for text in _literals(node))


# --- rendering a message ----------------------------------------------------------------------
Choice = list[list[str]]
"""The values a part can take: each alternative must be known (the branches of a conditional),
as its sample forms of which one must be (a placeholder: a word or a number)."""


def _constant(node: ast.expr, names: dict[str, Any]) -> list[str] | None:
    """The string(s) a part is for certain: a literal, a module constant, a conditional of those."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.Name) and isinstance(names.get(node.id), str):
        return [names[node.id]]
    if isinstance(node, ast.IfExp):
        body, orelse = _constant(node.body, names), _constant(node.orelse, names)
        if body is not None and orelse is not None:
            return body + orelse
    return None


def _placeholder(value: ast.FormattedValue, names: dict[str, Any]) -> Choice:
    known = _constant(value.value, names)
    if known is not None:
        return [[s] for s in known]
    spec = ast.unparse(value.format_spec)[2:-1] if value.format_spec else ""
    forms = []
    for sample in (SAMPLES[0], int(SAMPLES[1]), DATE_SAMPLE):
        if sample is DATE_SAMPLE and forms:
            break
        shown: Any = repr(sample) if value.conversion == ord("r") else sample
        try:
            forms.append(format(shown, spec))
        except (ValueError, TypeError):
            continue
    return [forms]


def _join(parts: list[Choice]) -> Choice:
    out: Choice = []
    for alternative in itertools.product(*parts):
        out.append(["".join(forms) for forms in itertools.product(*alternative)])
    return out


def _render(node: ast.expr, names: dict[str, Any]) -> Choice | None:
    """The messages ``node`` can be, or None when the source does not say."""
    known = _constant(node, names)
    if known is not None:
        return [[s] for s in known]
    if isinstance(node, ast.JoinedStr):
        parts: list[Choice] = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append([[str(value.value)]])
            else:
                assert isinstance(value, ast.FormattedValue)
                parts.append(_placeholder(value, names))
        return _join(parts)
    if isinstance(node, ast.IfExp):
        body, orelse = _render(node.body, names), _render(node.orelse, names)
        return body + orelse if body is not None and orelse is not None else None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _render(node.left, names), _render(node.right, names)
        return _join([left, right]) if left is not None and right is not None else None
    return None


def find_sites() -> list[Site]:
    sites: list[Site] = []
    for path, name in _modules():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        module = importlib.import_module(name)
        visitor = _Visitor(str(path.relative_to(ROOT)), _namespace(module, tree))
        visitor.visit(tree)
        sites.extend(visitor.sites)
        sites.extend(visitor.relayed(tree))
    return sites


# --- what the test does not check, each with its reason ------------------------------------------
NOT_ON_A_PAGE = {
    "contract_archive/": (
        "the command line: its messages go to a terminal; search_api may not import it (the "
        "import-linter independence contract), so none of them can reach a page"
    ),
}
"""Families of messages that never reach a page, by path prefix."""

UNRENDERED = {
    "core/settings.py:load_settings: 'invalid setting ' + '; '.join(problems)": (
        "the settings are read at start-up: with a wrong one the server does not start, so there "
        "is no page to show it on (the problems are pydantic's words)"
    ),
    "services/migrate.py:load_target_settings: f'invalid setting in {path}: ' + '; '.join(problems)": (
        "the settings file of a migration target: only `contract-archive scale migrate` reads it"
    ),
    "services/watch.py:check_folder: problem + where": (
        "the watched folder's problem (services.watch.folder_problem) and its setting: raised when "
        "the watcher starts, into the server's log and the command line"
    ),
    "storage/index/engine.py:EngineIndex._check_product: f\"it says it is {found} {version.get('number', '')}\".rstrip()": (
        "a detail (the product and version the search server reports) that ends up as the data "
        "part of 'ARCHIVE_INDEX_BACKEND=... but the server ... is not ...: {detail}', which is checked"
    ),
    "ingest/ocr/searchable.py:build_searchable: failure_reason(exc)": (
        "a third-party library's exception, summarised by ingest.pdf.failure_reason: data"
    ),
    "services/access/core.py:_groups: str(exc)": (
        "the text of a ValueError of core.roles.normalize_group (not an ArchiveError)"
    ),
    "services/access/core.py:_roles: str(exc)": (
        "the text of a ValueError of core.roles.parse_roles (not an ArchiveError)"
    ),
    "search_api/routes/contracts.py:upload_contract: result.reason or 'rejected'": (
        "the JSON API re-raising an ingest result's reason: the RejectFile message it comes from is "
        "checked at its own site"
    ),
    "search_api/routes/contracts.py:_folder_place: reason": (
        "BATCH_IN_FOLDER's reason (a module constant tuple), for the JSON API; its text is checked "
        "in test_by_hand"
    ),
    "search_api/routes/contracts.py:_folder_place: place.reason": (
        "the reason of services.watch's folder rule (a plain string, not an error), for the JSON API"
    ),
}
"""Sites whose message the source cannot render, with why they are not checked here."""

BY_HAND = {
    "storage/index/query.py:_error: f'invalid query{where}: {message}'": (
        "`where` is a local: ' at character N' or nothing",
        ["invalid query at character 3: a quotation mark is not closed", "invalid query: x1"],
    ),
    "core/workflows.py:valid_comment: f'a {what} is required'": (
        "`what` is the callers' what=: comment (the default), purpose or note",
        ["a comment is required", "a purpose is required", "a note is required"],
    ),
    "core/workflows.py:valid_comment: f'the {what} is longer than 2000 characters'": (
        "`what` is the callers' what=: comment (the default), purpose or note",
        [f"the {w} is longer than 2000 characters" for w in ("comment", "purpose", "note")],
    ),
    "storage/index/engine.py:_from_status: f'{what}: HTTP {status} {reason}'": (
        "`what` is one of the steps _call() names (checked as its parts)",
        ["searching: HTTP 500 Internal Server Error", "creating index idx-2: HTTP 400 x"],
    ),
    "ingest/ocr/check.py:check_tesseract: 'tesseract language pack' + ('s ' if len(missing) > 1 else ' ') + ', '.join(missing) + f\" missing ({where.rstrip(':')})\"": (
        "built by concatenation",
        [
            "tesseract language pack chi_sim missing (/usr/share/tessdata)",
            "tesseract language packs chi_sim, eng missing (/usr/share/tessdata)",
        ],
    ),
    "ingest/ocr/rapid.py:RapidOcrEngine.recognize: f'RapidOCR failed: {type(exc).__name__}: {exc}'[:300]": (
        "cut to 300 characters",
        ["RapidOCR failed: RuntimeError: x1"],
    ),
    "storage/records/borrowing_sql.py:SqlBorrowing.add_borrow_request: f'{borrower} has a {what} for contract {contract_id} already'": (
        "`what` is a local: 'pending request' or 'live grant'",
        [
            "li.lei has a pending request for contract 7 already",
            "li.lei has a live grant for contract 7 already",
        ],
    ),
    **{
        f"signing/notes.py:load_or_create_signer: {source}": (
            "`what` is the key's name: 'the access log key' (the default) or 'the ledger key'",
            [
                message.format(what=what, path="/var/archive/keys/ledger.key")
                for what in ("the access log key", "the ledger key")
            ],
        )
        for source, message in (
            (
                "f'{what} {path} is readable by others (mode {mode:o})'",
                "{what} {path} is readable by others (mode 644)",
            ),
            (
                "f'cannot read or create {what} {path}: {exc.strerror or exc}'",
                "cannot read or create {what} {path}: Permission denied",
            ),
            ("f'{what} {path} is damaged: {exc}'", "{what} {path} is damaged: x1"),
            ("f'{what} {path} is not an Ed25519 key'", "{what} {path} is not an Ed25519 key"),
        )
    },
}
"""Sites the source renders wrongly or not at all, with the messages they make, written out."""


@functools.cache
def sites() -> list[Site]:
    return find_sites()


def _excluded(site: Site) -> bool:
    return site.path.startswith(tuple(NOT_ON_A_PAGE))


def _known(forms: list[str]) -> bool:
    return any(localize("zh", form) is not None for form in forms)


def test_every_message_has_a_chinese_form(capsys: pytest.CaptureFixture[str]) -> None:
    found = sites()
    checked = [s for s in found if not _excluded(s) and not s.data_only and s.key not in BY_HAND]
    unrendered = [s for s in checked if not s.messages]
    missing = [
        f"{s.path}:{s.line} {s.error}: {forms[0]!r}"
        for s in checked
        for forms in s.messages
        if not _known(forms)
    ]
    missing += [
        f"{key}: {message!r}"
        for key, (_, messages) in BY_HAND.items()
        for message in messages
        if localize("zh", message) is None
    ]
    not_listed = [f"{s.key} (line {s.line})" for s in unrendered if s.key not in UNRENDERED]
    with capsys.disabled():
        print(
            f"\n{len(found)} message sites ({sum(not s.error.startswith('part ') for s in found)} "
            f"error constructions, {sum(s.error.startswith('part ') for s in found)} parts passed "
            f"into one); checked {len(checked) - len(unrendered)} ("
            f"{sum(len(s.messages) for s in checked)} messages) and {len(BY_HAND)} by hand; "
            f"{len(unrendered)} the source cannot render (UNRENDERED), "
            f"{sum(s.data_only for s in found)} data only, "
            f"{sum(_excluded(s) for s in found)} not on a page; {len(missing)} without Chinese"
        )
    assert not not_listed, (
        "messages the test cannot render; write them in BY_HAND or say in "
        "UNRENDERED why they need no Chinese form:\n" + "\n".join(not_listed)
    )
    assert not missing, "no Chinese form in search_api/web/i18n.py MESSAGES_ZH:\n" + "\n".join(
        missing
    )


def test_the_lists_name_sites_that_exist() -> None:
    """An entry of UNRENDERED or BY_HAND whose site has gone (or can now be rendered) fails."""
    by_key = {s.key: s for s in sites()}
    gone = [key for key in [*UNRENDERED, *BY_HAND] if key not in by_key]
    assert not gone, "no such site any more; remove it from the list:\n" + "\n".join(gone)
    renders = [key for key in UNRENDERED if by_key[key].messages]
    assert not renders, "the source renders these now; drop them from UNRENDERED:\n" + "\n".join(
        renders
    )
    assert all(any(s.path.startswith(p) for s in by_key.values()) for p in NOT_ON_A_PAGE)


def test_the_walk_finds_what_it_should() -> None:
    """The finder itself: it sees raises, errors returned by helpers, classes that write their
    own message, and the parts callers pass into a message."""
    messages = {forms[0] for s in sites() for forms in s.messages}
    assert len(sites()) > 600
    assert "contract x1 does not exist" in messages  # raise NotFound(f"...")
    assert "damaged image: the file is x1 that cannot be decoded (x1)" in messages  # a helper
    assert "already archived as contract x1" in messages  # Duplicate writes its own
    assert "a quotation mark is not closed" in messages  # passed to query._error()
    assert "unsupported format: the file is x1; the archive takes " + ACCEPTED in messages
