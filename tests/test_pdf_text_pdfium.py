"""Page text from pdfium, and pypdf's where pdfium's cannot be trusted (ingest/pdf.py).

pdfium reads a text PDF's pages about eight times faster than pypdf with the same words; these
tests hold the places where the two differ in a way that matters, and the fallbacks: a font
pdfium cannot map (its glyph numbers instead of the text), another OCR program's text layer on
a scanned page (words glued), a file pdfium cannot open, and one that crashes it.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import pytest

import services.archive
from ingest.pdf import _UNTRUSTED, pdfium_text, read_pdf
from services.archive import Archive
from tests.conftest import CORPUS, corpus_files

WORDS = re.compile(r"\w+")
ZH_FONT_MAP = CORPUS / "zh" / "contracttools-example" / "肇新合同管理系统源码销售合同.pdf"
ABBYY_LAYER = CORPUS / "scanned" / "real" / "WESTERN_COPPER-NON-COMPETITION_AGREEMENT.pdf"
PDFIUM_CANNOT_OPEN = CORPUS / "bad" / "qpdf-malformed" / "issue-99.pdf"


def raw_pdfium(path: Path, index: int) -> str:
    doc = pdfium.PdfDocument(str(path))
    try:
        return pdfium_text(doc[index].get_textpage().get_text_range())
    finally:
        doc.close()


def read(path: Path, **kwargs: Any) -> list[str]:
    return [p.text for p in read_pdf(path, max_pages=500, min_chars=20, **kwargs).pages]


@pytest.mark.parametrize(
    "path", corpus_files("en-cuad", ".pdf")[::7], ids=lambda p: Path(p).name[:30]
)
def test_pdfium_gives_pypdfs_words_on_text_contracts(path: Path) -> None:
    fast, slow = read(path), read(path, text_from="pypdf")
    assert len(fast) == len(slow)
    assert fast[0] == raw_pdfium(path, 0)  # the text is pdfium's
    for a, b in zip(fast, slow, strict=True):
        assert "\r" not in a and "\ufffe" not in a
        words_a, words_b = WORDS.findall(a), WORDS.findall(b)
        same = sum(1 for x, y in zip(words_a, words_b, strict=False) if x == y)
        assert same >= 0.97 * max(len(words_a), len(words_b)), (a[:200], b[:200])


def test_a_hyphen_pdfium_joins_across_lines_stays_a_hyphen_and_a_line_break() -> None:
    path = next(p for p in corpus_files("en-cuad", ".pdf") if "ArmstrongFlooring" in p.name)
    text = "\n".join(read(path))
    assert "non-\nexclusive" in text  # pypdf's form; pdfium gives "non\ufffeexclusive"
    assert "\ufffe" not in text


def test_a_font_pdfium_cannot_map_takes_pypdfs_text_on_every_page_it_is_on() -> None:
    """The contract's font "Droid Sans Fallback" has a ToUnicode map pdfium refuses (it
    announces 497 entries and holds about 50): pdfium gives the glyph numbers, which are control
    characters on page 4 and look like letters on page 5 ("hj-" for 研发部)."""
    assert _UNTRUSTED.search(raw_pdfium(ZH_FONT_MAP, 3)) is not None
    assert "研发部" not in raw_pdfium(ZH_FONT_MAP, 4)
    pages = read(ZH_FONT_MAP)
    assert "自源码正式交付之日起，甲方将获得为期一个月的系统部署专项技术支撑" in pages[3]
    assert "研发部" in pages[4]
    assert not any(_UNTRUSTED.search(p) for p in pages)


def test_another_ocr_programs_layer_on_a_scanned_page_takes_pypdfs_text() -> None:
    """ABBYY's layer over a scanned page: pdfium glues words it draws close ("ofthe")."""
    assert "ofthe Province" in raw_pdfium(ABBYY_LAYER, 0)
    pages = read(ABBYY_LAYER)
    assert "of the Province" in pages[0]
    assert pages == read(ABBYY_LAYER, text_from="pypdf")


def test_a_file_pdfium_cannot_open_takes_pypdfs_text(caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(pdfium.PdfiumError):
        pdfium.PdfDocument(str(PDFIUM_CANNOT_OPEN))
    with caplog.at_level(logging.WARNING, logger="ingest.pdf"):
        parsed = read_pdf(PDFIUM_CANNOT_OPEN, max_pages=50, min_chars=20)
    assert "pdfium cannot open it" in caplog.text
    again = read_pdf(PDFIUM_CANNOT_OPEN, max_pages=50, min_chars=20, text_from="pypdf")
    assert parsed.pages == again.pages and parsed.page_count == 1


def test_the_ocr_decision_per_page_is_pypdfs() -> None:
    """A page pdfium finds (almost) no text on is read by pypdf, whose count decides OCR, as
    before: here pdfium finds 6 letters of a broken content stream that pypdf does not."""
    path = CORPUS / "bad" / "qpdf-malformed" / "bad39.pdf"
    fast = read_pdf(path, max_pages=50, min_chars=20).pages
    slow = read_pdf(path, max_pages=50, min_chars=20, text_from="pypdf").pages
    assert fast == slow and all(p.needs_ocr for p in fast)


def crash_in_pdfium(path: Path, *, text_from: str = "pdfium", **limits: Any) -> Any:
    """read_pdf, except that the read with pdfium's text dies as a fault in C code would."""
    if text_from == "pdfium":
        os.abort()
    return read_pdf(path, text_from=text_from, **limits)


def test_a_file_that_crashes_pdfium_is_read_again_with_pypdfs_text(
    archive: Archive, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(services.archive, "read_pdf", crash_in_pdfium)
    path = corpus_files("en-cuad", ".pdf")[0]
    with caplog.at_level(logging.WARNING, logger="services.archive"):
        result = archive.ingest_path(path)
    assert result.status == "archived" and result.id is not None, result.reason
    assert "crashed the PDF reader" in caplog.text and "read again with pypdf" in caplog.text
    stored = [page["text"] for page in archive.text_document(result.id)["pages"]]
    assert stored == read(path, text_from="pypdf") != read(path)


def test_spaces_pdfium_makes_up_between_chinese_and_digits_are_dropped() -> None:
    """pdfium puts a space where the digits' font run starts after a gap ("起 30 日内"); pypdf
    and the page show 起30日内, and a phrase search for 之日起30日内 must find it. A space
    between two Chinese characters (a heading's gap) stays, as pypdf gives it."""
    path = CORPUS / "zh" / "samr-model-contracts" / "SF-2020-0102_广州市商品房买卖合同（预售）.pdf"
    assert "起 30 日内" in raw_pdfium(path, 2)  # what pdfium itself makes of it
    pages = read(path)
    assert "之日起30日内将本合同" in pages[2]
    assert "之日起15日内退还买受人" in pages[6]
    assert "第一章 合同当事人" in "".join(pages)
    made_up = re.compile(r"(?<=[\u4e00-\u9fff]) (?=[0-9])|(?<=[0-9]) (?=[\u4e00-\u9fff])")
    assert not any(made_up.search(p) for p in pages)
