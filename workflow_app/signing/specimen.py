"""Specimen seal and signature images for development (Pillow).

Both are visibly marked "MẪU" / "SPECIMEN" so that a demo decision can never pass
for a real one on paper. Decree 30 (Phụ lục I): the signature image is blue, the seal
image red, both PNG with a transparent background.
"""
from __future__ import annotations

import hashlib
import io
import math
import random
import unicodedata
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from .pades import stamp_font_file

FONT_DIR = Path("/usr/share/fonts/truetype/croscore")
SEAL_RED = (200, 20, 30, 255)
INK_BLUE = (25, 45, 160, 255)


def _font(size: int, bold: bool = True) -> ImageFont.FreeTypeFont:
    name = "Tinos-Bold.ttf" if bold else "Tinos-Regular.ttf"
    path = FONT_DIR / name
    if not path.is_file():  # same font as the stamp, found through fontconfig

        path = Path(stamp_font_file())
    return ImageFont.truetype(str(path), size)


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _text_on_arc(image: Image.Image, text: str, centre: tuple[float, float], radius: float,
                 font: ImageFont.FreeTypeFont, fill, spread: float = 300.0) -> None:
    """Letters around the top of a circle, centred at 12 o'clock, reading clockwise."""
    widths = [font.getlength(ch) for ch in text]
    gap = font.size * 0.08
    total = sum(widths) + gap * (len(text) - 1)
    arc = min(total / radius, math.radians(spread))
    scale = arc / (total / radius)  # squeeze the spacing, never the letters, if too long
    angle = -math.pi / 2 - arc / 2
    box = int(font.size * 1.8)
    for ch, width in zip(text, widths, strict=True):
        step = (width + gap) / radius * scale
        middle = angle + (width / radius * scale) / 2
        glyph = Image.new("RGBA", (box, box), (0, 0, 0, 0))
        ImageDraw.Draw(glyph).text((box / 2, box / 2), ch, font=font, fill=fill, anchor="mm")
        glyph = glyph.rotate(-math.degrees(middle) - 90, resample=Image.BICUBIC)
        x = centre[0] + radius * math.cos(middle) - box / 2
        y = centre[1] + radius * math.sin(middle) - box / 2
        image.alpha_composite(glyph, (int(round(x)), int(round(y))))
        angle += step


def _star(draw: ImageDraw.ImageDraw, centre: tuple[float, float], radius: float, fill) -> None:
    points = []
    for i in range(10):
        r = radius if i % 2 == 0 else radius * 0.4
        a = -math.pi / 2 + i * math.pi / 5
        points.append((centre[0] + r * math.cos(a), centre[1] + r * math.sin(a)))
    draw.polygon(points, fill=fill)


def seal_png(issuer_name: str, size: int = 600) -> bytes:
    """A red ring seal: the body's name around the rim, a star, and "MẪU" across it."""
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    c = size / 2
    outer = size / 2 - 6
    draw.ellipse((c - outer, c - outer, c + outer, c + outer), outline=SEAL_RED, width=int(size * 0.025))
    inner = outer * 0.68
    draw.ellipse((c - inner, c - inner, c + inner, c + inner), outline=SEAL_RED, width=int(size * 0.01))
    name = unicodedata.normalize("NFC", issuer_name.upper())
    _text_on_arc(image, name, (c, c), (outer + inner) / 2, _font(int(size * 0.075)), SEAL_RED)
    _star(draw, (c, c - inner * 0.45), inner * 0.28, SEAL_RED)
    draw.text((c, c + inner * 0.12), "MẪU", font=_font(int(size * 0.16)), fill=SEAL_RED, anchor="mm")
    draw.text((c, c + inner * 0.55), "SPECIMEN", font=_font(int(size * 0.06)), fill=SEAL_RED, anchor="mm")
    return _png(image)


def _catmull_rom(points: list[tuple[float, float]], steps: int = 12) -> list[tuple[float, float]]:
    out = []
    padded = [points[0], *points, points[-1]]
    for i in range(1, len(padded) - 2):
        p0, p1, p2, p3 = padded[i - 1], padded[i], padded[i + 1], padded[i + 2]
        for s in range(steps):
            t = s / steps
            out.append(tuple(
                0.5 * (2 * p1[k] + (-p0[k] + p2[k]) * t + (2 * p0[k] - 5 * p1[k] + 4 * p2[k] - p3[k]) * t * t
                       + (-p0[k] + 3 * p1[k] - 3 * p2[k] + p3[k]) * t ** 3)
                for k in (0, 1)))
    out.append(points[-1])
    return out


def signature_png(username: str, width: int = 900, height: int = 420) -> bytes:
    """A blue scribble, the same for the same username, marked "MẪU CHỮ KÝ - SPECIMEN"."""
    rng = random.Random(hashlib.sha256(username.encode()).digest())
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    base = height * 0.52
    points = [(width * 0.05, base + 30)]
    x = width * 0.08
    while x < width * 0.78:
        h = rng.uniform(70, 170)
        if rng.random() < 0.55:  # a looped letter: up to the right, back left, down
            points += [(x + 45, base - h), (x + 5, base - h * 0.75), (x + 30, base + rng.uniform(5, 40))]
            x += rng.uniform(55, 80)
        else:  # a small arch
            points += [(x + 25, base - h * 0.4), (x + 50, base + rng.uniform(0, 25))]
            x += rng.uniform(45, 65)
    curve = _catmull_rom(points)
    draw.line(curve, fill=INK_BLUE, width=9, joint="curve")
    # the flourish under the name
    y = base + 75
    flourish = _catmull_rom([(width * 0.12, y + 10), (width * 0.45, y - 15), (width * 0.8, y + 5),
                             (width * 0.9, y - 25)])
    draw.line(flourish, fill=INK_BLUE, width=6, joint="curve")
    draw.text((width / 2, height - 30), "MẪU CHỮ KÝ - SPECIMEN", font=_font(52, bold=False),
              fill=INK_BLUE, anchor="mm")
    return _png(image)
