"""The demo's story, told through the ordinary services on the days it happened.

Every step carries its date and runs with the app's clock pinned to it, in date
order, so decision numbers, receipts, audit hashes and step clocks are those a real
office would have produced:
- 2024, the district: village dossiers submitted in August-September, appraised,
  one returned and resubmitted, one rejected; decisions 01-05/2024 of UBND huyện Tam
  Đường in October-December (one decision for three Giang Ma villages), the town's
  civilised-town recognition; one recognition revoked in February 2025.
- 2025: Giang Ma's commune NTM dossier (programme 2021-2025) checked by the district
  and recognised by the province; Nà Tăm 06's dossier, submitted to the district in
  June, taken over on 01/07/2025 by the new commune Bản Bo, which decides it.
- 2026, the new communes and the province: villages of Tả Lèng, Bản Bo and Bình Lư
  recognised, appraised, returned or under appraisal; Tả Lèng's commune dossier
  (programme 2026-2030) under appraisal at the province; a village drafting for 2027.
- The communes' funding-use plans and cement requests (tables of lines), of 2024 to the
  district's finance office and of 2026 to the province's; amounts in whole đồng.
The open dossiers are dated so that none is late in December 2026 (README, demo)."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import lru_cache

from weasyprint import HTML

from ...clock import VN_TZ, pinned
from ...extensions import db
from ...models import Dossier, Unit, User
from ..core.common import definition_of
from ..core.dossiers import appraise_criterion, create_dossier, self_assess, set_fields
from ..core.events import fire_batch, fire_event
from ..core.evidence import attach_evidence
from ..core.lines import add_line
from ..core.reference import reform_files
from .setup import apply_file

MET_NOTE = "Đạt: đã rà soát thực tế tại bản, có biên bản và số liệu kèm theo."
PASS_NOTE = "Đạt: hồ sơ minh chứng đầy đủ, khớp với kết quả kiểm tra thực tế."
REFORM_APPLIED = "2025-07-01 00:05"   # the takeover of the dossiers open on 30/06/2025


@lru_cache(maxsize=2)
def demo_evidence_pdf(note: str = "") -> bytes:
    return HTML(string="<h1>Minh chứng</h1><p>Tệp minh chứng minh họa (tài liệu mẫu).</p>"
                f"<p>{note}</p>").write_pdf()


class Story:
    """Steps with their dates; `run` plays them in date order (ties: in the order added)."""

    def __init__(self, users: dict[str, User]) -> None:
        self.u = users
        self.dossiers: dict[str, Dossier] = {}
        self._steps: list[tuple[datetime, int, Callable[[], None]]] = []

    def at(self, when: str, step: Callable[[], None]) -> None:
        moment = datetime.fromisoformat(when if " " in when else f"{when} 09:00").replace(tzinfo=VN_TZ)
        self._steps.append((moment, len(self._steps), step))

    def run(self) -> None:
        for moment, _, step in sorted(self._steps, key=lambda s: (s[0], s[1])):
            with pinned(moment):
                step()
            db.session.flush()

    # -- steps ----------------------------------------------------------------------------

    def create(self, key: str, who: str, kind: str, unit: str, year: int, when: str) -> None:
        def step():
            self.dossiers[key] = create_dossier(self.u[who], kind, unit, year)
        self.at(when, step)

    def prepare(self, key: str, who: str, when: str, lacking: frozenset[str] = frozenset()) -> None:
        """Evidence for each criterion and the self-assessment; `lacking` ones honestly not met."""
        def step():
            dossier = self.dossiers[key]
            for entry in list(dossier.current_criteria()):
                if entry.code in lacking:
                    self_assess(self.u[who], dossier, entry.code, "not_met",
                                "Chưa đạt: bản đang hoàn thiện, dự kiến đạt trong năm tới.")
                    continue
                attach_evidence(self.u[who], dossier, f"minh-chung-tieu-chi-{entry.code}.pdf",
                                demo_evidence_pdf(), entry.code)
                self_assess(self.u[who], dossier, entry.code, "met", MET_NOTE)
        self.at(when, step)

    def fields(self, key: str, who: str, when: str, values: dict) -> None:
        self.at(when, lambda: set_fields(self.u[who], self.dossiers[key], values))

    def event(self, key: str, who: str, event: str, when: str, comment: str | None = None) -> None:
        self.at(when, lambda: fire_event(self.u[who], self.dossiers[key], event, comment))

    def verdicts(self, key: str, who: str, when: str, fail: dict[str, str] | None = None,
                 only: set[str] | None = None) -> None:
        """The appraiser's verdicts: `fail` {code: why}, the rest (or `only` these) pass."""
        fail = fail or {}

        def step():
            dossier = self.dossiers[key]
            for entry in list(dossier.current_criteria()):
                if entry.code in fail:
                    appraise_criterion(self.u[who], dossier, entry.code, "fail", fail[entry.code])
                elif (only is None or entry.code in only) and entry.verdict != "pass":
                    appraise_criterion(self.u[who], dossier, entry.code, "pass", PASS_NOTE)
        self.at(when, step)

    def lines(self, key: str, who: str, when: str, rows: list[dict]) -> None:
        """Lines added to a dossier made of lines, in order."""
        def step():
            for values in rows:
                add_line(self.u[who], self.dossiers[key], values)
        self.at(when, step)

    def grant(self, key: str, who: str, when: str, granted: dict[str, float], comment: str) -> None:
        """The event that grants per line (`grants` in the definition), with the amounts
        `granted` {a text of the line (its work): amount}; the other lines get what
        they asked."""
        def step():
            dossier = self.dossiers[key]
            amounts = {ln.id: granted[text] for ln in dossier.current_lines() for text in granted
                       if text in ln.values.values()}
            assert len(amounts) == len(granted), "a granted line is not in the dossier"
            fire_event(self.u[who], dossier, definition_of(dossier).grant_event.name, comment, granted=amounts)
        self.at(when, step)

    def add_evidence(self, key: str, who: str, when: str, code: str, filename: str) -> None:
        self.at(when, lambda: attach_evidence(self.u[who], self.dossiers[key], filename,
                                              demo_evidence_pdf("Bổ sung"), code))

    def village(self, key: str, unit: str, year: int, head: str, officer: str, *, created: str, submitted: str,
                request_ref: str) -> None:
        """A village dossier from creation to submission."""
        self.create(key, head, "village_ntm", unit, year, created)
        self.prepare(key, head, _later(created, 3))
        self.fields(key, officer, _later(submitted, -1), {"request_ref": request_ref})
        self.event(key, officer, "submit", submitted)

    def send_back(self, key: str, appraiser: str, day: str, failed: dict[str, str], reason: str) -> None:
        """A return: the verdicts in the morning (`failed` {code: why}), the return that afternoon."""
        self.verdicts(key, appraiser, f"{day} 09:00", fail=failed)
        self.event(key, appraiser, "return", f"{day} 15:00", reason)

    def resubmit(self, key: str, who: str, *, added: str, code: str, filename: str, submitted: str,
                 comment: str) -> None:
        """The missing file added to criterion `code`, then the dossier submitted again."""
        self.add_evidence(key, who, added, code, filename)
        self.event(key, who, "submit", submitted, comment)

    def decide(self, key: str, appraiser: str, approver: str, appraised: str, recognized: str) -> None:
        self.verdicts(key, appraiser, _later(appraised, -1))
        self.event(key, appraiser, "appraise", appraised)
        self.event(key, approver, "recognize", recognized)


def _later(when: str, days: int) -> str:
    """`when` moved by whole days (then on to the next weekday in the same direction),
    for steps whose exact day within the week does not matter."""
    moment = datetime.fromisoformat(when if " " in when else f"{when} 09:00") + timedelta(days=days)
    while moment.weekday() >= 5:
        moment += timedelta(days=1 if days >= 0 else -1)
    return moment.strftime("%Y-%m-%d %H:%M")


def tell_story(users: dict[str, User]) -> int:
    """Play the story once; the number of dossiers it created (0 when already told)."""
    marker = db.session.execute(db.select(Dossier.id).join(Unit, Dossier.unit_id == Unit.id)
                                .where(Unit.code == "na-tam-01", Dossier.year == 2024)).first()
    if marker is not None:
        return 0
    story = Story(users)
    _campaign_2024(story)
    _year_2025(story)
    _campaign_2026(story)
    _plans_2024(story)
    _plans_2026(story)
    story.run()
    return len(story.dossiers)


def _campaign_2024(s: Story) -> None:
    ref = "Tờ trình số {n}/TTr-UBND ngày {d} của UBND xã {c}"
    # Nà Tăm 01: prepared by the village head, submitted by the commune, recognised (02/2024).
    s.village("nt01", "na-tam-01", 2024, "truongban", "canbo.natam", created="2024-08-05 08:30",
              submitted="2024-09-16 09:00", request_ref=ref.format(n="21", d="13/9/2024", c="Nà Tăm"))
    s.decide("nt01", "thamdinh", "chutich", appraised="2024-10-02 15:00", recognized="2024-10-08 10:00")
    # The town: a civilised town in October 2024 (01/2024), after its appraisal council voted.
    s.create("town", "vanthu.thitran", "town_civilized", "tt-tam-duong", 2024, "2024-08-01 08:00")
    s.prepare("town", "vanthu.thitran", "2024-08-06 14:00")
    s.fields("town", "canbo.thitran", "2024-09-20 10:00",
             {"resident_satisfaction_pct": 93.5, "request_ref": "Tờ trình số 45/TTr-UBND ngày 20/9/2024"})
    s.event("town", "canbo.thitran", "submit", "2024-09-23 08:30")
    s.verdicts("town", "thamdinh", "2024-09-30 14:00")
    s.fields("town", "thamdinh", "2024-10-01 10:00",
             {"council_members": 9, "council_present": 8, "council_in_favour": 8})
    s.event("town", "thamdinh", "appraise", "2024-10-01 16:00")
    s.event("town", "chutich", "recognize", "2024-10-04 10:00")
    # Three Giang Ma villages in one decision (03/2024).
    for n in ("01", "02", "03"):
        s.village(f"gm{n}", f"giang-ma-{n}", 2024, "canbo.giangma", "canbo.giangma", created="2024-08-12 08:00",
                  submitted="2024-09-25 09:00", request_ref=ref.format(n="17", d="24/9/2024", c="Giang Ma"))
        s.verdicts(f"gm{n}", "thamdinh", "2024-10-11 09:00")
        s.event(f"gm{n}", "thamdinh", "appraise", "2024-10-14 15:00")
    s.at("2024-10-18 10:00", lambda: fire_batch(s.u["chutich"], [(s.dossiers[f"gm{n}"], None)
                                                              for n in ("01", "02", "03")], "recognize"))
    # Nà Tăm 07: recognised (04/2024), revoked in February 2025 after the district's inspection.
    s.village("nt07", "na-tam-07", 2024, "canbo.natam", "canbo.natam", created="2024-08-19 08:00",
              submitted="2024-09-27 09:00", request_ref=ref.format(n="24", d="26/9/2024", c="Nà Tăm"))
    s.decide("nt07", "thamdinh", "chutich", appraised="2024-10-16 15:00", recognized="2024-10-22 10:00")
    s.event("nt07", "chutich", "revoke", "2025-02-18 10:00",
            "Kết quả kiểm tra của Đoàn kiểm tra huyện tháng 01/2025: tiêu chí 12 (Môi trường và an toàn "
            "thực phẩm) không còn đạt — điểm tập kết rác của bản chưa được xử lý, 38% số hộ chưa có nhà "
            "tiêu hợp vệ sinh.")
    # Nà Tăm 04: returned for its labour list, resubmitted, recognised in December (05/2024).
    s.village("nt04", "na-tam-04", 2024, "canbo.natam", "canbo.natam", created="2024-08-05 14:00",
              submitted="2024-09-10 09:00", request_ref=ref.format(n="19", d="09/9/2024", c="Nà Tăm"))
    s.send_back("nt04", "thamdinh", "2024-09-20",
                {"7": "Chưa có danh sách lao động có việc làm thường xuyên của bản."},
                "Đề nghị bổ sung danh sách lao động có việc làm thường xuyên (tiêu chí 7 - Lao động) "
                "có xác nhận của UBND xã.")
    s.resubmit("nt04", "canbo.natam", added="2024-11-22 10:00", code="7",
               filename="danh-sach-lao-dong-co-viec-lam.pdf", submitted="2024-11-25 09:00",
               comment="Đã bổ sung danh sách lao động có việc làm thường xuyên có xác nhận của UBND xã.")
    s.decide("nt04", "thamdinh", "chutich", appraised="2024-12-03 15:00", recognized="2024-12-06 10:00")
    # Nà Tăm 05: income below the threshold, not recognised.
    s.village("nt05", "na-tam-05", 2024, "canbo.natam", "canbo.natam", created="2024-08-26 08:00",
              submitted="2024-09-30 09:00", request_ref=ref.format(n="26", d="27/9/2024", c="Nà Tăm"))
    s.verdicts("nt05", "thamdinh", "2024-10-09 14:00",
               fail={"8": "Thu nhập bình quân đầu người năm 2023 của bản thấp hơn mức quy định của Bộ tiêu chí."})
    s.event("nt05", "chutich", "reject", "2024-10-10 10:00",
            "Không công nhận bản đạt chuẩn nông thôn mới năm 2024: tiêu chí 8 (Thu nhập) chưa đạt, thu nhập "
            "bình quân đầu người năm 2023 thấp hơn mức quy định. Đề nghị bản tiếp tục phấn đấu và đăng ký "
            "lại khi đủ điều kiện.")


def _year_2025(s: Story) -> None:
    # Giang Ma, commune NTM (programme 2021-2025): checked by the district, appraised and
    # recognised by the province (01/2025 of UBND tỉnh Lai Châu).
    s.create("xgm", "canbo.giangma", "commune_ntm", "giang-ma", 2025, "2025-02-10 08:30")
    s.prepare("xgm", "canbo.giangma", "2025-02-17 09:00")
    s.fields("xgm", "canbo.giangma", "2025-03-24 10:00", {
        "posted_from": "2025-03-03", "posted_to": "2025-03-19", "households_agree_pct": 94.6,
        "construction_debt_vnd": 0, "request_ref": "Tờ trình số 18/TTr-UBND ngày 24/3/2025 của UBND xã Giang Ma"})
    s.event("xgm", "canbo.giangma", "submit", "2025-03-25 09:00")
    s.verdicts("xgm", "thamdinh", "2025-04-03 09:00")
    s.event("xgm", "thamdinh", "verify", "2025-04-08 15:00")
    s.event("xgm", "thamdinh.tinh", "appraise", "2025-04-24 15:00")
    s.event("xgm", "chutich.tinh", "recognize", "2025-04-28 10:00")
    # Nà Tăm 06: submitted to the district in June; on 01/07/2025 the new commune Bản Bo
    # takes it over (history record citing NQ 1670), appraises and recognises it (01/2025).
    s.village("nt06", "na-tam-06", 2025, "canbo.natam", "canbo.natam", created="2025-05-12 08:00",
              submitted="2025-06-16 09:00",
              request_ref="Tờ trình số 31/TTr-UBND ngày 13/6/2025 của UBND xã Nà Tăm")
    s.at(REFORM_APPLIED, lambda: [apply_file(path) for path in reform_files()])
    s.decide("nt06", "thamdinh.banbo", "chutich.banbo", appraised="2025-07-04 15:00", recognized="2025-07-09 10:00")


def _campaign_2026(s: Story) -> None:
    ref = "Tờ trình số {n}/TTr-TB ngày {d} của Trưởng bản {v}"
    # Tả Lèng: Giang Ma 09 recognised by the new commune (01/2026 of UBND xã Tả Lèng).
    s.village("gm09", "giang-ma-09", 2026, "truongban.giangma09", "truongban.giangma09",
              created="2026-03-09 08:30", submitted="2026-05-11 09:00",
              request_ref=ref.format(n="01", d="08/5/2026", v="Giang Ma 09"))
    s.decide("gm09", "thamdinh.taleng", "chutich.taleng", appraised="2026-05-25 15:00", recognized="2026-05-28 10:00")
    # Bản Bo: Nà Tăm 09 recognised (01/2026 of UBND xã Bản Bo).
    s.village("nt09", "na-tam-09", 2026, "truongban.natam09", "truongban.natam09",
              created="2026-04-06 08:30", submitted="2026-06-15 09:00",
              request_ref=ref.format(n="01", d="12/6/2026", v="Nà Tăm 09"))
    s.decide("nt09", "thamdinh.banbo", "chutich.banbo", appraised="2026-06-26 15:00", recognized="2026-07-02 10:00")
    # Bình Lư: Sơn Bình 06 returned in October; the village is still completing it.
    s.village("sb06", "son-binh-06", 2026, "truongban.sonbinh06", "truongban.sonbinh06",
              created="2026-07-06 08:30", submitted="2026-09-21 09:00",
              request_ref=ref.format(n="02", d="18/9/2026", v="Sơn Bình 06"))
    s.send_back("sb06", "thamdinh.binhlu", "2026-10-05",
                {"4": "Nhà văn hóa bản chưa có đủ trang thiết bị tối thiểu theo quy định."},
                "Đề nghị bổ sung biên bản bàn giao trang thiết bị nhà văn hóa bản (tiêu chí 4 - Văn hóa) và ảnh "
                "chụp hiện trạng sau khi hoàn thiện.")
    # Giang Ma 10: returned in September, resubmitted, appraised in December: awaits the chairman.
    s.village("gm10", "giang-ma-10", 2026, "truongban.giangma10", "truongban.giangma10",
              created="2026-07-13 08:30", submitted="2026-09-14 09:00",
              request_ref=ref.format(n="01", d="11/9/2026", v="Giang Ma 10"))
    s.send_back("gm10", "thamdinh.taleng", "2026-09-25",
                {"1": "Đường trục bản còn 350 m chưa cứng hóa so với kế hoạch đăng ký."},
                "Đề nghị bổ sung biên bản nghiệm thu đoạn đường trục bản đã cứng hóa (tiêu chí 1 - Giao thông).")
    s.resubmit("gm10", "truongban.giangma10", added="2026-11-27 10:00", code="1",
               filename="bien-ban-nghiem-thu-duong-truc-ban.pdf", submitted="2026-11-30 09:00",
               comment="Đã hoàn thành cứng hóa đường trục bản, gửi kèm biên bản nghiệm thu.")
    s.verdicts("gm10", "thamdinh.taleng", "2026-12-02 14:00")
    s.event("gm10", "thamdinh.taleng", "appraise", "2026-12-03 15:00")
    # Tả Lèng 06: returned early in October, resubmitted on 30/11, under appraisal.
    s.village("tl06", "ta-leng-06", 2026, "truongban.taleng06", "truongban.taleng06",
              created="2026-07-20 08:30", submitted="2026-09-28 09:00",
              request_ref=ref.format(n="01", d="25/9/2026", v="Tả Lèng 06"))
    s.send_back("tl06", "thamdinh.taleng", "2026-10-02",
                {"13": "Chưa có biên bản họp bản thông qua kết quả tự đánh giá."},
                "Đề nghị bổ sung biên bản họp bản thông qua kết quả tự đánh giá các tiêu chí (tiêu chí 13 - "
                "Hệ thống chính trị).")
    s.resubmit("tl06", "truongban.taleng06", added="2026-11-27 14:00", code="13", filename="bien-ban-hop-ban.pdf",
               submitted="2026-11-30 10:00", comment="Đã bổ sung biên bản họp bản ngày 20/11/2026.")
    s.verdicts("tl06", "thamdinh.taleng", "2026-12-03 09:00", only={"1", "2", "3", "4", "5", "13"})
    # Giang Ma 04 prepares its dossier for 2027; two criteria are not met yet.
    s.create("gm04", "truongban.giangma04", "village_ntm", "giang-ma-04", 2027, "2026-11-16 08:30")
    s.prepare("gm04", "truongban.giangma04", "2026-11-18 09:00", lacking=frozenset({"7", "8"}))
    # Tả Lèng, commune NTM 2026-2030: submitted to the province, criteria being appraised.
    s.create("xtl", "canbo.taleng", "commune_ntm", "ta-leng-2025", 2026, "2026-09-07 08:30")
    s.prepare("xtl", "canbo.taleng", "2026-09-14 09:00")
    s.fields("xtl", "canbo.taleng", "2026-11-20 10:00", {
        "posted_from": "2026-10-26", "posted_to": "2026-11-13", "households_agree_pct": 92.4,
        "construction_debt_vnd": 0, "request_ref": "Tờ trình số 112/TTr-UBND ngày 20/11/2026 của UBND xã Tả Lèng"})
    s.event("xtl", "canbo.taleng", "submit", "2026-11-23 09:00")
    s.verdicts("xtl", "thamdinh.tinh", "2026-12-01 14:00", only={"1", "2", "3"})
    s.verdicts("xtl", "thamdinh.tinh", "2026-12-03 14:00", only={"4", "5", "6"})


def _plan(item: str, source: str, amount: int, village: str | None = None,
         starts: str | None = None, ends: str | None = None) -> dict:
    values = {"item": item, "source": source, "amount_vnd": amount, "starts_on": starts, "ends_on": ends}
    if village:
        values["village"] = village
    return {k: v for k, v in values.items() if v is not None}


def _cement(village: str, work: str, quantity: float, unit: str, tonnes: float, households: int) -> dict:
    return {"village": village, "work": work, "quantity": quantity, "unit_of_measure": unit,
            "cement_tonnes": tonnes, "households": households}


def _plans_2024(s: Story) -> None:
    """The district's finance office in April-May 2024: Giang Ma's and Sơn Bình's plans
    accepted; Nà Tăm's accepted, then amended in September (a new version still being
    drafted, the accepted one readable); Nà Tăm's cement request accepted in part, Sơn
    Bình's in full, Giang Ma's returned. All filed before the notice's deadlines
    (cement 15/04, plans 30/04)."""
    plans, requests = "funding_plan", "cement_request"
    # Cement requests, due 15/04/2024.
    s.create("xm24nt", "ketoan.natam", requests, "na-tam", 2024, "2024-04-08 08:30")
    s.lines("xm24nt", "ketoan.natam", "2024-04-08 14:00", [
        _cement("na-tam-01", "Bê tông hoá đường nội bản Nà Tăm 1", 650, "m", 42, 86),
        _cement("na-tam-03", "Bê tông hoá đường ra khu sản xuất bản Nà Tăm 3", 480, "m", 31, 54),
        _cement("na-tam-05", "Rãnh thoát nước bản Nà Tăm 5", 320, "m", 14, 47),
        _cement("na-tam-08", "Sân nhà văn hoá bản Nà Tăm 8", 260, "m2", 10, 39),
    ])
    s.event("xm24nt", "canbo.natam", "submit", "2024-04-10 09:00")
    s.grant("xm24nt", "taichinh", "2024-04-19 15:00", {"Rãnh thoát nước bản Nà Tăm 5": 8,
                                                       "Sân nhà văn hoá bản Nà Tăm 8": 0},
            "Chấp nhận một phần: năm 2024 huyện ưu tiên xi măng cho đường giao thông; rãnh thoát nước bản "
            "Nà Tăm 5 cấp 8 tấn, sân nhà văn hoá bản Nà Tăm 8 chuyển sang kế hoạch năm 2025.")
    s.create("xm24sb", "canbo.sonbinh", requests, "son-binh", 2024, "2024-04-09 08:30")
    s.lines("xm24sb", "canbo.sonbinh", "2024-04-09 10:00", [
        _cement("son-binh-02", "Bê tông hoá đường nội bản Sơn Bình 2", 540, "m", 36, 72),
        _cement("son-binh-03", "Cứng hoá đường trục bản Sơn Bình 3", 410, "m", 28, 61),
    ])
    s.event("xm24sb", "canbo.sonbinh", "submit", "2024-04-12 09:00")
    s.event("xm24sb", "taichinh", "accept", "2024-04-24 10:00")
    s.create("xm24gm", "canbo.giangma", requests, "giang-ma", 2024, "2024-04-10 08:30")
    s.lines("xm24gm", "canbo.giangma", "2024-04-10 09:30", [
        _cement("giang-ma-04", "Bê tông hoá đường nội bản Giang Ma 4", 700, "m", 60, 93),
        _cement("giang-ma-05", "Kênh mương nội đồng bản Giang Ma 5", 35, "m3", 12, 40),
    ])
    s.event("xm24gm", "canbo.giangma", "submit", "2024-04-15 09:00")
    s.event("xm24gm", "taichinh", "return", "2024-04-23 15:00",
            "Đề nghị bổ sung biên bản họp bản cam kết đóng góp ngày công của bản Giang Ma 4 và tính lại khối "
            "lượng xi măng theo định mức 0,09 tấn/m đường bê tông rộng 3 m dày 18 cm.")

    # Funding-use plans, due 30/04/2024.
    s.create("kh24gm", "canbo.giangma", plans, "giang-ma", 2024, "2024-04-15 14:00")
    s.lines("kh24gm", "canbo.giangma", "2024-04-16 09:00", [
        _plan("Bê tông hoá đường nội bản Giang Ma 4", "central", 1_150_000_000, "giang-ma-04",
              "2024-05-15", "2024-10-31"),
        _plan("Nhà văn hoá bản Giang Ma 2", "province", 450_000_000, "giang-ma-02", "2024-06-01", "2024-11-30"),
        _plan("Hỗ trợ phát triển sản xuất chè Shan tuyết", "integrated", 300_000_000, None, "2024-05-01", "2024-12-15"),
        _plan("Ngày công, vật liệu tại chỗ làm đường", "people", 180_000_000, "giang-ma-04",
              "2024-05-15", "2024-10-31"),
    ])
    s.event("kh24gm", "canbo.giangma", "submit", "2024-04-22 09:00")
    s.event("kh24gm", "taichinh", "accept", "2024-05-06 10:00")
    s.create("kh24sb", "canbo.sonbinh", plans, "son-binh", 2024, "2024-04-17 08:30")
    s.lines("kh24sb", "canbo.sonbinh", "2024-04-17 10:00", [
        _plan("Bê tông hoá đường nội bản Sơn Bình 2", "central", 980_000_000, "son-binh-02",
              "2024-05-20", "2024-10-15"),
        _plan("Sửa chữa trường mầm non điểm bản Sơn Bình 3", "district", 350_000_000, "son-binh-03",
              "2024-06-15", "2024-08-20"),
        _plan("Hỗ trợ giống lúa chất lượng cao", "commune", 120_000_000, None, "2024-05-01", "2024-07-31"),
    ])
    s.event("kh24sb", "canbo.sonbinh", "submit", "2024-04-23 09:00")
    s.event("kh24sb", "taichinh", "accept", "2024-05-07 10:00")
    s.create("kh24nt", "ketoan.natam", plans, "na-tam", 2024, "2024-04-17 14:00")
    s.lines("kh24nt", "ketoan.natam", "2024-04-19 09:00", [
        _plan("Bê tông hoá đường nội bản Nà Tăm 1", "central", 1_250_000_000, "na-tam-01", "2024-05-15", "2024-10-31"),
        _plan("Cải tạo nhà văn hoá bản Nà Tăm 3", "province", 350_000_000, "na-tam-03", "2024-06-01", "2024-09-30"),
        _plan("Hệ thống nước sinh hoạt bản Nà Tăm 5", "integrated", 620_000_000, "na-tam-05",
              "2024-07-01", "2024-12-20"),
        _plan("Đóng góp của nhân dân (ngày công, hiến đất)", "people", 210_000_000, None, "2024-05-15", "2024-12-20"),
    ])
    s.event("kh24nt", "canbo.natam", "submit", "2024-04-24 09:00")
    s.event("kh24nt", "taichinh", "accept", "2024-05-08 10:00")
    # September: the commune adjusts its plan (a new version, not yet resubmitted).
    s.event("kh24nt", "canbo.natam", "amend", "2024-09-16 09:00",
            "Điều chỉnh kế hoạch: bổ sung vốn tín dụng cho hộ phát triển sản xuất theo Nghị quyết của HĐND "
            "xã; giảm vốn lồng ghép nước sinh hoạt do dự án tỉnh đã đầu tư.")
    s.lines("kh24nt", "ketoan.natam", "2024-09-17 10:00", [
        _plan("Vay vốn phát triển sản xuất (Ngân hàng Chính sách xã hội)", "credit", 400_000_000, None,
              "2024-10-01", "2024-12-31"),
    ])


def _plans_2026(s: Story) -> None:
    """The province's finance department and the new communes: Tả Lèng's plan and cement
    request accepted (the request in part), Bình Lư's request accepted; Bản Bo's plan
    accepted in May, amended in November, its new version waiting for the province since
    02/12; Bình Lư drafting its plan for 2027."""
    plans, requests = "funding_plan", "cement_request"
    # Tả Lèng: cement request accepted in part, plan accepted.
    s.create("xm26tl", "canbo.taleng", requests, "ta-leng-2025", 2026, "2026-04-01 08:30")
    s.lines("xm26tl", "canbo.taleng", "2026-04-01 14:00", [
        _cement("giang-ma-09", "Bê tông hoá đường nội bản Giang Ma 9", 560, "m", 38, 64),
        _cement("giang-ma-10", "Bê tông hoá đường trục bản Giang Ma 10", 350, "m", 24, 51),
        _cement("ta-leng-06", "Mương thoát nước bản Tả Lèng 6", 28, "m3", 11, 33),
    ])
    s.event("xm26tl", "canbo.taleng", "submit", "2026-04-08 09:00")
    s.grant("xm26tl", "taichinh.tinh", "2026-04-21 15:00", {"Mương thoát nước bản Tả Lèng 6": 6},
            "Chấp nhận một phần: mương thoát nước bản Tả Lèng 6 cấp 6 tấn theo khối lượng đã thẩm tra thực tế.")
    s.create("kh26tl", "canbo.taleng", plans, "ta-leng-2025", 2026, "2026-04-13 08:30")
    s.lines("kh26tl", "canbo.taleng", "2026-04-14 09:00", [
        _plan("Bê tông hoá đường nội bản Giang Ma 9", "central", 1_420_000_000, "giang-ma-09",
              "2026-05-15", "2026-10-31"),
        _plan("Nhà văn hoá bản Tả Lèng 6", "province", 520_000_000, "ta-leng-06", "2026-06-01", "2026-11-30"),
        _plan("Hỗ trợ chăn nuôi lợn đen bản địa", "integrated", 260_000_000, None, "2026-05-01", "2026-12-15"),
        _plan("Nhân dân hiến đất, góp ngày công", "people", 240_000_000, "giang-ma-09", "2026-05-15", "2026-10-31"),
    ])
    s.event("kh26tl", "canbo.taleng", "submit", "2026-04-22 09:00")
    s.event("kh26tl", "taichinh.tinh", "accept", "2026-05-05 10:00")
    # Bình Lư: cement request accepted in full; its 2027 plan being drafted in December 2026.
    s.create("xm26bl", "canbo.binhlu", requests, "binh-lu-2025", 2026, "2026-04-09 08:30")
    s.lines("xm26bl", "canbo.binhlu", "2026-04-09 10:00", [
        _cement("son-binh-06", "Bê tông hoá đường nội bản Sơn Bình 6", 480, "m", 33, 58),
        _cement("son-binh-06", "Sân thể thao bản Sơn Bình 6", 400, "m2", 15, 58),
    ])
    s.event("xm26bl", "canbo.binhlu", "submit", "2026-04-13 09:00")
    s.event("xm26bl", "taichinh.tinh", "accept", "2026-04-24 10:00")
    s.create("kh27bl", "canbo.binhlu", plans, "binh-lu-2025", 2027, "2026-11-24 08:30")
    s.lines("kh27bl", "canbo.binhlu", "2026-11-25 09:00", [
        _plan("Bê tông hoá đường ra khu sản xuất bản Sơn Bình 6", "central", 900_000_000, "son-binh-06",
              "2027-03-01", "2027-08-31"),
        _plan("Hỗ trợ trồng quế, sa nhân dưới tán rừng", "integrated", 350_000_000, None, "2027-03-01", "2027-11-30"),
    ])
    # Bản Bo: plan accepted in May, amended in November, the new version with the province.
    s.create("kh26bb", "canbo.banbo", plans, "ban-bo-2025", 2026, "2026-04-20 08:30")
    s.lines("kh26bb", "canbo.banbo", "2026-04-21 09:00", [
        _plan("Bê tông hoá đường nội bản Nà Tăm 9", "central", 1_080_000_000, "na-tam-09", "2026-05-20", "2026-10-31"),
        _plan("Cấp nước sinh hoạt tập trung bản Nà Tăm 9", "province", 760_000_000, "na-tam-09", "2026-06-01",
              "2026-12-15"),
        _plan("Ngân sách xã đối ứng", "commune", 150_000_000, None, "2026-05-20", "2026-12-15"),
    ])
    s.event("kh26bb", "canbo.banbo", "submit", "2026-04-23 09:00")
    s.event("kh26bb", "taichinh.tinh", "accept", "2026-05-07 10:00")
    s.event("kh26bb", "canbo.banbo", "amend", "2026-11-23 09:00",
            "Điều chỉnh kế hoạch: bổ sung vốn doanh nghiệp hỗ trợ xây dựng nhà văn hoá bản Nà Tăm 9 theo cam "
            "kết ngày 16/11/2026.")
    s.lines("kh26bb", "canbo.banbo", "2026-11-24 14:00", [
        _plan("Nhà văn hoá bản Nà Tăm 9", "enterprise", 450_000_000, "na-tam-09", "2027-01-05", "2027-05-31"),
    ])
    s.event("kh26bb", "canbo.banbo", "submit", "2026-12-02 09:00",
            "Nộp kế hoạch điều chỉnh (phiên bản 2) kèm văn bản cam kết của doanh nghiệp.")
