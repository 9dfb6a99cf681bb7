"""PAdES (ETSI.CAdES.detached) signing and verification of decision PDFs with
pyHanko. No timestamp server and no network: the signing time in the signature
dictionary (/M) and in the visible stamp is the time we are given.

The visible stamp sits at the bottom right of the last page (where the
signature block of a Vietnamese administrative decision is) and shows signer,
capacity, issuing body and the signing time in ISO 8601 with +07:00. It is set
in Tinos through HarfBuzz (pyHanko's default stamp font has no Vietnamese)."""
from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import io
import logging
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.font.opentype import GlyphAccumulator, GlyphAccumulatorFactory
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.sign import fields, signers
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.stamp import TextStampStyle
from pyhanko_certvalidator import ValidationContext

log = logging.getLogger(__name__)

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")  # +07:00, no DST
FIELD_NAME = "Signature1"
DEFAULT_FONT = "/usr/share/fonts/truetype/croscore/Tinos-Regular.ttf"
STAMP_W, STAMP_H = 240, 64      # points
MARGIN_RIGHT, MARGIN_BOTTOM = 36, 40
STAMP_TEXT = ("Ký bởi: %(signer_name)s\n%(capacity)s\n%(issuer_name)s\n"
              "Thời gian ký: %(signed_at)s")


@lru_cache(maxsize=1)
def stamp_font_file() -> str:
    """Tinos (metric-compatible with Times New Roman, full Vietnamese)."""
    if Path(DEFAULT_FONT).is_file():
        return DEFAULT_FONT
    try:
        found = subprocess.run(["fc-match", "-f", "%{file}", "Tinos"], capture_output=True,
                               text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        raise RuntimeError("font Tinos not found (fonts-croscore)") from exc
    if not found or not Path(found).is_file():
        raise RuntimeError("font Tinos not found (fonts-croscore)")
    return found


def iso_vn(when: datetime) -> str:
    """ISO 8601 in Vietnam time: 2024-09-05T10:15:00+07:00. A naive datetime
    is taken to be Vietnam local time already."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=VN_TZ)
    return when.astimezone(VN_TZ).isoformat(timespec="seconds")


@lru_cache(maxsize=4)
def _font_bytes(font_file: str) -> bytes:
    return Path(font_file).read_bytes()


class _ThousandthsGlyphAccumulator(GlyphAccumulator):
    """GlyphAccumulator whose widths and HarfBuzz advances are in 1/1000 em.

    PDF glyph space (CIDFont /W, TJ adjustments) is 1/1000 text space, but
    pyHanko 0.38 writes raw font units; for fonts with unitsPerEm != 1000
    (Tinos: 2048) every glyph then advances ~2x too far and the stamp text
    comes out letter-spaced and overflowing. Shaping at scale 1000 and scaling
    the hmtx widths makes both consistent."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._font_upem = self.units_per_em
        if self._font_upem != 1000:
            self.hb_font.scale = (1000, 1000)
            self.units_per_em = 1000

    def _get_cid_and_width(self, glyph_id: int) -> tuple[int, int]:
        try:
            return self._glyphs[glyph_id]
        except KeyError:
            pass
        cid, width = super()._get_cid_and_width(glyph_id)
        result = cid, round(width * 1000 / self._font_upem)
        self._glyphs[glyph_id] = result
        return result


@dataclass(frozen=True)
class InMemoryGlyphAccumulatorFactory(GlyphAccumulatorFactory):
    """GlyphAccumulatorFactory that hands HarfBuzz/fontTools an in-memory copy
    of the font: the stock factory opens the file and never closes it
    (ResourceWarning, an error under this repo's pytest settings)."""

    def create_font_engine(self, writer, obj_stream=None) -> GlyphAccumulator:
        if obj_stream is None and writer.stream_xrefs and self.create_objstream_if_needed:
            obj_stream = writer.prepare_object_stream()
        return _ThousandthsGlyphAccumulator(
            writer=writer, font_handle=io.BytesIO(_font_bytes(self.font_file)),
            font_size=self.font_size, ot_script_tag=self.ot_script_tag,
            ot_language_tag=self.ot_language_tag, writing_direction=self.writing_direction,
            bcp47_lang_code=self.bcp47_lang_code, obj_stream=obj_stream)


def stamp_style(font_file: str | None = None, font_size: int = 8) -> TextStampStyle:
    return TextStampStyle(
        stamp_text=STAMP_TEXT,
        text_box_style=TextBoxStyle(
            font=InMemoryGlyphAccumulatorFactory(font_file or stamp_font_file(), font_size=font_size),
            font_size=font_size,  # must equal the engine's size (pyHanko #733: lines drift)
            leading=font_size + 3),
        border_width=1,
    )


class _FixedTimePdfSigner(signers.PdfSigner):
    """PdfSigner whose session time (/M, stamp) is the time we are given
    rather than "now" (pyHanko has no public knob for it)."""

    def __init__(self, *args, signing_time: datetime, **kwargs):
        super().__init__(*args, **kwargs)
        self._signing_time = signing_time

    def init_signing_session(self, pdf_out, existing_fields_only=False):
        session = super().init_signing_session(pdf_out, existing_fields_only=existing_fields_only)
        session.system_time = self._signing_time
        return session


def _last_page_box(writer: IncrementalPdfFileWriter) -> tuple[float, float, float, float]:
    page = writer.find_page_for_modification(-1)[0].get_object()
    node, box = page, None
    while node is not None and box is None:  # /MediaBox is inheritable
        box = node.get("/MediaBox")
        node = node.get("/Parent")
        node = node.get_object() if node is not None else None
    if box is None:
        return (0.0, 0.0, 595.28, 841.89)  # A4
    return tuple(float(v) for v in box)  # type: ignore[return-value]


def stamp_box(writer: IncrementalPdfFileWriter) -> tuple[int, int, int, int]:
    _x0, y0, x1, _y1 = _last_page_box(writer)
    right = int(x1 - MARGIN_RIGHT)
    bottom = int(y0 + MARGIN_BOTTOM)
    return (right - STAMP_W, bottom, right, bottom + STAMP_H)


def sign_pdf(pdf: bytes, key_path, cert_path, chain_paths: Iterable = (), **kw) -> bytes:
    """Return ``pdf`` with a PAdES B-B signature (incremental update) in field
    Signature1 and a visible stamp on the last page (``box`` in PDF points,
    default bottom right). Keyword arguments: see _sign_pdf."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _sign_pdf(pdf, key_path, cert_path, chain_paths, **kw)
    # pyHanko's synchronous API calls asyncio.run(), which cannot run inside a
    # running event loop (e.g. a caller driven by an async framework): sign in
    # a worker thread of our own instead.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(_sign_pdf, pdf, key_path, cert_path, chain_paths, **kw).result()


def _sign_pdf(pdf: bytes, key_path, cert_path, chain_paths: Iterable = (), *,
              signer_name: str, capacity: str, issuer_name: str, signing_time: datetime,
              box: tuple[int, int, int, int] | None = None, reason: str | None = None,
              key_passphrase: bytes | None = None) -> bytes:
    if signing_time.tzinfo is None:
        signing_time = signing_time.replace(tzinfo=VN_TZ)
    signing_time = signing_time.astimezone(VN_TZ)
    signer = signers.SimpleSigner.load(
        str(key_path), str(cert_path), ca_chain_files=tuple(str(p) for p in chain_paths),
        key_passphrase=key_passphrase)
    if signer is None:
        raise ValueError(f"could not load signing key/certificate {key_path} / {cert_path}")
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME, subfilter=fields.SigSeedSubFilter.PADES, md_algorithm="sha256",
        name=signer_name, reason=reason, location=issuer_name)
    pdf_signer = _FixedTimePdfSigner(
        meta, signer, stamp_style=stamp_style(),
        new_field_spec=fields.SigFieldSpec(FIELD_NAME, on_page=-1, box=box or stamp_box(writer)),
        signing_time=signing_time)
    out = pdf_signer.sign_pdf(writer, appearance_text_params={
        "signer_name": signer_name, "capacity": capacity, "issuer_name": issuer_name,
        "signed_at": iso_vn(signing_time)})
    return out.getvalue()


@dataclass
class SignatureCheck:
    valid: bool            # everything holds: intact, cryptographically valid, trusted, no forbidden changes
    intact: bool           # the signed byte range hashes to the signed digest
    trusted: bool          # the signer's chain ends at the given root
    signer: str | None     # common name of the signing certificate
    signing_time: datetime | None  # /M claimed by the signer (not a trusted timestamp)
    reason: str            # human-readable summary or the error


def _cn(cert) -> str | None:
    try:
        return cert.subject.native.get("common_name")
    except (AttributeError, KeyError, ValueError):  # pragma: no cover - defensive
        return None


def verify_pdf(pdf: bytes, root_cert_path, *, other_roots: Sequence = ()) -> SignatureCheck:
    """Validate every signature in ``pdf`` against the root certificate(s); the
    result describes the last one (and is valid only if all are)."""
    try:
        roots = [load_cert_from_pemder(str(root_cert_path))]
        roots += [load_cert_from_pemder(str(p)) for p in other_roots]
        reader = PdfFileReader(io.BytesIO(pdf))
        embedded = reader.embedded_signatures
    except Exception as exc:  # noqa: BLE001 - unreadable PDF or root: a verdict, not a crash
        return SignatureCheck(False, False, False, None, None, f"unreadable: {exc}")
    if not embedded:
        return SignatureCheck(False, False, False, None, None, "no signature")
    check = None
    all_ok = True
    for sig in embedded:
        vc = ValidationContext(trust_roots=roots, allow_fetching=False)
        try:
            status = validate_pdf_signature(sig, vc)
        except Exception as exc:  # noqa: BLE001 - malformed CMS, broken byte range: a verdict, not a crash
            log.info("signature %s does not validate: %s", sig.field_name, exc)
            check = SignatureCheck(False, False, False, None, None, f"{type(exc).__name__}: {exc}")
            all_ok = False
            continue
        ok = bool(status.bottom_line)
        all_ok = all_ok and ok
        check = SignatureCheck(
            valid=ok, intact=bool(status.intact), trusted=bool(status.trusted),
            signer=_cn(status.signing_cert), signing_time=status.signer_reported_dt,
            reason=status.summary())
    assert check is not None
    check.valid = check.valid and all_ok
    return check
