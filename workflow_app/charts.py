"""Small SVG charts drawn on the server: horizontal bars, no script, no web font.

The SVG is inlined in the page, so every text that comes from data (unit and
criterion names typed by clerks) is escaped here; the result is returned as
Markup for Jinja. Each chart carries <title> and <desc> (aria-labelledby) so a
screen reader announces what it shows; the numbers are also in the tables
next to it, which stay the reference.
"""
from __future__ import annotations

from dataclasses import dataclass
from html import escape

from markupsafe import Markup

FONT = 12  # px in the viewBox; the page's own font (system-ui) is used, never a web font
ROW = 22
BAR = 14
LABEL_W = 200
VALUE_W = 58
WIDTH = 640

# A state's colour is data (`colour:` in states/*.yaml); one without is drawn neutral.
NEUTRAL = "#7f8c8d"


@dataclass(frozen=True)
class Series:
    key: str
    label: str
    colour: str


@dataclass(frozen=True)
class StackedRow:
    label: str
    values: dict[str, int]  # series key -> value


@dataclass(frozen=True)
class PairRow:
    """One criterion: two bars out of a common scale (e.g. self-assessed and appraised)."""

    label: str
    first: int
    second: int
    first_of: int
    second_of: int


def state_colour(colour: str | None) -> str:
    return colour or NEUTRAL


def _t(text: object) -> str:
    return escape(str(text), quote=True)


def _clip(text: str, limit: int = 30) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _open(chart_id: str, title: str, desc: str, height: int) -> list[str]:
    return [
        (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" role="img" class="chart" '
         f'id="{_t(chart_id)}" aria-labelledby="{_t(chart_id)}-t {_t(chart_id)}-d" font-size="{FONT}">'),
        f'<title id="{_t(chart_id)}-t">{_t(title)}</title>',
        f'<desc id="{_t(chart_id)}-d">{_t(desc)}</desc>',
    ]


def _legend(series: list[Series], y: int) -> tuple[list[str], int]:
    """Legend items left to right, wrapping; returns (parts, height used)."""
    parts, x, line = [], 0, 0
    for s in series:
        w = 22 + int(len(s.label) * FONT * 0.55)
        if x and x + w > WIDTH:
            x, line = 0, line + 1
        top = y + line * 18
        parts.append(f'<rect x="{x}" y="{top}" width="12" height="12" fill="{s.colour}"/>'
                     f'<text x="{x + 16}" y="{top + 10}" fill="#223">{_t(s.label)}</text>')
        x += w + 12
    return parts, (line + 1) * 18 + 6


def stacked_bars(chart_id: str, title: str, desc: str, rows: list[StackedRow], series: list[Series],
                 empty_text: str) -> Markup:
    """One horizontal bar per row, segments per series, the row total at the end.
    The scale is the largest row total, so bars compare across rows."""
    legend, top = _legend(series, 0)
    height = top + max(1, len(rows)) * ROW + 4
    parts = _open(chart_id, title, desc, height) + legend
    scale = max([sum(r.values.get(s.key, 0) for s in series) for r in rows] + [0])
    area = WIDTH - LABEL_W - VALUE_W
    for i, row in enumerate(rows):
        y = top + i * ROW
        total = sum(row.values.get(s.key, 0) for s in series)
        parts.append(f'<g class="row"><text x="{LABEL_W - 6}" y="{y + BAR - 3}" text-anchor="end" fill="#223">'
                     f'{_t(_clip(row.label))}<title>{_t(row.label)}</title></text>')
        x = float(LABEL_W)
        for s in series:
            value = row.values.get(s.key, 0)
            if not value:
                continue
            w = area * value / scale
            parts.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{BAR}" fill="{s.colour}">'
                         f'<title>{_t(row.label)}: {_t(s.label)} {value}</title></rect>')
            x += w
        parts.append(f'<text x="{x + 5:.1f}" y="{y + BAR - 3}" fill="#223">{total}</text></g>')
    if not rows or scale == 0:
        parts.append(f'<text x="{LABEL_W}" y="{top + BAR - 3}" fill="#5a6270">{_t(empty_text)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def paired_bars(chart_id: str, title: str, desc: str, rows: list[PairRow], first: Series, second: Series,
                empty_text: str) -> Markup:
    """Two thin bars per row (first above second), each as a share of its own
    denominator, with "n/N" at the end: the shortest bars are the weakest rows."""
    legend, top = _legend([first, second], 0)
    row_h = 2 * (BAR - 4) + 10
    height = top + max(1, len(rows)) * row_h + 4
    parts = _open(chart_id, title, desc, height) + legend
    area = WIDTH - LABEL_W - VALUE_W
    for i, row in enumerate(rows):
        y = top + i * row_h
        parts.append(f'<g class="row"><text x="{LABEL_W - 6}" y="{y + BAR}" text-anchor="end" fill="#223">'
                     f'{_t(_clip(row.label))}<title>{_t(row.label)}</title></text>')
        for j, (s, value, of) in enumerate(((first, row.first, row.first_of), (second, row.second, row.second_of))):
            by = y + j * (BAR - 2)
            w = area * value / of if of else 0
            parts.append(f'<rect x="{LABEL_W}" y="{by}" width="{area}" height="{BAR - 4}" fill="#eef0f3"/>')
            if w:
                parts.append(f'<rect x="{LABEL_W}" y="{by}" width="{w:.1f}" height="{BAR - 4}" fill="{s.colour}">'
                             f'<title>{_t(row.label)}: {_t(s.label)} {value}/{of}</title></rect>')
            parts.append(f'<text x="{LABEL_W + area + 5}" y="{by + BAR - 5}" fill="#223" font-size="{FONT - 1}">'
                         f'{value}/{of}</text>')
        parts.append("</g>")
    if not rows:
        parts.append(f'<text x="{LABEL_W}" y="{top + BAR - 3}" fill="#5a6270">{_t(empty_text)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
