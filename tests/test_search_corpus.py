"""Search over the real corpus: every contract is found by its own words.

Every PDF in en-cuad/ and zh/ is archived once for the module. Each is then searched for by a
phrase of its own text that no other contract contains, and must come back as the top hit.
Two-character Chinese words must return exactly the contracts that contain them.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from services.archive import Archive
from storage.index.analysis import is_cjk, normalize, tokenize
from tests.conftest import corpus_files, make_settings

FILES = corpus_files("en-cuad", ".pdf") + corpus_files("zh", ".pdf")


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Archive, dict[int, str]]]:
    settings = make_settings(tmp_path_factory.mktemp("corpus") / "var")
    with Archive(settings, parser_workers=2).open() as archive:
        texts: dict[int, str] = {}
        # two at a time, as the server archives uploads: both parser processes at work
        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(archive.ingest_path, FILES))
        for path, result in zip(FILES, results, strict=True):
            assert result.status == "archived", (path, result.reason)
            record = archive.get(result.id)  # type: ignore[arg-type]
            pages = archive.page_texts(record)
            texts[record.id] = normalize(record.title) + "\n" + normalize("\n".join(pages))
        yield archive, texts


@functools.cache
def _token_string(text: str) -> str:
    """The text's tokens between spaces; each contract's text is tokenized once for the module
    (the phrase tests ask for every contract's tokens again)."""
    return " " + " ".join(t.text for t in tokenize(text)) + " "


def english_phrases(texts: dict[int, str]) -> list[tuple[int, str]]:
    """For each English contract, a 5-word phrase from its middle that only it contains."""
    joined = {i: _token_string(t) for i, t in texts.items()}
    chosen = []
    for cid, full in texts.items():
        text = full.split("\n", 1)[1]  # the body, not the title
        toks = tokenize(text)
        if not toks or is_cjk(toks[len(toks) // 2].text[0]):
            continue
        for start in range(len(toks) // 2, len(toks) - 5):
            window = toks[start : start + 5]
            surface = text[window[0].start : window[-1].end]
            if not all(t.text.isalpha() for t in window) or '"' in surface:
                continue
            key = " " + " ".join(t.text for t in window) + " "
            if sum(key in s for s in joined.values()) == 1:
                chosen.append((cid, surface))
                break
    return chosen


def chinese_phrases(texts: dict[int, str]) -> list[tuple[int, str]]:
    chosen = []
    for cid, full in texts.items():
        text = full.split("\n", 1)[1]  # the body, not the title
        runs = [m.group() for m in re.finditer(r"[\u4e00-\u9fff]{6,}", text)]
        for run in runs[len(runs) // 3 :]:
            phrase = run[:6]
            if sum(phrase in t for t in texts.values()) == 1:
                chosen.append((cid, phrase))
                break
    return chosen


def test_every_english_contract_is_the_top_hit_for_its_own_phrase(loaded) -> None:
    archive, texts = loaded
    phrases = english_phrases(texts)
    assert len(phrases) >= 25
    for cid, phrase in phrases:
        result = archive.search(f'"{phrase}"', limit=3)
        assert result.hits and result.hits[0].id == cid, phrase
        assert result.total == 1, phrase
        assert "<mark>" in result.hits[0].snippets[0].html


def test_every_chinese_contract_is_the_top_hit_for_its_own_phrase(loaded) -> None:
    archive, texts = loaded
    phrases = chinese_phrases(texts)
    assert len(phrases) >= 4  # every zh PDF with a text layer
    for cid, phrase in phrases:
        result = archive.search(phrase, limit=3)
        assert result.hits and result.hits[0].id == cid, phrase
        assert result.hits[0].snippets, (phrase, result.hits[0])
        assert f"<mark>{phrase}</mark>" in result.hits[0].snippets[0].html


WORDS = [
    "违约",
    "合同",
    "甲方",
    "定金",
    "房屋",
    "车辆",
    "软件",
    "租赁",
    "责任",
    "仲裁",
    "发票",
    "保修",
    "交付",
    "担保",
    "利息",
    "签字",
    "期限",
    "解除",
]


@pytest.mark.parametrize("word", WORDS)
def test_two_character_words_find_exactly_the_contracts_containing_them(loaded, word) -> None:
    archive, texts = loaded
    expected = {cid for cid, text in texts.items() if word in text}
    result = archive.search(word, limit=100)
    assert {h.id for h in result.hits} == expected
    assert result.total == len(expected)


@pytest.mark.parametrize(
    "phrase",
    ["limitation of liability", "governing law", "force majeure", "confidential information"],
)
def test_english_phrases_find_exactly_the_contracts_containing_them(loaded, phrase) -> None:
    archive, texts = loaded
    key = _token_string(phrase)
    expected = {cid for cid, text in texts.items() if key in _token_string(text)}
    assert expected
    result = archive.search(f'"{phrase}"', limit=100)
    assert {h.id for h in result.hits} == expected


def test_exclusion_and_or_on_the_corpus(loaded) -> None:
    archive, texts = loaded
    has = {cid for cid, t in texts.items() if "违约" in t}
    has_car = {cid for cid, t in texts.items() if "车辆" in t}
    assert {h.id for h in archive.search("违约 -车辆", limit=100).hits} == has - has_car
    assert {h.id for h in archive.search("违约 OR 车辆", limit=100).hits} == has | has_car


def test_reindex_gives_identical_results(loaded) -> None:
    archive, _ = loaded
    queries = ["违约", '"limitation of liability"', "甲方 -乙方", "agreement"]
    before = [[(h.id, h.score) for h in archive.search(q, limit=50).hits] for q in queries]
    assert archive.reindex() == len(FILES)
    after = [[(h.id, h.score) for h in archive.search(q, limit=50).hits] for q in queries]
    assert before == after


def test_corpus_paths_exist() -> None:
    assert len(FILES) >= 30
    assert all(isinstance(p, Path) for p in FILES)
