"""The workflow as a Mermaid state diagram, drawn from the definition."""
from __future__ import annotations

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
