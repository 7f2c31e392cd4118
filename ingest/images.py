"""Images (PNG, JPEG, TIFF): check them, and make the lossless PDF rendition with img2pdf.

Runs inside a worker process (``ingest.isolation``): a hostile image that makes a decoder loop
or balloon is killed there. Everything the decoders raise becomes :class:`RejectFile` with a
reason a user can act on. The image stays the original; the PDF is a derived file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.errors import RejectFile

TOOL = "img2pdf"


@dataclass(frozen=True)
class Rendition:
    pages: int
    made_by: dict[str, Any]
    """The tool, its version and the method: goes into the manifest beside the rendition."""
    details: dict[str, Any] = field(default_factory=dict)
    """What the renderer read besides (an e-mail's header fields): kept in the text document."""


def _damaged(label: str, detail: str) -> RejectFile:
    return RejectFile(
        f"damaged image: the file is {label} that cannot be decoded ({detail})",
        hint="scan or export the page again and archive the new file",
    )


def check_image(path: Path, label: str, max_pages: int) -> int:
    """Decode every frame of the image fully; the number of frames (pages)."""
    from PIL import Image, UnidentifiedImageError

    Image.MAX_IMAGE_PIXELS = 200_000_000  # a 600 dpi A0 scan; larger is refused, not decoded
    pages = 0
    try:
        with Image.open(path) as im:
            while True:
                width, height = im.size
                if width <= 0 or height <= 0:
                    raise RejectFile(
                        f"damaged image: page {pages + 1} of the file ({label}) is "
                        f"{width}x{height} pixels",
                        hint="scan or export the page again and archive the new file",
                    )
                im.load()
                pages += 1
                if pages > max_pages:
                    raise RejectFile(
                        f"the file ({label}) has more than {max_pages} pages (ARCHIVE_MAX_PAGES)",
                        hint="split it or raise ARCHIVE_MAX_PAGES",
                    )
                try:
                    im.seek(im.tell() + 1)
                except EOFError:
                    break
    except RejectFile:
        raise
    except Image.DecompressionBombError as exc:
        raise RejectFile(
            f"the file ({label}) has too many pixels to decode safely ({exc})",
            hint="scan at a lower resolution (300 dpi is enough for OCR)",
        ) from exc
    except UnidentifiedImageError as exc:
        raise _damaged(label, "not a readable image") from exc
    except Exception as exc:
        raise _damaged(label, str(exc) or type(exc).__name__) from exc
    if pages == 0:
        raise _damaged(label, "it has no pages")
    return pages


def render_image(path: Path, out: Path, label: str, max_pages: int) -> Rendition:
    """Check the image at ``path`` and write its PDF rendition to ``out`` losslessly."""
    pages = check_image(path, label, max_pages)
    import img2pdf

    try:
        data = img2pdf.convert(str(path), rotation=img2pdf.Rotation.ifvalid)
    except img2pdf.AlphaChannelError as exc:
        raise RejectFile(
            f"the file ({label}) has a transparency (alpha) channel, which a lossless PDF "
            "rendition cannot keep",
            hint="save the image without transparency (flatten it) and archive that",
        ) from exc
    except RejectFile:
        raise
    except Exception as exc:
        raise _damaged(label, f"img2pdf: {exc}") from exc
    if not isinstance(data, bytes) or not data:
        raise _damaged(label, "img2pdf made no PDF")
    with open(out, "xb") as fh:
        fh.write(data)
    return Rendition(
        pages=pages,
        made_by={
            "tool": TOOL,
            "version": str(img2pdf.__version__),
            "method": "lossless: the image data embedded unchanged or re-encoded without loss",
            "from": "original",
        },
    )
