"""Demo data: today's people (village heads, the new communes, the province) and the
district-era people whose roles ended with the 2025 reform, then a back-dated story
told through the ordinary services (demo_story.py), so every record, number and
hash has its real date. Idempotent: a second run adds nothing."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from ...clock import VN_TZ
from ...extensions import db
from ...models import CommitteeVisit
from ...months import month_label
from ...signing.devca import init_dev
from ..committee.membership import load_committee, my_scope
from ..committee.visits import file_report, log_visit
from ..core.common import setting
from ..core.users import create_user, find_user
from .demo_story import demo_evidence_pdf, tell_story

DEMO_PASSWORD = "demo1234"
__all__ = ["DEMO_PASSWORD", "DEMO_USERS", "DemoLogin", "demo_evidence_pdf", "seed_demo"]


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: str
    unit: str
    name: str
    note: str
    capacity: str | None = None
    also: tuple[tuple[str, str], ...] = ()   # further (role, unit) held by the same person
    today: bool = True                       # False: a district-era role, ended on 30/06/2025


def _login(username, role, unit, name, note, capacity=None, also=(), today=True) -> DemoLogin:
    note = note if today else f"{note}; hết vai trò từ 01/07/2025, chỉ xem"
    return DemoLogin(username, DEMO_PASSWORD, role, unit, name, note, capacity, tuple(also), today)


# People's names are invented (placeholders), like the villages' names.
DEMO_USERS = [
    # Today: the villages prepare and submit, the new communes appraise and recognise.
    _login("truongban.giangma09", "preparer", "giang-ma-09", "Giàng A Sử", "trưởng bản Giang Ma 09, xã Tả Lèng",
           also=[("submitter", "giang-ma-09")]),
    _login("truongban.giangma10", "preparer", "giang-ma-10", "Lý A Páo", "trưởng bản Giang Ma 10, xã Tả Lèng",
           also=[("submitter", "giang-ma-10")]),
    _login("truongban.taleng06", "preparer", "ta-leng-06", "Tẩn Láo Lở", "trưởng bản Tả Lèng 06, xã Tả Lèng",
           also=[("submitter", "ta-leng-06")]),
    _login("truongban.giangma04", "preparer", "giang-ma-04", "Vàng A Chư", "trưởng bản Giang Ma 04, xã Tả Lèng",
           also=[("submitter", "giang-ma-04")]),
    _login("truongban.natam09", "preparer", "na-tam-09", "Lò Thị Xuân", "trưởng bản Nà Tăm 09, xã Bản Bo",
           also=[("submitter", "na-tam-09")]),
    _login("truongban.sonbinh06", "preparer", "son-binh-06", "Chang A Lử", "trưởng bản Sơn Bình 06, xã Bình Lư",
           also=[("submitter", "son-binh-06")]),
    _login("truongban", "preparer", "na-tam-01", "Lò Văn Hùng", "trưởng bản Nà Tăm 01 (công nhận năm 2024), xã Bản Bo"),
    _login("canbo.taleng", "submitter", "ta-leng-2025", "Sùng Thị Dua",
           "công chức UBND xã Tả Lèng: hồ sơ xã nông thôn mới", also=[("preparer", "ta-leng-2025")]),
    _login("thamdinh.taleng", "appraiser", "ta-leng-2025", "Phàn Văn Quyết",
           "Phòng Kinh tế xã Tả Lèng: thẩm định hồ sơ bản"),
    _login("chutich.taleng", "approver", "ta-leng-2025", "Tẩn Văn Chiến", "Chủ tịch UBND xã Tả Lèng", "chairman"),
    _login("thamdinh.banbo", "appraiser", "ban-bo-2025", "Hoàng Văn Toàn",
           "Phòng Kinh tế xã Bản Bo: thẩm định hồ sơ bản"),
    _login("chutich.banbo", "approver", "ban-bo-2025", "Lường Văn Thắng", "Chủ tịch UBND xã Bản Bo", "chairman"),
    _login("thamdinh.binhlu", "appraiser", "binh-lu-2025", "Đỗ Thị Hằng",
           "Phòng Kinh tế xã Bình Lư: thẩm định hồ sơ bản"),
    _login("thamdinh.tinh", "appraiser", "lai-chau", "Nguyễn Thị Thanh",
           "Sở Nông nghiệp và Môi trường tỉnh: thẩm định hồ sơ xã"),
    _login("taichinh.tinh", "appraiser", "lai-chau", "Lê Thị Minh Phương",
           "Sở Tài chính tỉnh: tiếp nhận kế hoạch vốn, đăng ký xi măng của các xã"),
    _login("canbo.banbo", "submitter", "ban-bo-2025", "Lường Thị Nga",
           "công chức UBND xã Bản Bo: kế hoạch vốn, đăng ký xi măng", also=[("preparer", "ban-bo-2025")]),
    _login("canbo.binhlu", "submitter", "binh-lu-2025", "Đỗ Văn Khoa",
           "công chức UBND xã Bình Lư: kế hoạch vốn, đăng ký xi măng", also=[("preparer", "binh-lu-2025")]),
    _login("chutich.tinh", "approver", "lai-chau", "Vũ Mạnh Hà", "Phó Chủ tịch UBND tỉnh (ký KT. CHỦ TỊCH)",
           "vice_chairman"),
    _login("xem.tinh", "viewer", "lai-chau", "Bùi Thị Ngọc", "Văn phòng Điều phối NTM tỉnh: xem toàn tỉnh"),
    _login("quantri", "admin", "lai-chau", "Quản trị hệ thống", "quản trị"),
    # The district era (to 30/06/2025): they sign in and read their work; they can no longer act.
    _login("canbo.natam", "submitter", "na-tam", "Tao Thị Mai", "cán bộ UBND xã Nà Tăm (cũ)", today=False),
    _login("canbo.giangma", "submitter", "giang-ma", "Sần Văn Pao", "cán bộ UBND xã Giang Ma (cũ)", today=False),
    _login("thamdinh", "appraiser", "tam-duong", "Nguyễn Văn Bình", "Phòng NN&PTNT huyện Tam Đường", today=False),
    _login("taichinh", "appraiser", "tam-duong", "Đinh Thị Thuý",
           "Phòng Tài chính - Kế hoạch huyện: kế hoạch vốn, đăng ký xi măng của các xã", today=False),
    _login("ketoan.natam", "preparer", "na-tam", "Lò Thị Hương",
           "kế toán ngân sách xã Nà Tăm (cũ): lập kế hoạch vốn, đăng ký xi măng", today=False),
    _login("canbo.sonbinh", "submitter", "son-binh", "Lù Văn Chinh", "cán bộ UBND xã Sơn Bình (cũ)", today=False),
    _login("chutich", "approver", "tam-duong", "Trần Quốc Khánh", "Phó Chủ tịch UBND huyện (ký KT. CHỦ TỊCH)",
           "vice_chairman", today=False),
    _login("xem", "viewer", "tam-duong", "Hoàng Thị Lan", "xem toàn huyện Tam Đường", today=False),
    _login("vanthu.thitran", "preparer", "tt-tam-duong", "Vàng Thị Thu", "cán bộ thị trấn Tam Đường lập hồ sơ",
           today=False),
    _login("canbo.thitran", "submitter", "tt-tam-duong", "Đèo Văn Sơn", "cán bộ UBND thị trấn Tam Đường", today=False),
    # The district's steering committee (reference_data/committee.yaml); viewers of their communes.
    _login("bcd.hatang", "viewer", "na-tam", "Lê Văn Hải", "Ban chỉ đạo huyện: Nà Tăm, Giang Ma, thị trấn",
           also=[("viewer", "giang-ma"), ("viewer", "tt-tam-duong")], today=False),
    _login("bcd.vanhoa", "viewer", "son-binh", "Phạm Thị Hoa", "Ban chỉ đạo huyện: Sơn Bình, Tả Lèng, thị trấn",
           also=[("viewer", "ta-leng"), ("viewer", "tt-tam-duong")], today=False),
]

# Every issuer that signs in the story: (code, name, signer's username).
SIGNERS = [
    ("tam-duong", "Ủy ban nhân dân huyện Tam Đường", "chutich"),
    ("lai-chau", "Ủy ban nhân dân tỉnh Lai Châu", "chutich.tinh"),
    ("ta-leng-2025", "Ủy ban nhân dân xã Tả Lèng", "chutich.taleng"),
    ("ban-bo-2025", "Ủy ban nhân dân xã Bản Bo", "chutich.banbo"),
]


def seed_demo() -> tuple[list[DemoLogin], int]:
    _dev_signing_keys()
    for u in DEMO_USERS:
        for role, unit in ((u.role, u.unit), *u.also):
            user = create_user(u.username, u.password if find_user(u.username) is None else None,
                               role, unit, u.name, u.capacity if role == u.role else None)
        user.email = user.email or f"{u.username}@laichau.example"  # reminders show in /outbox
    db.session.commit()
    _committee_demo()
    created = tell_story({u.username: find_user(u.username) for u in DEMO_USERS})
    db.session.commit()
    return DEMO_USERS, created


def _dev_signing_keys() -> None:
    """Demo decisions are signed with a development CA (never for production)."""
    by_name = {u.username: u.name for u in DEMO_USERS}
    for code, issuer, signer in SIGNERS:
        init_dev(Path(setting("SIGNING_DIR")), code, issuer, by_name[signer], usernames=[signer])


def _committee_demo() -> None:
    """The district steering committee's work in August-September 2024: visits and
    monthly reports (on time, late and missing), filed on their own dates."""
    load_committee()
    hatang, vanhoa = find_user("bcd.hatang"), find_user("bcd.vanhoa")
    if db.session.execute(db.select(CommitteeVisit.id).where(
            CommitteeVisit.user_id.in_((hatang.id, vanhoa.id))).limit(1)).first():
        db.session.commit()
        return

    def day(d: date, hour: int = 9) -> datetime:
        return datetime(d.year, d.month, d.day, hour, 0, tzinfo=VN_TZ)

    for user, commune, on, notes in [
        (hatang, "na-tam", date(2024, 8, 6),
         "Kiểm tra đường trục bản 05, 06; đề nghị xã đôn đốc hoàn thành rãnh thoát nước."),
        (hatang, "giang-ma", date(2024, 8, 13), "Làm việc với xã về tiến độ cứng hóa đường nội bản Giang Ma 04."),
        (hatang, "na-tam", date(2024, 9, 5), "Kiểm tra hệ thống điện bản 08; tỷ lệ hộ dùng điện an toàn đạt 98%."),
        (hatang, "tt-tam-duong", date(2024, 9, 19), "Rà soát quy hoạch chi tiết khu trung tâm thị trấn."),
        (vanhoa, "son-binh", date(2024, 8, 9), "Kiểm tra nhà văn hóa bản; hướng dẫn hồ sơ bản văn hóa."),
        (vanhoa, "ta-leng", date(2024, 9, 12), "Kiểm tra loa truyền thanh các bản; 2 bản còn hỏng loa."),
    ]:
        log_visit(user, commune, on, notes, today=on)
    # (member, commune, month, filed on): by the 25th is on time; the rest stay missing.
    for user, commune, month, filed in [
        (hatang, "na-tam", "2024-08", date(2024, 8, 20)), (hatang, "tt-tam-duong", "2024-08", date(2024, 8, 23)),
        (hatang, "giang-ma", "2024-08", date(2024, 9, 4)),  # late
        (hatang, "na-tam", "2024-09", date(2024, 9, 20)),
        (hatang, "tt-tam-duong", "2024-09", date(2024, 9, 27)),  # late
        (vanhoa, "son-binh", "2024-08", date(2024, 8, 19)), (vanhoa, "ta-leng", "2024-08", date(2024, 9, 3)),  # late
        (vanhoa, "son-binh", "2024-09", date(2024, 9, 24)),
    ]:
        scope = my_scope(user)
        unit = scope.commune(commune)
        status = {}
        for i, c in enumerate(scope.criteria_for(unit)):
            status.setdefault(c.kind, {})[c.code] = {
                "status": ("met", "in_progress", "not_met")[i % 3],
                "note": "" if i % 3 == 0 else "Đang đôn đốc xã hoàn thiện."}
        file_report(user, commune, month, f"Tình hình {unit.name} tháng {month_label(month)}: các bản tiếp tục "
                    "hoàn thiện tiêu chí; xã đã họp triển khai kế hoạch tháng tới.", status, now=day(filed, 16))
    db.session.commit()
