"""Demo district: one user per role (plus the town's staff) and dossiers in
every state, each moved through the real services so its history is real."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from ..extensions import db
from ..models import Dossier
from .dossiers import appraise_criterion, create_dossier, self_assess, set_fields
from .events import fire_batch, fire_event
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
    DemoLogin("canbo.giangma", DEMO_PASSWORD, "submitter", "giang-ma", "Sần Văn Pao", "cán bộ UBND xã Giang Ma"),
    DemoLogin("thamdinh", DEMO_PASSWORD, "appraiser", "tam-duong", "Nguyễn Văn Bình", "Phòng NN&PTNT huyện"),
    DemoLogin("chutich", DEMO_PASSWORD, "approver", "tam-duong", "Trần Quốc Khánh",
              "Phó Chủ tịch UBND huyện (ký KT. CHỦ TỊCH)", "vice_chairman"),
    DemoLogin("xem", DEMO_PASSWORD, "viewer", "tam-duong", "Hoàng Thị Lan", "xem toàn huyện"),
    DemoLogin("quantri", DEMO_PASSWORD, "admin", "lai-chau", "Quản trị hệ thống", "quản trị"),
    DemoLogin("vanthu.thitran", DEMO_PASSWORD, "preparer", "tt-tam-duong", "Vàng Thị Thu", "cán bộ thị trấn lập hồ sơ"),
    DemoLogin("canbo.thitran", DEMO_PASSWORD, "submitter", "tt-tam-duong", "Đèo Văn Sơn", "cán bộ UBND thị trấn"),
    # Steering-committee members (reference_data/committee.yaml); viewers of their communes.
    DemoLogin("bcd.hatang", DEMO_PASSWORD, "viewer", "na-tam", "Lê Văn Hải",
              "Ban chỉ đạo: Nà Tăm, Giang Ma, thị trấn; giao thông, điện, nhà ở"),
    DemoLogin("bcd.vanhoa", DEMO_PASSWORD, "viewer", "son-binh", "Phạm Thị Hoa",
              "Ban chỉ đạo: Sơn Bình, Tả Lèng, thị trấn; văn hóa, thông tin"),
]


@lru_cache(maxsize=2)
def demo_evidence_pdf(note: str = "") -> bytes:
    from weasyprint import HTML

    return HTML(string="<h1>Minh chứng (dữ liệu mẫu)</h1><p>Tệp minh chứng minh họa cho dữ liệu demo.</p>"
                f"<p>{note}</p>").write_pdf()


def seed_demo() -> tuple[list[DemoLogin], int]:
    _dev_signing_key()
    for u in DEMO_USERS:
        user = create_user(u.username, u.password if find_user(u.username) is None else None,
                           u.role, u.unit, u.name, u.capacity)
        user.email = user.email or f"{u.username}@tamduong.example"  # reminders show in /outbox
    db.session.commit()
    _committee_demo()
    village = find_unit("na-tam-01")
    if db.session.execute(db.select(Dossier.id).where(Dossier.unit_id == village.id)).first():
        return DEMO_USERS, 0  # already seeded
    users = {u.username: find_user(u.username) for u in DEMO_USERS}
    created = 0
    plans = [
        ("na-tam-01", "recognized"), ("na-tam-02", "draft"), ("na-tam-03", "submitted"),
        ("na-tam-04", "returned"), ("na-tam-05", "appraised"), ("na-tam-06", "rejected"),
        ("na-tam-07", "revoked"), ("na-tam-08", "appraised"),
    ]
    for unit_code, target in plans:
        _village_to(users, unit_code, target)
        created += 1
    # Three Giang Ma villages recognised together: one decision, a table in Điều 1.
    batch = [_village_to(users, f"giang-ma-0{n}", "appraised", "canbo.giangma") for n in (1, 2, 3)]
    fire_batch(users["chutich"], [(x, None) for x in batch], "recognize", "Công nhận đợt 1 năm 2024 (dữ liệu mẫu).")
    created += len(batch)
    # Giang Ma villages still drafting, honest about what they lack: the dashboard's
    # weakest criteria (8 Thu nhập above all) come from these claims.
    for village, lacking in (("giang-ma-04", {"7", "8"}), ("giang-ma-05", {"8", "9"}),
                             ("giang-ma-06", {"8"}), ("giang-ma-07", {"3", "8", "12"})):
        _village_draft(users, village, lacking)
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

    approvers = [u.username for u in DEMO_USERS if u.role == "approver"]  # specimen signature images
    init_dev(Path(setting("SIGNING_DIR")), "tam-duong", "Ủy ban nhân dân huyện Tam Đường", "Trần Quốc Khánh",
             usernames=approvers)


def _village_draft(users, unit_code: str, lacking: set[str]) -> Dossier:
    dossier = create_dossier(users["canbo.giangma"], "village_ntm", unit_code, 2024)
    for entry in list(dossier.current_criteria()):
        if entry.code in lacking:
            self_assess(users["canbo.giangma"], dossier, entry.code, "not_met", "Chưa đạt (dữ liệu mẫu).")
        else:
            self_assess(users["canbo.giangma"], dossier, entry.code, "met", "Đã đạt (dữ liệu mẫu).")
    return dossier


def _ready(users, dossier: Dossier, preparer: str) -> None:
    for entry in list(dossier.current_criteria()):
        attach_evidence(users[preparer], dossier, f"minh-chung-tieu-chi-{entry.code}.pdf", demo_evidence_pdf(), entry.code)
        self_assess(users[preparer], dossier, entry.code, "met", "Đã đạt theo báo cáo của bản (dữ liệu mẫu).")


def _pass_all(users, dossier: Dossier) -> None:
    for entry in list(dossier.current_criteria()):
        if entry.verdict != "pass":
            appraise_criterion(users["thamdinh"], dossier, entry.code, "pass", "Đạt (dữ liệu mẫu).")


def _village_to(users, unit_code: str, target: str, officer: str = "canbo.natam") -> Dossier:
    dossier = create_dossier(users[officer], "village_ntm", unit_code, 2024)
    if target == "draft":
        first = dossier.current_criteria()[0]
        self_assess(users[officer], dossier, first.code, "met", "Đã hoàn thành (dữ liệu mẫu).")
        return dossier
    _ready(users, dossier, officer)
    set_fields(users[officer], dossier, {"request_ref": "Tờ trình số 12/TTr-UBND ngày 02/9/2024"})
    fire_event(users[officer], dossier, "submit")
    if target == "submitted":
        return dossier
    if target in ("returned", "recognized", "revoked"):
        appraise_criterion(users["thamdinh"], dossier, "7", "fail", "Thiếu danh sách lao động có việc làm thường xuyên.")
        fire_event(users["thamdinh"], dossier, "return",
                   "Bổ sung minh chứng tiêu chí 7 (Lao động): danh sách lao động có việc làm thường xuyên.")
        if target == "returned":
            return dossier
        attach_evidence(users["canbo.natam"], dossier, "bo-sung-tieu-chi-7.pdf", demo_evidence_pdf("Bổ sung"), "7")
        fire_event(users["canbo.natam"], dossier, "submit", "Đã bổ sung minh chứng tiêu chí 7.")
    if target == "rejected":
        fire_event(users["chutich"], dossier, "reject", "Bản chưa đăng ký xây dựng NTM năm 2024 (dữ liệu mẫu).")
        return dossier
    _pass_all(users, dossier)
    fire_event(users["thamdinh"], dossier, "appraise")
    if target == "appraised":
        return dossier
    fire_event(users["chutich"], dossier, "recognize")
    if target == "revoked":
        fire_event(users["chutich"], dossier, "revoke", "Tiêu chí Môi trường không còn đạt sau kiểm tra (dữ liệu mẫu).")
    return dossier


def _town_submitted(users) -> None:
    dossier = create_dossier(users["vanthu.thitran"], "town_civilized", "tt-tam-duong", 2024)
    _ready(users, dossier, "vanthu.thitran")
    set_fields(users["canbo.thitran"], dossier, {"resident_satisfaction_pct": 93.5,
                                                 "request_ref": "Tờ trình số 45/TTr-UBND ngày 15/8/2024"})
    fire_event(users["canbo.thitran"], dossier, "submit")


def _committee_demo() -> None:
    """The committee file, and for its two demo members visits and reports of the two
    previous months (on time, late and missing), filed through the services with
    explicit dates. Idempotent: seeded once."""
    from datetime import datetime, timedelta

    from ..models import CommitteeVisit
    from .committee import file_report, load_committee, log_visit, my_scope, shift_month
    from .common import VN_TZ, local_now

    extra = {"bcd.hatang": ("giang-ma", "tt-tam-duong"), "bcd.vanhoa": ("ta-leng", "tt-tam-duong")}
    for username, units in extra.items():
        for unit in units:
            create_user(username, None, "viewer", unit)
    load_committee()
    hatang, vanhoa = find_user("bcd.hatang"), find_user("bcd.vanhoa")
    if db.session.execute(db.select(CommitteeVisit.id).where(
            CommitteeVisit.user_id.in_((hatang.id, vanhoa.id))).limit(1)).first():
        db.session.commit()
        return
    today = local_now().date()
    m1, m2 = shift_month(f"{today:%Y-%m}", -1), shift_month(f"{today:%Y-%m}", -2)

    def day(month: str, d: int):
        return datetime(int(month[:4]), int(month[5:7]), d, 9, 0, tzinfo=VN_TZ)

    for user, commune, when, notes in [
        (hatang, "na-tam", day(m2, 6), "Kiểm tra đường trục bản 05, 06; đề nghị xã đôn đốc hoàn thành rãnh thoát nước."),
        (hatang, "giang-ma", day(m2, 13), "Làm việc với xã về tiến độ cứng hóa đường nội bản Giang Ma 04."),
        (hatang, "na-tam", day(m1, 5), "Kiểm tra hệ thống điện bản 08; tỷ lệ hộ dùng điện an toàn đạt 98%."),
        (hatang, "tt-tam-duong", day(m1, 19), "Rà soát quy hoạch chi tiết khu trung tâm thị trấn."),
        (vanhoa, "son-binh", day(m2, 9), "Kiểm tra nhà văn hóa bản; hướng dẫn hồ sơ bản văn hóa."),
        (vanhoa, "ta-leng", day(m1, 12), "Kiểm tra loa truyền thanh các bản; 2 bản còn hỏng loa."),
    ]:
        log_visit(user, commune, when.date(), notes + " (dữ liệu mẫu)")
    if today.day > 1:
        log_visit(hatang, "giang-ma", today - timedelta(days=1), "Đi cơ sở tuần này (dữ liệu mẫu).")
    # (member, commune, month, filed at): on time by the 25th, late after it; the rest stay missing.
    for user, commune, month, filed in [
        (hatang, "na-tam", m2, day(m2, 20)), (hatang, "tt-tam-duong", m2, day(m2, 24)),
        (hatang, "giang-ma", m2, day(m1, 3)),  # late
        (hatang, "na-tam", m1, day(m1, 22)), (hatang, "tt-tam-duong", m1, day(m1, 28)),  # late
        (vanhoa, "son-binh", m2, day(m2, 18)), (vanhoa, "ta-leng", m2, day(m1, 2)),  # the second is late
        (vanhoa, "son-binh", m1, day(m1, 21)),
    ]:
        scope = my_scope(user)
        unit = scope.commune(commune)
        status = {}
        for i, c in enumerate(scope.criteria_for(unit)):
            status.setdefault(c.kind, {})[c.code] = {
                "status": ("met", "in_progress", "not_met")[i % 3],
                "note": "" if i % 3 == 0 else "Đang đôn đốc xã hoàn thiện (dữ liệu mẫu)."}
        file_report(user, commune, month, f"Tình hình {unit.name} tháng {month[5:]}/{month[:4]}: các bản tiếp tục "
                    "hoàn thiện tiêu chí; xã đã họp triển khai kế hoạch tháng tới (dữ liệu mẫu).", status, now=filed)
    db.session.commit()
