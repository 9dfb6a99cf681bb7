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
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
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
    """Units that issued decisions or have an approver (who signs them), readable by `user`.
    The units the reader meets are found once; each is probed on the (issuer, year,
    number) key for a decision, and the approvers' units are matched against them: the
    cost follows the units in reach, not the decisions ever issued."""
    reach = db.select(Unit.id).where(meets_clause(Unit.id, user)).cte("reach")
    issued = db.select(reach.c.id).where(db.select(Decision.id).where(Decision.issuer_id == reach.c.id).exists())
    signing = db.select(RoleAssignment.unit_id).where(RoleAssignment.role == "approver",
                                                      RoleAssignment.unit_id.in_(db.select(reach.c.id)))
    return list(db.session.execute(db.select(Unit).where(Unit.id.in_(issued.union(signing)))
                                   .order_by(Unit.path)).scalars())


def readable_issuer(user: User, code: str | None, issuers: list[Unit]) -> Unit:
    """`register_issuer` when the readable issuers are at hand: a unit that is not
    among them is checked by `meets` (one that issues nothing can still be asked for)."""
    for issuer in issuers:
        if issuer.code == code:
            return issuer
    return register_issuer(user, code)


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

PAGE_SIZE = 50  # numbers per page of the register page
EXPORT_BATCH = 500  # numbers read at a time for the XLSX export
REGISTER_API_PAGE = 200  # numbers per API page when `after` comes without `limit`


@dataclass(frozen=True)
class Extent:
    """How many numbers an issuer-year holds, and its lowest and highest."""

    count: int
    low: int
    top: int

    @property
    def gap_free(self) -> bool:
        # Numbers are unique integers (a unique key): n of them, the lowest 1 and the
        # highest n, can only be 1..n.
        return self.count == self.top and (self.count == 0 or self.low == 1)

    @property
    def pages(self) -> int:
        return max(1, -(-self.top // PAGE_SIZE))


def register_extent(issuer: Unit, year: int) -> Extent:
    """One statement over the (issuer, year, number) key, however long the register."""
    count, low, top = db.session.execute(
        db.select(db.func.count(), db.func.coalesce(db.func.min(Decision.number), 0),
                  db.func.coalesce(db.func.max(Decision.number), 0))
        .where(Decision.issuer_id == issuer.id, Decision.year == year)).one()
    return Extent(count, low, top)


def page_of(number: int) -> int:
    """The page of the register page showing `number` (pages are number ranges)."""
    return (max(number, 1) - 1) // PAGE_SIZE + 1


def page_numbers(page: int) -> tuple[int, int]:
    """The first and last number a page shows: page 1 is 1..50, page 2 is 51..100."""
    return (page - 1) * PAGE_SIZE + 1, page * PAGE_SIZE


def register_decisions(issuer: Unit, year: int, after: int = 0, limit: int | None = None,
                       last: int | None = None) -> list[Decision]:
    """The issuer's decisions of the year numbered above `after` (up to `last`, at most
    `limit` of them), in order, with what a row shows (the decisions they revoke or
    that revoke them, and those decisions' dossiers) loaded together."""
    stmt = (db.select(Decision).where(Decision.issuer_id == issuer.id, Decision.year == year,
                                      Decision.number > after)
            .order_by(Decision.number)
            .options(selectinload(Decision.revocations), selectinload(Decision.revokes)))
    if last is not None:
        stmt = stmt.where(Decision.number <= last)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(db.session.execute(stmt).scalars())


def gaps(issuer: Unit, year: int, extent: Extent | None = None) -> list[int]:
    """Numbers in 1..max that no decision holds (always empty when numbering works).
    The numbers themselves are read only when the extent shows they are not 1..n."""
    extent = extent or register_extent(issuer, year)
    if extent.gap_free:
        return []
    numbers = set(db.session.execute(db.select(Decision.number).where(
        Decision.issuer_id == issuer.id, Decision.year == year)).scalars())
    return sorted(set(range(1, extent.top + 1)) - numbers)


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


def register_rows(issuer: Unit, year: int, after: int = 0, limit: int | None = None,
                  last: int | None = None) -> list[dict]:
    """Rows of the register numbered above `after` (up to `last`, at most `limit`)."""
    return [register_row(d) for d in register_decisions(issuer, year, after, limit, last)]


def all_register_rows(issuer: Unit, year: int) -> Iterator[dict]:
    """Every row of the register, read EXPORT_BATCH numbers at a time: the decisions of
    one batch are let go before the next is read, so a long register is never held
    as objects at once."""
    after = 0
    while batch := register_decisions(issuer, year, after, EXPORT_BATCH):
        after = batch[-1].number
        rows = [register_row(d) for d in batch]
        del batch  # the session holds loaded objects weakly: unreferenced, they go
        yield from rows


# ----------------------------------------------------------------------------- XLSX

def _units_text(units: list[dict]) -> str:
    return "\n".join(f"{u['name']}, {u['parent']}" if u["parent"] else u["name"] for u in units)


def _links_text(row: dict) -> str:
    if row["revokes"]:
        r = row["revokes"]
        return f"Thu hồi QĐ {r['symbol']} ngày {vn_date(r['issued_on'])}"
    return "\n".join(f"Thu hồi bởi QĐ {r['symbol']} ngày {vn_date(r['issued_on'])} ({_units_text(r['units'])})"
                     .replace("\n", "; ") for r in row["revoked_by"])


def register_xlsx(issuer: Unit, year: int) -> io.BytesIO:
    """The whole register as a workbook: a title row, a frozen heading row, one row per
    number. Written in openpyxl's write-only mode from rows read EXPORT_BATCH at a time,
    so neither the decisions nor the cells of a long register are held at once."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(SHEET_TITLE)
    wb.properties.title = f"Sổ đăng ký quyết định - {issuer_body(issuer)} - năm {year}"
    wb.properties.creator = "Hồ sơ Nông thôn mới"
    for i, width in enumerate(WIDTHS, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A3"  # title and headings stay on screen
    ws.print_title_rows = "2:2"
    ws.page_setup.orientation = "landscape"
    title = WriteOnlyCell(ws, f"SỔ ĐĂNG KÝ QUYẾT ĐỊNH — {issuer_body(issuer).upper()} — NĂM {year}")
    title.font = Font(bold=True, size=13)
    ws.append([title])
    ws.merged_cells.add(f"A1:{get_column_letter(len(HEADINGS))}1")
    ws.append([_cell(ws, text, font=Font(bold=True), fill=PatternFill("solid", fgColor="DDE7F0"),
                     alignment=Alignment(wrap_text=True, vertical="center")) for text in HEADINGS])
    top = Alignment(wrap_text=True, vertical="top")
    for row in all_register_rows(issuer, year):
        issued = _cell(ws, date.fromisoformat(row["issued_on"]), alignment=top)
        issued.number_format = "DD/MM/YYYY"
        symbol = _cell(ws, row["symbol"], alignment=top)
        symbol.hyperlink = row["verify_url"]
        ws.append([_cell(ws, row["number"], alignment=top), symbol, issued,
                   _cell(ws, TYPE_LABELS.get(row["type"], (row["type"],))[0], alignment=top),
                   _cell(ws, row["subject"], alignment=top), _cell(ws, _units_text(row["units"]), alignment=top),
                   _cell(ws, row["signer"], alignment=top),
                   _cell(ws, STATUS_LABELS[row["status_key"]][0], alignment=top),
                   _cell(ws, _links_text(row), alignment=top)])
    out = io.BytesIO()
    wb.save(out)
    out.seek(0)
    return out


def _cell(ws, value, **style) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws, value)
    for name, v in style.items():
        setattr(cell, name, v)
    return cell


def xlsx_filename(issuer: Unit, year: int) -> str:
    return f"so-dang-ky-{issuer.code}-{year}.xlsx"
