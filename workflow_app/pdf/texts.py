"""Where the texts of printed papers live, and how their sections are laid over.

The texts are data in the app's STATES_DIR (states/decisions/<kind>.yaml,
states/documents/<kind>.yaml), so an installation with its own states folder prints
its own wording. Sections, each replacing whole keys of what came before (no deep
merge: a list reads complete where it is written):
  default -> levels[<issuer unit level>] -> issuers[<issuer unit code>]
"""
from __future__ import annotations

from pathlib import Path

DEFAULT_STATES_DIR = Path(__file__).resolve().parents[2] / "states"


def states_dir() -> Path:
    """The app's STATES_DIR; the project's states/ without an app (scripts, pure tests)."""
    from flask import current_app, has_app_context  # as worker._app_config: no Flask at import

    if has_app_context() and current_app.config.get("STATES_DIR"):
        return Path(current_app.config["STATES_DIR"])
    return DEFAULT_STATES_DIR


def overlay(document: dict, issuer_code: str, issuer_level: str | None = None) -> dict:
    """`default`, then the issuer level's section, then the issuer's own section."""
    texts = dict(document["default"])
    if issuer_level:
        texts.update(_section(document, "levels", issuer_level))
    texts.update(_section(document, "issuers", issuer_code))
    return texts


def _section(document: dict, name: str, key: str) -> dict:
    section = (document.get(name) or {}).get(key) or {}
    if not isinstance(section, dict):
        raise ValueError(f"texts section {name}.{key} must be a mapping of keys to texts")
    return section
