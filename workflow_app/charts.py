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

# Drawn in CSS pixels (no viewBox), so the text keeps its size on any screen:
# the label sits above its bar, bars are percentages of the chart's width
# (BARS of it at most; the figure follows the bar), the height is fixed.
FONT = 13  # px; the page's own font (system-ui) is used, never a web font
BAR = 14
LABEL_H = FONT + 5
GAP = 10
BARS = 85.0  # percent of the width the bars may take
LEGEND_ROW = 20

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


def _clip(text: str, limit: int = 44) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _open(chart_id: str, title: str, desc: str, height: int) -> list[str]:
    return [
        (f'<svg xmlns="http://www.w3.org/2000/svg" width="100%" height="{height}" role="img" class="chart" '
         f'id="{_t(chart_id)}" aria-labelledby="{_t(chart_id)}-t {_t(chart_id)}-d" font-size="{FONT}">'),
        f'<title id="{_t(chart_id)}-t">{_t(title)}</title>',
        f'<desc id="{_t(chart_id)}-d">{_t(desc)}</desc>',
    ]


def _legend(series: list[Series], y: int) -> tuple[list[str], int]:
    """One legend item a line: a phone is too narrow to guess where a row of them wraps."""
    parts = []
    for i, s in enumerate(series):
        top = y + i * LEGEND_ROW
        parts.append(f'<rect x="0" y="{top}" width="13" height="13" fill="{s.colour}"/>'
                     f'<text x="19" y="{top + 11}" fill="#223">{_t(s.label)}</text>')
    return parts, len(series) * LEGEND_ROW + 6


def _pct(value: float) -> str:
    return f"{value:.2f}%"


def stacked_bars(chart_id: str, title: str, desc: str, rows: list[StackedRow], series: list[Series],
                 empty_text: str) -> Markup:
    """One horizontal bar per row, segments per series, the row total at the end.
    The scale is the largest row total, so bars compare across rows."""
    legend, top = _legend(series, 0)
    row_h = LABEL_H + BAR + GAP
    height = top + max(1, len(rows)) * row_h
    parts = _open(chart_id, title, desc, height) + legend
    scale = max([sum(r.values.get(s.key, 0) for s in series) for r in rows] + [0])
    for i, row in enumerate(rows):
        y = top + i * row_h
        bar_y = y + LABEL_H
        total = sum(row.values.get(s.key, 0) for s in series)
        parts.append(f'<g class="row"><text x="0" y="{y + FONT}" fill="#223">'
                     f'{_t(_clip(row.label))}<title>{_t(row.label)}</title></text>')
        x = 0.0
        for s in series:
            value = row.values.get(s.key, 0)
            if not value:
                continue
            w = BARS * value / scale
            parts.append(f'<rect x="{_pct(x)}" y="{bar_y}" width="{_pct(w)}" height="{BAR}" fill="{s.colour}">'
                         f'<title>{_t(row.label)}: {_t(s.label)} {value}</title></rect>')
            x += w
        parts.append(f'<text x="{_pct(x)}" dx="5" y="{bar_y + BAR - 2}" fill="#223">{total}</text></g>')
    if not rows or scale == 0:
        parts.append(f'<text x="0" y="{top + FONT}" fill="#5a6270">{_t(empty_text)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def paired_bars(chart_id: str, title: str, desc: str, rows: list[PairRow], first: Series, second: Series,
                empty_text: str) -> Markup:
    """Two thin bars per row (first above second), each as a share of its own
    denominator, with "n/N" at the end: the shortest bars are the weakest rows."""
    legend, top = _legend([first, second], 0)
    thin, between = BAR - 3, 5  # the two figures, one a bar, must not touch
    row_h = LABEL_H + 2 * thin + between + GAP
    height = top + max(1, len(rows)) * row_h
    parts = _open(chart_id, title, desc, height) + legend
    for i, row in enumerate(rows):
        y = top + i * row_h
        parts.append(f'<g class="row"><text x="0" y="{y + FONT}" fill="#223">'
                     f'{_t(_clip(row.label))}<title>{_t(row.label)}</title></text>')
        for j, (s, value, of) in enumerate(((first, row.first, row.first_of), (second, row.second, row.second_of))):
            by = y + LABEL_H + j * (thin + between)
            w = BARS * value / of if of else 0
            parts.append(f'<rect x="0" y="{by}" width="{_pct(BARS)}" height="{thin}" fill="#eef0f3"/>')
            if w:
                parts.append(f'<rect x="0" y="{by}" width="{_pct(w)}" height="{thin}" fill="{s.colour}">'
                             f'<title>{_t(row.label)}: {_t(s.label)} {value}/{of}</title></rect>')
            parts.append(f'<text x="{_pct(BARS)}" dx="5" y="{by + thin - 1}" fill="#223" font-size="{FONT - 1}">'
                         f'{value}/{of}</text>')
        parts.append("</g>")
    if not rows:
        parts.append(f'<text x="0" y="{top + FONT}" fill="#5a6270">{_t(empty_text)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
