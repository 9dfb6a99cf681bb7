"""The workflow as a Mermaid state diagram, drawn from the definition."""
from __future__ import annotations

from collections import deque
from html import escape

from .definitions import Definition


def mermaid(d: Definition, lang: str = "vi") -> str:
    lines = ["stateDiagram-v2", f"    [*] --> {d.initial}"]
    for name, state in d.states.items():
        lines.append(f"    {name} : {state.labels[lang]}")
    for event in d.events.values():
        for source in event.sources:
            lines.append(f"    {source} --> {event.dest} : {event.name}")
    for name, state in d.states.items():
        if state.closed:
            lines.append(f"    {name} --> [*]")
    return "\n".join(lines)


def svg(d: Definition, current: str | None = None, lang: str = "vi") -> str:
    """A small server-side SVG of the workflow, the current state highlighted.
    States are placed in columns by their distance from the initial state."""

    depth = {d.initial: 0}
    queue = deque([d.initial])
    while queue:
        s = queue.popleft()
        for e in d.events_from(s):
            if e.dest not in depth:
                depth[e.dest] = depth[s] + 1
                queue.append(e.dest)
    columns: dict[int, list[str]] = {}
    for name in d.states:
        columns.setdefault(depth.get(name, 0), []).append(name)
    w, h, gx, gy = 120, 36, 50, 26
    pos = {}
    for col, names in columns.items():
        for row, name in enumerate(names):
            pos[name] = (10 + col * (w + gx), 10 + row * (h + gy))
    width = 20 + len(columns) * (w + gx) - gx
    height = 20 + max(len(n) for n in columns.values()) * (h + gy) - gy
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{escape(d.labels[lang])}" class="diagram">',
             '<defs><marker id="arr" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" '
             'orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="#667"/></marker></defs>']
    for e in d.events.values():
        for source in e.sources:
            (x1, y1), (x2, y2) = pos[source], pos[e.dest]
            if x2 > x1:
                a, b = (x1 + w, y1 + h / 2), (x2, y2 + h / 2)
            elif x2 < x1:
                a, b = (x1, y1 + h * 0.75), (x2 + w, y2 + h * 0.75)
            else:
                a, b = (x1 + w / 2, y1 + (h if y2 > y1 else 0)), (x2 + w / 2, y2 + (0 if y2 > y1 else h))
            parts.append(f'<line x1="{a[0]:.0f}" y1="{a[1]:.0f}" x2="{b[0]:.0f}" y2="{b[1]:.0f}" stroke="#667" '
                         f'marker-end="url(#arr)"><title>{escape(e.labels[lang])}</title></line>')
    for name, (x, y) in pos.items():
        on = name == current
        fill, stroke, color = ("#8b1a1a", "#8b1a1a", "#fff") if on else ("#fff", "#99a", "#223")
        parts.append(f'<g class="state{" current" if on else ""}">'
                     f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="6" '
                     f'fill="{fill}" stroke="{stroke}"/>'
                     f'<text x="{x + w / 2:.0f}" y="{y + h / 2 + 4:.0f}" '
                     f'text-anchor="middle" font-size="11" fill="{color}">'
                     f'{escape(d.states[name].labels[lang])}</text></g>')
    parts.append("</svg>")
    return "".join(parts)
