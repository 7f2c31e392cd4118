"""OCR engines: Tesseract through pytesseract, and a replay engine for tests.

An engine turns one page image (a file path: handing pytesseract a fresh PIL image costs a PNG
encode, about 1.2 s a page) into three outputs of ONE recognition pass: the plain text, the
TSV with a confidence and a box per word, and a text-only PDF layer (``textonly_pdf=1``) for
the searchable copy. Orientation detection (``--psm 0``) is a separate, optional call.

:class:`ReplayOcrEngine` replays outputs recorded from Tesseract by
:class:`RecordingOcrEngine`; the fast tests use it so that they need no tesseract binary. It is
for tests and development only and says so in the log when it is used.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shlex
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from ingest.ocr.errors import OcrPageError, OcrTimeout

log = logging.getLogger(__name__)

PSM = 3
"""Fully automatic page segmentation without OSD (orientation is handled separately)."""
PSM_BLOCK = 6
"""One uniform block of text: the second reading of a Chinese page, and of a noisy page whose
layout went wrong (see ``ingest.ocr.page``)."""
HEAVY_NOISE_REMOVAL = "-c textord_heavy_nr=1"
"""Tesseract's heavy noise removal (specks and noise are dropped before lines are found)."""


def _variant(languages: str, dpi: int, psm: int, noise_removal: bool = False) -> str:
    """The name part of a recording: the psm only when it is not the default."""
    name = f"{languages}-{dpi}" if psm == PSM else f"{languages}-{dpi}-psm{psm}"
    return f"{name}-nr" if noise_removal else name


@dataclass(frozen=True)
class EngineOutput:
    text: str
    tsv: str
    pdf: bytes
    """Tesseract's text-only PDF: invisible text over a page the size of the image."""


@dataclass(frozen=True)
class Orientation:
    rotate: int
    """Degrees to turn the image clockwise to make it upright: 0, 90, 180 or 270."""
    confidence: float
    script: str | None = None
    script_confidence: float = 0.0
    """OSD's confidence in ``script`` (``Script confidence:``)."""


@runtime_checkable
class OcrEngine(Protocol):
    @property
    def name(self) -> str: ...

    def recognize(
        self,
        image: Path,
        *,
        key: str,
        languages: str,
        dpi: int,
        timeout: float,
        psm: int = PSM,
        noise_removal: bool = False,
    ) -> EngineOutput:
        """Read ``image`` (``key`` names the page for engines that replay; others ignore it).
        ``noise_removal``: remove specks and noise before finding lines (tesseract's heavy
        noise removal; engines without one ignore it)."""

    def orientation(
        self, image: Path, *, key: str, dpi: int, timeout: float, characters: int = 0
    ) -> Orientation | None:
        """How the image must be turned to be upright; None when it cannot tell. ``characters``:
        how many characters OSD classifies at least (tesseract's ``min_characters_to_try``;
        0: its default, 50)."""


def _seconds(timeout: float) -> float:
    if timeout <= 0:
        raise OcrTimeout("no time was left for OCR of this page")
    return max(0.05, timeout)


@dataclass(frozen=True)
class TesseractEngine:
    """Debian's tesseract 5 through pytesseract. Runs in an OCR worker process, whose
    environment sets ``OMP_THREAD_LIMIT=1`` (tesseract's own threads make a page 2-2.5x
    slower when every core already runs a worker)."""

    name: str = "tesseract"

    def recognize(
        self,
        image: Path,
        *,
        key: str,
        languages: str,
        dpi: int,
        timeout: float,
        psm: int = PSM,
        noise_removal: bool = False,
    ) -> EngineOutput:
        base = image.with_suffix("")
        config = f"--psm {int(psm)} --dpi {int(dpi)} -c textonly_pdf=1 -c tessedit_create_tsv=1"
        if noise_removal:
            config += f" {HEAVY_NOISE_REMOVAL}"
        # One pass, three renderers: "txt pdf" are named, the TSV renderer is switched on by
        # tessedit_create_tsv (pytesseract drops a literal "tsv" from the command line).
        _run(image, base, "txt pdf", languages, config, timeout)
        try:
            text = base.with_suffix(".txt").read_text("utf-8", errors="replace")
            tsv = base.with_suffix(".tsv").read_text("utf-8", errors="replace")
            pdf = base.with_suffix(".pdf").read_bytes()
        except OSError as exc:
            raise OcrPageError(f"tesseract wrote no output ({exc.strerror or exc})") from exc
        return EngineOutput(text=text, tsv=tsv, pdf=pdf)

    def orientation(
        self, image: Path, *, key: str, dpi: int, timeout: float, characters: int = 0
    ) -> Orientation | None:
        base = image.with_name(image.stem + "-osd")
        config = f"--psm 0 --dpi {int(dpi)}"
        if characters > 0:
            config += f" -c min_characters_to_try={int(characters)}"
        try:
            _run(image, base, "osd", "osd", config, timeout)
            raw = base.with_suffix(".osd").read_text("utf-8", errors="replace")
        except OcrTimeout:
            raise
        except (OcrPageError, OSError) as exc:
            # "Too few characters. Skipping this page": a blank or nearly blank page.
            log.debug("orientation detection gave no answer for %s: %s", key, exc)
            return None
        return parse_osd(raw)


_NOT_OUTPUTS = {"box", "osd", "tsv", "xml"}
"""Extensions that are switched on by a config (or a language), not named as renderers."""


def _run(image: Path, base: Path, extension: str, lang: str, config: str, timeout: float) -> None:
    """Run tesseract on one image (as pytesseract's ``run_tesseract`` does), stopped at the
    timeout, and killed by the kernel if the worker running it dies (``PR_SET_PDEATHSIG``):
    a killed CLI or server leaves no tesseract behind."""
    from pytesseract import pytesseract as pt

    from ingest.isolation import child_dies_with_parent

    seconds = _seconds(timeout)
    command = [pt.tesseract_cmd, str(image), str(base), "-l", lang, *shlex.split(config)]
    command += [e for e in extension.split() if e not in _NOT_OUTPUTS]
    try:
        proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            preexec_fn=child_dies_with_parent(),  # run from the worker's main thread
        )
    except FileNotFoundError as exc:
        raise OcrPageError(
            "the tesseract program is not installed", hint="apt-get install tesseract-ocr"
        ) from exc
    except OSError as exc:
        raise OcrPageError(f"tesseract could not be run: {exc.strerror or exc}") from exc
    try:
        _, errors = proc.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise OcrTimeout("tesseract took too long and was stopped") from None
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    if proc.returncode:
        text = " ".join(errors.decode("utf-8", "replace").split())[:300]
        raise OcrPageError(f"tesseract failed: {text or f'exit status {proc.returncode}'}")


_OSD_ROTATE = re.compile(r"^Rotate:\s*(\d+)", re.M)
_OSD_CONF = re.compile(r"^Orientation confidence:\s*([\d.]+)", re.M)
_OSD_SCRIPT = re.compile(r"^Script:\s*(\S+)", re.M)
_OSD_SCRIPT_CONF = re.compile(r"^Script confidence:\s*([\d.]+)", re.M)


def parse_osd(raw: str) -> Orientation | None:
    rotate = _OSD_ROTATE.search(raw)
    if not rotate:
        return None
    conf = _OSD_CONF.search(raw)
    script = _OSD_SCRIPT.search(raw)
    script_conf = _OSD_SCRIPT_CONF.search(raw)
    angle = int(rotate.group(1)) % 360
    if angle not in (0, 90, 180, 270):
        return None
    return Orientation(
        rotate=angle,
        confidence=float(conf.group(1)) if conf else 0.0,
        script=script.group(1) if script else None,
        script_confidence=float(script_conf.group(1)) if script_conf else 0.0,
    )


# --- recording and replaying ----------------------------------------------------------------
def _safe(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9._+-]", "_", key)


@dataclass(frozen=True)
class RecordingOcrEngine:
    """Tesseract, saving every output under ``directory`` for :class:`ReplayOcrEngine`."""

    directory: str
    inner: TesseractEngine = TesseractEngine()
    name: str = "tesseract"

    def recognize(
        self,
        image: Path,
        *,
        key: str,
        languages: str,
        dpi: int,
        timeout: float,
        psm: int = PSM,
        noise_removal: bool = False,
    ) -> EngineOutput:
        out = self.inner.recognize(
            image,
            key=key,
            languages=languages,
            dpi=dpi,
            timeout=timeout,
            psm=psm,
            noise_removal=noise_removal,
        )
        variant = _variant(languages, dpi, psm, noise_removal)
        base = Path(self.directory) / _safe(f"{key}-{variant}")
        base.parent.mkdir(parents=True, exist_ok=True)
        base.with_suffix(".txt").write_text(out.text, "utf-8")
        base.with_suffix(".tsv").write_text(out.tsv, "utf-8")
        base.with_suffix(".pdf").write_bytes(out.pdf)
        return out

    def orientation(
        self, image: Path, *, key: str, dpi: int, timeout: float, characters: int = 0
    ) -> Orientation | None:
        found = self.inner.orientation(
            image, key=key, dpi=dpi, timeout=timeout, characters=characters
        )
        path = Path(self.directory) / _safe(f"{key}-osd.json")
        path.parent.mkdir(parents=True, exist_ok=True)
        data = None if found is None else found.__dict__
        path.write_text(json.dumps(data), "utf-8")
        return found


@dataclass(frozen=True)
class ReplayOcrEngine:
    """For tests and development only: answers with outputs recorded from Tesseract.

    A page that was not recorded fails like an engine error, naming the missing recording.
    ``delay`` makes every call take that long (to test page timeouts without tesseract).
    """

    directory: str
    delay: float = 0.0
    name: str = "replay"

    def __post_init__(self) -> None:
        log.warning("OCR uses recorded outputs from %s (ReplayOcrEngine), not tesseract", self)

    def _wait(self, timeout: float) -> None:
        if self.delay > 0:
            time.sleep(min(self.delay, max(timeout, 0) + 1))
            if self.delay > timeout:
                raise OcrTimeout("the replayed OCR took too long and was stopped")

    def recognize(
        self,
        image: Path,
        *,
        key: str,
        languages: str,
        dpi: int,
        timeout: float,
        psm: int = PSM,
        noise_removal: bool = False,
    ) -> EngineOutput:
        self._wait(timeout)
        variant = _variant(languages, dpi, psm, noise_removal)
        base = Path(self.directory) / _safe(f"{key}-{variant}")
        try:
            return EngineOutput(
                text=base.with_suffix(".txt").read_text("utf-8"),
                tsv=base.with_suffix(".tsv").read_text("utf-8"),
                pdf=base.with_suffix(".pdf").read_bytes(),
            )
        except OSError as exc:
            raise OcrPageError(f"no recorded OCR output {base.name} in {self.directory}") from exc

    def orientation(
        self, image: Path, *, key: str, dpi: int, timeout: float, characters: int = 0
    ) -> Orientation | None:
        path = Path(self.directory) / _safe(f"{key}-osd.json")
        try:
            data = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise OcrPageError(f"no recorded orientation {path.name} in {self.directory}") from exc
        return None if data is None else Orientation(**data)


def worker_environment() -> None:
    """Settings of an OCR worker process: ``OMP_THREAD_LIMIT=1``, inherited by the tesseract
    processes it starts, and :func:`keep_freed_memory` for the worker itself."""
    os.environ["OMP_THREAD_LIMIT"] = "1"
    keep_freed_memory()


_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
TRIM_THRESHOLD = 1 << 30
"""Free memory at the top of the worker's heap that glibc keeps instead of giving it back."""


def keep_freed_memory() -> bool:
    """Make glibc's malloc keep the memory a page freed, for the next page, instead of giving
    it back to the kernel and taking it again (page faults: the kernel zeroes every page).

    RapidOCR's ONNX Runtime sessions allocate and free their tensors at each call (their own
    arena is off), many of them larger than glibc's threshold for ``mmap``, which starts at
    128 KiB and rises only as large blocks are freed: the first Chinese page of a worker took
    3.2 million page faults, about 14 s of system time on the shared 2-core machine (9 s of
    user time besides), and each later page about 170,000 (1 s). With every block from the
    heap (``M_MMAP_MAX`` 0) and its top kept (``M_TRIM_THRESHOLD`` 1 GiB) the first page takes
    the faults of its memory once (117,000) and later pages almost none; the peak resident size
    is the same (0.8-0.9 GB while a page is read), but the worker keeps it between pages, so
    :func:`give_back_memory` returns it when the worker has had no page for a while
    (``ingest.ocr.pool``). Tesseract runs as a program of its own and is not affected. False
    where the C library has no ``mallopt`` (not glibc)."""
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))


def give_back_memory() -> None:
    """Return the heap's free memory to the kernel (glibc's ``malloc_trim``); nothing where
    there is no such call."""
    import ctypes

    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return
    trim.argtypes = [ctypes.c_size_t]
    trim(0)
