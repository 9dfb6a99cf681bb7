"""Facts of a recognition decision -> plain context for templates/pdf/decision.html.

The wording (legal bases, articles, recipients, signing capacities) is data in
states/decisions/<kind>.yaml, per kind with per-issuer overrides, because laws and
issuers change (the 2025 reform removed districts) while signed decisions must keep
their text. This module only picks texts, fills placeholders and fixes punctuation.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

import segno

from ..formats import date_line, date_words, lower_first
from ..workflow.yamlfile import load_yaml
from .texts import overlay, states_dir

_KIND_RE = re.compile(r"[a-z][a-z0-9_]*")  # kind names a file: no paths, no dots
REQUIRED_KEYS = (
    "issuer_lines", "authority", "subject", "legal_bases", "consider",
    "articles", "recipients", "archive", "capacities",
)


@dataclass(frozen=True)
class DecisionFacts:
    """Everything the decision prints, already read from the database by the caller."""

    kind: str  # the dossier kind: names STATES_DIR/decisions/<kind>.yaml
    issuer_code: str  # "tam-duong": selects the per-issuer overrides
    issuer_name: str  # "Huyện Tam Đường"
    issuer_place: str  # "Tam Đường", for the place-date line
    number: int
    symbol: str  # "15/QĐ-UBND"
    issued_on: date
    year: int  # the dossier year, printed in "đạt chuẩn ... năm {year}"
    units: list[tuple[str, str]]  # [(unit name, parent name)], printed verbatim
    proposer: str  # "Ủy ban nhân dân xã Nà Tăm"
    request_ref: str | None  # "Tờ trình số 12/TTr-UBND ngày 02/9/2024"
    appraisal_ref: str | None
    signer_name: str
    signer_capacity: str  # "chairman" | "vice_chairman" | "on_behalf"
    verify_url: str
    dossier_codes: list[str]
    # "recognition" reads states/decisions/<kind>.yaml; "revocation" reads
    # <kind>_revocation.yaml and cites the decision it revokes.
    document: str = "recognition"
    original_symbol: str | None = None  # "15/QĐ-UBND"
    original_date: date | None = None
    original_subject: str | None = None  # "Về việc công nhận ..."
    original_issuer_name: str | None = None  # "Huyện Tam Đường": a successor may revoke it
    reason: str | None = None  # the approver's written reason
    issuer_level: str | None = None  # "district" | "commune" ...: selects the `levels:` section


def _load_kind(kind: str) -> dict:
    return _load_file(kind, states_dir() / "decisions")


@lru_cache(maxsize=None)
def _load_file(kind: str, folder: Path) -> dict:
    # Cached for the life of the process: the files change with a deploy, not at run time.
    if not _KIND_RE.fullmatch(kind):
        raise ValueError(f"invalid decision kind {kind!r}")
    path = folder / f"{kind}.yaml"
    if not path.is_file():
        raise ValueError(f"no decision texts for kind {kind!r} ({path} missing)")
    with path.open(encoding="utf-8") as handle:
        document = load_yaml(handle.read())
    if not isinstance(document, dict) or not isinstance(document.get("default"), dict):
        raise ValueError(f"{path}: expected a mapping with a 'default' section")
    return document


def merged_texts(document: dict, issuer_code: str, issuer_level: str | None = None, *,
                 year: int | None = None, issued_on: date | None = None) -> dict:
    """The `default` section, then the issuer level's section (`levels`), then the
    issuer's own (`issuers`), laid over it key by key.

    Whole keys are replaced (no deep merge) so that each section reads complete: an
    issuer with other legal bases lists all of its bases.
    """
    texts = overlay(document, issuer_code, issuer_level, year=year, issued_on=issued_on)
    missing = [key for key in REQUIRED_KEYS if key not in texts]
    if missing:
        raise ValueError(f"decision texts for {issuer_code!r} lack: {', '.join(missing)}")
    return texts


def decision_context(facts: DecisionFacts) -> dict:
    """Plain values for templates/pdf/decision.html (see printing.render_pdf)."""
    _check(facts)
    name = facts.kind if facts.document == "recognition" else f"{facts.kind}_{facts.document}"
    texts = merged_texts(_load_kind(name), facts.issuer_code, facts.issuer_level,
                         year=facts.year, issued_on=facts.issued_on)
    single = len(facts.units) == 1
    values = _placeholders(facts, single)

    def fill(template: str) -> str:
        try:
            return " ".join(template.format_map(values).split())
        except (KeyError, IndexError) as exc:
            variant = "single" if single else "multiple"
            raise ValueError(f"placeholder {exc} unknown ({variant} unit) in {template!r}") from exc

    preamble = [fill(line) for line in texts["legal_bases"]]
    preamble.append(_consider_line(texts["consider"], facts, fill))

    capacities = texts["capacities"]
    if facts.signer_capacity not in capacities:
        raise ValueError(f"unknown signer capacity {facts.signer_capacity!r}")

    return {
        "title": f"Quyết định số {facts.symbol}",
        "issuer_lines": [fill(line) for line in texts["issuer_lines"]],
        "number_line": f"Số: {facts.symbol}",
        "date_line": date_line(facts.issuer_place, facts.issued_on),
        "subject": fill(_variant(texts["subject"], single)),
        "authority": fill(texts["authority"]),
        "preamble": _punctuate(preamble),
        "articles": [
            _article(index, spec, facts, single, fill)
            for index, spec in enumerate(texts["articles"], start=1)
        ],
        "recipients": _punctuate([fill(r) for r in texts["recipients"]] + [texts["archive"]]),
        "capacity_lines": list(capacities[facts.signer_capacity]),
        "signer_name": facts.signer_name,
        "verify_url": facts.verify_url,
        "qr_data_uri": qr_data_uri(facts.verify_url),
        "dossier_codes": list(facts.dossier_codes),
    }


def qr_data_uri(url: str) -> str:
    """QR code of ``url`` as a base64 PNG data: URI (the one data: kind render.py fetches).

    Error level M (segno raises it when the version has room to spare); a 2-module quiet
    zone, as the page margin around it is white anyway. The print size (22 mm) is set in
    decision.css with ``image-rendering: pixelated`` (no interpolation in the PDF), so
    the modules print as sharp squares whatever the pixels per module; 4 keeps the PNG
    itself readable by a scanner (zbarimg) and costs a third of scale 10 to encode
    and to lay out.
    """
    if not url:
        raise ValueError("a decision needs a verify URL for its QR code")
    return segno.make(url, error="m", micro=False).png_data_uri(scale=4, border=2)


def _check(facts: DecisionFacts) -> None:
    if not facts.units:
        raise ValueError("a decision recognises at least one unit")
    if facts.document not in ("recognition", "revocation"):
        raise ValueError(f"unknown decision document {facts.document!r}")
    if facts.document == "revocation" and not (facts.original_symbol and facts.original_date and facts.reason):
        raise ValueError("a revocation decision cites the original (symbol, date) and gives a reason")
    # The symbol carries the number ("15/QĐ-UBND"); a mismatch would print two numbers.
    head = facts.symbol.split("/", 1)[0]
    if not head.isdigit() or int(head) != facts.number:
        raise ValueError(f"symbol {facts.symbol!r} does not start with number {facts.number}")


def _placeholders(facts: DecisionFacts, single: bool) -> dict:
    parents = list(dict.fromkeys(parent for _, parent in facts.units))  # keep order, unique
    values = {
        "issuer_name": facts.issuer_name,
        "issuer_upper": facts.issuer_name.upper(),
        "issuer_lower": lower_first(facts.issuer_name),
        "issuer_place": facts.issuer_place,
        "year": facts.year,
        "count": len(facts.units),
        "proposer": facts.proposer,
        "symbol": facts.symbol,
        "parents": ", ".join(parents),
    }
    if facts.document == "revocation":
        subject = facts.original_subject or ""
        values.update(
            original_symbol=facts.original_symbol,
            original_issuer_lower=lower_first(facts.original_issuer_name or facts.issuer_name),
            original_date=date_words(facts.original_date),
            # "Về việc công nhận ..." is quoted mid-sentence as "về việc công nhận ...".
            original_subject=lower_first(subject),
            reason=" ".join((facts.reason or "").split()).rstrip(" .;"),
        )
    if single:  # {unit}/{parent} exist only when they name one thing
        values["unit"], values["parent"] = facts.units[0]
    return values


def _variant(spec: str | list | dict, single: bool):
    """A text may differ for one unit and several: {single: ..., multiple: ...}."""
    if isinstance(spec, dict):
        variant = "single" if single else "multiple"
        if variant not in spec:
            raise ValueError(f"decision text has no {variant!r} variant: {spec!r}")
        return spec[variant]
    return spec


def _consider_line(spec: dict, facts: DecisionFacts, fill) -> str:
    # Fixed Vietnamese grammar of Decree 30 practice, so it lives here, not in the YAML:
    # "Xét đề nghị của A tại <ref A>; của B tại <ref B>".
    # Each party may read differently for one unit and several ("Trưởng {unit}").
    single = len(facts.units) == 1
    parties = [(_variant(spec["proposer"], single), facts.request_ref)]
    if spec.get("appraiser"):
        parties.append((_variant(spec["appraiser"], single), facts.appraisal_ref))
    clauses = [fill(who) + (f" tại {ref}" if ref else "") for who, ref in parties]
    return "Xét đề nghị của " + "; của ".join(clauses)


def _article(index: int, spec, facts: DecisionFacts, single: bool, fill) -> dict:
    paragraphs = _variant(spec, single)
    if isinstance(paragraphs, str):
        paragraphs = [paragraphs]
    table = None
    if not single and isinstance(spec, dict) and spec.get("units_table"):
        table = {
            "headers": list(spec["units_table"]),
            "rows": [[n, unit, parent] for n, (unit, parent) in enumerate(facts.units, 1)],
        }
    return {"label": f"Điều {index}.", "paragraphs": [fill(p) for p in paragraphs], "table": table}


def _punctuate(lines: list[str]) -> list[str]:
    """Decree 30 lists: every line ends with ";" and the last one with "."."""
    bare = [line.rstrip().rstrip(";.").rstrip() for line in lines]
    return [line + ";" for line in bare[:-1]] + [bare[-1] + "."]
