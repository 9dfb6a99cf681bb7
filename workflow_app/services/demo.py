"""Demo district: one user per role (plus the town's staff) and dossiers in
every state, each moved through the real services so its history is real."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from ..extensions import db
from ..models import Dossier
from .dossiers import appraise_criterion, create_dossier, self_assess, set_fields
from .events import fire_event
from .evidence import attach_evidence
from .reference import find_unit
from .users import create_user, find_user

DEMO_PASSWORD = "demo1234"


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: str
    unit: str
    name: str
    note: str
    capacity: str | None = None


DEMO_USERS = [
    DemoLogin("truongban", DEMO_PASSWORD, "preparer", "na-tam-01", "Lò Văn Hùng", "trưởng bản 01, xã Nà Tăm"),
    DemoLogin("canbo.natam", DEMO_PASSWORD, "submitter", "na-tam", "Tao Thị Mai", "cán bộ UBND xã Nà Tăm"),
    DemoLogin("thamdinh", DEMO_PASSWORD, "appraiser", "tam-duong", "Nguyễn Văn Bình", "Phòng NN&PTNT huyện"),
    DemoLogin("chutich", DEMO_PASSWORD, "approver", "tam-duong", "Trần Quốc Khánh",
              "Phó Chủ tịch UBND huyện (ký KT. CHỦ TỊCH)", "vice_chairman"),
    DemoLogin("xem", DEMO_PASSWORD, "viewer", "tam-duong", "Hoàng Thị Lan", "xem toàn huyện"),
    DemoLogin("quantri", DEMO_PASSWORD, "admin", "lai-chau", "Quản trị hệ thống", "quản trị"),
    DemoLogin("vanthu.thitran", DEMO_PASSWORD, "preparer", "tt-tam-duong", "Vàng Thị Thu", "cán bộ thị trấn lập hồ sơ"),
    DemoLogin("canbo.thitran", DEMO_PASSWORD, "submitter", "tt-tam-duong", "Đèo Văn Sơn", "cán bộ UBND thị trấn"),
]


@lru_cache(maxsize=1)
def demo_evidence_pdf() -> bytes:
    from weasyprint import HTML

    return HTML(string="<h1>Minh chứng (dữ liệu mẫu)</h1><p>Tệp minh chứng minh họa cho dữ liệu demo.</p>").write_pdf()


def seed_demo() -> tuple[list[DemoLogin], int]:
    _dev_signing_key()
    for u in DEMO_USERS:
        create_user(u.username, u.password if find_user(u.username) is None else None,
                    u.role, u.unit, u.name, u.capacity)
    db.session.commit()
    village = find_unit("na-tam-01")
    if db.session.execute(db.select(Dossier.id).where(Dossier.unit_id == village.id)).first():
        return DEMO_USERS, 0  # already seeded
    users = {u.username: find_user(u.username) for u in DEMO_USERS}
    created = 0
    plans = [
        ("na-tam-01", "recognized"), ("na-tam-02", "draft"), ("na-tam-03", "submitted"),
        ("na-tam-04", "returned"), ("na-tam-05", "appraised"), ("na-tam-06", "rejected"),
        ("na-tam-07", "revoked"),
    ]
    for unit_code, target in plans:
        _village_to(users, unit_code, target)
        created += 1
    _town_submitted(users)
    created += 1
    db.session.commit()
    return DEMO_USERS, created


def _dev_signing_key() -> None:
    """Demo decisions are signed with a development CA (never for production)."""
    from pathlib import Path

    from ..signing.devca import init_dev
    from .common import setting

    init_dev(Path(setting("SIGNING_DIR")), "tam-duong", "Ủy ban nhân dân huyện Tam Đường", "Trần Quốc Khánh")


def _ready(users, dossier: Dossier, preparer: str) -> None:
    for entry in list(dossier.current_criteria()):
        attach_evidence(users[preparer], dossier, f"minh-chung-tieu-chi-{entry.code}.pdf", demo_evidence_pdf(), entry.code)
        self_assess(users[preparer], dossier, entry.code, "met", "Đã đạt theo báo cáo của bản (dữ liệu mẫu).")


def _pass_all(users, dossier: Dossier) -> None:
    for entry in list(dossier.current_criteria()):
        if entry.verdict != "pass":
            appraise_criterion(users["thamdinh"], dossier, entry.code, "pass", "Đạt (dữ liệu mẫu).")


def _village_to(users, unit_code: str, target: str) -> None:
    dossier = create_dossier(users["canbo.natam"], "village_ntm", unit_code, 2024)
    if target == "draft":
        first = dossier.current_criteria()[0]
        self_assess(users["canbo.natam"], dossier, first.code, "met", "Đã hoàn thành (dữ liệu mẫu).")
        return
    _ready(users, dossier, "canbo.natam")
    set_fields(users["canbo.natam"], dossier, {"request_ref": "Tờ trình số 12/TTr-UBND ngày 02/9/2024"})
    fire_event(users["canbo.natam"], dossier, "submit")
    if target == "submitted":
        return
    if target in ("returned", "recognized", "revoked"):
        appraise_criterion(users["thamdinh"], dossier, "7", "fail", "Thiếu danh sách lao động có việc làm thường xuyên.")
        fire_event(users["thamdinh"], dossier, "return",
                   "Bổ sung minh chứng tiêu chí 7 (Lao động): danh sách lao động có việc làm thường xuyên.")
        if target == "returned":
            return
        attach_evidence(users["canbo.natam"], dossier, "bo-sung-tieu-chi-7.pdf", demo_evidence_pdf() + b"\n%bo sung", "7")
        fire_event(users["canbo.natam"], dossier, "submit", "Đã bổ sung minh chứng tiêu chí 7.")
    if target == "rejected":
        fire_event(users["chutich"], dossier, "reject", "Bản chưa đăng ký xây dựng NTM năm 2024 (dữ liệu mẫu).")
        return
    _pass_all(users, dossier)
    fire_event(users["thamdinh"], dossier, "appraise")
    if target == "appraised":
        return
    fire_event(users["chutich"], dossier, "recognize")
    if target == "revoked":
        fire_event(users["chutich"], dossier, "revoke", "Tiêu chí Môi trường không còn đạt sau kiểm tra (dữ liệu mẫu).")


def _town_submitted(users) -> None:
    dossier = create_dossier(users["vanthu.thitran"], "town_civilized", "tt-tam-duong", 2024)
    _ready(users, dossier, "vanthu.thitran")
    set_fields(users["canbo.thitran"], dossier, {"resident_satisfaction_pct": 93.5,
                                                 "request_ref": "Tờ trình số 45/TTr-UBND ngày 15/8/2024"})
    fire_event(users["canbo.thitran"], dossier, "submit")
