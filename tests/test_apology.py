"""The apology slip (phiếu xin lỗi và hẹn lại ngày trả kết quả) of a late step: who may
issue it and when, one per step and round, its place in the history and the audit chain,
the PDF as a clerk reads it, and the new date that becomes the step's due date."""
from __future__ import annotations

import shutil
import subprocess
from datetime import date, timedelta
from pathlib import Path

import pytest
from helpers import fire
from test_clocks import _overdue_dossier, submitted_dossier

from workflow_app.clock import local_now
from workflow_app.extensions import db
from workflow_app.models import AuditRecord, Document, Dossier
from workflow_app.pdf.documents import short_date
from workflow_app.services.core.clocks import step_clock
from workflow_app.workdays import add_working_days, is_working_day

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "pdf"
needs_poppler = pytest.mark.skipif(any(shutil.which(t) is None for t in ("pdftotext", "pdftoppm")),
                                   reason="poppler-utils (pdftotext, pdftoppm) not installed")


def today() -> date:
    return local_now().date()


def next_working(after: date, n: int = 2) -> date:
    return add_working_days(after, n)


def vn(d: date) -> str:
    return d.strftime("%d/%m/%Y")


def post(api, dossier_id: int, new_date, reason="Hội đồng chưa đủ thành viên do đi công tác."):
    body = {"new_date": new_date.isoformat() if isinstance(new_date, date) else new_date, "reason": reason}
    return api.post(f"/api/v1/dossiers/{dossier_id}/apology", json=body)


def test_issue_through_the_api_replaces_the_due_date(app, make_user, api_as):
    dossier = _overdue_dossier(make_user, api_as)
    before = step_clock(dossier)
    assert before.overdue
    appraiser = make_user("appraiser", "tam-duong", name="Nguyễn Văn Thẩm")
    new = next_working(today())
    r = post(api_as(appraiser), dossier.id, new)
    assert r.status_code == 201, r.json
    body = r.json
    assert (body["kind"], body["round"], body["number"], body["symbol"]) == ("apology:submitted", 1, 1, "01/PXL-UBND")
    assert (body["state"], body["old_due"], body["new_due"]) == \
        ("submitted", before.due_on.isoformat(), new.isoformat())
    assert body["issuer"]["code"] == "tam-duong"
    # The new date is now the step's due date: no longer late.
    d = db.session.get(Dossier, dossier.id)
    after = step_clock(d)
    assert (after.due_on, after.apology, after.overdue, after.due_by_limit) == (new, new, False, before.due_on)
    full = api_as(appraiser).get(f"/api/v1/dossiers/{dossier.id}").json
    assert full["clock"]["due_on"] == new.isoformat() and full["clock"]["overdue"] is False
    assert any(doc["kind"] == "apology:submitted" and doc["symbol"] == "01/PXL-UBND" for doc in full["documents"])
    # In the audit chain: action, reason, old and new dates.
    rec = db.session.execute(db.select(AuditRecord).where(AuditRecord.dossier_id == dossier.id,
                                                          AuditRecord.action == "apology")).scalar_one()
    assert rec.comment == "Hội đồng chưa đủ thành viên do đi công tác."
    assert rec.data["state"] == "submitted" and rec.data["old_due"] == before.due_on.isoformat()
    assert rec.data["new_due"] == new.isoformat() and not rec.is_transition
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output


def test_only_when_overdue(app, make_user, api_as):
    dossier = submitted_dossier(make_user, api_as)
    appraiser = make_user("appraiser", "tam-duong")
    r = post(api_as(appraiser), dossier.id, next_working(today()))
    assert r.status_code == 422 and r.json["error"]["code"] == "rule_refused"
    due = step_clock(dossier).due_on
    assert f"Hồ sơ chưa quá hạn: hạn xử lý bước 'Đã nộp' là ngày {vn(due)}" in r.json["error"]["message"]
    r = post(api_as(appraiser, "en"), dossier.id, next_working(today()))
    assert r.json["error"]["message"].startswith("The dossier is not late")
    # A state without a time limit (draft, returned) takes no slip either.
    assert fire(api_as(appraiser), dossier.id, "return", "Bổ sung").status_code == 200
    approver = make_user("approver", "tam-duong")
    r = post(api_as(approver), dossier.id, next_working(today()))
    assert r.status_code == 403  # nobody "acts" on returned but the commune
    assert db.session.execute(db.select(Document).where(Document.kind.like("apology:%"))).first() is None


@pytest.mark.parametrize("role,unit,status", [
    ("appraiser", "tam-duong", 201), ("approver", "tam-duong", 201),
    ("submitter", "na-tam", 403), ("preparer", "na-tam-01", 403), ("viewer", "tam-duong", 403),
    ("admin", "lai-chau", 403), ("submitter", "giang-ma", 404), ("appraiser", "lai-chau", 403),
])
def test_only_who_may_act_on_the_step(app, make_user, api_as, role, unit, status):
    dossier = _overdue_dossier(make_user, api_as)
    user = make_user(role, unit)
    r = post(api_as(user), dossier.id, next_working(today()))
    assert r.status_code == status, r.json
    if status != 201:
        assert r.json["error"]["message"]
        assert db.session.execute(db.select(AuditRecord).where(AuditRecord.action == "apology")).first() is None


def test_missing_dossier_is_404(app, make_user, api_as):
    r = post(api_as(make_user("appraiser", "tam-duong")), 999999, next_working(today()))
    assert r.status_code == 404 and r.json["error"]["code"] == "not_found"


def test_one_per_state_and_round(app, make_user, api_as):
    dossier = _overdue_dossier(make_user, api_as)
    appraiser, approver = make_user("appraiser", "tam-duong"), make_user("approver", "tam-duong")
    new = next_working(today())
    assert post(api_as(appraiser), dossier.id, new).status_code == 201
    r = post(api_as(approver), dossier.id, next_working(today(), 5))
    assert r.status_code == 409 and r.json["error"]["code"] == "conflict"
    assert f"đã có phiếu xin lỗi số 01/PXL-UBND (vòng 1), hẹn lại ngày {vn(new)}" in r.json["error"]["message"]
    r = post(api_as(approver, "en"), dossier.id, next_working(today(), 5))
    message = r.json["error"]["message"]
    assert "already has apology slip 01/PXL-UBND" in message and new.isoformat() in message
    # A second overdue dossier gets the next number of the district's series.
    other = _overdue_dossier(make_user, api_as, unit="na-tam-02")
    assert post(api_as(approver), other.id, new).json["symbol"] == "02/PXL-UBND"


@pytest.mark.parametrize("when,reason,message", [
    ("today", "Lý do", "Ngày hẹn mới phải sau hôm nay"),
    ("saturday", "Lý do", "không phải ngày làm việc"),
    ("working", "   ", "Hãy ghi lý do chậm trễ."),
])
def test_bad_new_date_or_reason_is_422(app, make_user, api_as, when, reason, message):
    dossier = _overdue_dossier(make_user, api_as)
    if when == "today":
        day = today()
    elif when == "saturday":
        day = today() + timedelta(days=1)
        while day.weekday() != 5:
            day += timedelta(days=1)
        assert not is_working_day(day)
    else:
        day = next_working(today())
    r = post(api_as(make_user("appraiser", "tam-duong")), dossier.id, day, reason)
    assert r.status_code == 422 and message in r.json["error"]["message"]


def test_malformed_body_is_400(app, make_user, api_as):
    dossier = _overdue_dossier(make_user, api_as)
    r = post(api_as(make_user("appraiser", "tam-duong")), dossier.id, "30/12/2026")
    assert r.status_code == 400 and "error" in r.json


def _login(app, user):
    client = app.test_client()
    assert client.post("/login", data={"username": user.username, "password": "pw-123456"}).status_code == 302
    return client


def test_web_form_history_and_download(app, make_user, api_as):
    dossier = _overdue_dossier(make_user, api_as)
    appraiser = make_user("appraiser", "tam-duong", name="Lê Thị Thẩm")
    viewer = make_user("viewer", "tam-duong")
    client = _login(app, appraiser)
    page = client.get(f"/dossiers/{dossier.id}").get_data(as_text=True)
    assert f'action="/dossiers/{dossier.id}/apology"' in page and 'name="confirm"' in page
    assert "/apology" not in _login(app, viewer).get(f"/dossiers/{dossier.id}").get_data(as_text=True)
    new = next_working(today(), 3)
    # Without the confirmation tick nothing happens: the form comes back with what was typed.
    r = client.post(f"/dossiers/{dossier.id}/apology", data={"new_date": new.isoformat(), "reason": "Chậm"})
    assert r.status_code == 422 and ">Chậm</textarea>" in r.get_data(as_text=True)
    r = client.post(f"/dossiers/{dossier.id}/apology",
                    data={"new_date": new.isoformat(), "reason": "Đoàn thẩm định chưa đi thực địa được do mưa lũ.",
                          "confirm": "y"})
    assert r.status_code == 302, r.get_data(as_text=True)
    page = client.get(f"/dossiers/{dossier.id}").get_data(as_text=True)
    assert "Đã lập phiếu xin lỗi số 01/PXL-UBND" in page
    assert "Lập phiếu xin lỗi và hẹn lại ngày trả kết quả" in page  # the history row
    assert f"hẹn lại {vn(new)}" in page and "Đoàn thẩm định chưa đi thực địa được do mưa lũ." in page
    assert "Phiếu xin lỗi và hẹn lại ngày trả kết quả số 01/PXL-UBND" in page  # in the documents
    assert f'action="/dossiers/{dossier.id}/apology' not in page  # one per step and round
    doc = db.session.execute(db.select(Document).where(Document.dossier_id == dossier.id,
                                                       Document.kind == "apology:submitted")).scalar_one()
    web_pdf = client.get(f"/dossiers/{dossier.id}/documents/{doc.id}.pdf")
    web_bytes = web_pdf.get_data()
    web_pdf.close()
    api_pdf = api_as(viewer).get(f"/api/v1/dossiers/{dossier.id}/documents/{doc.id}.pdf")
    assert web_pdf.status_code == api_pdf.status_code == 200
    assert web_bytes == api_pdf.data and web_bytes.startswith(b"%PDF")


@needs_poppler
def test_pdf_holds_code_unit_dates_and_reason(app, make_user, api_as):
    dossier = _overdue_dossier(make_user, api_as)
    old_due = step_clock(dossier).due_on
    appraiser = make_user("appraiser", "tam-duong", name="Nguyễn Văn Thẩm")
    new = next_working(today())
    reason = "Thành viên Hội đồng thẩm định đi công tác; cần thêm thời gian đi thực địa."
    body = post(api_as(appraiser), dossier.id, new, reason).json
    pdf = api_as(appraiser).get(body["pdf_url"]).data
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    flat = " ".join(text.split())
    for expected in ("PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ", "ỦY BAN NHÂN DÂN", "HUYỆN TAM ĐƯỜNG",
                     "Số: 01/PXL-UBND", dossier.code, dossier.unit.name, "xã Nà Tăm",
                     short_date(old_due), short_date(new), reason, "Nguyễn Văn Thẩm",
                     "Kính gửi: Ủy ban nhân dân xã Nà Tăm", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"):
        assert expected in flat, expected
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    subprocess.run(["pdftoppm", "-r", "60", "-png", "-f", "1", "-l", "1", "-singlefile", "-",
                    str(ARTIFACTS / "apology")], input=pdf, check=True)
    assert (ARTIFACTS / "apology.png").stat().st_size > 1000
    # Same bytes on every download.
    assert api_as(appraiser).get(body["pdf_url"]).data == pdf
