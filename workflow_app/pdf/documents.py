"""Facts of a dossier paper (receipt slip, appraisal report) -> plain template context.

The facts are captured when the paper is issued (services/documents/papers.py) and stored
with a copy of the texts of states/documents/<kind>.yaml in force at that moment, so
the PDF, rendered right after the issuing transaction commits (or at the first download
when that render failed), prints exactly what was true then. This
module is pure: no database, no Flask; it picks texts, fills placeholders and formats
dates, sizes and numbers the Vietnamese way.
"""
from __future__ import annotations

import re
from datetime import date, datetime
from functools import cache
from pathlib import Path

from ..formats import date_line, field_value, file_size, lower_first, paper_date as short_date, paper_time
from ..workflow.yamlfile import load_yaml
from .numbers import document_number
from .texts import overlay, states_dir

KINDS = ("receipt", "appraisal_report")
TEMPLATES = {"receipt": "pdf/receipt.html", "appraisal_report": "pdf/appraisal_report.html"}
_KIND_RE = re.compile(r"[a-z][a-z0-9_]*")
REQUIRED = {
    "receipt": ("issuer_lines", "number_line", "title", "round_line", "standard", "intro", "applicant_full",
                "dossier_title", "labels", "channel", "self_assessment", "files_heading", "files_table",
                "no_files", "notes", "sender_signature", "receiver_signature", "receiver_note"),
    "appraisal_report": ("issuer_lines", "symbol", "title", "reference", "standard", "applicant_full",
                         "subject", "appraiser_body", "intro", "request_clause", "method",
                         "section_criteria", "criteria_table", "long_notes", "self_assessment_words", "verdict_words",
                         "section_fields", "section_comment", "section_conclusion", "conclusion",
                         "recipients", "archive", "signature_lines"),
}


def _load(kind: str) -> dict:
    return _load_file(kind, states_dir() / "documents")


@cache
def _load_file(kind: str, folder: Path) -> dict:
    # Cached for the process: the files change with a deploy, and issued papers keep
    # their own copy of the texts anyway.
    if kind not in KINDS or not _KIND_RE.fullmatch(kind):
        raise ValueError(f"unknown document kind {kind!r}")
    path = folder / f"{kind}.yaml"
    document = load_yaml(path)
    if not isinstance(document, dict) or not isinstance(document.get("default"), dict):
        raise ValueError(f"{path}: expected a mapping with a 'default' section")
    return document


def texts_for(kind: str, issuer_code: str, issuer_level: str | None = None) -> dict:
    """`default`, the issuer level's section, then the issuer's own, whole keys replaced."""
    texts = overlay(_load(kind), issuer_code, issuer_level)
    missing = [key for key in REQUIRED[kind] if key not in texts]
    if missing:
        raise ValueError(f"{kind} texts for {issuer_code!r} lack: {', '.join(missing)}")
    return texts


def reference(texts: dict, symbol: str, issued_on: date) -> str:
    """How another paper cites this report: "Báo cáo thẩm định số 12/BC-NN ngày 02/9/2024"."""
    return texts["reference"].format_map({"symbol": symbol, "date": short_date(issued_on)})


def document_context(kind: str, data: dict) -> tuple[str, dict]:
    """(template name, plain context) for a stored paper's `data` = {facts, texts}."""
    builders = {"receipt": receipt_context, "appraisal_report": appraisal_report_context}
    if kind not in builders:
        raise ValueError(f"unknown document kind {kind!r}")
    return TEMPLATES[kind], builders[kind](data["facts"], data["texts"])


# ----------------------------------------------------------------------------- filling

class _Filler:
    """str.format_map over the texts, for one dossier kind. Values are inserted once
    and never re-read as templates: a unit named "{sender}" prints as "{sender}"."""

    def __init__(self, facts: dict, texts: dict, extra: dict | None = None) -> None:
        self.kind = facts["dossier_kind"]
        self.texts = texts
        issuer = facts["issuer"]
        self.values = {
            "issuer_name": issuer["name"],
            "issuer_upper": issuer["name"].upper(),
            "issuer_lower": lower_first(issuer["name"]),
            "issuer_committee": issuer["committee"],
            "dossier_code": facts["dossier_code"],
            "year": facts["year"],
            "round": facts["round"],
            "applicant": facts["applicant"],
            "applicant_parent": facts.get("applicant_parent") or "",
            "sender": facts.get("sender") or "",
            **(extra or {}),
        }
        self.values["standard"] = self.text("standard")
        self.values["applicant_full"] = self.text("applicant_full")

    def pick(self, spec):
        """A text may differ by dossier kind: {<kind>: ..., default: ...}."""
        if isinstance(spec, dict) and ("default" in spec or self.kind in spec):
            if self.kind in spec:
                return spec[self.kind]
            return spec["default"]
        return spec

    def fill(self, template: str) -> str:
        try:
            return " ".join(str(template).format_map(self.values).split())
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"placeholder {exc} unknown in {template!r}") from None

    def text(self, key: str) -> str:
        return self.fill(self.pick(self.texts[key]))

    def lines(self, key: str) -> list[str]:
        value = self.pick(self.texts[key])
        return [self.fill(line) for line in ([value] if isinstance(value, str) else value)]


def _punctuate(lines: list[str]) -> list[str]:
    """Decree 30 lists: every line ends with ";" and the last one with "."."""
    bare = [line.rstrip().rstrip(";.").rstrip() for line in lines]
    return [line + ";" for line in bare[:-1]] + [bare[-1] + "."]


def _criterion_label(code: str | None, name: str | None) -> str:
    if not code:
        return "—"
    return f"{code}. {name}" if name else code


def _field_rows(fields: list[dict]) -> list[dict]:
    return [{"label": f["label"], "value": field_value(f["value"])} for f in fields
            if f.get("value") not in (None, "")]


# ----------------------------------------------------------------------------- receipt

def receipt_context(facts: dict, texts: dict) -> dict:
    received = datetime.fromisoformat(facts["submitted_at"])
    attachments = facts["attachments"]
    criteria = facts["criteria"]
    met = sum(1 for c in criteria if c.get("self_assessment") == "met")
    f = _Filler(facts, texts, {"count": len(attachments), "met": met, "total": len(criteria)})
    labels = texts["labels"]
    submitter = facts["submitter_name"] + (f" ({facts['submitter_role']})" if facts.get("submitter_role") else "")
    rows = [
        ("dossier_code", facts["dossier_code"]),
        ("dossier_title", f.text("dossier_title")),
        ("applicant", ", ".join(x for x in (facts["applicant_name"], facts.get("applicant_parent")) if x)),
        ("sender", facts.get("sender")),
        ("submitter", submitter),
        ("request_ref", facts.get("request_ref")),
        ("received_at", f"{paper_time(received)} ({facts['submitted_at']})"),
        ("channel", f.text("channel")),
        ("self_assessment", f.text("self_assessment")),
    ]
    return {
        "title": f"{texts['title'].capitalize()} {facts['dossier_code']}",
        "issuer_lines": f.lines("issuer_lines"),
        "number_line": f.text("number_line"),
        "date_line": date_line(facts["issuer"]["place"], received.date()),
        "doc_type": f.text("title"),
        "round_line": f.text("round_line") if facts["round"] > 1 else None,
        "intro": f.text("intro"),
        "facts": [{"label": labels[key], "value": str(value)} for key, value in rows if value not in (None, "")],
        "fields": _field_rows([x for x in facts.get("fields", []) if x.get("name") != "request_ref"]),
        "files_heading": f.text("files_heading"),
        "files_headers": list(texts["files_table"]),
        "files": [[n, a["filename"], _criterion_label(a.get("criterion"), a.get("criterion_name")),
                   file_size(int(a["size"]))] for n, a in enumerate(attachments, 1)],
        "no_files": f.text("no_files"),
        # The promised date ("hẹn trả kết quả") comes with working-day clocks: a later
        # issue stores facts["due_date"] and this line prints it. None prints nothing.
        "due_line": (f"{labels['due_date']}: {short_date(date.fromisoformat(facts['due_date']))}"
                     if facts.get("due_date") else None),
        "notes": f.lines("notes"),
        "sender_signature": f.lines("sender_signature"),
        "submitter_name": facts["submitter_name"],
        "receiver_signature": f.lines("receiver_signature"),
        "receiver_note": f.text("receiver_note"),
        "receiver_name": facts["issuer"]["committee"],
    }


# ----------------------------------------------------------------------------- report

def _signature_lines(f: _Filler, spec, capacity: str) -> list[str]:
    """Capacity lines above the signature: {head: [...], deputy: [...]} by the signer's
    capacity, or one list for everyone (texts stored with reports issued earlier)."""
    if isinstance(spec, dict):
        if capacity not in spec:
            raise ValueError(f"appraisal report texts have no signature lines for {capacity!r}")
        spec = spec[capacity]
    return [f.fill(line) for line in ([spec] if isinstance(spec, str) else spec)]


def appraisal_report_context(facts: dict, texts: dict) -> dict:
    issued = datetime.fromisoformat(facts["issued_at"])
    submitted = datetime.fromisoformat(facts["submitted_at"]) if facts.get("submitted_at") else None
    criteria = facts["criteria"]
    passed = sum(1 for c in criteria if c.get("verdict") == "pass")
    f = _Filler(facts, texts, {
        "number": document_number(facts["number"]), "symbol": facts["symbol"], "passed": passed, "total": len(criteria),
        "submitted_on": short_date(submitted.date()) if submitted else "…",
        "request_ref": facts.get("request_ref") or "",
    })
    f.values["appraiser_body"] = f.text("appraiser_body")
    f.values["role_unit"] = facts.get("appraiser_unit") or ""
    intro = f.text("intro")
    if facts.get("request_ref"):
        intro += " " + f.text("request_clause")
    sa_words, verdict_words = texts["self_assessment_words"], texts["verdict_words"]
    long = texts["long_notes"]
    rows, long_notes = [], []
    for n, c in enumerate(criteria, 1):
        # "STT" is the row number; the criterion's own code is shown only when it differs.
        label = c.get("name") or c["code"] if c["code"] == str(n) else _criterion_label(c["code"], c.get("name"))
        note = c.get("verdict_note") or ""
        if len(note) > int(long["limit"]):
            ref = len(long_notes) + 1
            long_notes.append({"label": long["label"].format_map({"ref": ref, "criterion": _criterion_label(
                c["code"], c.get("name"))}), "text": note})
            note = long["ref"].format_map({"ref": ref})
        rows.append([n, label, sa_words.get(c.get("self_assessment") or "", "—"),
                     verdict_words.get(c.get("verdict") or "", "—"), note, c.get("appraiser") or ""])
    # The cover request is cited in the intro; the other fields (the town's survey and
    # council vote) are listed.
    fields = _field_rows([x for x in facts.get("fields", []) if x.get("name") != "request_ref"])
    sections = [("criteria", f.text("section_criteria"))]
    if fields:
        sections.append(("fields", f.text("section_fields")))
    if facts.get("comment"):
        sections.append(("comment", f.text("section_comment")))
    sections.append(("conclusion", f.text("section_conclusion")))
    conclusion = texts["conclusion"]["all_passed" if passed == len(criteria) else "not_all_passed"]
    return {
        "title": f"Báo cáo thẩm định số {facts['symbol']}",
        "issuer_lines": f.lines("issuer_lines"),
        "number_line": f"Số: {facts['symbol']}",
        "date_line": date_line(facts["issuer"]["place"], issued.date()),
        "doc_type": f.text("title"),
        "subject": f.text("subject"),
        "paragraphs": [intro, f.text("method")],
        "headings": {key: f"{n}. {heading}" for n, (key, heading) in enumerate(sections, 1)},
        "criteria_headers": list(texts["criteria_table"]),
        "criteria_rows": rows,
        "long_notes": long_notes,
        "fields": fields,
        "comment": facts.get("comment"),
        "conclusion": f.fill(f.pick(conclusion)),
        "recipients": _punctuate(f.lines("recipients") + [f.text("archive")]),
        "signature_lines": _signature_lines(f, texts["signature_lines"], facts.get("signer_capacity") or "head"),
        "signer_name": facts["appraiser_name"],
        # Reports issued with an officer's signature block printed their role under the name.
        "role_line": f.text("role_line") if "role_line" in texts else None,
        "dossier_code": facts["dossier_code"],
    }
