"""Reminder e-mails through an outbox (issue 5, item 3).

Six kinds: `due_soon` and `overdue` (a step clock, queued by `queue_reminders`,
run from cron), `filing_soon` and `filing_late` (a campaign's filing deadline, for
a registered applicant that has not filed: `queue_filing_reminders`, run from cron
too), `returned` and `decision_issued` (queued by effects at the event, in its
transaction). Each message has a dedupe key "<kind>:<user>:<dossier>:<step>:<day>"
(a filing reminder: "<kind>:<user>:<applicant code>:<dossier kind>/<year>:<day>")
under a unique index and is inserted with ON CONFLICT DO NOTHING, so queuing again
the same day is a no-op.

Delivery is services/notify/mailer.py. Without SMTP_HOST nothing is sent: the outbox
is read at /outbox.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import date

from ...clock import local_today
from ...extensions import db, insert_or_skip
from ...formats import vn_date
from ...models import Dossier, RoleAssignment, Unit, User, utcnow
from ...models.progress import OutboxMessage
from ...permissions import can_view, capacities, has_acted, is_admin, live_on, scope_clause
from ...workflow.definitions import Actor, Definition
from ..core.campaigns import Campaign, campaigns, first_submissions, status_for
from ..core.clocks import step_clocks
from ..core.common import definition_of, engine, filers, setting
from ..core.effects import Act
from ..documents.decisions import decision_of, verify_url
from .mailer import SmtpMailer, deliver_pending, smtp_configured

log = logging.getLogger(__name__)

KINDS = ("due_soon", "overdue", "filing_soon", "filing_late", "returned", "decision_issued")
PER_PAGE = 50
# A registered applicant that has not filed is reminded every day from this many
# calendar days before its campaign's filing deadline up to the deadline, then every
# day for FILING_LATE_DAYS after it (a late filing is marked, never refused).
FILING_SOON_DAYS = 5
FILING_LATE_DAYS = 10


# ----------------------------------------------------------------------------- queueing

def dedupe_key(kind: str, user_id: int, dossier_id: int, step: str, day: date) -> str:
    return f"{kind}:{user_id}:{dossier_id}:{step}:{day.isoformat()}"


def _enqueue(kind: str, user: User, dossier: Dossier | None, step: str, day: date, subject: str, body: str,
             key: str | None = None) -> bool:
    """Insert one message unless its dedupe key exists; True when it is new. `key`
    replaces the dossier's dedupe key for a message about no dossier yet."""
    stmt = (insert_or_skip(OutboxMessage).values(
        kind=kind, dedupe_key=key or dedupe_key(kind, user.id, dossier.id, step, day), to_user_id=user.id,
        to_email=(user.email or "").strip() or None, dossier_id=dossier.id if dossier else None, step=step, day=day,
        subject=subject[:300], body=body, created_at=utcnow(), attempts=0)
        .on_conflict_do_nothing().returning(OutboxMessage.id))
    return db.session.execute(stmt).first() is not None


def _active_users(roles: set[str]) -> list[User]:
    stmt = (db.select(User).join(RoleAssignment, RoleAssignment.user_id == User.id)
            .where(User.active.is_(True), RoleAssignment.role.in_(roles)).distinct().order_by(User.id))
    return list(db.session.execute(stmt).scalars())


def _holders(dossier: Dossier, actors: set[Actor]) -> list[User]:
    """Active users holding one of `actors` (role@level) over the dossier's unit."""
    if not actors:
        return []
    found = _active_users({a.role for a in actors})
    return [u for u in found if capacities(u, dossier.unit, tuple(actors))]


def responsible(dossier: Dossier, d: Definition, users: list[User]) -> list[tuple[User, list[str]]]:
    """Who must move the dossier on from its state, with the events each may fire
    (separation of duties included): the people a step reminder goes to."""
    out = []
    events = d.events_from(dossier.state)
    for user in users:
        mine = [e.name for e in events if capacities(user, dossier.unit, e.by)
                and not has_acted(dossier, user, e.not_by_actor_of)]
        if mine:
            out.append((user, mine))
    return out


def queue_reminders(today: date | None = None) -> int:
    """Queue due-soon and overdue reminders for every open dossier whose step
    clock says so; returns how many messages are new. Flushes, never commits."""

    today = today or local_today()
    eng = engine()
    conditions = []
    for kind in eng.kinds():
        d = eng.definition(kind)
        open_states = [s for s, st in d.states.items() if not st.closed]
        conditions.append(db.and_(Dossier.kind == kind, Dossier.state.in_(open_states)))
    if not conditions:
        return 0
    roles = {a.role for k in eng.kinds() for e in eng.definition(k).events.values() for a in e.by}
    users = _active_users(roles)
    new = 0
    dossiers = list(db.session.execute(db.select(Dossier).where(db.or_(*conditions)).order_by(Dossier.id)).scalars())
    clocks = step_clocks(dossiers, today)
    for dossier in dossiers:
        clock = clocks.get(dossier.id)
        if clock is None or clock.due_on is None or not (clock.overdue or clock.due_soon):
            continue
        kind = "overdue" if clock.overdue else "due_soon"
        d = definition_of(dossier)
        for user, events in responsible(dossier, d, users):
            subject, body = clock_message(kind, user, dossier, d, clock, events)
            new += _enqueue(kind, user, dossier, clock.state, today, subject, body)
    if new:
        log.info("reminders: %s new step reminders queued for %s", new, today.isoformat())
    return new


def _filing_window(campaign: Campaign, today: date) -> str | None:
    """"filing_soon" or "filing_late" when `today` is a day to remind of the campaign's
    deadline (FILING_SOON_DAYS, FILING_LATE_DAYS), else None."""
    left = status_for(campaign, None, today).days_left
    if 0 <= left <= FILING_SOON_DAYS:
        return "filing_soon"
    if -FILING_LATE_DAYS <= left < 0:
        return "filing_late"
    return None


def queue_filing_reminders(today: date | None = None) -> int:
    """Queue the filing-deadline reminders of the day: for each campaign (kind and year)
    whose deadline is near or just past, each registered applicant alive today that has
    no filed dossier of that kind and year, to whoever there may create or file one (the
    road's `create` action and `files: true` events). Returns how many messages are new.
    Flushes, never commits."""
    today = today or local_today()
    eng = engine()
    due = [(c, when) for cy in campaigns().values() for c in cy.kinds.values()
           if c.kind in eng.kinds() and c.registered and (when := _filing_window(c, today))]
    new = 0
    for campaign, when in due:
        d = eng.definition_for(campaign.kind, campaign.year, today) or eng.definition(campaign.kind)
        actors = set(d.actions["create"].by) | {a for name in d.filing_events for a in d.events[name].by}
        units = list(db.session.execute(db.select(Unit).where(Unit.code.in_(campaign.registered), live_on(Unit, today))
                                        .order_by(Unit.code)).scalars())
        if not units:
            continue
        drafts = list(db.session.execute(db.select(Dossier).where(
            Dossier.kind == campaign.kind, Dossier.year == campaign.year,
            Dossier.unit_id.in_([u.id for u in units])).order_by(Dossier.id)).scalars())
        filed = first_submissions(drafts)
        done = {x.unit_id for x in drafts if x.id in filed}
        latest = {x.unit_id: x for x in drafts}  # the newest draft of each applicant, if any
        users = _active_users({a.role for a in actors})
        for unit in units:
            if unit.id in done:
                continue
            draft = latest.get(unit.id)
            for user in [u for u in users if capacities(u, unit, tuple(actors), today)]:
                subject, body = filing_message(when, user, unit, campaign, draft, today)
                key = f"{when}:{user.id}:{unit.code}:{campaign.kind}/{campaign.year}:{today.isoformat()}"
                new += _enqueue(when, user, draft, campaign.kind, today, subject, body, key=key)
    if new:
        log.info("reminders: %s new filing reminders queued for %s", new, today.isoformat())
    return new


def _drafters(dossier: Dossier, d: Definition, state: str) -> set[Actor]:
    """Who prepares and submits in `state`: the actors of the actions allowed
    there and of the events leaving it (preparers, the commune officer)."""
    actors: set[Actor] = set()
    for a in d.actions.values():
        if a.states and state in a.states:
            actors.update(a.by)
    for e in d.events_from(state):
        actors.update(e.by)
    return actors


def notify_returned(act: Act) -> int:
    """Tell whoever prepares and submits the dossier that it came back, and why."""
    day, new = local_today(), 0
    for dossier in act.dossiers:
        for user in _holders(dossier, _drafters(dossier, act.definition, dossier.state)):
            subject, body = returned_message(user, dossier, act)
            new += _enqueue("returned", user, dossier, dossier.state, day, subject, body)
    return new


def notify_decision(act: Act) -> int:
    """Tell the dossier's submitter and preparers that its decision is issued
    (runs after issue_decision, so the decision exists)."""

    day, new = local_today(), 0
    d = act.definition
    for dossier in act.dossiers:
        decision = decision_of(dossier)
        users = {u.id: u for u in _holders(dossier, _drafters(dossier, d, d.initial))}
        for user in filers(dossier):  # the person who submitted, even if since moved on
            if user.active and can_view(user, dossier):
                users.setdefault(user.id, user)
        for user in sorted(users.values(), key=lambda u: u.id):
            subject, body = decision_message(user, dossier, d, decision)
            new += _enqueue("decision_issued", user, dossier, dossier.state, day, subject, body)
    return new


# ----------------------------------------------------------------------------- wording (Vietnamese)

FOOTER = ("--\nThư nhắc việc tự động của hệ thống Hồ sơ nông thôn mới. Mỗi nhắc việc chỉ gửi một lần "
          "mỗi ngày cho mỗi hồ sơ và mỗi bước. Xin đừng trả lời thư này.")


def dossier_url(dossier: Dossier) -> str:
    base = (setting("PUBLIC_BASE_URL") or "http://127.0.0.1:5000").rstrip("/")
    return f"{base}/dossiers/{dossier.id}"


def unit_text(dossier: Dossier) -> str:
    unit, parent = dossier.unit, dossier.applicant_parent
    return f"{unit.name}, {parent.name}" if unit.level == "village" and parent else unit.name


def _head(user: User, dossier: Dossier, d: Definition) -> list[str]:
    return [f"Kính gửi {user.name},", "",
            f"Hồ sơ: {dossier.code} — {engine().kind_label(dossier.kind)} năm {dossier.year}",
            f"Đơn vị: {unit_text(dossier)}",
            f"Trạng thái: {d.states[dossier.state].labels['vi']}"]


def clock_message(kind: str, user: User, dossier: Dossier, d: Definition, clock, events: list[str]) -> tuple[str, str]:
    due, left = vn_date(clock.due_on), clock.days_left
    days = "ngày làm việc" if clock.unit == "working" else "ngày"
    todo = " hoặc ".join(f"“{d.events[e].labels['vi']}”" for e in events)
    if kind == "overdue":
        late = f"đã quá hạn {-left} {days}" if left is not None and left < 0 else "đã quá hạn"
        subject = f"[NTM] Quá hạn xử lý: hồ sơ {dossier.code} ({dossier.unit.name}), hạn {due}"
        what = (f"Việc cần làm: xử lý ngay ({todo}). Nếu chưa thể trả kết quả, hãy lập phiếu xin lỗi "
                "và hẹn lại ngày trả kết quả trên trang hồ sơ.")
    else:
        late = "hôm nay là ngày cuối" if left == 0 else f"còn {left} {days}"
        subject = f"[NTM] Sắp đến hạn: hồ sơ {dossier.code} ({dossier.unit.name}), hạn {due}"
        what = f"Việc cần làm: xử lý hồ sơ trước ngày {due} ({todo})."
    limit = f"thời hạn {clock.limit} {days} kể từ ngày {vn_date(clock.started_on)}"
    if clock.apology:
        limit = f"hạn mới theo phiếu hẹn lại ngày trả kết quả; {limit}"
    lines = _head(user, dossier, d) + [
        f"Hạn xử lý bước này: {due} ({late}; {limit})", "", what, "", f"Mở hồ sơ: {dossier_url(dossier)}", "", FOOTER]
    return subject, "\n".join(lines)


def filing_message(when: str, user: User, unit: Unit, campaign: Campaign, draft: Dossier | None,
                   today: date) -> tuple[str, str]:
    label, due = campaign.label["vi"], vn_date(campaign.deadline)
    left = status_for(campaign, None, today).days_left
    if when == "filing_late":
        subject = f"[NTM] Quá hạn nộp: {label} — {unit.name} chưa nộp (hạn {due})"
        late = f"đã quá hạn {-left} ngày; hồ sơ nộp muộn vẫn được nhận và được ghi là nộp muộn"
    else:
        subject = f"[NTM] Sắp đến hạn nộp: {label} — {unit.name}, hạn {due}"
        late = "hôm nay là ngày cuối" if left == 0 else f"còn {left} ngày"
    if draft is not None:
        state = definition_of(draft).states[draft.state].labels["vi"]
        where = [f"Hồ sơ chưa nộp: {draft.code} ({state})", f"Mở hồ sơ: {dossier_url(draft)}"]
    else:
        base = (setting("PUBLIC_BASE_URL") or "http://127.0.0.1:5000").rstrip("/")
        where = ["Đơn vị chưa lập hồ sơ.", f"Lập hồ sơ: {base}/dossiers/new"]
    lines = [f"Kính gửi {user.name},", "", f"Đợt: {label}", f"Đơn vị: {unit.name}",
             f"Hạn nộp: {due} ({late})", "",
             f"Việc cần làm: lập, hoàn thiện và nộp {engine().kind_label(campaign.kind).lower()} năm {campaign.year}.",
             "", *where, "", FOOTER]
    return subject, "\n".join(lines)


def returned_message(user: User, dossier: Dossier, act: Act) -> tuple[str, str]:
    d, today = act.definition, local_today()
    subject = f"[NTM] Hồ sơ {dossier.code} ({dossier.unit.name}) bị trả lại để bổ sung"
    lines = _head(user, dossier, d) + [
        f"Ngày trả lại: {vn_date(today)}, bởi {act.actor.name} ({act.cap.unit.name})", "",
        "Nội dung cần bổ sung:", act.comment or "—", "",
        ("Việc cần làm: bổ sung minh chứng và tự đánh giá lại các tiêu chí theo yêu cầu trên, "
         "rồi nộp lại hồ sơ." if d.lines is None else
         "Việc cần làm: sửa các dòng của hồ sơ theo yêu cầu trên, rồi nộp lại hồ sơ."),
        "", f"Mở hồ sơ: {dossier_url(dossier)}", "", FOOTER]
    return subject, "\n".join(lines)


def decision_message(user: User, dossier: Dossier, d: Definition, decision) -> tuple[str, str]:
    if decision is not None:
        subject = (f"[NTM] Đã ban hành Quyết định số {decision.symbol}: công nhận hồ sơ "
                   f"{dossier.code} ({dossier.unit.name})")
        about = [f"Quyết định: số {decision.symbol} ngày {vn_date(decision.issued_on)}, "
                 f"người ký {decision.signer_name}",
                 f"Kiểm tra quyết định: {verify_url(decision.verify_token)}"]
    else:
        subject = f"[NTM] Hồ sơ {dossier.code} ({dossier.unit.name}) đã được công nhận"
        about = []
    lines = _head(user, dossier, d) + about + [
        "", ("Việc cần làm: tải quyết định (PDF) trên trang hồ sơ để lưu và thông báo cho bản; "
             "duy trì, nâng cao chất lượng các tiêu chí đã đạt."),
        "", f"Mở hồ sơ: {dossier_url(dossier)}", "", FOOTER]
    return subject, "\n".join(lines)


@dataclass
class SendSummary:
    queued: int
    sent: int
    failed: int
    smtp: bool

    def line(self) -> str:
        text = f"đã xếp {self.queued} thư mới, đã gửi {self.sent}, lỗi {self.failed}"
        if not self.smtp:
            text += " (chưa cấu hình SMTP_HOST: thư chỉ được xem tại /outbox)"
        return text


def send_reminders(today: date | None = None, mailer=None) -> SendSummary:
    """What `flask reminders send` does: queue today's step reminders, commit,
    then deliver when SMTP is configured."""
    queued = queue_reminders(today) + queue_filing_reminders(today)
    db.session.commit()
    if not smtp_configured():
        return SendSummary(queued, 0, 0, False)
    sent, failed = deliver_pending(mailer or SmtpMailer())
    return SendSummary(queued, sent, failed, True)


# ----------------------------------------------------------------------------- reading

@dataclass
class OutboxPage:
    items: list[OutboxMessage]
    page: int
    pages: int
    total: int


def outbox_for(user: User, *, unsent: bool = False, page: int = 1, per_page: int = PER_PAGE) -> OutboxPage:
    """Newest first: everyone reads their own messages; an administrator also those about
    the dossiers in their scope (permissions.scope_clause), not the whole installation's."""
    mine = OutboxMessage.to_user_id == user.id
    if is_admin(user):
        about = db.select(Dossier.id).where(scope_clause(Dossier.unit_id, user))
        mine = db.or_(mine, OutboxMessage.dossier_id.in_(about))
    stmt = db.select(OutboxMessage).where(mine)
    return _page(stmt, unsent, page, per_page)


def all_messages(*, unsent: bool = False, limit: int | None = None) -> list[OutboxMessage]:
    stmt = db.select(OutboxMessage)
    if unsent:
        stmt = stmt.where(OutboxMessage.sent_at.is_(None))
    stmt = stmt.order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
    if limit:
        stmt = stmt.limit(limit)
    return list(db.session.execute(stmt).scalars())


def _page(stmt, unsent: bool, page: int, per_page: int) -> OutboxPage:
    if unsent:
        stmt = stmt.where(OutboxMessage.sent_at.is_(None))
    total = db.session.execute(db.select(db.func.count()).select_from(stmt.subquery())).scalar_one()
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages)
    rows = db.session.execute(stmt.order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
                              .limit(per_page).offset((page - 1) * per_page)).scalars()
    return OutboxPage(list(rows), page, pages, total)
