"""The numbering register (sổ đăng ký văn bản): every number an issuer gave in a
year, with date, subject, units, signer and status, as plain data for the JSON
API, the page and the XLSX export.

Numbers come from the issuer-year counter at signing (services/documents/decisions.py),
so the register is gap-free by construction; `gaps()` proves it on the data.
A register is read whole or not at all: hiding some rows from some readers
would make a gap-free register look gapped. Who may read it is one predicate,
`permissions.meets` (the issuer's subtree meets the reader's scope, in any period),
used by the API, the page and the export alike.
"""
from __future__ import annotations

import io
from datetime import date

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from sqlalchemy.orm import selectinload

from ...clock import local_today
from ...extensions import db
from ...formats import vn_date
from ...models import Decision, RoleAssignment, Unit, User
from ...permissions import in_scope, meets, meets_clause
from ...workflow.errors import NotFound, NotPermitted
from ..core.reference import find_unit
from ..core.wording import committee_of
from ..documents.decisions import verify_url

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHEET_TITLE = "Sổ đăng ký"
HEADINGS = ("Số", "Ký hiệu", "Ngày ban hành", "Loại", "Trích yếu", "Đơn vị", "Người ký", "Trạng thái",
            "Thu hồi bởi / Thu hồi QĐ")
WIDTHS = (7, 16, 14, 12, 60, 40, 24, 24, 44)
TYPE_LABELS = {"recognition": ("Công nhận", "Recognition"), "revocation": ("Thu hồi", "Revocation")}
STATUS_LABELS = {"valid": ("Còn hiệu lực", "Valid"), "revoked": ("Đã thu hồi", "Revoked"),
                 "partial": ("Còn hiệu lực, đã thu hồi một phần", "Valid, partly revoked")}


# ----------------------------------------------------------------------------- who may read

def register_issuer(user: User, code: str | None) -> Unit:
    """The issuer named by `code`, 404 when unknown, 403 when not readable: every user
    whose scope meets the issuer's subtree in some period reads it, its officials above
    and the communes and villages below (decisions are public documents). An abolished
    issuer's register stays readable, by the successors of the units it held too."""
    issuer = find_unit(code) if code else None
    if issuer is None:
        raise NotFound("Không có cơ quan ban hành mã này.", "No issuer with this code.")
    if not meets(user, issuer):
        raise NotPermitted("Bạn không có quyền xem sổ đăng ký của cơ quan này.",
                           "You may not read this issuer's register.")
    return issuer


def readable_issuers(user: User) -> list[Unit]:
    """Units that issued decisions or have an approver (who signs them), readable by `user`."""
    issued = db.select(Decision.issuer_id).distinct()
    signing = db.select(RoleAssignment.unit_id).where(RoleAssignment.role == "approver").distinct()
    return list(db.session.execute(db.select(Unit).where(Unit.id.in_(issued) | Unit.id.in_(signing),
                                                         meets_clause(Unit.id, user))
                                   .order_by(Unit.path)).scalars())


def default_issuer(user: User, issuers: list[Unit]) -> Unit | None:
    """The user's own unit if it issues; else the nearest issuer above; else the first
    below (`issuers` are readable: one out of scope lies above the user)."""
    own = {ra.unit_id for ra in user.roles}

    def closeness(unit: Unit) -> tuple[int, int]:
        if unit.id in own:
            return (0, 0)
        if not in_scope(user, unit):
            return (1, -len(unit.path))
        return (2, len(unit.path))
    return min(issuers, key=closeness) if issuers else None


def register_years(issuer: Unit) -> list[int]:
    """Years with numbers issued, and this year while the issuer exists, newest first."""
    years = set(db.session.execute(db.select(Decision.year).where(Decision.issuer_id == issuer.id)
                                   .distinct()).scalars())
    today = local_today()
    if issuer.live_on(today) or not years:
        years.add(today.year)
    return sorted(years, reverse=True)


# ----------------------------------------------------------------------------- the rows

def register_decisions(issuer: Unit, year: int) -> list[Decision]:
    """The issuer's decisions of the year, with what a row shows (the decisions they
    revoke or that revoke them, and those decisions' dossiers) loaded together."""
    return list(db.session.execute(
        db.select(Decision).where(Decision.issuer_id == issuer.id, Decision.year == year)
        .order_by(Decision.number)
        .options(selectinload(Decision.revocations), selectinload(Decision.revokes))).scalars())


def gaps(issuer: Unit, year: int) -> list[int]:
    """Numbers in 1..max that no decision holds (always empty when numbering works)."""
    numbers = set(db.session.execute(db.select(Decision.number).where(
        Decision.issuer_id == issuer.id, Decision.year == year)).scalars())
    return sorted(set(range(1, max(numbers, default=0) + 1)) - numbers)


def unit_list(decision: Decision) -> list[dict]:
    """The decision's units with their parents on its day (a reform later moves villages)."""
    return [{"code": d.unit.code, "name": d.unit.name,
             "parent": p.name if (p := d.unit.parent_on(decision.issued_on)) else None,
             "dossier": d.code} for d in decision.dossiers]


def decision_link(decision: Decision) -> dict:
    """A short public reference to another decision."""
    return {"number": decision.number, "symbol": decision.symbol, "issued_on": decision.issued_on.isoformat(),
            "verify_url": verify_url(decision.verify_token), "token": decision.verify_token}


def revoked_by(decision: Decision) -> list[dict]:
    """The revocation decisions citing `decision`, each with the units it revoked."""
    return [{**decision_link(r), "units": unit_list(r)} for r in decision.revocations if r.type == "revocation"]


def revokes(decision: Decision) -> dict | None:
    return decision_link(decision.revokes) if decision.revokes is not None else None


def status_key(decision: Decision) -> str:
    """valid, revoked, or partial: valid, but some of its units were revoked."""
    if decision.status == "valid" and revoked_by(decision):
        return "partial"
    return decision.status


def issuer_body(issuer: Unit) -> str:
    """The issuing body, as a register and a verification page name it: "Ủy ban nhân
    dân huyện Tam Đường", not the area "Huyện Tam Đường"."""
    return committee_of(issuer)


def register_row(decision: Decision) -> dict:
    return {
        "number": decision.number, "symbol": decision.symbol, "issued_on": decision.issued_on.isoformat(),
        "issuer_body": issuer_body(decision.issuer),
        "type": decision.type, "status": decision.status, "status_key": status_key(decision),
        "signer": decision.signer_name, "subject": decision.subject, "sha256": decision.pdf_sha256,
        "verify_url": verify_url(decision.verify_token), "token": decision.verify_token,
        "reason": decision.reason,
        "dossiers": [{"id": x.id, "code": x.code, "unit": {"code": x.unit.code, "name": x.unit.name}}
                     for x in decision.dossiers],
        "units": unit_list(decision), "revokes": revokes(decision), "revoked_by": revoked_by(decision),
    }


def register_rows(issuer: Unit, year: int) -> list[dict]:
    return [register_row(d) for d in register_decisions(issuer, year)]


# ----------------------------------------------------------------------------- XLSX

def _units_text(units: list[dict]) -> str:
    return "\n".join(f"{u['name']}, {u['parent']}" if u["parent"] else u["name"] for u in units)


def _links_text(row: dict) -> str:
    if row["revokes"]:
        r = row["revokes"]
        return f"Thu hồi QĐ {r['symbol']} ngày {vn_date(r['issued_on'])}"
    return "\n".join(f"Thu hồi bởi QĐ {r['symbol']} ngày {vn_date(r['issued_on'])} ({_units_text(r['units'])})"
                     .replace("\n", "; ") for r in row["revoked_by"])


def register_xlsx(issuer: Unit, year: int, rows: list[dict]) -> bytes:
    """The register as a workbook: a title row, a frozen heading row, one row per number."""

    wb = Workbook()
    ws = wb.active
    ws.title = SHEET_TITLE
    wb.properties.title = f"Sổ đăng ký quyết định - {issuer_body(issuer)} - năm {year}"
    wb.properties.creator = "Hồ sơ Nông thôn mới"
    ws.append([f"SỔ ĐĂNG KÝ QUYẾT ĐỊNH — {issuer_body(issuer).upper()} — NĂM {year}"])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADINGS))
    ws["A1"].font = Font(bold=True, size=13)
    ws.append(list(HEADINGS))
    for cell in ws[2]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDE7F0")
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    for row in rows:
        status = STATUS_LABELS[row["status_key"]][0]
        ws.append([row["number"], row["symbol"], date.fromisoformat(row["issued_on"]),
                   TYPE_LABELS.get(row["type"], (row["type"],))[0], row["subject"], _units_text(row["units"]),
                   row["signer"], status, _links_text(row)])
        excel_row = ws.max_row
        ws.cell(excel_row, 3).number_format = "DD/MM/YYYY"
        ws.cell(excel_row, 2).hyperlink = row["verify_url"]
        for cell in ws[excel_row]:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    for i, width in enumerate(WIDTHS, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A3"  # title and headings stay on screen
    ws.print_title_rows = "2:2"
    ws.page_setup.orientation = "landscape"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def xlsx_filename(issuer: Unit, year: int) -> str:
    return f"so-dang-ky-{issuer.code}-{year}.xlsx"
