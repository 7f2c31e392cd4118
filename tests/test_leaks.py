"""The leak test, by construction: a contract of a restricted class is invisible to a caller who
is not cleared for it, on every API route, every web page and every command of the CLI.

One archive is seeded for the module (through the real API, as an admin in the restricted
class's group) with:

* a **restricted** contract (class ``MJ``, restricted to the group ``vault``) with a distinctive
  title, a customer known only through it (Chinese and ASCII name, an alias), a confirmed amount,
  an expiry within 90 days, payments (two overdue, one not), a hold, extraction suggestions and
  the reminders the reminder job makes;
* visible contracts around it: the restricted one is an amendment of a visible master, and a
  visible contract is an amendment of the restricted one (both directions of the link), with a
  visible customer, a visible overdue payment and a visible expiry.

Then two callers who are not in ``vault`` walk everything the product offers:

* ``outsider`` (legal + archivist + auditor) and ``boss`` (an admin: admins are subject to
  restrictions too, ``AccessControl.hidden_classes`` makes no exception);
* every API route of :func:`search_api.app.route_table` (path parameters filled with the
  restricted and visible contract/customer ids and plausible values for the rest, GET query
  parameters filled with the restricted title's words, customer, ids; POST/PATCH/PUT/DELETE
  with minimal bodies that reference the restricted ids);
* every web page (the routes outside the schema), signed in through the log-in form;
* every command of the Typer tree (:data:`contract_archive.cli.app`), arguments filled the same
  way (``--json`` where offered).

What must hold, for every response, header and output:

* the restricted title, customer name, alias, hold reason and its distinctive amounts (alone or
  summed with the visible ones) appear nowhere;
* the restricted contract's id and customer's id appear in no id-ish place (``"id": N`` of a
  contract- or customer-shaped object, ``"contract_id"``, ``"master_id"``, ``/contracts/N``,
  ``#N``) more often than a missing id does in the answer to the same request naming a missing
  id instead (an error message may echo what the caller asked for);
* a request naming the restricted contract or customer answers exactly as the same request
  naming a missing one (status, error message; exit status and output on the CLI): no oracle;
* counts and totals are those of the visible data: list totals, the customers' total, the
  dashboard's figures, facets.

All violations are collected and reported at once. A new route or command is walked without
anyone adding it here: the only hand-kept list is :data:`SKIPPED` (what is not run, and why; a
test fails when an entry names nothing that exists). A request the walk's filling makes invalid
(422, a usage error) is reported too, so a new parameter the filling does not know is seen.

A control walks the reads again as ``keeper``, who has ``outsider``'s roles and IS in the group:
the same checks must find the secrets there on every surface, or the walk is blind.

The CLI is walked in-process (click's ``CliRunner`` on the real Typer app built once, each command
on the seeded data directory as it was made, so a change one command makes cannot hide or cause
a finding of another: one copy, put back after each command by :class:`WorkCopy`); a handful
of commands also run as the installed ``contract-archive`` program, as a user runs them.
"""

from __future__ import annotations

import html
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from search_api.app import ROUTERS, create_app, route_table
from services.access.service import AccessControl
from services.archive import Archive
from tests.access_helpers import auth_headers, ensure_user
from tests.cli_runner import cli_root, invoke
from tests.conftest import CORPUS, make_settings

PROGRAM = str(Path(sys.executable).parent / "contract-archive")

# --- the secrets: strings that exist only in the restricted contract --------------------------
CODE = "MJ"
GROUP = "vault"
SECRET_TITLE = "绝密并购协议 Quillforge Merger Plan"
SECRET_CUSTOMER = "玄武隐秘科技有限公司 Zanthrop Holdings"
SECRET_ALIAS = "Zanthropia Alias"
SECRET_HOLD = "Quillforge litigation hold"
SECRET_WORDS = ("绝密并购协议", "Quillforge", "玄武隐秘科技", "Zanthrop")
SECRET_AMOUNT = Decimal("913577.31")
SECRET_PAYMENTS = (  # (days from today, amount); the first two are overdue
    (-12, Decimal("7317.19")),
    (-25, Decimal("2468.13")),
    (30, Decimal("555.57")),
)
SECRET_EXPIRY_DAYS = 45

VISIBLE_CUSTOMER = "开阔贸易 Openfield Trading"
VISIBLE_SPARE_CUSTOMERS = ("Spare Customer One", "Spare Customer Two")
VISIBLE_OVERDUE = Decimal("1000.00")
VISIBLE_EXPIRY_DAYS = 30

MASTER_PDF = CORPUS / "zh" / "samr-model-contracts" / "新疆维吾尔自治区汽车买卖合同.pdf"
SECRET_PDF = CORPUS / "zh" / "samr-model-contracts" / "青岛市木门买卖合同示范文本.pdf"
AMENDMENT_PDF = CORPUS / "zh" / "samr-model-contracts" / "南京市存量房买卖合同.pdf"

MISSING_CONTRACT = 9_871
MISSING_CUSTOMER = 9_873
MISSING_NAME = "无此客户 Nobody Such Ltd"
PASSWORD = "a long leak-test passphrase 42"

CALLERS: dict[str, tuple[str, ...]] = {
    "outsider": ("legal", "archivist", "auditor"),
    "boss": ("admin",),
}
CLEARED = "keeper"
"""The control: the same roles as ``outsider`` but in the group; the walk must see the secrets
through their eyes (else it proves nothing)."""
WALKERS = frozenset({*CALLERS, CLEARED})

# The only hand-kept list: what is not run, and why. Keys: a route "METHOD /path" or a command
# "group sub". A skip applies to every caller unless the value names the callers it is for.
SKIPPED: dict[str, tuple[str, tuple[str, ...]]] = {
    # routes
    "PUT /api/v1/restrictions/{classification}": (
        "changes who is cleared: an admin may do it by design (not a leak)",
        ("boss",),
    ),
    "DELETE /api/v1/restrictions/{classification}": (
        "lifts the restriction: an admin may do it by design (not a leak)",
        ("boss",),
    ),
    "PATCH /api/v1/users/{username}": (
        "changes roles and groups (could clear the caller): administration by design",
        ("boss",),
    ),
    "POST /api/v1/users/{username}/password": (
        "resets a password, which would end the walking caller's log-in",
        ("boss",),
    ),
    "DELETE /api/v1/classification/codes/{code}": (
        "retires a code of the scheme: destructive administration",
        ("boss",),
    ),
    "POST /logout": ("ends the walking session; it takes no reference to anything", ()),
    "POST /account/password": ("changes the walking caller's password", ()),
    "POST /api/v1/auth/password": ("changes the walking caller's password", ()),
    "POST /api/v1/auth/logout": ("ends the walking session", ()),
    # commands
    "serve": ("long-running server", ()),
    "worker": ("long-running OCR worker", ()),
    "migrate": ("destructive administration: changes the database schema", ()),
    "recover": ("destructive administration: rebuilds the archive's records", ()),
    "reindex": ("administration: rebuilds the whole search index (slow, reveals nothing)", ()),
    "audit prune": ("destructive administration: deletes access-log entries", ()),
    "restrictions set": ("changes who is cleared: administration by design", ()),
    "restrictions remove": ("lifts the restriction: administration by design", ()),
    "users update": ("changes roles and groups (could clear the caller)", ()),
    "users disable": ("disables a user: administration, reveals no contract", ()),
    "users password": ("resets a password: administration, reveals no contract", ()),
    "classification retire": ("retires a code of the scheme: destructive administration", ()),
}


def skipped(key: str, caller: str) -> bool:
    entry = SKIPPED.get(key)
    return entry is not None and (not entry[1] or caller in entry[1])


# --- the seeded world -----------------------------------------------------------------------------
@dataclass
class World:
    base: Path
    """The seeded data directory (closed); copy it with :meth:`fresh`."""
    tmp: pytest.TempPathFactory
    ids: dict[str, int] = field(default_factory=dict)
    """master, secret, amendment (contracts); customer, secret_customer (customers);
    suggestion, payment, hold (of the secret contract)."""
    expected: dict[str, Any] = field(default_factory=dict)
    """What the visible data alone gives: contracts, customers (totals), the dashboard."""
    extract: Path | None = None
    """A signed access-log extract (of the visible master's entries), for `verify-extract`."""

    def fresh(self, name: str) -> Path:
        target = self.tmp.mktemp(name) / "var"
        shutil.copytree(self.base, target, copy_function=_copy_or_link)
        return target


_PACKAGES = f"{os.sep}objects{os.sep}packages{os.sep}"


class WorkCopy:
    """A copy of the seeded data directory for one command after another, each starting from
    exactly the seeded files: after a command, :meth:`restore` removes what it added, copies (or
    links) again from the seed what it changed, replaced or removed, and leaves the rest. A new
    copy and its removal for each of the CLI walk's 430 runs were 36 of its 87 s of wall time
    (waiting on the file system; 2026-12-07, load average 2-5); a command's changes are a few
    files (the database, an index segment, a new package's objects). A file is taken as changed when its inode, size or modification time
    (ns) differs from the copy's: a command that writes a file changes its time, one that
    replaces it its inode (the seed's objects, shared by a hard link, are never written where
    they are: :func:`_copy_or_link`)."""

    def __init__(self, seed: Path, path: Path) -> None:
        self.seed, self.path = seed, path
        shutil.copytree(seed, path, copy_function=_copy_or_link)
        self.made = self._state()

    def _state(self) -> dict[str, tuple[int, int, int] | None]:
        """Relative path -> (inode, size, mtime_ns) of a file, None of a directory."""
        found: dict[str, tuple[int, int, int] | None] = {}
        for root, dirs, files in os.walk(self.path):
            rel = os.path.relpath(root, self.path)
            for name in dirs:
                found[os.path.normpath(os.path.join(rel, name))] = None
            for name in files:
                key = os.path.normpath(os.path.join(rel, name))
                st = os.lstat(os.path.join(root, name))
                found[key] = (st.st_ino, st.st_size, st.st_mtime_ns)
        return found

    def restore(self) -> None:
        now = self._state()
        for rel, entry in sorted(now.items(), key=lambda item: -len(item[0])):
            if rel not in self.made or (self.made[rel] is None) != (entry is None):
                target = self.path / rel
                if entry is None:
                    shutil.rmtree(target, ignore_errors=True)
                else:
                    target.unlink(missing_ok=True)
        for rel, made in sorted(self.made.items()):
            target = self.path / rel
            if made is None:
                target.mkdir(parents=True, exist_ok=True)
            elif now.get(rel) != made:
                target.unlink(missing_ok=True)
                _copy_or_link(str(self.seed / rel), str(target))
                st = os.lstat(target)
                self.made[rel] = (st.st_ino, st.st_size, st.st_mtime_ns)


def _copy_or_link(src: str, dst: str) -> None:
    """A copy of one file of the seeded data directory. The packages' objects (originals,
    manifests, texts: half the files) are written once, as a temporary file renamed into place,
    and never changed where they are (storage/objects/local.py): a copy shares them by a hard
    link, so a command that replaces or deletes one changes only its own copy. The database,
    the index and the keys are copied."""
    if _PACKAGES in src:
        os.link(src, dst)
    else:
        shutil.copy2(src, dst)


def _upload(client: TestClient, path: Path, pages: dict[str, int], **fields: str) -> int:
    with open(path, "rb") as fh:
        r = client.post(
            "/api/v1/contracts", files={"file": (path.name, fh, "application/pdf")}, data=fields
        )
    assert r.status_code in (201, 202), r.text
    if fields.get("classification") != CODE:  # what the visible contracts add to the dashboard
        pages["Pages"] += r.json()["pages"]
        pages["Awaiting OCR"] += len(r.json()["pages_needing_ocr"] or [])
    return int(r.json()["id"])


def _ok(r: Any) -> Any:
    assert r.status_code < 300, f"{r.request.method} {r.request.url}: {r.status_code} {r.text}"
    return r.json()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    base = tmp_path_factory.mktemp("leaks") / "var"
    w = World(base=base, tmp=tmp_path_factory)
    today = date.today()
    settings = make_settings(base, fonds_code="Z001")
    with Archive(settings, parser_workers=1).open() as archive:
        root = ensure_user(archive, "root", ("admin",), groups=(GROUP,))
        access = AccessControl.for_archive(archive)
        for name, roles in {**CALLERS, CLEARED: CALLERS["outsider"]}.items():
            groups = [GROUP] if name == CLEARED else []
            _, one_time = access.create_user(root, name, roles=list(roles), groups=groups)
            assert one_time
            caller = ensure_user(archive, name, roles)
            access.change_password(caller, one_time, PASSWORD)
        with TestClient(
            create_app(archive),
            headers=auth_headers(archive, username="root", groups=(GROUP,)),
            raise_server_exceptions=False,
        ) as c:
            _ok(
                c.put(
                    f"/api/v1/classification/codes/{CODE}",
                    json={"name_zh": "机密", "name_en": "confidential", "retention": "D30"},
                )
            )
            visible_customer = _ok(c.post("/api/v1/customers", json={"name": VISIBLE_CUSTOMER}))
            for spare in VISIBLE_SPARE_CUSTOMERS:
                _ok(c.post("/api/v1/customers", json={"name": spare}))
            pages = {"Pages": 0, "Awaiting OCR": 0}
            master = _upload(
                c, MASTER_PDF, pages, title="Visible master supply", customer=VISIBLE_CUSTOMER
            )
            secret = _upload(
                c,
                SECRET_PDF,
                pages,
                title=SECRET_TITLE,
                customer=SECRET_CUSTOMER,
                classification=CODE,
            )
            amendment = _upload(
                c, AMENDMENT_PDF, pages, title="Visible amendment", customer=VISIBLE_CUSTOMER
            )
            _ok(c.put(f"/api/v1/restrictions/{CODE}", json={"groups": [GROUP]}))
            _ok(
                c.patch(
                    f"/api/v1/contracts/{master}/terms",
                    json={
                        "effective_date": (today - timedelta(days=300)).isoformat(),
                        "expiry_date": (today + timedelta(days=VISIBLE_EXPIRY_DAYS)).isoformat(),
                        "amount": "120000.00",
                    },
                )
            )
            _ok(c.post(f"/api/v1/contracts/{master}/transitions", json={"to": "active"}))
            _ok(
                c.post(
                    f"/api/v1/contracts/{master}/payments",
                    json={
                        "due_date": (today - timedelta(days=8)).isoformat(),
                        "amount": str(VISIBLE_OVERDUE),
                    },
                )
            )
            _ok(
                c.patch(
                    f"/api/v1/contracts/{secret}/terms",
                    json={
                        "effective_date": (today - timedelta(days=200)).isoformat(),
                        "expiry_date": (today + timedelta(days=SECRET_EXPIRY_DAYS)).isoformat(),
                        "amount": str(SECRET_AMOUNT),
                        "master_id": master,
                        "relation": "amendment",
                        "reason": "seeded by the leak test",
                    },
                )
            )
            _ok(c.post(f"/api/v1/contracts/{secret}/transitions", json={"to": "active"}))
            payments = []
            for days, amount in SECRET_PAYMENTS:
                payments.append(
                    _ok(
                        c.post(
                            f"/api/v1/contracts/{secret}/payments",
                            json={
                                "due_date": (today + timedelta(days=days)).isoformat(),
                                "amount": str(amount),
                                "description": "Quillforge instalment",
                            },
                        )
                    )
                )
            hold = _ok(c.post(f"/api/v1/contracts/{secret}/holds", json={"reason": SECRET_HOLD}))
            _ok(
                c.patch(
                    f"/api/v1/contracts/{amendment}/terms",
                    json={"master_id": secret, "relation": "supplement"},
                )
            )
            terms = _ok(c.get(f"/api/v1/contracts/{secret}/terms"))
            secret_customer = terms["contract"].get("customer_id") or terms["confirmed"].get(
                "customer_id"
            )
            if secret_customer is None:
                secret_customer = _ok(c.get(f"/api/v1/customers/{quote(SECRET_CUSTOMER)}"))[
                    "customer"
                ]["id"]
            _ok(
                c.post(f"/api/v1/customers/{secret_customer}/aliases", json={"alias": SECRET_ALIAS})
            )
            suggestions = [s for ss in terms["suggested"].values() for s in ss]
            assert suggestions, "the restricted contract has no suggestion to walk with"
            run = _ok(c.post("/api/v1/reminders/run"))
            assert any(r["contract_id"] == secret for r in run["reminders"]), run
            w.ids = {
                "master": master,
                "secret": secret,
                "amendment": amendment,
                "customer": visible_customer["id"],
                "secret_customer": int(secret_customer),
                "suggestion": suggestions[0]["id"],
                "payment": payments[0]["id"],
                "hold": hold["id"],
            }
            w.expected = {
                "contracts": _ok(c.get("/api/v1/contracts"))["total"] - 1,
                "customers": _ok(c.get("/api/v1/customers"))["total"] - 1,
                # the home page's figures, from the visible contracts alone
                "dashboard": {
                    "Contracts": 2,
                    **pages,
                    "Expiring within 90 days": 1,
                    "Overdue payments": 1,
                },
            }
            # the secret is really there for a cleared admin (else the test proves nothing)
            assert SECRET_TITLE in c.get(f"/api/v1/contracts/{amendment}/terms").text
            assert SECRET_CUSTOMER in c.get("/api/v1/customers").text
    w.extract = base.parent / "extract.json"
    code, out = run_cli(
        w.fresh("extract"),
        "root",
        ["audit", "extract", "--output", str(w.extract), "--contract", str(w.ids["master"])],
    )
    assert code == 0 and w.extract.exists(), out
    return w


# --- what counts as a leak ------------------------------------------------------------------------
def _amounts() -> set[str]:
    secret = [a for _, a in SECRET_PAYMENTS]
    overdue = secret[:2]
    figures = {SECRET_AMOUNT, *secret, sum(overdue), sum(secret)}
    figures |= {f + VISIBLE_OVERDUE for f in list(figures)}
    return {f"{f:.2f}" for f in figures}


SECRET_AMOUNTS = _amounts()
AMOUNTS_PATTERN = re.compile(
    r"(?<![0-9.])(" + "|".join(re.escape(a) for a in sorted(SECRET_AMOUNTS)) + r")(?![0-9])"
)
"""Any of the amounts, not inside a longer number: one pass over an answer instead of one per
amount (a match is a whole run of digits and dots, so no two can overlap)."""


def _variants(word: str) -> set[str]:
    """A word as an answer may carry it: escaped for HTML, a URL or JSON."""
    return {
        word,
        html.escape(word),
        html.escape(word).replace("&quot;", "&#34;"),
        quote(word),
        quote(word, safe=""),
        quote_plus(word),
        json.dumps(word, ensure_ascii=False)[1:-1],
        json.dumps(word)[1:-1],
    }


SECRET_PATTERNS = sorted({v for w in SECRET_WORDS for v in _variants(w)}, key=len, reverse=True)


def id_patterns(kind: str, value: int) -> list[re.Pattern[str]]:
    n = rf"{value}(?![0-9])"
    if kind == "contract":
        return [
            re.compile(rf"/contracts/{n}"),
            re.compile(rf"(?<![&0-9A-Za-z])#{n}(?![0-9A-Fa-f;])"),
            re.compile(rf"\b(?:contract|合同)[ _:=#]*{n}", re.IGNORECASE),
            re.compile(rf"[\"'](?:contract_id|master_id)[\"']\s*:\s*{n}"),
        ]
    return [
        re.compile(rf"/customers/{n}"),
        re.compile(rf"[\"'](?:customer_id|source_id)[\"']\s*:\s*{n}"),
    ]


CONTRACT_KEYS = {"title", "sha256", "filename", "archival_code", "page_count"}
CUSTOMER_KEYS = {"aliases", "registration_no", "registration_kind"}
SCHEME_KEYS = {"name_zh", "name_en", "retention", "keywords"}


def _walk_json(value: Any, found: list[tuple[str, Any, str]], path: str = "$") -> None:
    """Id-ish places of a JSON document: (kind, id) for contract- and customer-shaped objects
    and id-named keys; ("facet", value) for a count of the restricted class."""
    if isinstance(value, dict):
        if (
            "actor" in value
            and "action" in value
            and (value.get("outcome") in ("not_found", "denied") or value["actor"] in WALKERS)
        ):
            return  # a log entry of a refused attempt or of the walk's own acts reveals nothing
        keys = set(value)
        if "id" in value and isinstance(value["id"], int):
            if keys & CONTRACT_KEYS:
                found.append(("contract", value["id"], f"{path}.id"))
            elif "name" in keys and keys & CUSTOMER_KEYS:
                found.append(("customer", value["id"], f"{path}.id"))
        for key, item in value.items():
            if key in ("contract_id", "master_id") and isinstance(item, int):
                found.append(("contract", item, f"{path}.{key}"))
            elif key in ("contract_ids", "ids", "related_ids") and isinstance(item, list):
                found.extend(("contract", i, f"{path}.{key}") for i in item if isinstance(i, int))
            elif key in ("customer_id", "source_id") and isinstance(item, int):
                found.append(("customer", item, f"{path}.{key}"))
            elif key == CODE and isinstance(item, int) and item:
                found.append(("facet", f"{path}.{key} = {item}", path))
            _walk_json(item, found, f"{path}.{key}")
        if CODE in value.values() and value.get("count") and not keys & SCHEME_KEYS:
            found.append(("facet", f"{path} = {value}", path))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _walk_json(item, found, f"{path}[{i}]")


def _json_docs(text: str) -> list[Any]:
    try:
        return [json.loads(text)]
    except ValueError:
        pass
    docs = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith(("{", "[")):
            try:
                docs.append(json.loads(line))
            except ValueError:
                continue
    return docs


def id_hits(text: str, kind: str, value: int) -> tuple[int, str]:
    """How often ``value`` appears as an id of ``kind`` (contract, customer) in ``text``, and
    where it first does."""
    count, first = 0, ""
    for pattern in id_patterns(kind, value):
        for match in pattern.finditer(text):
            count += 1
            first = first or f"…{text[max(0, match.start() - 50) : match.end() + 30]!r}…"
    for doc in _json_docs(text):
        found: list[tuple[str, Any, str]] = []
        _walk_json(doc, found)
        places = [path for k, v, path in found if k == kind and v == value]
        count += len(places)
        first = first or (places[0] if places else "")
    return count, first


def _unfold(text: str) -> str:
    """Undo iCalendar line folding and the thousands separators of formatted amounts."""
    text = re.sub(r"\r?\n[ \t]", "", text)
    return re.sub(r"(?<=\d),(?=\d{3})", "", text)


@dataclass
class Findings:
    items: list[str] = field(default_factory=list)
    walked: dict[str, int] = field(default_factory=dict)

    def add(self, where: str, what: str) -> None:
        self.items.append(f"{where}: {what}")

    def count(self, surface: str) -> None:
        self.walked[surface] = self.walked.get(surface, 0) + 1

    def report(self) -> str:
        walked = ", ".join(f"{n} {s}" for s, n in sorted(self.walked.items()))
        lines = sorted(set(self.items))
        return f"{len(lines)} leaks ({walked}):\n  " + "\n  ".join(lines)


def scan(
    findings: Findings,
    where: str,
    text: str,
    w: World,
    twin: str | None = None,
    twin_ids: dict[str, int] | None = None,
    asked: tuple[str, ...] = (),
) -> None:
    """Check one answer (body, headers or output). With ``twin`` (the answer to the same request
    naming missing ids), ids echoed from the request are allowed as often as the twin echoes the
    missing ones. ``asked``: words the request itself carried (a query), whose echo is no leak."""
    plain = _unfold(text)
    for word in sorted({v for a in asked if a for v in _variants(a)}, key=len, reverse=True):
        plain = plain.replace(word, "<asked>")
    for secret in SECRET_PATTERNS:
        if secret in plain:
            i = plain.index(secret)
            findings.add(where, f"shows {secret!r}: …{plain[max(0, i - 60) : i + 60]!r}…")
            break
    for amount in sorted(set(AMOUNTS_PATTERN.findall(plain))):
        findings.add(where, f"shows the restricted amount {amount}")
    for kind, key, missing in (
        ("contract", "secret", MISSING_CONTRACT),
        ("customer", "secret_customer", MISSING_CUSTOMER),
    ):
        hits, first = id_hits(plain, kind, w.ids[key])
        allowed = 0
        if twin is not None and twin_ids and twin_ids.get(key) == missing:
            allowed = id_hits(_unfold(twin), kind, missing)[0]
        if hits > allowed:
            findings.add(
                where, f"shows the restricted {kind} id {w.ids[key]} ({hits}x, e.g. {first})"
            )
    for doc in _json_docs(text):
        found: list[tuple[str, Any, str]] = []
        _walk_json(doc, found)
        for kind, value, _ in found:
            if kind == "facet":
                findings.add(where, f"counts the restricted class: {value}")
        _check_totals(findings, where, doc)


def _check_totals(findings: Findings, where: str, doc: Any) -> None:
    """A list whose page holds fewer items than any limit must total what it holds."""
    if isinstance(doc, dict):
        items = doc.get("items", doc.get("hits"))
        total = doc.get("total")
        if (
            isinstance(items, list)
            and isinstance(total, int)
            and not doc.get("offset")
            and len(items) < 10
            and total != len(items)
        ):
            findings.add(where, f"total {total} but {len(items)} items: hidden ones are counted")
        for item in doc.values():
            _check_totals(findings, where, item)
    elif isinstance(doc, list):
        for item in doc:
            _check_totals(findings, where, item)


def as_if_restricted(twin_text: str, mine: dict[str, Any], theirs: dict[str, Any]) -> str:
    """The twin's answer (about missing data) with the missing references put back to the
    restricted ones: what the restricted request must answer, word for word, to reveal nothing."""
    for name, value in theirs.items():
        original = mine.get(name)
        if original == value or value is None or isinstance(value, bool):
            continue
        if isinstance(value, int):
            twin_text = re.sub(rf"(?<![0-9]){value}(?![0-9])", str(original), twin_text)
        elif isinstance(value, str):
            for encode in (
                lambda t: quote(t, safe=""),
                quote,
                quote_plus,
                lambda t: html.escape(t).replace("&quot;", "&#34;"),
                html.escape,
            ):
                if encode(value) != value:
                    twin_text = twin_text.replace(encode(value), encode(str(original)))
            twin_text = twin_text.replace(value, str(original))
    return twin_text


def _stable(text: str) -> str:
    text = re.sub(r"\b[0-9a-f]{32,}\b", "<hex>", text)
    return re.sub(r"\d{4}-\d\d-\d\dT[0-9:.+Z-]+", "<time>", text)


def error_message(body: str) -> str:
    try:
        doc = json.loads(body)
    except ValueError:
        found = re.search(r"<h1[^>]*>(.*?)</h1>.*?<p[^>]*>(.*?)</p>", body, re.S)
        return " ".join(found.groups()) if found else ""
    if isinstance(doc, dict) and isinstance(doc.get("error"), dict):
        return str(doc["error"].get("message"))
    return ""


# --- filling parameters -----------------------------------------------------------------------
# Values per parameter name: "kinds" of value, resolved per world: secret / visible / missing.
def contract_values(w: World) -> dict[str, int]:
    return {
        "visible": w.ids["master"],
        "amendment": w.ids["amendment"],
        "secret": w.ids["secret"],
        "missing": MISSING_CONTRACT,
    }


def customer_values(w: World) -> dict[str, int]:
    return {
        "visible": w.ids["customer"],
        "secret": w.ids["secret_customer"],
        "missing": MISSING_CUSTOMER,
    }


@dataclass(frozen=True)
class Choice:
    """One filled request: the parameters' values, and which named the restricted data."""

    values: tuple[tuple[str, Any], ...]
    secret: frozenset[str]

    def as_dict(self) -> dict[str, Any]:
        return dict(self.values)

    def twin(self, w: World) -> Choice | None:
        """The same request with every restricted reference replaced by a missing one."""
        if not self.secret:
            return None
        out = []
        for name, value in self.values:
            if name in self.secret:
                value = _missing_for(name, value, w)
            out.append((name, value))
        return Choice(tuple(out), frozenset())

    def ids(self, w: World) -> dict[str, int]:
        """The restricted ids this request names (for the echo allowance)."""
        named: dict[str, int] = {}
        for name in self.secret:
            kind = _kind_of(name.removeprefix("body:"))
            if kind == "contract":
                named["secret"] = MISSING_CONTRACT
            elif kind == "customer":
                named["secret_customer"] = MISSING_CUSTOMER
        return named


def _kind_of(name: str) -> str | None:
    if name in ("customer_id", "source_id", "target_id", "ref", "customer"):
        return "customer"
    if name in (
        "contract_id",
        "contract_ids",
        "ids",
        "master_id",
        "contract",
        "suggestion_id",
        "item_id",
        "hold_id",
        "paths",
        "csv_file",
        "file",
        "files",
    ):
        return "contract"
    if name in ("q", "query"):
        return "contract"
    return None


MISSING_IDS = {"suggestion_id": 9_881, "item_id": 9_891, "hold_id": 9_901}


def searches(w: World) -> dict[str, str]:
    """Queries for the restricted contract by every handle a search offers, each with its twin
    (the same query for something that does not exist)."""
    return {
        "Quillforge": "Nonexistentword",
        "绝密并购协议": "无此词语的合同",
        "玄武隐秘科技": "无此名称的客户",
        f"id:{w.ids['secret']}": f"id:{MISSING_CONTRACT}",
        f"classification:{CODE}": "classification:ZZ",
        "customer:Zanthrop": "customer:Nobody",
    }


def _missing_for(name: str, value: Any, w: World) -> Any:
    name = name.removeprefix("body:")
    if isinstance(value, tuple):  # a list of references (the bulk actions' ids)
        return tuple(_missing_for(name, v, w) for v in value)
    if isinstance(value, int):
        if _kind_of(name) == "customer":
            return MISSING_CUSTOMER
        return MISSING_IDS.get(name, MISSING_CONTRACT)
    if name in ("q", "query"):
        return searches(w).get(value, "Nonexistentword")
    if name in ("customer", "ref"):
        return MISSING_NAME
    if isinstance(value, str) and value.isdigit():
        return str(_missing_for(name, int(value), w))
    if isinstance(value, Path):
        return value.with_name("missing-" + value.name)
    return value


# --- the API and the web --------------------------------------------------------------------------
def api_routes() -> list[tuple[str, APIRoute]]:
    """Every (method, route) of the route table, with FastAPI's route for its parameters."""
    by_key = {
        (r.path, r.name): r for router in ROUTERS for r in router.routes if isinstance(r, APIRoute)
    }
    out = []
    for info in route_table():
        for method in sorted(info.methods):
            out.append((method, by_key[(info.path, info.name)]))
    return out


def _params(route: APIRoute) -> tuple[list[str], list[str], list[Any]]:
    path, query, body = [], [], []

    def flat(d: Any) -> None:
        path.extend(p.name for p in d.path_params)
        query.extend(p.name for p in d.query_params)
        body.extend(d.body_params)
        for sub in d.dependencies:
            flat(sub)

    flat(route.dependant)
    return sorted(set(path)), sorted(set(query)), body


def path_options(name: str, w: World, mutation: bool) -> list[tuple[Any, bool]]:
    """(value, names the restricted data) for one path parameter."""
    if name == "contract_id":
        c = contract_values(w)
        kinds = ("visible", "amendment", "secret")
        return [(c[k], k == "secret") for k in kinds]
    if name in ("customer_id", "ref"):
        c = customer_values(w)
        opts = [(c["visible"], False), (c["secret"], True)]
        if name == "ref" and not mutation:
            opts.append((SECRET_CUSTOMER, True))
        return opts
    if name == "suggestion_id":
        return [(w.ids["suggestion"], True)]
    if name == "item_id":
        return [(w.ids["payment"], True)]
    if name == "hold_id":
        return [(w.ids["hold"], True)]
    if name == "page":
        return [(1, False)]
    if name == "name":
        return [("app.css", False)]
    if name in ("code", "classification"):
        return [(CODE, False)]
    if name == "username":
        return [("outsider", False)]
    if name == "token_id":
        return [("cat_nosuchtoken", False)]
    return [("1", False)]


def query_values(names: list[str], w: World) -> list[tuple[dict[str, Any], frozenset[str]]]:
    """Query strings worth sending: the restricted data asked for by every handle there is."""
    options: list[tuple[dict[str, Any], frozenset[str]]] = [({}, frozenset())]
    filled: dict[str, Any] = {}
    secret: set[str] = set()
    for name in names:
        if name == "q":
            filled[name] = "Quillforge"
            secret.add(name)
        elif name in ("customer",):
            filled[name] = w.ids["secret_customer"]
            secret.add(name)
        elif name in ("contract", "contract_id"):
            filled[name] = w.ids["secret"]
            secret.add(name)
        elif name == "expiring_within":
            filled[name] = "90d"
        elif name in ("overdue_payments", "facets", "all"):
            filled[name] = "true"
    if filled:
        options.append((filled, frozenset(secret)))
    if "q" in names:
        options.extend(({"q": q}, frozenset({"q"})) for q in list(searches(w))[1:])
    if "customer" in names:
        options.append(({"customer": SECRET_CUSTOMER}, frozenset({"customer"})))
    return options


def body_for(route: APIRoute, w: World) -> tuple[dict[str, Any], dict[str, Any]]:
    """A minimal plausible JSON body, and apart the fields that reference the restricted
    contract or customer (each is sent in a request of its own)."""
    today = date.today()
    _, _, params = _params(route)
    model = next(
        (
            p.field_info.annotation
            for p in params
            if hasattr(p.field_info.annotation, "model_fields")
        ),
        None,
    )
    if model is None:
        return {}, {}
    cid, kid = w.ids["secret"], w.ids["secret_customer"]
    by_name: dict[str, Any] = {
        "master_id": cid,
        "relation": "amendment",
        "customer_id": kid,
        "source_id": kid,
        "due_date": (today - timedelta(days=1)).isoformat(),
        "paid_date": today.isoformat(),
        "amount": "1.00",
        "paid_amount": "1.00",
        "reason": "leak probe",
        "to": "active",
        "alias": "leak probe alias",
        "name": "Leak Probe Co",
        "name_zh": "探测",
        "name_en": "probe",
        "retention": "D10",
        "username": "probe-user",
        "roles": ["legal"],
        "groups": [],
        "password": "not the password",
        "current_password": "not the password",
        "new_password": "not the password 12345",
        "notes": "leak probe",
        "contract_id": cid,
        "purpose": "leak probe",
        "days": 7,
        "rules": [{"name": "probe", "steps": [{"roles": ["legal"]}]}],
        "flags": ["probe"],
        "ids": (cid,),  # the bulk actions' contracts
        "action": "file",  # a bulk action that needs no other field
    }
    body: dict[str, Any] = {}
    references: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if name in ("master_id", "customer_id", "source_id", "contract_id", "ids"):
            references[name] = by_name[name]
        elif info.is_required():
            body[name] = by_name.get(name, "probe")
    return body, references


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, Any]
    body: dict[str, Any] | None
    choice: Choice
    files: Any = None
    form: dict[str, Any] | None = None


def requests_for(method: str, route: APIRoute, w: World, web: bool) -> Iterator[Request]:
    """Every filled request for one route: restricted references and (separately) their
    missing twins are produced by the caller from :attr:`Request.choice`."""
    path_names, query_names, body_params = _params(route)
    mutation = method != "GET"
    per_param = [path_options(n, w, mutation) for n in path_names]
    for combo in itertools.product(*per_param) if per_param else [()]:
        values = tuple((n, v) for n, (v, _) in zip(path_names, combo, strict=True))
        secret = frozenset(n for n, (_, s) in zip(path_names, combo, strict=True) if s)
        if not mutation:
            for query, qsecret in query_values(query_names, w):
                choice = Choice(values + tuple(sorted(query.items())), secret | qsecret)
                yield Request(method, route.path, query, None, choice)
            continue
        form_names = [
            p.name for p in body_params if not hasattr(p.field_info.annotation, "model_fields")
        ]
        if form_names or route.path in ("/upload", "/api/v1/contracts"):
            yield _form_request(method, route, values, secret, form_names, w)
            continue
        body, references = body_for(route, w)
        if not secret and not references and path_names:
            continue  # a change to visible data that names nothing restricted: not a leak probe
        # One reference per request, so that one refusal cannot hide another's oracle.
        for ref in sorted(references.items()) or [None]:
            refs = ((f"body:{ref[0]}", ref[1]),) if ref else ()
            extra = {"relation": "amendment"} if ref and ref[0] == "master_id" else {}
            choice = Choice((*values, *refs), secret | {k for k, _ in refs})
            yield Request(method, route.path, {}, {**body, **extra}, choice)


def _form_request(
    method: str,
    route: APIRoute,
    values: tuple[tuple[str, Any], ...],
    secret: frozenset[str],
    names: list[str],
    w: World,
) -> Request:
    form: dict[str, Any] = {}
    files = None
    for name in names:
        if name in ("file", "files"):
            files = "secret-pdf"  # a duplicate of the restricted bytes (no twin: a new file
            # is archived where a duplicate is not, so only the answer's content is checked)
        elif name == "decision":
            form[name] = "accept"
        elif name == "hold":
            form[name] = "set"
        elif name == "username":
            form[name] = "outsider"
        elif name in ("password", "current_password", "new_password"):
            form[name] = "not the password"
        elif name == "next":
            form[name] = "/"
        elif name in ("customer", "title", "classification"):
            form[name] = ""
        elif name == "contract_id":
            form[name] = w.ids["secret"]
            secret = secret | {name}
        elif name == "ids":  # the contract table's bulk actions: the id as the user typed it
            form[name] = str(w.ids["secret"])
            secret = secret | {name}
        elif name == "action" and route.path == "/contracts/bulk":
            form[name] = "file"  # one that needs no other field
        elif name == "purpose":
            form[name] = "leak probe"
        elif name == "days":
            form[name] = "7"
    choice = Choice(values + tuple(sorted(form.items())) + (("__files__", files),), secret)
    return Request(method, route.path, {}, None, choice, files=files, form=form)


def _materialize(req: Request, choice: Choice, w: World) -> tuple[str, dict[str, Any], Any]:
    values = choice.as_dict()
    path = req.path
    for name, value in values.items():
        path = path.replace("{" + name + "}", quote(str(value), safe=""))
    query = {k: v for k, v in values.items() if k in req.query}
    body = req.body
    if body is not None:
        body = {**body, **{k[5:]: v for k, v in values.items() if k.startswith("body:")}}
    return path, query, body


def send(client: TestClient, req: Request, choice: Choice, w: World, csrf: str | None) -> Any:
    path, query, body = _materialize(req, choice, w)
    headers = {"X-CSRF-Token": csrf} if csrf else {}
    if req.form is not None:
        form = {k: v for k, v in choice.as_dict().items() if k in req.form}
        if csrf:
            form["csrf_token"] = csrf
        files = None
        if choice.as_dict().get("__files__"):
            key = "files" if req.path == "/upload" else "file"
            files = {key: (SECRET_PDF.name, SECRET_PDF.read_bytes(), "application/pdf")}
        return client.request(
            req.method,
            path,
            params=query,
            data=form,
            files=files,
            headers=headers,
            follow_redirects=False,
        )
    return client.request(
        req.method, path, params=query, json=body, headers=headers, follow_redirects=False
    )


def check_response(
    findings: Findings, where: str, r: Any, w: World, twin: Any | None, choice: Choice
) -> None:
    head = "\n".join(f"{k}: {v}" for k, v in r.headers.items())
    twin_head = "\n".join(f"{k}: {v}" for k, v in twin.headers.items()) if twin else None
    twin_ids = choice.ids(w) if twin is not None else None
    asked = tuple(str(v) for _, v in choice.values if isinstance(v, str))
    scan(findings, f"{where} [headers]", head, w, twin_head, twin_ids, asked)
    kind = r.headers.get("content-type", "")
    if any(t in kind for t in ("text/", "json", "xml", "csv", "calendar")) or not r.content:
        scan(findings, where, r.text, w, twin.text if twin is not None else None, twin_ids, asked)
    else:  # a PDF, an image: only the secret words, as bytes
        for word in SECRET_WORDS:
            for encoding in ("utf-8", "utf-16-be"):
                if word.encode(encoding) in r.content:
                    findings.add(where, f"carries {word!r} ({encoding}) in its {kind} body")
    if twin is not None:
        if r.status_code != twin.status_code:
            findings.add(
                where,
                f"answers {r.status_code} for the restricted reference but {twin.status_code} "
                "for a missing one (an oracle)",
            )
        else:
            twin_choice = choice.twin(w)
            mine = _stable(error_message(r.text))
            theirs = _stable(
                as_if_restricted(
                    error_message(twin.text),
                    choice.as_dict(),
                    twin_choice.as_dict() if twin_choice else {},
                )
            )
            if mine != theirs:
                findings.add(where, f"says {mine!r} where a missing reference gets {theirs!r}")


def login(client: TestClient, username: str) -> str:
    r = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "next": "/"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/", r.text
    page = client.get("/")
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text[:500]
    return found.group(1)


@contextmanager
def signed_in(w: World, name: str) -> Iterator[dict[str, tuple[TestClient, str | None]]]:
    """A fresh copy of the seeded archive and, for one caller, an API client (their token)
    and a browser signed in through the log-in form (with the page's CSRF token)."""
    settings = make_settings(w.fresh(f"http-{name}"), fonds_code="Z001")
    with Archive(settings, parser_workers=1).open() as archive:
        api = TestClient(
            create_app(archive),
            headers=auth_headers(archive, *CALLERS.get(name, ()), username=name),
            raise_server_exceptions=False,
        )
        web = TestClient(
            create_app(archive), raise_server_exceptions=False, headers={"Accept": "text/html"}
        )
        with api, web:
            yield {"api": (api, None), "web": (web, login(web, name))}


def walk_http(
    w: World, findings: Findings, callers: tuple[str, ...] = tuple(CALLERS), changes: bool = True
) -> None:
    """Each caller on an archive of their own: the access log first (so it holds none of the
    walk's own attempts), then every other read and the totals, then the changes (so a change
    that wrongly succeeds cannot mask a read's leak, nor the other caller's findings)."""
    routes = api_routes()
    logs = [(m, r) for m, r in routes if m == "GET" and "access-log" in r.path]
    reads = [(m, r) for m, r in routes if m == "GET" and "access-log" not in r.path]
    writes = [(m, r) for m, r in routes if m != "GET"] if changes else []
    for name in callers:
        with signed_in(w, name) as clients:
            for batch in (logs, reads, writes):
                for method, route in batch:
                    if skipped(f"{method} {route.path}", name):
                        continue
                    surface = "web" if not route.include_in_schema else "api"
                    client, csrf = clients[surface]
                    for req in requests_for(method, route, w, surface == "web"):
                        choice = req.choice
                        r = send(client, req, choice, w, csrf)
                        findings.count(f"{surface} requests")
                        twin_choice = choice.twin(w)
                        twin = send(client, req, twin_choice, w, csrf) if twin_choice else None
                        where = f"{surface} {name} {req_label(req, choice, w)}"
                        check_response(findings, where, r, w, twin, choice)
                        if r.status_code >= 500:
                            findings.add(where, f"answers {r.status_code}")
                        if r.status_code == 422:
                            findings.add(where, f"not walked: refused as invalid {r.text[:200]}")
                if batch is reads:
                    check_counts(clients["api"][0], clients["web"][0], name, w, findings)


def req_label(req: Request, choice: Choice, w: World) -> str:
    path, query, body = _materialize(req, choice, w)
    q = "&".join(f"{k}={v}" for k, v in query.items())
    b = f" {json.dumps(body, ensure_ascii=False)}" if body else ""
    f = (
        " (form" + (", the restricted PDF" if choice.as_dict().get("__files__") else "") + ")"
        if req.form is not None
        else ""
    )
    return f"{req.method} {path}{'?' + q if q else ''}{b}{f}"


def check_counts(api: TestClient, web: TestClient, name: str, w: World, findings: Findings) -> None:
    """Totals that must be what the visible data alone gives."""
    where = f"api {name}"
    r = api.get("/api/v1/customers")
    if r.status_code == 200 and r.json().get("total") != w.expected["customers"]:
        findings.add(
            f"{where} GET /api/v1/customers",
            f"total {r.json().get('total')}, the visible customers are {w.expected['customers']}",
        )
    r = api.get("/api/v1/contracts")
    if r.status_code == 200 and r.json().get("total") != w.expected["contracts"]:
        findings.add(
            f"{where} GET /api/v1/contracts",
            f"total {r.json().get('total')}, the visible contracts are {w.expected['contracts']}",
        )
    r = api.get("/api/v1/contracts", params={"expiring_within": "90d"})
    if r.status_code == 200 and r.json().get("total") != 1:
        findings.add(
            f"{where} GET /api/v1/contracts?expiring_within=90d",
            f"total {r.json().get('total')}, one visible contract expires within 90 days",
        )
    r = api.get("/api/v1/contracts", params={"overdue_payments": "true"})
    if r.status_code == 200 and r.json().get("total") != 1:
        findings.add(
            f"{where} GET /api/v1/contracts?overdue_payments=true",
            f"total {r.json().get('total')}, one visible contract has overdue payments",
        )
    home = web.get("/").text
    figures = {
        label.strip(): int(num)
        for num, label in re.findall(
            r'<span class="num">(\d+)</span><span class="label">([^<]+)</span>', home
        )
    }
    figures |= {
        label.strip(): int(num)
        for label, num in re.findall(r"<h3>([^<]+)<span class=\"muted small\">(\d+)</span>", home)
    }
    for label, expected in w.expected["dashboard"].items():
        if figures.get(label) != expected:
            findings.add(
                f"web {name} GET /",
                f"the dashboard's {label!r} is {figures.get(label)}, the visible data gives "
                f"{expected}",
            )
    r = api.get(f"/api/v1/customers/{w.ids['customer']}")
    if r.status_code == 200:
        totals = r.json().get("totals", {})
        overdue = totals.get("overdue")
        if overdue not in ([{"currency": "CNY", "amount": f"{VISIBLE_OVERDUE:.2f}"}],):
            findings.add(
                f"{where} GET /api/v1/customers/{w.ids['customer']}",
                f"overdue total {overdue}, the visible overdue is {VISIBLE_OVERDUE}",
            )


# --- the command line -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Command:
    words: tuple[str, ...]
    params: tuple[Any, ...]

    @property
    def key(self) -> str:
        return " ".join(self.words)


def cli_commands() -> list[Command]:
    root = cli_root()
    out: list[Command] = []

    def walk(cmd: Any, words: tuple[str, ...]) -> None:
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in sorted(subs.items()):
                walk(sub, (*words, name))
        else:
            out.append(Command(words, tuple(cmd.params)))

    walk(root, ())
    return out


def cli_fill(cmd: Command, w: World, tmp: Path, missing: bool = False) -> list[list[str]]:
    """Argument lists for one command, with the restricted references (or, with ``missing``,
    the same arguments naming missing ones instead). A command taking a contract runs once on
    the restricted contract and once on a visible one (whose links lead to the restricted)."""
    today = date.today()
    contract = MISSING_CONTRACT if missing else w.ids["secret"]
    customer = MISSING_CUSTOMER if missing else w.ids["secret_customer"]

    def ref(key: str) -> int:
        return MISSING_CONTRACT if missing else w.ids[key]

    takes_contract = any(
        p.name in ("contract_id", "contract_ids") and type(p).__name__ == "TyperArgument"
        for p in cmd.params
    )
    filters = [
        p
        for p in cmd.params
        if type(p).__name__ == "TyperOption"
        and not p.required
        and not getattr(p, "is_flag", False)
        and p.name not in ("output", "limit", "offset", "workers", "jobs")
    ]
    queries = searches(w)
    choices: list[Any] = [contract, w.ids["master"], w.ids["amendment"]] if takes_contract else []
    if any(p.name == "query" and type(p).__name__ == "TyperArgument" for p in cmd.params):
        choices += [queries[q] if missing else q for q in queries]
    choices = choices or [None]
    if filters and not takes_contract:
        choices.append(-1)  # once more without the optional filters: everything it lists
    variants: list[list[str]] = []
    for cid in choices:
        args: list[str] = []
        for p in cmd.params:
            kind = type(p).__name__
            name = p.name
            opt = p.opts[0] if kind == "TyperOption" else None
            if kind == "TyperOption" and getattr(p, "is_flag", False):
                if name == "as_json":
                    args.append("--json")
                continue
            if cid == -1 and p in filters:
                continue
            value: Any = None
            if name in ("contract_id", "contract_ids") and kind == "TyperArgument":
                value = cid
            elif name in ("contract", "contract_id", "master_id"):
                value = contract
            elif name == "suggestion_id":
                value = ref("suggestion")
            elif name == "item_id":
                value = ref("payment")
            elif name == "hold_id":
                value = ref("hold")
            elif name in ("customer_id", "source_id", "ref"):
                value = customer
            elif name == "target_id":
                value = w.ids["customer"]
            elif name == "customer" and cmd.key != "ingest":
                value = customer
            elif name == "query" and kind == "TyperOption":
                value = "Nobody" if missing else "Zanthrop"  # a name search
            elif name == "query":
                first = next(iter(queries))
                value = cid if cid != -1 else (queries[first] if missing else first)
            elif name == "paths":
                value = str(SECRET_PDF)  # a duplicate of the restricted bytes
            elif name == "csv_file":
                shutil.copy(SECRET_PDF, tmp / "again.pdf")
                (tmp / "import.csv").write_text("file,title\nagain.pdf,probe\n", encoding="utf-8")
                value = str(tmp / "import.csv")
            elif name == "directory":
                value = str(tmp / "export")
            elif name == "folder":  # watch FOLDER: a copy of the restricted bytes dropped in
                inbox = tmp / "inbox"
                inbox.mkdir(exist_ok=True)
                shutil.copy(SECRET_PDF, inbox / "again.pdf")
                value = str(inbox)
            elif name == "output":
                value = str(tmp / "out.file")
            elif name == "extract":
                value = str(w.extract)
            elif name == "values":
                value = [f"master_id={contract}"]
            elif name == "to":
                value = "active"
            elif name in ("reason", "note", "notes", "description", "purpose"):
                value = "leak probe"
            elif name in ("on", "today"):
                value = today.isoformat()
            elif name == "since":
                value = "2000-01-01T00:00:00Z"
            elif name == "due":
                value = (today - timedelta(days=1)).isoformat()
            elif name == "amount":
                value = "1.00"
            elif name == "name":
                value = "Leak Probe Customer" if cmd.words[0] == "customer" else "probe"
            elif name == "alias":
                value = "leak probe alias"
            elif name in ("code", "classification"):
                value = "ZZ" if cmd.key == "classification set" else CODE
            elif name == "name_zh":
                value = "探测"
            elif name == "name_en":
                value = "probe"
            elif name == "retention" and cmd.key == "classification set":
                value = "D10"
            elif name == "username":
                value = "probe-user"
            elif name == "role":
                value = ["legal"]
            elif name == "token_id":
                value = "cat_nosuchtoken"
            elif name == "days":
                value = 7
            elif name == "request_id":
                value = 1  # a borrowing request (none in the seeded archive)
            elif name == "job_id":
                value = 1  # a background job (none in the seeded archive)
            elif name == "path" and cmd.key == "approvals rules set":
                rules = [{"name": "probe", "steps": [{"roles": ["legal"]}]}]
                (tmp / "rules.json").write_text(json.dumps({"rules": rules}), encoding="utf-8")
                value = str(tmp / "rules.json")
            elif name in ("old", "new"):  # ledger consistency OLD NEW: tree sizes
                value = "0" if name == "old" else "1"
            elif name == "proof_file":  # ledger check-proof FILE: a file that is no proof
                (tmp / "proof.json").write_text('{"format": "probe"}', encoding="utf-8")
                value = str(tmp / "proof.json")
            elif p.required:
                value = "probe"
            if value is None:
                continue
            for v in value if isinstance(value, list) else [value]:
                args.extend([opt, str(v)] if opt else [str(v)])
        if cmd.key == "ocr":
            args.append("--no-wait")
        if cmd.key == "watch":
            args.extend(["--once", "--stable-seconds", "0", "--interval", "0.1"])
        variants.append(args)
    return variants


def run_cli(data: Path, user: str, args: list[str]) -> tuple[int, str]:
    """One command, in-process on the real Typer app, acting as ``user`` on ``data``: its
    exit status and everything it printed (an unexpected exception included)."""
    env = {"ARCHIVE_USER": user, "ARCHIVE_OCR_BACKGROUND": "false"}
    result = invoke(data, *args, env=env)
    return result.returncode, result.stdout + result.stderr


def walk_cli(w: World, findings: Findings, tmp: Path) -> None:
    # every run on the seeded data as it was made (a change one command makes can neither hide
    # nor cause a finding of another): one copy, put back after each run
    copy = WorkCopy(w.base, w.tmp.mktemp("cli") / "var")
    data = copy.path
    for cmd in cli_commands():
        for name in CALLERS:
            if skipped(cmd.key, name):
                continue
            work = tmp / f"{cmd.key.replace(' ', '-')}-{name}"
            work.mkdir(parents=True, exist_ok=True)
            pairs = zip(cli_fill(cmd, w, work), cli_fill(cmd, w, work, missing=True), strict=True)
            unique = {(tuple(a), tuple(b)): (a, b) for a, b in pairs}
            for args, twin_args in unique.values():
                full = [*cmd.words, *args]
                code, out = run_cli(data, name, full)
                copy.restore()
                out += written(work)
                findings.count("CLI runs")
                where = f"cli {name} `{' '.join(full)}`"
                twin_out = None
                if twin_args != args:
                    twin_code, twin_out = run_cli(data, name, [*cmd.words, *twin_args])
                    copy.restore()
                    twin_out += written(work)
                    mine, theirs = normalized_cli(out, w), normalized_cli(twin_out, w)
                    if code != twin_code:
                        findings.add(
                            where,
                            f"exits {code} for the restricted reference but {twin_code} for a "
                            f"missing one (an oracle): {mine.strip()[:160]!r} / {theirs.strip()[:160]!r}",
                        )
                    elif code != 0 and mine != theirs:
                        findings.add(
                            where,
                            f"says {mine.strip()[:200]!r} where a missing reference gets "
                            f"{theirs.strip()[:200]!r}",
                        )
                twin_ids = {"secret": MISSING_CONTRACT, "secret_customer": MISSING_CUSTOMER}
                asked = tuple(a for a in args if not a.startswith("-") and not a.isdigit())
                scan(
                    findings,
                    where,
                    out,
                    w,
                    twin_out,
                    twin_ids if twin_out is not None else None,
                    asked,
                )
                if code == 2 or "No such file" in out:
                    findings.add(where, f"not walked: {' '.join(out.split())[:200]}")
                if "Traceback" in out or "internal error" in out:
                    findings.add(where, f"crashes: {out.strip()[-300:]}")
    # the copy the walk ran on is the seeded data directory still, file for file
    assert same_files(copy.path, w.base), "the CLI walk's copy was not put back as it was"


def same_files(one: Path, other: Path) -> bool:
    """The same directories and files with the same bytes."""

    def tree(root: Path) -> dict[str, bytes | None]:
        return {
            str(p.relative_to(root)): None if p.is_dir() else p.read_bytes()
            for p in root.rglob("*")
        }

    return tree(one) == tree(other)


def written(work: Path) -> str:
    """What a command wrote into its work folder (an export, an extract), as text; removed. A
    binary file (a PDF, a signature) is only searched for the secret words."""
    texts = []
    for path in sorted(work.rglob("*")):
        if path.is_file() and path.name not in ("import.csv", "again.pdf", "rules.json"):
            data = path.read_bytes()
            try:
                texts.append(f"\n[{path.name}]\n" + data.decode("utf-8"))
            except UnicodeDecodeError:
                found = [
                    w for w in SECRET_WORDS for e in ("utf-8", "utf-16-be") if w.encode(e) in data
                ]
                texts.append(f"\n[{path.name}, binary] {' '.join(found)}")
            path.unlink()
    return "".join(texts)


def normalized_cli(text: str, w: World) -> str:
    for value in (
        w.ids["secret"],
        w.ids["secret_customer"],
        w.ids["suggestion"],
        w.ids["payment"],
        w.ids["hold"],
        MISSING_CONTRACT,
        MISSING_CUSTOMER,
    ):
        text = re.sub(rf"(?<![0-9]){value}(?![0-9])", "<id>", text)
    for query, twin in searches(w).items():
        for word in (query, twin, json.dumps(query)[1:-1], json.dumps(twin)[1:-1]):
            text = text.replace(word, "<query>")
    return re.sub(r"\s+", " ", text)


# --- the tests ------------------------------------------------------------------------------------
def test_no_route_or_page_reveals_a_restricted_contract(world: World) -> None:
    findings = Findings()
    walk_http(world, findings)
    assert not findings.items, findings.report()


def test_every_skip_names_a_route_or_command_that_exists() -> None:
    """The skip list cannot outlive what it skips (a renamed route would be skipped by no one
    and walked, but a stale entry hides that the list is kept by hand)."""
    routes = {f"{m} {r.path}" for m, r in api_routes()}
    commands = {c.key for c in cli_commands()}
    stale = sorted(set(SKIPPED) - routes - commands)
    assert not stale, f"SKIPPED names nothing that exists: {stale}"


@pytest.mark.timeout(900)  # every command twice per caller: ~190 s alone, more on a busy machine
def test_no_command_reveals_a_restricted_contract(world: World, tmp_path: Path) -> None:
    findings = Findings()
    walk_cli(world, findings, tmp_path)
    # A few as the installed program, as a user runs them (with the twin naming missing ids),
    # as the caller who is cleared for nothing: the walk above ran every command for every
    # caller through the same app; this shows the installed entry point acts as ARCHIVE_USER
    # in its own process. Each run costs ~2 s of CPU before the command starts, so three
    # kinds of read, not every command again: a list (hidden classes applied), a read by the
    # restricted id beside its twin (no oracle), a search. The other commands (terms,
    # customer list, reminders, payments) go through the same entry point and are walked
    # above for every caller; tests/test_access_cli.py runs the program as ARCHIVE_USER too.
    data = world.fresh("program")
    env = {**os.environ, "ARCHIVE_DATA_DIR": str(data), "ARCHIVE_OCR_BACKGROUND": "false"}
    secret, customer = str(world.ids["secret"]), str(world.ids["secret_customer"])
    twin_of = {secret: str(MISSING_CONTRACT), customer: str(MISSING_CUSTOMER)}

    def program(name: str, args: list[str]) -> str:
        r = subprocess.run(
            [PROGRAM, *args],
            capture_output=True,
            text=True,
            timeout=120,
            env={**env, "ARCHIVE_USER": name},
        )
        return r.stdout + r.stderr

    for name in ("outsider",):
        for args in (
            ["contract", "list", "--json"],
            ["customer", "show", customer, "--json"],
            ["search", "Quillforge", "--json"],
        ):
            out = program(name, args)
            findings.count("program runs")
            twin_args = [twin_of.get(a, a) for a in args]
            twin = program(name, twin_args) if twin_args != args else None
            asked = ("Quillforge",) if "search" in args else ()  # the query, echoed
            where = f"program {name} `{' '.join(args)}`"
            twin_ids = {"secret": MISSING_CONTRACT, "secret_customer": MISSING_CUSTOMER}
            scan(findings, where, out, world, twin, twin_ids if twin else None, asked)
    assert not findings.items, findings.report()


def test_the_walk_sees_the_secrets_through_a_cleared_callers_eyes(world: World) -> None:
    """The control: the same walk (reads) and checks, as a caller who IS cleared, must find the
    restricted data where it lives, on each surface; a walk that finds nothing here is blind."""
    findings = Findings()
    walk_http(world, findings, callers=(CLEARED,), changes=False)
    code, out = run_cli(
        world.fresh("control"), CLEARED, ["contract", "terms", str(world.ids["secret"]), "--json"]
    )
    assert code == 0, out
    scan(findings, f"cli {CLEARED} contract terms", out, world)
    seen = "\n".join(findings.items)
    secret, customer = world.ids["secret"], world.ids["secret_customer"]
    expected = (
        f"api {CLEARED} GET /api/v1/contracts/{secret}/terms: shows 'Quillforge'",
        f"api {CLEARED} GET /api/v1/contracts/{secret}/terms: shows the restricted amount",
        f"api {CLEARED} GET /api/v1/contracts/{world.ids['master']}/terms: shows 'Quillforge'",
        f"api {CLEARED} GET /api/v1/contracts/{secret}: answers 200 for the restricted reference",
        f"api {CLEARED} GET /api/v1/customers/{customer}: shows",
        f"api {CLEARED} GET /api/v1/customers: total",
        f"api {CLEARED} GET /api/v1/reminders: shows",
        f"api {CLEARED} GET /api/v1/calendar.ics: shows",
        f"api {CLEARED} GET /api/v1/search?q=",
        f"web {CLEARED} GET /: shows",
        f"web {CLEARED} GET /: the dashboard's 'Overdue payments' is 2",
        f"web {CLEARED} GET /contracts/{secret}: shows",
        f"cli {CLEARED} contract terms: shows 'Quillforge'",
    )
    blind = [e for e in expected if e not in seen]
    assert not blind, "the walk missed what a cleared caller sees:\n  " + "\n  ".join(blind)


def test_an_expired_or_foreign_grant_reveals_nothing(world: World) -> None:
    """Borrowing (借阅) lifts the hiding of one contract for one borrower while the grant is
    live. Here ``outsider`` holds a grant of the restricted contract that expired, and another
    user (``borrower``) a live one: both walking callers must still see nothing of it on any
    read. The only place the id may show is the outsider's own list of borrowings (the id they
    asked for themselves, without its title). A control: the borrower does see it."""
    base = world.fresh("grants")
    settings = make_settings(base, fonds_code="Z001")
    secret = world.ids["secret"]
    with Archive(settings, parser_workers=1).open() as archive:
        ensure_user(archive, "borrower", ("legal",))
        store = archive.records
        past = datetime.now(UTC) - timedelta(days=10)
        own = store.add_borrow_request(
            secret, borrower="outsider", purpose="old case", days=2, download=True, at=past
        )
        store.decide_borrow(own.id, grant=True, actor=CLEARED, comment=None, at=past)
        now = datetime.now(UTC)
        theirs = store.add_borrow_request(
            secret, borrower="borrower", purpose="new case", days=30, download=True, at=now
        )
        store.decide_borrow(theirs.id, grant=True, actor=CLEARED, comment=None, at=now)
        with TestClient(
            create_app(archive),
            headers=auth_headers(archive, "legal", username="borrower"),
            raise_server_exceptions=False,
        ) as c:
            seen = c.get(f"/api/v1/contracts/{secret}")
            assert seen.status_code == 200 and seen.json()["title"] == SECRET_TITLE  # control
    granted = World(
        base=base, tmp=world.tmp, ids=world.ids, expected=world.expected, extract=world.extract
    )
    findings = Findings()
    walk_http(granted, findings, changes=False)
    own_list = [
        f
        for f in findings.items
        if f.startswith(("api outsider GET /api/v1/borrowings", "web outsider GET /borrowings"))
        and "shows the restricted contract id" in f
    ]
    rest = [f for f in findings.items if f not in own_list]
    assert not rest, Findings(rest, findings.walked).report()
