"""Reminders (issue 5, item 3): the outbox, `flask reminders send` from cron,
delivery through a real SMTP server (aiosmtpd, started here), and /outbox.

Nothing of ours is mocked: dossiers move through the services (their audit
records start the step clocks), the CLI runs as cron would run it, and the
e-mails cross a real SMTP conversation on 127.0.0.1."""
from __future__ import annotations

import email
import threading
from collections import Counter
from datetime import timedelta
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller
from conftest import PG_URL
from helpers import dossier_in, free_port

from workflow_app.extensions import db
from workflow_app.models import utcnow
from workflow_app.models.progress import OutboxMessage
from workflow_app.services import fire_event
from workflow_app.services.core.clocks import step_clock
from workflow_app.services.notify.mailer import CLAIM_LEASE, MAX_ATTEMPTS, SmtpMailer, _claim_next, deliver_pending
from workflow_app.services.notify.reminders import queue_reminders

pytestmark = pytest.mark.db


# ----------------------------------------------------------------------------- a real SMTP server

class Mailbox:
    """aiosmtpd handler: keeps what it accepts; refuses every recipient while `refuse` is set."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refused = 0
        self.refuse = False
        self.lock = threading.Lock()
        self.on_data = None  # called while a message is being received (the client waits)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse:
            with self.lock:
                self.refused += 1
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.on_data:
            self.on_data()
        parsed = email.message_from_bytes(envelope.original_content or envelope.content, policy=default_policy)
        with self.lock:
            self.messages.append(parsed)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp(app):
    """A real SMTP server on 127.0.0.1, and the app configured to use it."""
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=controller.port, SMTP_STARTTLS=False,
                      SMTP_USER="", SMTP_PASSWORD="", SMTP_FROM="Hồ sơ NTM <ntm@tamduong.example>")
    yield box
    controller.stop()


# ----------------------------------------------------------------------------- the district

@pytest.fixture
def people(app, make_user):
    """Who is who around village na-tam-01 (e-mail addresses for most)."""
    def user(role, unit, name, mail=True, **kw):
        u = make_user(role, unit, name=name, **kw)
        if mail:
            u.email = f"{u.username}@tamduong.example"
        db.session.commit()
        return u

    cast = {
        "prep": user("preparer", "na-tam-01", "Lò Văn Hùng"),
        "sub": user("submitter", "na-tam", "Tao Thị Mai"),
        "appr": user("appraiser", "tam-duong", "Nguyễn Văn Bình"),
        "appr_nomail": user("appraiser", "tam-duong", "Phạm Thị Hoa", mail=False),
        "apv": user("approver", "tam-duong", "Trần Quốc Khánh", capacity="vice_chairman"),
        # Nobody below acts on a submitted na-tam-01 dossier:
        "admin": user("admin", "lai-chau", "Quản trị"),
        "viewer": user("viewer", "tam-duong", "Hoàng Thị Lan"),
        "other_prep": user("preparer", "na-tam-02", "Trưởng bản 02"),
        "outsider": user("submitter", "giang-ma", "Sần Văn Pao"),
        "gone": user("appraiser", "tam-duong", "Đã nghỉ"),
    }
    cast["gone"].active = False
    db.session.commit()
    return cast


def submitted(people, unit="na-tam-01"):
    """A real submission (its audit record starts the clock of `submitted`)."""
    dossier = dossier_in(people["sub"], unit, 2024, "draft")
    fire_event(people["sub"], dossier, "submit")
    db.session.commit()
    return dossier


def run(app, *args):
    return app.test_cli_runner().invoke(args=["reminders", *args], catch_exceptions=False)


def outbox(**where) -> list[OutboxMessage]:
    stmt = db.select(OutboxMessage).order_by(OutboxMessage.id)
    for name, value in where.items():
        stmt = stmt.where(getattr(OutboxMessage, name) == value)
    db.session.expire_all()
    return list(db.session.execute(stmt).scalars())


# ----------------------------------------------------------------------------- cron: once per day

def test_send_twice_sends_nothing_new_and_overdue_is_once_per_user_per_day(app, people, smtp):
    dossier = submitted(people)
    clock = step_clock(dossier)
    assert clock is not None and clock.state == "submitted" and not clock.overdue
    late = clock.due_on + timedelta(days=1)

    # Well before the deadline nothing is due.
    early = run(app, "send", "--today", clock.started_on.isoformat())
    assert early.exit_code == 0 and "đã xếp 0 thư mới, đã gửi 0, lỗi 0" in early.output

    first = run(app, "send", "--today", late.isoformat())
    assert first.exit_code == 0, first.output
    # appraiser, approver and the appraiser without an address (queued, not sendable)
    assert "đã xếp 3 thư mới, đã gửi 2, lỗi 0" in first.output
    second = run(app, "send", "--today", late.isoformat())
    assert "đã xếp 0 thư mới, đã gửi 0, lỗi 0" in second.output
    assert len(smtp.messages) == 2

    overdue = outbox(kind="overdue")
    assert Counter(m.to_user_id for m in overdue) == {
        people["appr"].id: 1, people["apv"].id: 1, people["appr_nomail"].id: 1}
    assert {m.day for m in overdue} == {late}
    assert all(m.step == "submitted" and m.dossier_id == dossier.id for m in overdue)
    nomail = next(m for m in overdue if m.to_user_id == people["appr_nomail"].id)
    assert nomail.to_email is None and nomail.sent_at is None and nomail.attempts == 0

    # The next day: exactly one more per responsible user.
    nxt = run(app, "send", "--today", (late + timedelta(days=1)).isoformat())
    assert "đã xếp 3 thư mới, đã gửi 2, lỗi 0" in nxt.output
    per_day = Counter((m.to_user_id, m.day) for m in outbox(kind="overdue"))
    assert set(per_day.values()) == {1} and len(per_day) == 6
    assert len(smtp.messages) == 4
    assert not outbox(kind="due_soon")


def test_due_soon_then_overdue_are_separate_reminders(app, people):
    dossier = submitted(people)
    clock = step_clock(dossier)
    assert queue_reminders(clock.due_on) == 3  # the last day: due soon
    db.session.commit()
    assert {m.kind for m in outbox()} == {"due_soon"}
    assert queue_reminders(clock.due_on) == 0
    assert queue_reminders(clock.due_on + timedelta(days=1)) == 3
    db.session.commit()
    assert Counter(m.kind for m in outbox()) == {"due_soon": 3, "overdue": 3}
    body = outbox(kind="due_soon", to_user_id=people["appr"].id)[0].body
    assert "hôm nay là ngày cuối" in body and clock.due_on.strftime("%d/%m/%Y") in body


def test_without_smtp_nothing_is_sent_and_the_outbox_keeps_everything(app, people):
    assert not app.config.get("SMTP_HOST")
    dossier = submitted(people)
    late = step_clock(dossier).due_on + timedelta(days=3)
    out = run(app, "send", "--today", late.isoformat())
    assert out.exit_code == 0 and "đã xếp 3 thư mới, đã gửi 0, lỗi 0" in out.output
    assert "/outbox" in out.output
    assert all(m.sent_at is None and m.attempts == 0 for m in outbox())
    listed = run(app, "list", "--unsent")
    assert listed.exit_code == 0 and dossier.code in listed.output and "3 message(s)." in listed.output


def test_who_gets_step_reminders_follows_the_capacities(app, people):
    """Appraised: the approver decides, appraisers may still return it; each is
    told what they can do. Admin, viewer, other villages and communes, and an
    inactive appraiser get nothing."""
    appraised = submitted(people)
    fire_event(people["appr"], appraised, "appraise")
    db.session.commit()
    late = step_clock(appraised).due_on + timedelta(days=1)
    assert queue_reminders(late) == 3
    db.session.commit()
    by_user = {m.to_user_id: m for m in outbox()}
    assert set(by_user) == {people["apv"].id, people["appr"].id, people["appr_nomail"].id}
    assert all(m.step == "appraised" and m.kind == "overdue" for m in by_user.values())
    approver, appraiser = by_user[people["apv"].id].body, by_user[people["appr"].id].body
    assert "“Công nhận và ban hành quyết định”" in approver and "“Không công nhận”" in approver
    assert "“Trả lại để bổ sung”" in appraiser and "Công nhận và ban hành" not in appraiser
    assert "Kính gửi Trần Quốc Khánh" in approver and late.strftime("%d/%m/%Y") not in approver
    assert step_clock(appraised).due_on.strftime("%d/%m/%Y") in approver
    assert f"http://ntm.test/dossiers/{appraised.id}" in approver


# ----------------------------------------------------------------------------- effects at the event

def test_return_queues_one_message_to_whoever_prepares_and_submits(app, people):
    dossier = submitted(people)
    reason = "Bổ sung minh chứng tiêu chí 7 (Lao động): danh sách lao động có việc làm thường xuyên."
    fire_event(people["appr"], dossier, "return", reason)
    db.session.commit()
    returned = outbox(kind="returned")
    assert {m.to_user_id for m in returned} == {people["prep"].id, people["sub"].id}
    assert len(returned) == 2
    msg = next(m for m in returned if m.to_user_id == people["prep"].id)
    assert msg.to_email == people["prep"].email and msg.step == "returned"
    assert dossier.code in msg.subject and "trả lại" in msg.subject
    assert reason in msg.body and f"http://ntm.test/dossiers/{dossier.id}" in msg.body
    assert "Kính gửi Lò Văn Hùng" in msg.body and "Nguyễn Văn Bình" in msg.body

    # Returned again the same day: one message per user, dossier and day.
    fire_event(people["sub"], dossier, "submit")
    fire_event(people["apv"], dossier, "return", "Thêm ảnh hiện trạng")
    db.session.commit()
    assert len(outbox(kind="returned")) == 2


def test_recognition_queues_decision_issued_for_submitter_and_preparers(app, people):
    dossier = submitted(people)
    fire_event(people["appr"], dossier, "appraise")
    fire_event(people["apv"], dossier, "recognize")
    db.session.commit()
    issued = outbox(kind="decision_issued")
    assert {m.to_user_id for m in issued} == {people["prep"].id, people["sub"].id}
    for m in issued:
        assert "01/QĐ-UBND" in m.subject and "01/QĐ-UBND" in m.body and "http://ntm.test/verify/" in m.body
        assert m.step == "recognized"


# ----------------------------------------------------------------------------- SMTP delivery

def test_delivered_mail_has_subject_recipient_and_utf8_vietnamese_body(app, people, smtp):
    dossier = submitted(people)
    fire_event(people["appr"], dossier, "return", "Thiếu biên bản họp thôn về tiêu chí 13.")
    db.session.commit()
    out = run(app, "send")
    assert "đã xếp 0 thư mới, đã gửi 2, lỗi 0" in out.output
    got = {m["To"].addresses[0].addr_spec: m for m in smtp.messages}
    assert set(got) == {people["prep"].email, people["sub"].email}
    mail = got[people["prep"].email]
    stored = outbox(kind="returned", to_user_id=people["prep"].id)[0]
    assert mail["Subject"] == stored.subject
    assert f"Hồ sơ {dossier.code}" in mail["Subject"] and "bị trả lại để bổ sung" in mail["Subject"]
    assert mail["To"].addresses[0].display_name == "Lò Văn Hùng"
    assert mail["From"].addresses[0].addr_spec == "ntm@tamduong.example"
    part = mail.get_body(("plain",))
    assert part.get_content_charset() == "utf-8"
    text = part.get_content()
    assert "Thiếu biên bản họp thôn về tiêu chí 13." in text and "Kính gửi Lò Văn Hùng" in text
    assert f"http://ntm.test/dossiers/{dossier.id}" in text
    assert smtp.envelopes[0][0] == "ntm@tamduong.example"
    assert stored.sent_at is not None and stored.attempts == 1 and stored.last_error is None


def test_refused_mail_is_recorded_retried_next_run_and_sent_when_the_server_accepts(app, people, smtp):
    people["sub"].email = None  # one recipient with an address: the preparer
    dossier = submitted(people)
    fire_event(people["appr"], dossier, "return", "Bổ sung tiêu chí 7.")
    db.session.commit()
    smtp.refuse = True
    out = run(app, "send")
    assert "đã gửi 0, lỗi 1" in out.output
    (msg,) = outbox(kind="returned", to_user_id=people["prep"].id)
    assert msg.sent_at is None and msg.attempts == 1 and "550" in msg.last_error
    smtp.refuse = False
    out = run(app, "send")
    assert "đã gửi 1, lỗi 0" in out.output
    (msg,) = outbox(kind="returned", to_user_id=people["prep"].id)
    assert msg.sent_at is not None and msg.attempts == 2 and msg.last_error is None
    assert len(smtp.messages) == 1 and smtp.refused == 1


def test_refused_mail_gives_up_after_five_attempts(app, people, smtp):
    people["sub"].email = None
    dossier = submitted(people)
    fire_event(people["appr"], dossier, "return", "Bổ sung tiêu chí 7.")
    db.session.commit()
    smtp.refuse = True
    for attempt in range(1, MAX_ATTEMPTS + 1):
        assert "đã gửi 0, lỗi 1" in run(app, "send").output
        (msg,) = outbox(kind="returned", to_user_id=people["prep"].id)
        assert msg.attempts == attempt and msg.sent_at is None and "550" in msg.last_error
    assert "đã gửi 0, lỗi 0" in run(app, "send").output  # given up: not tried again
    (msg,) = outbox(kind="returned", to_user_id=people["prep"].id)
    assert msg.attempts == MAX_ATTEMPTS and smtp.refused == MAX_ATTEMPTS
    smtp.refuse = False
    assert "đã gửi 0, lỗi 0" in run(app, "send").output and smtp.messages == []


def test_unreachable_server_is_an_error_recorded_per_message(app, people):
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=free_port(), SMTP_STARTTLS=False)  # nobody listens
    dossier = submitted(people)
    fire_event(people["appr"], dossier, "return", "Bổ sung tiêu chí 7.")
    db.session.commit()
    assert "đã gửi 0, lỗi 2" in run(app, "send").output
    assert all(m.attempts == 1 and m.sent_at is None and "Connection" in m.last_error for m in outbox())


@pytest.mark.pg
@pytest.mark.skipif(not PG_URL, reason="concurrent delivery is proven on PostgreSQL (TEST_DATABASE_URL)")
def test_concurrent_send_runs_never_deliver_one_message_twice(app, make_user, people, smtp):
    for n in range(30):  # 30 more appraisers: 32 sendable overdue reminders
        u = make_user("appraiser", "tam-duong", name=f"Cán bộ thẩm định {n}")
        u.email = f"td{n}@tamduong.example"
    db.session.commit()
    dossier = submitted(people)
    assert queue_reminders(step_clock(dossier).due_on + timedelta(days=1)) == 33
    db.session.commit()
    sendable = {m.id for m in outbox() if m.to_email}
    assert len(sendable) == 32

    runs, barrier, results = 4, threading.Barrier(4), []

    def cron_run():
        with app.app_context():
            barrier.wait()
            results.append(deliver_pending(SmtpMailer()))
            db.session.remove()

    threads = [threading.Thread(target=cron_run) for _ in range(runs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert len(results) == runs
    assert sum(sent for sent, _ in results) == len(sendable) and all(failed == 0 for _, failed in results)
    delivered = Counter(m["Message-ID"] for m in smtp.messages)
    assert len(delivered) == len(sendable) and set(delivered.values()) == {1}
    assert all(m.sent_at is not None and m.attempts == 1 for m in outbox() if m.to_email)


def test_the_app_can_write_while_a_message_is_being_sent(app, people, smtp):
    """The claim is committed before the SMTP conversation: on SQLite an open claim
    would hold the database's write lock and every writer of the app would wait
    for the mail server. Here another connection writes in the middle of each send."""
    from sqlalchemy import create_engine, text

    people["sub"].email = None
    dossier = submitted(people)
    fire_event(people["appr"], dossier, "return", "Bổ sung tiêu chí 7.")
    db.session.commit()
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    other = create_engine(url, connect_args={"timeout": 1} if url.startswith("sqlite") else {})
    writes, viewer_id = [], people["viewer"].id

    def write_elsewhere():
        try:
            with other.begin() as conn:
                if other.dialect.name == "postgresql":
                    conn.execute(text("SET LOCAL lock_timeout = '1s'"))
                conn.execute(text("UPDATE users SET name = name WHERE id = :id"), {"id": viewer_id})
                conn.execute(text("UPDATE outbox SET body = body"))  # the message being sent too
            writes.append("ok")
        except Exception as exc:  # noqa: BLE001 - the test reports what stopped the writer
            writes.append(f"{type(exc).__name__}: {exc}")

    smtp.on_data = write_elsewhere
    try:
        assert "đã gửi 1, lỗi 0" in run(app, "send").output
    finally:
        other.dispose()
    assert writes == ["ok"]
    (msg,) = outbox(kind="returned", to_user_id=people["prep"].id)
    assert msg.sent_at is not None and msg.claimed_until is None and msg.attempts == 1


def set_lease(message_id: int, until) -> None:
    db.session.execute(db.update(OutboxMessage).where(OutboxMessage.id == message_id).values(claimed_until=until))
    db.session.commit()


def test_a_run_that_dies_mid_send_leaves_its_claim_until_the_lease_runs_out(app, people, smtp):
    """At least once, never two runs at a time: a claimed message is not sent by
    another run while the lease lasts, and is sent once it has run out; the dead
    run's attempt is not counted (it recorded nothing)."""
    people["sub"].email = None
    dossier = submitted(people)
    fire_event(people["appr"], dossier, "return", "Bổ sung tiêu chí 7.")
    db.session.commit()
    _looked, claimed = _claim_next(0)  # a run that claimed it, then died before recording
    assert claimed is not None and claimed.attempts == 0
    assert claimed.claimed_until - utcnow() > CLAIM_LEASE - timedelta(minutes=1)
    assert "đã gửi 0, lỗi 0" in run(app, "send").output and smtp.messages == []
    set_lease(claimed.id, utcnow() + timedelta(minutes=1))  # nine minutes later: still held
    assert "đã gửi 0, lỗi 0" in run(app, "send").output and smtp.messages == []
    set_lease(claimed.id, utcnow() - timedelta(seconds=1))  # ten minutes later: run out
    assert "đã gửi 1, lỗi 0" in run(app, "send").output and len(smtp.messages) == 1
    (msg,) = outbox(kind="returned", to_user_id=people["prep"].id)
    assert msg.sent_at is not None and msg.attempts == 1 and msg.claimed_until is None


def test_a_run_whose_lease_ran_out_during_the_send_records_nothing(app, people, smtp):
    """If the send outlasts the lease and another run claims the message meanwhile,
    the late run must not write over the other's claim with its outcome."""
    people["sub"].email = None
    dossier = submitted(people)
    fire_event(people["appr"], dossier, "return", "Bổ sung tiêu chí 7.")
    db.session.commit()
    (msg,) = outbox(kind="returned", to_user_id=people["prep"].id)
    url, message_id = app.config["SQLALCHEMY_DATABASE_URI"], msg.id
    other_lease = utcnow() + timedelta(minutes=30)
    from sqlalchemy import create_engine

    other = create_engine(url)

    def another_run_claims_it():
        with other.begin() as conn:
            conn.execute(db.update(OutboxMessage).where(OutboxMessage.id == message_id)
                         .values(claimed_until=other_lease))

    smtp.on_data = another_run_claims_it
    try:
        assert "đã gửi 1, lỗi 0" in run(app, "send").output and len(smtp.messages) == 1
    finally:
        other.dispose()
    (msg,) = outbox(kind="returned", to_user_id=people["prep"].id)
    assert msg.sent_at is None and msg.attempts == 0 and msg.claimed_until == other_lease


# ----------------------------------------------------------------------------- /outbox

def _login(app, user):
    client = app.test_client()
    r = client.post("/login", data={"username": user.username, "password": "pw-123456"})
    assert r.status_code == 302
    return client


def test_outbox_page_admin_sees_all_others_their_own(app, people):
    dossier = submitted(people)
    fire_event(people["appr"], dossier, "return", "Bổ sung tiêu chí 7.")
    db.session.commit()
    queue_reminders(step_clock(submitted(people, "na-tam-03")).due_on + timedelta(days=1))
    db.session.commit()
    mine = {u: [m for m in outbox() if m.to_user_id == people[u].id] for u in ("prep", "sub", "appr", "apv")}
    assert all(mine.values())

    page = _login(app, people["admin"]).get("/outbox").get_data(as_text=True)
    for msg in outbox():
        assert f'id="thu-{msg.id}"' in page
    assert "người nhận".lower() in page.lower() and "chưa có địa chỉ e-mail" in page

    page = _login(app, people["prep"]).get("/outbox").get_data(as_text=True)
    assert all(f'id="thu-{m.id}"' in page for m in mine["prep"])
    others = [m for m in outbox() if m.to_user_id != people["prep"].id]
    assert not any(f'id="thu-{m.id}"' in page for m in others)
    assert f'href="/dossiers/{dossier.id}"' in page and people["prep"].email in page

    page = _login(app, people["viewer"]).get("/outbox").get_data(as_text=True)
    assert "thu-" not in page and "Chưa có thư nào." in page

    anonymous = app.test_client().get("/outbox")
    assert anonymous.status_code == 302 and "/login?next=" in anonymous.headers["Location"]


def test_outbox_link_in_navigation_only_without_smtp_except_for_admins(app, people):
    prep, admin = _login(app, people["prep"]), _login(app, people["admin"])
    assert 'href="/outbox"' in prep.get("/").get_data(as_text=True)
    app.config["SMTP_HOST"] = "smtp.tamduong.example"
    assert 'href="/outbox"' not in prep.get("/").get_data(as_text=True)
    assert 'href="/outbox"' in admin.get("/").get_data(as_text=True)
    assert prep.get("/outbox").status_code == 200  # still readable: only the link goes


def test_outbox_pages_fifty_newest_first(app, people, make_user):
    for n in range(55):
        u = make_user("appraiser", "tam-duong", name=f"TĐ {n}")
        u.email = f"p{n}@tamduong.example"
    db.session.commit()
    queue_reminders(step_clock(submitted(people)).due_on + timedelta(days=1))
    db.session.commit()
    ids = [m.id for m in outbox()]
    assert len(ids) == 58
    client = _login(app, people["admin"])
    first = client.get("/outbox").get_data(as_text=True)
    second = client.get("/outbox?page=2").get_data(as_text=True)
    assert first.count('id="thu-') == 50 and second.count('id="thu-') == 8
    newest = sorted(ids, reverse=True)
    assert first.index(f'id="thu-{newest[0]}"') < first.index(f'id="thu-{newest[1]}"')
    assert f'id="thu-{newest[-1]}"' in second
