"""Render a print template from plain data to PDF bytes, fetching only our own assets.

Why the restrictions:
- Templates get plain values only (``ensure_plain``): an ORM object in a template can
  lazy-load, leak fields, or change between preview and signing. The caller builds a dict.
- Autoescape is always on and the URL fetcher serves only ``assets/``: dossier data is
  typed by commune clerks, so a village name like ``<img src="file:///etc/passwd">``
  must print as text and must never make the server read a file or call a URL.
"""
from __future__ import annotations

import base64
import binascii
import logging
import mimetypes
import re
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote_to_bytes, urlsplit
from urllib.request import url2pathname

import jinja2
from weasyprint import HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

log = logging.getLogger(__name__)

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"
ASSETS_DIR = Path(__file__).resolve().parent / "assets"
# Relative URLs in print templates (``href="decision.css"``) resolve against this.
ASSETS_URL = ASSETS_DIR.as_uri() + "/"

# Exact types, not isinstance: subclasses carry behaviour we do not want in a
# template. markupsafe.Markup is a str subclass that would switch escaping off;
# str-enums and ORM column types render differently from what the caller checked.
_SCALAR_TYPES = frozenset({str, int, float, bool, type(None), date, datetime})
_SEQUENCE_TYPES = frozenset({list, tuple})
_MAX_DEPTH = 32  # a context is a shallow tree; deeper means a cycle or a mistake

# data: URIs are allowed for raster images only. They fetch nothing, and the coming
# e-signature step needs the signer's signature and the seal, which live in the
# database, not in assets/. Anything else (SVG, CSS, HTML in data:) is refused,
# because SVG and CSS can themselves reference further URLs.
_DATA_IMAGE_TYPES = frozenset({"image/png", "image/jpeg"})


# WeasyPrint breaks a run with no break opportunity by laying out the rest of the run
# again for every line: quadratic (a 20,000-character name took 45 s). A zero-width
# space every _SOFT_WRAP characters gives it ordinary break points; it prints nothing.
_SOFT_WRAP = 100
_LONG_RUN = re.compile(r"\S{%d}(?=\S)" % _SOFT_WRAP)


# An element with data-pdf-slot="NAME" is measured after layout (see layout_pdf): the
# decision's signature slot tells the signer where to put the PAdES widget.
SLOT_ATTRIBUTE = "data-pdf-slot"
_PX_TO_PT = 0.75  # CSS px are 1/96 in, PDF points 1/72 in


class AssetFetchError(RuntimeError):
    """A print template asked for a resource outside the asset folder."""


class LayoutIncomplete(RuntimeError):
    """WeasyPrint reported an error it then worked around (an image that would not
    decode, a stylesheet that would not load): the document would be issued without
    it, e.g. a decision without its seal or QR code. Refused instead (worker.py: 503)."""


class _Errors(logging.Handler):
    """Collects what WeasyPrint logs at ERROR and above during one layout."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage()[:300])


@dataclass(frozen=True)
class Slot:
    """Border box of a marked element: page index (0-based) and PDF points, origin at
    the bottom left of the page, as pyHanko wants a field's box."""

    page: int
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def box(self) -> tuple[float, float, float, float]:
        return (self.x0, self.y0, self.x1, self.y1)


@dataclass(frozen=True)
class RenderedPdf:
    pdf: bytes
    slots: dict[str, Slot]
    worker_pid: int  # the process that laid it out


def ensure_plain(value: object, where: str = "context", _depth: int = 0) -> None:
    """Raise ValueError unless ``value`` is built only from plain types."""
    if _depth > _MAX_DEPTH:
        raise ValueError(f"{where}: nested deeper than {_MAX_DEPTH} levels")
    kind = type(value)
    if kind in _SCALAR_TYPES:
        return
    if kind is dict:
        for key, item in value.items():  # type: ignore[attr-defined]
            if type(key) is not str:
                raise ValueError(f"{where}: dict keys must be str, got {type(key).__name__}")
            ensure_plain(item, f"{where}[{key!r}]", _depth + 1)
        return
    if kind in _SEQUENCE_TYPES:
        for index, item in enumerate(value):  # type: ignore[call-overload]
            ensure_plain(item, f"{where}[{index}]", _depth + 1)
        return
    raise ValueError(
        f"{where} is a {kind.__module__}.{kind.__qualname__}; PDF templates take plain "
        "values only (str, int, float, bool, None, date, datetime, list, tuple, dict)"
    )


class LocalAssetFetcher(URLFetcher):
    """WeasyPrint fetcher that serves files under ASSETS_DIR and refuses the rest.

    ``fail_on_errors=True`` turns a refusal into a failed render instead of a logged
    warning: a decision that silently lost its stylesheet or seal is worse than none.
    """

    def __init__(self) -> None:
        super().__init__(allow_redirects=False, fail_on_errors=True)

    def fetch(self, url: str, headers: dict | None = None) -> URLFetcherResponse:
        scheme = url.partition(":")[0].lower()
        if scheme == "file":
            return self._fetch_asset(url)
        if scheme == "data":
            return self._fetch_data_image(url)
        raise PermissionError(f"refused to fetch {_short(url)}: only asset files are served")

    @staticmethod
    def _fetch_asset(url: str) -> URLFetcherResponse:
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            raise PermissionError(f"refused to fetch {_short(url)}: remote file URL")
        # resolve() follows symlinks and "..", so the containment check sees the real file.
        path = Path(url2pathname(parts.path)).resolve()
        root = ASSETS_DIR.resolve()
        if not path.is_relative_to(root) or not path.is_file():
            raise PermissionError(f"refused to fetch {_short(url)}: not a file in {root}")
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(path.as_uri(), path.read_bytes(), {"Content-Type": mime})

    @staticmethod
    def _fetch_data_image(url: str) -> URLFetcherResponse:
        header, _, payload = url[len("data:"):].partition(",")
        mime, *params = header.split(";")
        if mime.lower() not in _DATA_IMAGE_TYPES or params != ["base64"]:
            raise PermissionError(f"refused data URI {_short(url)}: base64 PNG/JPEG only")
        try:
            body = base64.b64decode(unquote_to_bytes(payload), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise PermissionError("refused data URI: invalid base64") from exc
        return URLFetcherResponse("data:", body, {"Content-Type": mime.lower()})


def _short(url: str, limit: int = 120) -> str:
    """Quote a URL for an error message without echoing a 20 kB hostile string."""
    return repr(url if len(url) <= limit else url[:limit] + "…")


def _soft_wrap(value: object) -> object:
    """Jinja ``finalize`` hook: add break opportunities to very long runs of text.

    Only exact ``str`` (values from the context): Markup from filters is left alone, as
    a zero-width space could land inside an HTML entity. Templates therefore loop
    rather than ``join`` values.
    """
    if type(value) is str and len(value) > _SOFT_WRAP:
        return _LONG_RUN.sub(lambda match: match.group(0) + "\u200b", value)
    return value


@lru_cache(maxsize=1)
def _jinja_env() -> jinja2.Environment:
    # autoescape=True for every template, whatever its extension; StrictUndefined so a
    # missing value fails the render instead of leaving a blank in an official document.
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        finalize=_soft_wrap,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def html_to_pdf(html: str) -> bytes:
    """Lay out trusted template output in this process; raises AssetFetchError on a
    refused URL. The app renders through the worker (printing.render_pdf) instead."""
    return layout_pdf(html)[0]


def layout_pdf(html: str) -> tuple[bytes, dict[str, Slot]]:
    """Lay out trusted template output: the PDF and the position of every slot.

    Laid out once: the slots are read from the same rendered document that is written.
    In a render worker (``enable_process_caches``) the font configuration is shared by
    the process's documents, as an in-process renderer would keep it.
    """
    errors = _Errors()
    weasyprint_log = logging.getLogger("weasyprint")
    weasyprint_log.addHandler(errors)
    try:
        document = HTML(string=html, base_url=ASSETS_URL, url_fetcher=LocalAssetFetcher()).render(
            font_config=_process_font_config())
        slots = find_slots(document)
        pdf = document.write_pdf()
    except FatalURLFetchingError as exc:  # a BaseException: convert before it escapes
        raise AssetFetchError(str(exc)) from exc.__cause__
    finally:
        weasyprint_log.removeHandler(errors)
    if errors.messages:
        raise LayoutIncomplete("; ".join(errors.messages))
    return pdf, slots


# --- per-process caches of a render worker ---------------------------------------------
#
# A worker lays out one document after another until it is recycled. Left alone,
# WeasyPrint builds a new FontConfiguration (fontconfig + Pango font map, ~4 ms, and
# every font looked up again) for every document. enable_process_caches() keeps one for
# the life of the process (render(font_config=...) is WeasyPrint's public way to share
# it). The app process never enables it (its memory must stay flat, see worker.py); the
# worker's lifetime bounds what it holds.

_font_config = None


def _process_font_config():
    return _font_config


def enable_process_caches() -> None:
    """Called once by a render worker at start; see the comment above."""
    global _font_config

    if _font_config is None:
        _font_config = FontConfiguration()


def find_slots(document) -> dict[str, Slot]:
    """Border boxes of the elements marked with data-pdf-slot, read from WeasyPrint's
    laid-out boxes (CSS px from the page's top left) and turned into PDF points.

    A slot split over two pages keeps its first part: slots are meant to be kept whole
    (break-inside: avoid) and the signature block is.
    """
    slots: dict[str, Slot] = {}
    for index, page in enumerate(document.pages):
        height = page.height
        for box in page._page_box.descendants():  # no public API for laid-out positions
            element = getattr(box, "element", None)
            if element is None or getattr(box, "element_tag", None) is None:
                continue
            name = element.get(SLOT_ATTRIBUTE)
            if not name or name in slots or not hasattr(box, "border_box_x"):
                continue
            x, y = box.border_box_x(), box.border_box_y()
            width, box_height = box.border_width(), box.border_height()
            slots[name] = Slot(
                page=index,
                x0=round(x * _PX_TO_PT, 2),
                y0=round((height - y - box_height) * _PX_TO_PT, 2),
                x1=round((x + width) * _PX_TO_PT, 2),
                y1=round((height - y) * _PX_TO_PT, 2),
            )
    return slots


def render_html(template_name: str, context: dict, watermark: str = "") -> str:
    """``templates/<template_name>`` with ``context``, checked, as HTML text.

    Only templates under ``pdf/`` are accepted: web templates may carry scripts and
    external links that have no place in (and would fail) a print render.
    """
    if not template_name.startswith("pdf/"):
        raise ValueError(f"not a print template: {template_name!r} (expected pdf/...)")
    if type(context) is not dict:
        raise ValueError(f"context must be a dict, got {type(context).__name__}")
    ensure_plain(context)
    # The demo marker ("MẪU") is the app's setting (printing.watermark), not the document's.
    return _jinja_env().get_template(template_name).render({"watermark": watermark, **context})
