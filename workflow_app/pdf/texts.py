"""Where the texts of printed papers live, and how their sections are laid over.

The texts are data in the app's STATES_DIR (states/decisions/<kind>.yaml,
states/documents/<kind>.yaml), so an installation with its own states folder prints
its own wording. Sections, each replacing whole keys of what came before (no deep
merge: a list reads complete where it is written):
  default -> variants (each whose `when` matches, in file order)
          -> levels[<issuer unit level>] -> issuers[<issuer unit code>]
A variant's `when` may hold `years: [first, last]` (the dossier's year, inclusive) and
`issued_from: YYYY-MM-DD` (the paper's date): laws change with the programme and with
the day a paper is signed, so a 2025 dossier decided after a reform cites the new law.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path

from flask import current_app, has_app_context

DEFAULT_STATES_DIR = Path(__file__).resolve().parents[2] / "states"


def states_dir() -> Path:
    """The app's STATES_DIR; the project's states/ without an app (scripts, pure tests)."""

    if has_app_context() and current_app.config.get("STATES_DIR"):
        return Path(current_app.config["STATES_DIR"])
    return DEFAULT_STATES_DIR


def overlay(document: dict, issuer_code: str, issuer_level: str | None = None, *,
            year: int | None = None, issued_on: date | None = None) -> dict:
    """`default`, the matching variants, the issuer level's section, the issuer's own."""
    texts = dict(document["default"])
    for i, variant in enumerate(document.get("variants") or []):
        if _matches(variant, i, year, issued_on):
            texts.update({k: v for k, v in variant.items() if k != "when"})
    if issuer_level:
        texts.update(_section(document, "levels", issuer_level))
    texts.update(_section(document, "issuers", issuer_code))
    return texts


def _matches(variant: dict, i: int, year: int | None, issued_on: date | None) -> bool:
    when = variant.get("when") if isinstance(variant, dict) else None
    if not isinstance(when, dict) or set(when) - {"years", "issued_from"}:
        raise ValueError(f"texts section variants[{i}] needs `when` with years and/or issued_from")
    years, since = when.get("years"), when.get("issued_from")
    if years is not None and (year is None or not years[0] <= year <= years[-1]):
        return False
    return since is None or (issued_on is not None and issued_on >= since)


def _section(document: dict, name: str, key: str) -> dict:
    section = (document.get(name) or {}).get(key) or {}
    if not isinstance(section, dict):
        raise ValueError(f"texts section {name}.{key} must be a mapping of keys to texts")
    return section
