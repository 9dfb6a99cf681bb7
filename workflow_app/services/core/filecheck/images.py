"""PNG and JPEG files: walked chunk by chunk (PNG) and segment by segment (JPEG) from the
signature to the end marker, with nothing after it; no critical PNG chunk but the four
of the standard; the pixel data inflated; no HTML, SVG or script in any chunk (pixel data
included, once inflated), comment or metadata."""
from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

from ....workflow.errors import RuleRefused
from .markup import MarkupScan, find_markup

# Larger than phone photos (up to ~50 Mpx) and under Pillow's own bomb warning (89 Mpx).
MAX_PIXELS = 80_000_000
_MAX_TEXT = 1024 * 1024  # a compressed text chunk inflated beyond this is not a caption
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# colour type -> (allowed bit depths, samples per pixel)
_PNG_COLOUR = {0: ((1, 2, 4, 8, 16), 1), 2: ((8, 16), 3), 3: ((1, 2, 4, 8), 1), 4: ((8, 16), 2), 6: ((8, 16), 4)}
_CRITICAL = {b"IHDR", b"PLTE", b"IDAT", b"IEND"}


class _Bad(Exception):
    """What is wrong, for the log; the user gets one message per type."""


def _refuse(kind: str) -> RuleRefused:
    return RuleRefused(
        f"Tệp ảnh {kind} này không hợp lệ (dữ liệu ảnh bị hỏng hoặc có nội dung khác ngoài ảnh, ví dụ HTML "
        f"hay mã lệnh). Hãy mở ảnh bằng phần mềm xem ảnh, lưu lại thành tệp {kind} mới (hoặc chụp lại) "
        "rồi tải lên.",
        f"This {kind} image is not valid (its image data is broken or it holds something other than the "
        f"image, such as HTML or script). Open it in an image viewer, save it as a new {kind} file (or take "
        "the photo again) and upload that.")


def check_png(data: bytes) -> None:
    try:
        _walk_png(data)
    except (_Bad, zlib.error, struct.error) as exc:
        raise _refuse("PNG") from exc


def check_jpeg(data: bytes) -> None:
    try:
        _walk_jpeg(data)
        with Image.open(io.BytesIO(data), formats=["JPEG"]) as img:
            img.draft("RGB", (max(1, img.width // 8), max(1, img.height // 8)))  # every scan read, 1/64 of the memory
            img.load()
    except (_Bad, OSError, SyntaxError, ValueError, struct.error) as exc:
        raise _refuse("JPEG") from exc


def _walk_png(data: bytes) -> None:
    if not data.startswith(_PNG_SIGNATURE):
        raise _Bad("signature")
    pos, first, seen_idat, ended, seen = 8, True, False, False, set()
    pixels = _PixelData()
    last = None
    while pos < len(data):
        length, ctype = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        if length > 0x7FFFFFFF or len(body) != length or not ctype.isalpha() or zlib.crc32(ctype + body) != crc:
            raise _Bad(f"chunk {ctype!r} at {pos}")
        pos += 12 + length
        if first != (ctype == b"IHDR"):
            raise _Bad("IHDR not first")
        if ctype[:1].isupper() and ctype not in _CRITICAL:  # a decoder must understand it: none does
            raise _Bad(f"unknown critical chunk {ctype!r}")
        if first:
            pixels.expected = _png_data_size(body)
            first = False
        elif ctype == b"IDAT":
            if seen_idat and last != b"IDAT":
                raise _Bad("IDAT chunks not consecutive")
            seen_idat = True
            pixels.feed(body)
        elif ctype == b"IEND":
            ended = True
            break
        elif ctype == b"PLTE" and (length % 3 or length > 768 or ctype in seen or seen_idat):
            raise _Bad("PLTE")
        elif find_markup(body) or find_markup(_inflated_text(ctype, body)):  # PLTE, text, other ancillary
            raise _Bad(f"markup in {ctype!r}")
        seen.add(ctype)
        last = ctype
    if not ended or pos != len(data) or not seen_idat:
        raise _Bad("no IEND at the end")
    pixels.finish()


class _PixelData:
    """The IDAT stream, inflated a few MB at a time: exactly the size IHDR promises, and
    no markup in it (a stored deflate block, level 0, leaves its bytes in the file as
    they are, so markup there would be readable in the file itself)."""

    _PIECE = 4 * 1024 * 1024

    def __init__(self) -> None:
        self.expected = self.inflated = 0
        self._inflater = zlib.decompressobj()
        self._scan = MarkupScan()

    def feed(self, compressed: bytes) -> None:
        while compressed:
            out = self._inflater.decompress(compressed, min(self._PIECE, self.expected + 1 - self.inflated))
            compressed = self._inflater.unconsumed_tail
            self.inflated += len(out)
            if self.inflated > self.expected:
                raise _Bad("more pixel data than the header declares")
            if self._scan.feed(out):
                raise _Bad("markup in the pixel data")
            if not out:
                break
        if self._inflater.unconsumed_tail:
            raise _Bad("more pixel data than the header declares")

    def finish(self) -> None:
        if self.inflated != self.expected or not self._inflater.eof or self._inflater.unused_data:
            raise _Bad("pixel data does not match the header")


def _png_data_size(ihdr: bytes) -> int:
    """Bytes of the filtered scanlines the header promises (each row: filter byte + samples)."""
    width, height, depth, colour, compression, filtering, interlace = struct.unpack(">IIBBBBB", ihdr)
    if colour not in _PNG_COLOUR or depth not in _PNG_COLOUR[colour][0] or compression or filtering \
            or interlace > 1 or not 0 < width * height <= MAX_PIXELS:
        raise _Bad("IHDR")
    bits = depth * _PNG_COLOUR[colour][1]

    def rows(w: int, h: int) -> int:
        return h * (1 + (w * bits + 7) // 8) if w and h else 0

    if not interlace:
        return rows(width, height)
    passes = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))
    return sum(rows((width - x + dx - 1) // dx, (height - y + dy - 1) // dy) for x, y, dx, dy in passes)


def _inflated_text(ctype: bytes, body: bytes) -> bytes:
    if ctype == b"zTXt":
        keyword_end = body.find(b"\0")
        return _inflate(body[keyword_end + 2:])
    if ctype == b"iTXt":
        keyword_end = body.find(b"\0")
        if body[keyword_end + 1:keyword_end + 2] == b"\1":
            rest = body[keyword_end + 3:]
            for _ in range(2):  # language tag, translated keyword
                rest = rest[rest.find(b"\0") + 1:]
            return _inflate(rest)
    return b""


def _inflate(data: bytes) -> bytes:
    d = zlib.decompressobj()
    out = d.decompress(data, _MAX_TEXT)
    if d.unconsumed_tail:
        raise _Bad("text chunk inflates too far")
    return out


_STANDALONE = {0x01, *range(0xD0, 0xD8)}
_SOF = {*range(0xC0, 0xD0)} - {0xC4, 0xC8, 0xCC}


def _walk_jpeg(data: bytes) -> None:
    if not data.startswith(b"\xff\xd8"):
        raise _Bad("SOI")
    pos, frame, scans = 2, False, 0
    while True:
        if data[pos:pos + 1] != b"\xff":
            raise _Bad(f"no marker at {pos}")
        while data[pos:pos + 1] == b"\xff":  # fill bytes
            pos += 1
        if pos >= len(data):
            raise _Bad("cut short")
        marker = data[pos]
        pos += 1
        if marker == 0xD9:  # EOI
            break
        if marker in _STANDALONE or marker == 0x00:
            raise _Bad(f"stray marker {marker:#x}")
        (length,) = struct.unpack(">H", data[pos:pos + 2])
        segment = data[pos + 2:pos + length]
        if length < 2 or len(segment) != length - 2:
            raise _Bad(f"segment {marker:#x} cut short")
        pos += length
        if marker in _SOF:
            height, width = struct.unpack(">HH", segment[1:5])
            if not 0 < width * height <= MAX_PIXELS:
                raise _Bad("frame size")
            frame = True
        elif marker == 0xFE or 0xE0 <= marker <= 0xEF:  # comment, application data (Exif, XMP...)
            if find_markup(segment):
                raise _Bad(f"markup in segment {marker:#x}")
        elif marker == 0xDA:  # start of scan: entropy-coded data up to the next real marker
            if not frame:
                raise _Bad("scan before frame")
            scans += 1
            pos = _end_of_entropy_data(data, pos)
    if not scans or pos != len(data):
        raise _Bad("data after the end of the image" if scans else "no scan")


def _end_of_entropy_data(data: bytes, pos: int) -> int:
    while True:
        pos = data.find(b"\xff", pos)
        if pos < 0 or pos + 1 >= len(data):
            raise _Bad("scan cut short")
        following = data[pos + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7:  # stuffed byte, restart marker
            pos += 2
        elif following == 0xFF:
            pos += 1
        else:
            return pos
