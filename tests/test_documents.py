"""A dossier's papers: the receipt slip at submission and the appraisal report at appraisal.

Read back the way a clerk reads them (pdftotext, pdffonts, pdfinfo), downloaded through
the API and the pages like a user would; a PNG of page 1 of each kind goes to
test-artifacts/documents/ for a human look at the layout.
"""
from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import threading
from datetime import date
from pathlib import Path

import frozen_clock
import pytest
from conftest import PG_URL
from helpers import PDF, dossier_in
from sqlalchemy import select

from workflow_app.extensions import db
from workflow_app.formats import vn_decimal
from workflow_app.models import Counter, Document, Dossier, Unit, UnitLink
from workflow_app.pdf import render
from workflow_app.pdf.documents import (
    document_context,
    short_date,
    texts_for,
)
from workflow_app.pdf.render import LocalAssetFetcher, html_to_pdf, render_html
from workflow_app.services import (
    appraise_criterion,
    attach_evidence,
    create_dossier,
    fire_event,
    self_assess,
    set_fields,
)
from workflow_app.services.core.users import issue_token
from workflow_app.services.documents.papers import appraisal_ref, documents_of
from workflow_app.workflow.errors import GuardFailed

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "documents"
needs_poppler = pytest.mark.skipif(
    any(shutil.which(tool) is None for tool in ("pdftotext", "pdffonts", "pdfinfo", "pdftoppm")),
    reason="poppler-utils not installed (make deps)")
YEAR = frozen_clock.YEAR
TODAY = frozen_clock.TODAY


def run(*command: str) -> str:
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def flat(text: str) -> str:
    return "".join(text.split())


def pdf_text(path: Path) -> str:
    return run("pdftotext", "-layout", str(path), "-")


def assert_in_order(text: str, phrases: list[str]) -> None:
    text, position = flat(text), 0
    for phrase in phrases:
        found = text.find(flat(phrase), position)
        assert found >= 0, f"missing or out of order: {phrase!r}"
        position = found + 1


def assert_print_ready(path: Path) -> None:
    """Every font embedded and subset (Tinos / Liberation Serif), every page A4 portrait."""
    rows = run("pdffonts", str(path)).splitlines()[2:]
    assert rows, "no fonts in the PDF"
    for row in rows:
        name, *_, emb, sub, _uni, _obj, _gen = row.split()
        assert (emb, sub) == ("yes", "yes"), row
        assert name.partition("+")[2].startswith(("Tinos", "LiberationSerif")), row
    info = run("pdfinfo", "-f", "1", "-l", "99", str(path))
    sizes = re.findall(r"Page\s+\d+ size:\s+([\d.]+) x ([\d.]+) pts", info)
    assert sizes
    for width, height in sizes:
        assert 595 <= float(width) < 596 and 841 <= float(height) < 842


def note_column(path: Path) -> str:
    """The text of the report table's "Ghi chú" column alone (document.css: the table
    spans the 165 mm between the margins; the column starts at 52% and is 29% wide)."""
    left, width = 30 + 165 * 0.52, 165 * 0.29
    to_pt = 72 / 25.4
    return run("pdftotext", "-r", "72", "-x", str(int(left * to_pt) - 2), "-y", "0",
               "-W", str(int(width * to_pt) + 4), "-H", "842", str(path), "-")


def save_page1_png(path: Path, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    run("pdftoppm", "-r", "60", "-png", "-f", "1", "-l", "1", "-singlefile", str(path), str(ARTIFACTS / name))
    png = ARTIFACTS / f"{name}.png"
    assert png.stat().st_size > 0
    return png


# ----------------------------------------------------------------------------- the road

class Road:
    """A village dossier moved through the services by real users; downloads through the API."""

    def __init__(self, make_user, api_as, unit="na-tam-01", commune="na-tam", district="tam-duong"):
        self.submitter = make_user("submitter", commune, name="Lò Văn Nộp")
        self.appraiser = make_user("appraiser", district, name="Nguyễn Thị Thẩm")
        self.api = api_as(self.submitter)
        self.dossier = create_dossier(self.submitter, "village_ntm", unit, YEAR)
        for entry in list(self.dossier.current_criteria()):
            attach_evidence(self.submitter, self.dossier, f"minh-chung-{entry.code}.pdf", PDF, entry.code)
            self_assess(self.submitter, self.dossier, entry.code, "met", "Đạt")
        set_fields(self.submitter, self.dossier, {"request_ref": "Tờ trình số 12/TTr-UBND ngày 02/9/2024"})
        db.session.commit()

    def submit(self, comment=None):
        fire_event(self.submitter, self.dossier, "submit", comment)
        db.session.commit()

    def pass_all(self, notes: dict | None = None):
        for entry in list(self.dossier.current_criteria()):
            note = (notes or {}).get(entry.code)
            if entry.verdict != "pass" or note:
                appraise_criterion(self.appraiser, self.dossier, entry.code, "pass", note)
        db.session.commit()

    def appraise(self, comment=None):
        fire_event(self.appraiser, self.dossier, "appraise", comment)
        db.session.commit()

    def docs(self, kind=None):
        return [d for d in documents_of(self.dossier) if kind is None or d.kind == kind]

    def download(self, doc, directory: Path, api=None):
        r = (api or self.api).get(f"/api/v1/dossiers/{self.dossier.id}/documents/{doc.id}.pdf")
        assert r.status_code == 200, r.get_data(as_text=True)[:300]
        assert r.mimetype == "application/pdf"
        path = directory / f"{doc.kind}-{doc.id}.pdf"
        path.write_bytes(r.data)
        return path, r


@pytest.fixture
def road(app, make_user, api_as):
    return Road(make_user, api_as)


# ----------------------------------------------------------------------------- the rows

def test_submit_issues_a_receipt_from_the_receiving_body(road):
    assert road.docs() == []
    road.submit()
    [receipt] = road.docs()
    assert (receipt.kind, receipt.round, receipt.number, receipt.symbol) == ("receipt", 1, None, None)
    # The definition says appraiser@district acts next: the applicant's district receives.
    assert receipt.issuer.code == "tam-duong"
    assert receipt.issued_by_id == road.submitter.id
    facts = receipt.data["facts"]
    assert facts["dossier_code"] == road.dossier.code
    assert facts["submitter_name"] == "Lò Văn Nộp"
    assert facts["sender"] == "Ủy ban nhân dân xã Nà Tăm"
    assert facts["submitted_at"].endswith("+07:00")
    assert len(facts["attachments"]) == 14
    # "Hẹn trả kết quả": the submitted step's limit (15 working days) from the day of receipt.
    from workflow_app.workdays import add_working_days

    received = date.fromisoformat(facts["submitted_at"][:10])
    assert facts["due_date"] == add_working_days(received, 15).isoformat()
    assert receipt.data["texts"]["title"] == "GIẤY TIẾP NHẬN HỒ SƠ"  # a copy of the texts in force
    assert receipt.pdf_key and receipt.pdf_sha256  # rendered right after the submission committed


def test_appraise_issues_a_numbered_report_and_appraisal_ref_cites_it(road):
    road.submit()
    assert appraisal_ref(road.dossier) is None
    road.pass_all()
    road.appraise()
    [report] = road.docs("appraisal_report")
    assert (report.number, report.symbol, report.round) == (1, "01/BC-NN", 1)
    assert report.issuer.code == "tam-duong"  # the unit the appraiser holds the role at
    assert report.issued_by_id == road.appraiser.id
    assert appraisal_ref(road.dossier) == f"Báo cáo thẩm định số 01/BC-NN ngày {short_date(TODAY)}"


# ----------------------------------------------------------------------------- the PDFs

@needs_poppler
def test_receipt_prints_every_element(road, tmp_path):
    road.submit()
    [receipt] = road.docs()
    path, _ = road.download(receipt, tmp_path)
    save_page1_png(path, "receipt")
    assert_print_ready(path)
    assert int(re.search(r"Pages:\s+(\d+)", run("pdfinfo", str(path)))[1]) == 1
    moment = receipt.data["facts"]["submitted_at"]
    hour, minute = moment[11:13], moment[14:16]
    text = pdf_text(path)
    assert_in_order(text, [
        "ỦY BAN NHÂN DÂN", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "HUYỆN TAM ĐƯỜNG",
        "Độc lập - Tự do - Hạnh phúc", f"Mã hồ sơ: {road.dossier.code}",
        f"Tam Đường, ngày {TODAY.day:02d} tháng", f"năm {TODAY.year}",
        "GIẤY TIẾP NHẬN HỒ SƠ",
        "Ủy ban nhân dân huyện Tam Đường đã tiếp nhận hồ sơ sau:",
        "Mã hồ sơ:", road.dossier.code,
        "Tên hồ sơ:", f"Hồ sơ đề nghị công nhận Bản 01 (Nà Tăm), xã Nà Tăm đạt chuẩn nông thôn mới năm {YEAR}",
        "Đơn vị đề nghị công nhận:", "Bản 01 (Nà Tăm), xã Nà Tăm",
        "Cơ quan nộp hồ sơ:", "Ủy ban nhân dân xã Nà Tăm",
        "Người nộp:", "Lò Văn Nộp (cán bộ UBND xã)",
        "Văn bản đề nghị:", "Tờ trình số 12/TTr-UBND ngày 02/9/2024",
        "Thời điểm tiếp nhận:", f"{hour} giờ {minute} phút, ngày {short_date(TODAY)}", f"({moment})",
        "Hình thức tiếp nhận:", "Tự đánh giá của đơn vị:", "14/14 tiêu chí tự đánh giá đạt",
        "Thành phần hồ sơ đã nhận (14 tệp):", "STT", "Tên tệp", "Tiêu chí", "Dung lượng",
        *[phrase for n, name in ((1, "Giao thông"), (7, "Lao động"), (14, "An ninh trật tự xã hội"))
          for phrase in (f"minh-chung-{n}.pdf", f"{n}. {name}", f"{len(PDF)} byte")],
        f"xin cung cấp mã hồ sơ {road.dossier.code}",
        "NGƯỜI NỘP HỒ SƠ", "CƠ QUAN TIẾP NHẬN", "Lò Văn Nộp", "Ủy ban nhân dân huyện Tam Đường",
    ])
    for n in range(1, 15):
        assert f"minh-chung-{n}.pdf" in text
    assert "Lần nộp thứ" not in text  # first submission
    due = date.fromisoformat(receipt.data["facts"]["due_date"])
    assert f"Ngày hẹn trả kết quả: {short_date(due)}" in text  # Decree 30: 0 before months 1-2 only


@needs_poppler
def test_appraisal_report_prints_every_element(road, tmp_path):
    road.submit()
    road.pass_all({"3": "Đạt theo biên bản kiểm tra ngày 28/8"})
    road.appraise("Đề nghị công nhận.")
    [report] = road.docs("appraisal_report")
    path, _ = road.download(report, tmp_path)
    save_page1_png(path, "appraisal_report")
    assert_print_ready(path)
    text = pdf_text(path)
    assert_in_order(text, [
        "UBND HUYỆN TAM ĐƯỜNG", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "PHÒNG NÔNG NGHIỆP",
        "Độc lập - Tự do - Hạnh phúc", "VÀ PHÁT TRIỂN NÔNG THÔN", "Số: 01/BC-NN",
        f"Tam Đường, ngày {TODAY.day:02d} tháng", "BÁO CÁO THẨM ĐỊNH",
        f"Hồ sơ đề nghị công nhận Bản 01 (Nà Tăm), xã Nà Tăm đạt chuẩn nông thôn mới năm {YEAR}",
        f"Ngày {short_date(TODAY)}, Ủy ban nhân dân huyện Tam Đường nhận được hồ sơ mã {road.dossier.code}",
        "của Ủy ban nhân dân xã Nà Tăm", "Kèm theo Tờ trình số 12/TTr-UBND ngày 02/9/2024.",
        "1. Kết quả thẩm định từng tiêu chí", "STT",
        "2. Ý kiến của người thẩm định", "Đề nghị công nhận.",
        "3. Kết luận", "Qua thẩm định, Bản 01 (Nà Tăm), xã Nà Tăm đạt 14/14 tiêu chí.",
        "đề nghị Chủ tịch Ủy ban nhân dân huyện Tam Đường xem xét, công nhận",
        "Nơi nhận:", "TRƯỞNG PHÒNG", "- Ủy ban nhân dân xã Nà Tăm;", "- Lưu: VT, NN.",
        "Nguyễn Thị Thẩm",
    ])
    # Signed for the appraising office by its head or a deputy: no officer's role line.
    assert "Cán bộ thẩm định huyện" not in text and "NGƯỜI THẨM ĐỊNH" not in text
    # Headings wrap inside their cells: each is there, read without the layout.
    raw = flat(run("pdftotext", str(path), "-"))
    for heading in ("Tiêu chí", "Tự đánh giá", "Kết quả thẩm định", "Ghi chú", "Người thẩm định"):
        assert flat(heading) in raw, heading
    # One table row per criterion, in order: number, name, self-assessment, verdict, appraiser.
    names = ["Giao thông", "Điện", "Nhà ở dân cư", "Văn hóa", "Thông tin", "Phát triển sản xuất", "Lao động",
             "Thu nhập", "Tỷ lệ nghèo", "Giáo dục", "Y tế", "Môi trường và an", "Hệ thống chính", "An ninh trật tự"]
    lines = [" ".join(line.split()) for line in text.splitlines()]
    for n, name in enumerate(names, 1):
        row = rf"{n} {re.escape(name)}.* Đạt Đạt (.* )?Nguyễn Thị"
        assert any(re.match(row, line) for line in lines), f"no row {n} {name}"
    assert any(re.match(r"3 Nhà ở dân cư Đạt Đạt Đạt theo biên bản .*Nguyễn Thị", line) for line in lines)
    assert flat("Đạt theo biên bản kiểm tra ngày 28/8") in raw
    assert "Không đạt" not in text


@needs_poppler
def test_town_papers_print_the_survey_and_the_council_vote(app, make_user, api_as, tmp_path):
    officer = make_user("submitter", "tt-tam-duong", name="Vàng Thị Phố")
    appraiser = make_user("appraiser", "tam-duong", name="Nguyễn Thị Thẩm")
    town = create_dossier(officer, "town_civilized", "tt-tam-duong", YEAR)
    for entry in list(town.current_criteria()):
        attach_evidence(officer, town, f"mc-{entry.code}.pdf", PDF, entry.code)
        self_assess(officer, town, entry.code, "met", None)
    set_fields(officer, town, {"resident_satisfaction_pct": 92.5})
    fire_event(officer, town, "submit")
    for entry in list(town.current_criteria()):
        appraise_criterion(appraiser, town, entry.code, "pass", None)
    set_fields(appraiser, town, {"council_members": 9, "council_present": 8, "council_in_favour": 7})
    fire_event(appraiser, town, "appraise")
    db.session.commit()
    receipt, report = documents_of(town)
    assert receipt.issuer.code == report.issuer.code == "tam-duong"
    api = api_as(officer)
    paths = {}
    for doc in (receipt, report):
        r = api.get(f"/api/v1/dossiers/{town.id}/documents/{doc.id}.pdf")
        assert r.status_code == 200
        paths[doc.kind] = tmp_path / f"town-{doc.kind}.pdf"
        paths[doc.kind].write_bytes(r.data)
        save_page1_png(paths[doc.kind], f"town-{doc.kind}")
        assert_print_ready(paths[doc.kind])
    assert_in_order(pdf_text(paths["receipt"]), [
        f"Hồ sơ đề nghị công nhận thị trấn Tam Đường đạt chuẩn đô thị văn minh năm {YEAR}",
        "Thị trấn Tam Đường, huyện Tam Đường", "Ủy ban nhân dân thị trấn Tam Đường",
        "Tỷ lệ người dân hài lòng", "92,5"])
    assert_in_order(pdf_text(paths["appraisal_report"]), [
        "BÁO CÁO THẨM ĐỊNH", "Quy hoạch đô thị", "2. Thông tin khác của hồ sơ",
        "Tỷ lệ người dân hài lòng (%): 92,5.", "Số thành viên Hội đồng thẩm định: 9.",
        "Số thành viên có mặt: 8.", "Số thành viên tán thành: 7.",
        "3. Kết luận", "Qua thẩm định, thị trấn Tam Đường đạt 9/9 tiêu chí.",
        "công nhận thị trấn Tam Đường đạt chuẩn đô thị văn minh"])


# ----------------------------------------------------------------------------- numbers

def _counter(scope: str) -> int | None:
    return db.session.execute(select(Counter.value).where(Counter.scope == scope)).scalar()


def _second_district() -> None:
    """Another district with a commune and a village: a second issuer and its own series."""
    province = db.session.execute(select(Unit).where(Unit.code == "lai-chau")).scalar_one()
    district = _unit("tan-uyen", "Huyện Tân Uyên", "district", province, agency_code="TU")
    commune = _unit("phuc-khoa", "Xã Phúc Khoa", "commune", district)
    _unit("phuc-khoa-01", "Bản 01 (Phúc Khoa)", "village", commune)
    db.session.commit()


def _unit(code: str, name: str, level: str, parent: Unit, **kw) -> Unit:
    """A unit with its one place in the tree (as the units loader makes it)."""
    path = f"{parent.path}{code}/"
    unit = Unit(code=code, name=name, level=level, parent=parent, path=path, **kw)
    unit.links.append(UnitLink(parent=parent, relation="parent", path=path))
    db.session.add(unit)
    return unit


def test_report_numbers_are_gap_free_per_issuer_and_year(app, make_user, api_as):
    scope = f"appraisal_report:tam-duong:{YEAR}"
    first = Road(make_user, api_as, "na-tam-01")
    first.submit()
    # A refused appraisal (criteria not yet passed) takes no number.
    with pytest.raises(GuardFailed):
        first.appraise()
    db.session.rollback()
    assert not _counter(scope)
    assert first.docs("appraisal_report") == []

    first.pass_all()
    first.appraise()
    assert [d.number for d in first.docs("appraisal_report")] == [1]

    # An appraisal whose transaction is rolled back gives its number back.
    second = Road(make_user, api_as, "na-tam-02")
    second.submit()
    second.pass_all()
    fire_event(second.appraiser, second.dossier, "appraise")
    assert [d.number for d in second.docs("appraisal_report")] == [2]
    db.session.rollback()
    db.session.expire_all()
    assert _counter(scope) == 1 and second.docs("appraisal_report") == []
    assert db.session.get(Dossier, second.dossier.id).state == "submitted"
    second.appraise()
    assert [d.symbol for d in second.docs("appraisal_report")] == ["02/BC-NN"]

    # Another issuer has its own series from 1; decisions keep theirs.
    _second_district()
    other = Road(make_user, api_as, "phuc-khoa-01", "phuc-khoa", "tan-uyen")
    other.submit()
    assert other.docs("receipt")[0].issuer.code == "tan-uyen"
    other.pass_all()
    other.appraise()
    [report] = other.docs("appraisal_report")
    assert (report.issuer.code, report.number) == ("tan-uyen", 1)
    assert _counter(scope) == 2 and _counter(f"appraisal_report:tan-uyen:{YEAR}") == 1
    assert _counter(f"decision:tam-duong:{YEAR}") is None


@pytest.mark.pg
@pytest.mark.skipif(not PG_URL, reason="parallel appraisals are proven on PostgreSQL (TEST_DATABASE_URL)")
def test_parallel_appraisals_number_reports_one_to_n(app, make_user):
    appraiser = make_user("appraiser", "tam-duong")
    officer = make_user("submitter", "na-tam")
    ids = [dossier_in(officer, f"na-tam-0{i}", 2024, "submitted").id for i in range(1, 10)]
    tokens = [issue_token(appraiser) for _ in ids]
    db.session.commit()
    barrier, codes = threading.Barrier(len(ids)), []

    def appraise(token, dossier_id):
        client = app.test_client()
        barrier.wait()
        r = client.post(f"/api/v1/dossiers/{dossier_id}/events", json={"event": "appraise"},
                        headers={"Authorization": f"Bearer {token}"})
        codes.append(r.status_code)

    threads = [threading.Thread(target=appraise, args=pair) for pair in zip(tokens, ids, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert codes == [200] * len(ids)
    db.session.expire_all()
    numbers = db.session.execute(select(Document.number).where(Document.kind == "appraisal_report")).scalars()
    assert sorted(numbers) == list(range(1, len(ids) + 1))


# ----------------------------------------------------------------------------- rounds, storage

@needs_poppler
def test_resubmission_after_return_gives_a_second_receipt_and_the_first_never_changes(road, tmp_path):
    road.submit()
    road.pass_all()
    fire_event(road.appraiser, road.dossier, "return", "Bổ sung minh chứng tiêu chí 7")
    db.session.commit()
    attach_evidence(road.submitter, road.dossier, "bo-sung-7.pdf", PDF, "7")
    db.session.commit()
    road.submit("Đã bổ sung minh chứng tiêu chí 7.")
    first, second = road.docs("receipt")
    assert (first.round, second.round) == (1, 2)
    first_pdf, _ = road.download(first, tmp_path)  # rendered only now, after the dossier moved on
    second_pdf, _ = road.download(second, tmp_path)
    first_text, second_text = pdf_text(first_pdf), pdf_text(second_pdf)
    assert "bo-sung-7.pdf" not in first_text and "Lần nộp thứ" not in first_text
    assert "Thành phần hồ sơ đã nhận (14 tệp)" in first_text
    assert "bo-sung-7.pdf" in second_text and "(Lần nộp thứ 2" in second_text
    assert "Thành phần hồ sơ đã nhận (15 tệp)" in second_text
    # The report of round 2 is what a decision cites.
    road.pass_all()
    road.appraise()
    assert [d.round for d in road.docs("appraisal_report")] == [2]


def test_second_download_returns_the_stored_bytes(road, tmp_path):
    road.submit()
    [receipt] = road.docs()
    _, r1 = road.download(receipt, tmp_path)
    db.session.expire_all()
    stored = db.session.get(Document, receipt.id)
    assert stored.pdf_sha256 == hashlib.sha256(r1.data).hexdigest()
    key = stored.pdf_key
    _, r2 = road.download(receipt, tmp_path)
    assert r2.data == r1.data
    assert r2.headers["ETag"].strip('"') == stored.pdf_sha256
    db.session.expire_all()
    assert db.session.get(Document, receipt.id).pdf_key == key
    # The web page's link serves the same bytes.
    client = road.api.client
    client.post("/login", data={"username": road.submitter.username, "password": "pw-123456"}).close()
    r3 = client.get(f"/dossiers/{road.dossier.id}/documents/{receipt.id}.pdf")
    assert r3.status_code == 200 and r3.data == r1.data
    assert "Giay-tiep-nhan" in r3.headers["Content-Disposition"]
    r3.close()


def test_a_report_rendered_late_prints_the_facts_of_its_moment(road):
    road.submit()
    road.pass_all({"1": "Ghi chú lúc thẩm định"})
    road.appraise()
    [report] = road.docs("appraisal_report")
    fire_event(road.appraiser, road.dossier, "return", "Kiểm tra lại tiêu chí 1")
    road.dossier.current_criteria()[0].verdict_note = "Ghi chú sau này"
    db.session.commit()
    _, context = document_context(report.kind, report.data)
    assert context["criteria_rows"][0][4] == "Ghi chú lúc thẩm định"


# ----------------------------------------------------------------------------- hostile input

HOSTILE_NOTES = {
    "1": '<img src="file:///etc/passwd">',
    "2": "<script>alert(1)</script>",
    "3": '</td></tr></table><a href="http://example.com">x</a><style>@import url(http://example.com/x.css)</style>',
    "4": "{applicant} {{ 7*7 }}",
    "5": "Z" * 20_000,
}


@needs_poppler
def test_hostile_values_print_as_text_and_fetch_nothing(road, tmp_path, monkeypatch):
    road.dossier.fields = {**road.dossier.fields, "request_ref": '<img src="http://example.com/x.png">'}
    db.session.commit()
    road.submit()
    road.pass_all(HOSTILE_NOTES)
    road.appraise('<iframe src="file:///etc/shadow"></iframe>')
    receipt, report = road.docs()

    # Through the app (worker process): every value printed as typed, no link in the file.
    path, _ = road.download(report, tmp_path)
    raw = run("pdftotext", str(path), "-")  # cell by cell: a wrapped note reads whole
    text = pdf_text(path)
    notes = flat(note_column(path))
    for code, note in HOSTILE_NOTES.items():
        if code != "5":
            assert flat(note) in notes, note
    assert raw.count("Z") == 20_000  # nothing clipped
    assert flat('<iframe src="file:///etc/shadow"></iframe>') in flat(text)
    assert flat('Kèm theo <img src="http://example.com/x.png">.') in flat(text)
    assert run("pdfinfo", "-url", str(path)).strip().splitlines()[1:] == []
    receipt_path, _ = road.download(receipt, tmp_path)
    assert flat('<img src="http://example.com/x.png">') in flat(pdf_text(receipt_path))

    # In this process, with a spy on the fetcher: only our own asset files are asked for.
    requested: list[str] = []
    original = LocalAssetFetcher.fetch

    def spy(self, url, headers=None):
        requested.append(url)
        return original(self, url, headers)

    monkeypatch.setattr(LocalAssetFetcher, "fetch", spy)
    for doc in (receipt, report):
        template, context = document_context(doc.kind, doc.data)
        html_to_pdf(render_html(template, context))
    assert requested and all(url.startswith(render.ASSETS_URL) for url in requested), requested


# ----------------------------------------------------------------------------- access, JSON

def test_documents_are_404_to_whoever_cannot_see_the_dossier(road, make_user, api_as, app):
    road.submit()
    [receipt] = road.docs()
    stored = (receipt.pdf_key, receipt.pdf_sha256)
    outsider = make_user("submitter", "giang-ma")
    api = api_as(outsider)
    for path in (f"/api/v1/dossiers/{road.dossier.id}/documents",
                 f"/api/v1/dossiers/{road.dossier.id}/documents/{receipt.id}.pdf"):
        r = api.get(path)
        assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"
    client = app.test_client()
    client.post("/login", data={"username": outsider.username, "password": "pw-123456"}).close()
    r = client.get(f"/dossiers/{road.dossier.id}/documents/{receipt.id}.pdf")
    assert r.status_code == 404
    r.close()
    # A paper of another dossier is not reachable through a visible one.
    other = dossier_in(road.submitter, "na-tam-03", YEAR, "draft")
    r = road.api.get(f"/api/v1/dossiers/{other.id}/documents/{receipt.id}.pdf", headers={"Accept-Language": "en"})
    assert r.status_code == 404 and "no such document" in r.get_json()["error"]["message"]
    db.session.expire_all()
    again = db.session.get(Document, receipt.id)
    assert (again.pdf_key, again.pdf_sha256) == stored  # refusals neither render nor replace the paper


def test_json_lists_the_documents_in_the_dossier_and_on_their_own(road):
    road.submit()
    road.pass_all()
    road.appraise()
    r = road.api.get(f"/api/v1/dossiers/{road.dossier.id}/documents")
    assert r.status_code == 200
    body = r.get_json()
    assert (body["page"], body["pages"], body["total"], body["next"]) == (1, 1, 2, None)
    receipt, report = body["items"]
    assert set(receipt) == {"id", "kind", "round", "number", "symbol", "issued_at", "issuer", "pdf_url"}
    assert (receipt["kind"], receipt["round"], receipt["number"], receipt["symbol"]) == ("receipt", 1, None, None)
    assert (report["kind"], report["number"], report["symbol"]) == ("appraisal_report", 1, "01/BC-NN")
    assert report["issuer"] == {"code": "tam-duong", "name": "Huyện Tam Đường"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+07:00", report["issued_at"])
    assert report["pdf_url"] == f"/api/v1/dossiers/{road.dossier.id}/documents/{report['id']}.pdf"
    assert road.api.get(report["pdf_url"]).status_code == 200
    dossier = road.api.get(f"/api/v1/dossiers/{road.dossier.id}").get_json()
    assert dossier["documents"] == body["items"]
    spec = road.api.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/dossiers/{dossier_id}/documents" in spec["paths"]


def test_dossier_page_links_the_papers(road, app):
    road.submit()
    road.pass_all()
    road.appraise()
    receipt, report = road.docs()
    client = app.test_client()
    client.post("/login", data={"username": road.submitter.username, "password": "pw-123456"}).close()
    page = client.get(f"/dossiers/{road.dossier.id}").get_data(as_text=True)
    assert "Giấy tờ" in page
    for doc in (receipt, report):
        assert f'href="/dossiers/{road.dossier.id}/documents/{doc.id}.pdf"' in page
    assert "Giấy tiếp nhận hồ sơ (lần nộp 1)" in page and "Báo cáo thẩm định số 01/BC-NN" in page


# ----------------------------------------------------------------------------- texts (no database)

def test_texts_are_complete_and_formats_are_vietnamese():
    for kind in ("receipt", "appraisal_report"):
        assert texts_for(kind, "tam-duong")
    assert texts_for("appraisal_report", "tam-duong")["symbol"].format(number=12) == "12/BC-NN"
    assert [vn_decimal(v) for v in (92.5, 90.0, 7, 1234)] == ["92,5", "90", "7", "1.234"]
    from datetime import date

    assert [short_date(d) for d in (date(2024, 9, 2), date(2024, 1, 5), date(2024, 12, 31))] == [
        "02/9/2024", "05/01/2024", "31/12/2024"]
    with pytest.raises(ValueError):
        texts_for("../receipt", "tam-duong")
