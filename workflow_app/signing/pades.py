"""PAdES (ETSI.CAdES.detached) signing and verification of decision PDFs with
pyHanko. No timestamp server and no network: the signing time in the signature
dictionary (/M) and in the visible stamp is the time we are given.

The visible stamp shows signer, capacity, issuing body and the signing time in
ISO 8601 with +07:00, set in Tinos through HarfBuzz (pyHanko's default stamp font
has no Vietnamese). Given a ``box`` (and ``page``) it covers the template's
signature slot, borderless, with the text confined to ``text_box`` (the slot's
text area, the seal and signature images being drawn beside it by the page
itself); without one it is a framed box at the bottom right of the last page."""
from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import subprocess
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from asn1crypto import pem
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from fontTools import subset, ttLib
from pyhanko.keys import load_cert_from_pemder, load_certs_from_pemder_data
from pyhanko.keys.internal import translate_pyca_cryptography_key_to_asn1
from pyhanko.pdf_utils import generic, layout
from pyhanko.pdf_utils.font.opentype import (
    CIDFontType2,
    GlyphAccumulator,
    GlyphAccumulatorFactory,
)
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.sign import fields, signers
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.stamp import TextStampStyle
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

from ..clock import local_iso, to_local

log = logging.getLogger(__name__)

FIELD_NAME = "Signature1"
DEFAULT_FONT = "/usr/share/fonts/truetype/croscore/Tinos-Regular.ttf"
STAMP_W, STAMP_H = 240, 64      # points
MARGIN_RIGHT, MARGIN_BOTTOM = 36, 40
STAMP_TEXT = ("Ký bởi: %(signer_name)s\n%(capacity)s\n%(issuer_name)s\n"
              "Thời gian ký: %(signed_at)s")
# In a slot the text area is narrow (~38 mm): the time goes on a line of its own.
SLOT_STAMP_TEXT = ("Ký bởi: %(signer_name)s\n%(capacity)s\n%(issuer_name)s\n"
                   "Thời gian ký:\n%(signed_at)s")
SLOT_FONT_SIZE = 7  # points; shrunk further if a long name does not fit the text area


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


# ISO 8601 in Vietnam time (2024-09-05T10:15:00+07:00); a naive datetime is UTC, as stored.
iso_vn = local_iso


@lru_cache(maxsize=4)
def _font_bytes(font_file: str) -> bytes:
    return Path(font_file).read_bytes()


# What a stamp is written in: Vietnamese and other Latin letters, digits, punctuation.
# Tinos has 3,285 glyphs (Greek, Cyrillic, Hebrew ...); a stamp uses ~40 of them.
_CUT_RANGES = ((0x20, 0x7E), (0xA0, 0x24F), (0x2B0, 0x36F), (0x1E00, 0x1EFF),
               (0x2000, 0x206F), (0x20A0, 0x20CF), (0x2100, 0x214F))
# Tables pyHanko drops from the embedded subset anyway (HarfBuzz shapes with its own
# copy of the font); fontTools would still read and prune them first, which is most
# of the cost of subsetting Tinos (its GPOS alone is ~100 kB).
_LAYOUT_TABLES = ("GPOS", "GSUB", "GDEF")


@lru_cache(maxsize=4)
def _cut_font(font_file: str) -> tuple[bytes, frozenset[int]]:
    """The font cut down to _CUT_RANGES (and what its layout rules reach), glyph ids
    retained, hinting, metrics and layout tables kept: what HarfBuzz shapes with it and
    what fontTools subsets from it are the same glyphs, at the same ids, with the same
    advances and kerning as in the full font, for a fraction of the parsing. Made once
    per process and font; returns (font bytes, the code points it covers)."""

    tt = ttLib.TTFont(io.BytesIO(_font_bytes(font_file)))
    wanted = {cp for lo, hi in _CUT_RANGES for cp in range(lo, hi + 1)}
    covered = frozenset(wanted & set(tt.getBestCmap()))
    options = subset.Options(retain_gids=True, layout_features=["*"], name_IDs=["*"],
                             name_languages=["*"], name_legacy=True, notdef_outline=True,
                             glyph_names=True, legacy_kern=True, prune_unicode_ranges=False,
                             recalc_bounds=False, recalc_max_context=False, drop_tables=[])
    subsetter = subset.Subsetter(options=options)
    subsetter.populate(unicodes=covered)
    subsetter.subset(tt)
    out = io.BytesIO()
    tt.save(out)
    tt.close()
    return out.getvalue(), covered


def _stamp_font(font_file: str, text: str | None) -> tuple[bytes, tuple[str, str]]:
    """The cut copy when it covers every character of ``text``, else the full font;
    with a key naming which (for the cache of embedded subsets)."""
    if text is not None:
        cut, covered = _cut_font(font_file)
        if all(ord(ch) in covered for ch in text if ch not in "\r\n"):
            return cut, (font_file, "cut")
    return _font_bytes(font_file), (font_file, "full")


class _ThousandthsGlyphAccumulator(GlyphAccumulator):
    """GlyphAccumulator whose widths and HarfBuzz advances are in 1/1000 em.

    PDF glyph space (CIDFont /W, TJ adjustments) is 1/1000 text space, but
    pyHanko 0.38 writes raw font units; for fonts with unitsPerEm != 1000
    (Tinos: 2048) every glyph then advances ~2x too far and the stamp text
    comes out letter-spaced and overflowing. Shaping at scale 1000 and scaling
    the hmtx widths makes both consistent."""

    def __init__(self, *args, font_key=None, **kwargs):
        super().__init__(*args, **kwargs)
        self._font_upem = self.units_per_em
        if self._font_upem != 1000:
            self.hb_font.scale = (1000, 1000)
            self.units_per_em = 1000
        self._font_key = font_key
        self._subset_options = None
        if font_key is not None and isinstance(self.cidfont_obj, CIDFontType2):
            base_ps_name = self.cidfont_obj.name.split("+", 1)[1]
            self.cidfont_obj = _ProgramCIDFontType2(self.tt, base_ps_name, self.subset_prefix,
                                                    program=self._font_program)

    def _get_cid_and_width(self, glyph_id: int) -> tuple[int, int]:
        try:
            return self._glyphs[glyph_id]
        except KeyError:
            pass
        cid, width = super()._get_cid_and_width(glyph_id)
        result = cid, round(width * 1000 / self._font_upem)
        self._glyphs[glyph_id] = result
        return result

    def _extract_subset(self, options=None):
        if self._font_key is not None:  # deferred to _font_program, skipped when cached
            self._subset_options = options
            return
        self._subset(options)

    def _subset(self, options=None):
        for tag in _LAYOUT_TABLES:  # dropped from the subset anyway: do not parse them
            if tag in self.tt:
                del self.tt[tag]
        super()._extract_subset(options)

    def _font_program(self) -> bytes:
        """The embedded font file (FlateDecode-encoded) of the glyphs used. The subset
        depends only on the font and the glyph ids, and a district's stamps use the
        same few dozen glyphs: made once per process and glyph set."""
        key = (self._font_key, frozenset(self._glyphs))
        with _programs_lock:
            program = _FONT_PROGRAMS.get(key)
            if program is not None:
                _FONT_PROGRAMS.move_to_end(key)
                return program
        self._subset(self._subset_options)
        out = io.BytesIO()
        self.tt.save(out)
        stream = generic.StreamObject(stream_data=out.getvalue())
        stream.compress()
        program = stream.encoded_data
        with _programs_lock:
            _FONT_PROGRAMS[key] = program
            while len(_FONT_PROGRAMS) > _FONT_PROGRAMS_MAX:
                _FONT_PROGRAMS.popitem(last=False)
        return program


_FONT_PROGRAMS: OrderedDict[tuple, bytes] = OrderedDict()
_FONT_PROGRAMS_MAX = 64  # a subset of Tinos for a stamp is ~23 kB compressed
_programs_lock = threading.Lock()


class _ProgramCIDFontType2(CIDFontType2):
    """CIDFontType2 whose font file comes from ``program()`` (already encoded)
    instead of saving the (subset) TTFont on every signature."""

    def __init__(self, tt, base_ps_name, subset_prefix, *, program):
        super().__init__(tt, base_ps_name, subset_prefix)
        self._program = program

    def set_font_file(self, writer):
        font_stream = generic.StreamObject({generic.NameObject("/Filter"): generic.NameObject("/FlateDecode")},
                                           encoded_data=self._program())
        font_stream_ref = writer.add_object(font_stream)
        self._font_descriptor[generic.NameObject("/FontFile2")] = font_stream_ref
        return font_stream_ref


@dataclass(frozen=True)
class InMemoryGlyphAccumulatorFactory(GlyphAccumulatorFactory):
    """GlyphAccumulatorFactory that hands HarfBuzz/fontTools an in-memory copy
    of the font: the stock factory opens the file and never closes it
    (ResourceWarning, an error under this repo's pytest settings). Given the
    ``text`` to be set, it uses the font's cut copy when that covers the text."""

    text: str | None = field(default=None, compare=False)

    def create_font_engine(self, writer, obj_stream=None) -> GlyphAccumulator:
        if obj_stream is None and writer.stream_xrefs and self.create_objstream_if_needed:
            obj_stream = writer.prepare_object_stream()
        font, key = _stamp_font(self.font_file, self.text)
        return _ThousandthsGlyphAccumulator(
            writer=writer, font_handle=io.BytesIO(font), font_key=key,
            font_size=self.font_size, ot_script_tag=self.ot_script_tag,
            ot_language_tag=self.ot_language_tag, writing_direction=self.writing_direction,
            bcp47_lang_code=self.bcp47_lang_code, obj_stream=obj_stream)


def stamp_style(font_file: str | None = None, font_size: int = 8, *, text: str | None = None) -> TextStampStyle:
    """``text``: the stamp text as it will be set (picks the cut font when it covers it)."""
    return TextStampStyle(
        stamp_text=STAMP_TEXT,
        text_box_style=TextBoxStyle(
            font=InMemoryGlyphAccumulatorFactory(font_file or stamp_font_file(), font_size=font_size,
                                                 text=text),
            font_size=font_size,  # must equal the engine's size (pyHanko #733: lines drift)
            leading=font_size + 3),
        border_width=1,
    )


def slot_stamp_style(box: Sequence[float], text_box: Sequence[float],
                     font_file: str | None = None, font_size: int = SLOT_FONT_SIZE, *,
                     text: str | None = None) -> TextStampStyle:
    """No frame (the slot holds the seal and signature images); the text left-aligned
    and vertically centred in ``text_box``, shrunk to fit it, never enlarged."""
    x0, y0, x1, y1 = box
    tx0, ty0, tx1, ty1 = text_box
    if not (x0 <= tx0 < tx1 <= x1 and y0 <= ty0 < ty1 <= y1):
        raise ValueError(f"text box {tuple(text_box)} is not inside the stamp box {tuple(box)}")
    margins = layout.Margins(left=int(round(tx0 - x0)), right=int(round(x1 - tx1)),
                             top=int(round(y1 - ty1)), bottom=int(round(ty0 - y0)))
    return TextStampStyle(
        stamp_text=SLOT_STAMP_TEXT,
        text_box_style=TextBoxStyle(
            font=InMemoryGlyphAccumulatorFactory(font_file or stamp_font_file(), font_size=font_size,
                                                 text=text),
            font_size=font_size,
            leading=font_size + 2),
        inner_content_layout=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MIN, y_align=layout.AxisAlignment.ALIGN_MID,
            margins=margins, inner_content_scaling=layout.InnerScaling.SHRINK_TO_FIT),
        border_width=0,
    )


class _FixedTimePdfSigner(signers.PdfSigner):
    """PdfSigner whose session time (/M, stamp) is the time we are given
    rather than "now" (pyHanko has no public knob for it). ``on_estimate``, if
    given, is told the space pyHanko reserves for the signature when it sizes it
    by a trial signature (so that the next signature can skip the trial)."""

    def __init__(self, *args, signing_time: datetime, on_estimate=None, **kwargs):
        super().__init__(*args, **kwargs)
        self._signing_time = signing_time
        self._on_estimate = on_estimate

    def init_signing_session(self, pdf_out, existing_fields_only=False):
        session = super().init_signing_session(pdf_out, existing_fields_only=existing_fields_only)
        session.system_time = self._signing_time
        if self._on_estimate is not None:
            estimate, report = session.estimate_signature_container_size, self._on_estimate

            async def estimate_and_report(*args, **kwargs):
                size = await estimate(*args, **kwargs)
                report(size)
                return size

            session.estimate_signature_container_size = estimate_and_report
        return session


class _LoadedKeySigner(signers.SimpleSigner):
    """SimpleSigner that keeps the parsed private key: the stock one parses the
    key again (with OpenSSL's RSA consistency check, ~40 ms) for every signature,
    the trial one included."""

    def __init__(self, *args, private_key, **kwargs):
        super().__init__(*args, **kwargs)
        self._private_key = private_key

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm)
        try:
            name = mechanism.signature_algo
        except ValueError:
            name = mechanism["algorithm"].native
        if name == "rsassa_pkcs1v15" and isinstance(self._private_key, RSAPrivateKey):
            return self._private_key.sign(data, PKCS1v15(), get_pyca_cryptography_hash(digest_algorithm))
        return super().sign_raw(data, digest_algorithm)  # PSS, EC, EdDSA: pyHanko's own way


@dataclass
class _LoadedSigner:
    signer: signers.SimpleSigner
    bytes_reserved: int | None = None  # learnt from the first signature's trial


_SIGNERS: OrderedDict[bytes, _LoadedSigner] = OrderedDict()
_SIGNERS_MAX = 16
_signers_lock = threading.Lock()


def _loaded_signer(key_path, cert_path, chain_paths: Sequence, key_passphrase: bytes | None) -> _LoadedSigner:
    """The signer for these files, parsed once per process and file contents (a
    replaced key or certificate is a new entry; reading three small files per
    signature is cheap, parsing and checking an RSA key is not)."""
    paths = [Path(key_path), Path(cert_path), *(Path(p) for p in chain_paths)]
    try:
        blobs = [p.read_bytes() for p in paths]
    except OSError as exc:
        raise ValueError(f"could not load signing key/certificate {key_path} / {cert_path}") from exc
    fingerprint = hashlib.sha256()
    for blob in [*blobs, key_passphrase or b""]:
        fingerprint.update(len(blob).to_bytes(8, "big"))
        fingerprint.update(blob)
    cache_key = fingerprint.digest()
    with _signers_lock:
        loaded = _SIGNERS.get(cache_key)
        if loaded is not None:
            _SIGNERS.move_to_end(cache_key)
            return loaded
    try:
        # As pyHanko's SimpleSigner.load reads a key (PEM or DER), but once.
        load = serialization.load_pem_private_key if pem.detect(blobs[0]) else serialization.load_der_private_key
        private_key = load(blobs[0], password=key_passphrase)
        cert = next(iter(load_certs_from_pemder_data(blobs[1])))
        chain = [c for blob in blobs[2:] for c in load_certs_from_pemder_data(blob)]
    except (ValueError, TypeError) as exc:
        raise ValueError(f"could not load signing key/certificate {key_path} / {cert_path}") from exc
    registry = SimpleCertificateStore()
    registry.register_multiple(chain)
    signer = _LoadedKeySigner(signing_cert=cert, signing_key=translate_pyca_cryptography_key_to_asn1(private_key),
                              cert_registry=registry, private_key=private_key)
    loaded = _LoadedSigner(signer)
    with _signers_lock:
        _SIGNERS[cache_key] = loaded
        while len(_SIGNERS) > _SIGNERS_MAX:
            _SIGNERS.popitem(last=False)
    return loaded


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
    Signature1 and a visible stamp: on page ``page`` (0-based, default the last)
    at ``box`` (PDF points, origin bottom left; default bottom right), its text in
    ``text_box`` when given (see slot_stamp_style). Keyword arguments: see _sign_pdf."""
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
              box: Sequence[float] | None = None, page: int = -1,
              text_box: Sequence[float] | None = None, reason: str | None = None,
              key_passphrase: bytes | None = None) -> bytes:
    signing_time = to_local(signing_time)  # a naive time is UTC, as everywhere (clock.py)
    loaded = _loaded_signer(key_path, cert_path, tuple(chain_paths), key_passphrase)
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME, subfilter=fields.SigSeedSubFilter.PADES, md_algorithm="sha256",
        name=signer_name, reason=reason, location=issuer_name)
    params = {"signer_name": signer_name, "capacity": capacity, "issuer_name": issuer_name,
              "signed_at": iso_vn(signing_time)}
    slot = box is not None and text_box is not None
    text = (SLOT_STAMP_TEXT if slot else STAMP_TEXT) % params
    if box is None:
        box, page, style = stamp_box(writer), -1, stamp_style(text=text)
    else:
        box = tuple(float(v) for v in box)
        style = slot_stamp_style(box, text_box, text=text) if slot else stamp_style(text=text)
    # The space for the signature: pyHanko sizes it with a trial signature (a second
    # RSA operation and CMS encoding). The size depends only on the signer's key and
    # certificates, so the first signature's estimate (+50% margin) serves the next.
    reserved = loaded.bytes_reserved

    def remember(size: int) -> None:
        loaded.bytes_reserved = size

    pdf_signer = _FixedTimePdfSigner(
        meta, loaded.signer, stamp_style=style,
        new_field_spec=fields.SigFieldSpec(FIELD_NAME, on_page=page, box=box),
        signing_time=signing_time, on_estimate=remember if reserved is None else None)
    out = pdf_signer.sign_pdf(writer, appearance_text_params=params, bytes_reserved=reserved)
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
