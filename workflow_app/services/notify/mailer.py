"""Delivering the outbox over SMTP (configured by environment, see config.py).

`deliver_pending` claims one message at a time with a compare-and-set UPDATE
that leases it to the run for CLAIM_LEASE, and commits that before talking to
the SMTP server: no lock is held during the conversation (SQLite's write lock
would stop every writer of the app for as long as the server takes). Two cron
runs therefore never send the same message at the same time. The outcome (sent,
or the error) is recorded with the attempt count and the lease given back, only
while the run still holds its lease. A failed message is retried by the next
run, up to MAX_ATTEMPTS recorded attempts. A run that dies between claiming and
recording counts no attempt and leaves its lease to run out: the message is then
sent again (at least once, never lost). Leases are read from the clock of the
host that runs `reminders send`: run it from one host's cron.
"""
from __future__ import annotations

import logging
import smtplib
import ssl
from datetime import timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from sqlalchemy import update

from ...extensions import db
from ...models import utcnow
from ...models.progress import OutboxMessage
from ..core.common import setting

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
SMTP_TIMEOUT = 20  # seconds per SMTP operation
# Longer than any send can take (connect, STARTTLS, login, one message: a few SMTP_TIMEOUTs);
# a crashed run's messages wait this long before another run sends them.
CLAIM_LEASE = timedelta(minutes=10)


def smtp_configured() -> bool:
    return bool(setting("SMTP_HOST"))


def sender_address() -> str:
    return setting("SMTP_FROM") or setting("SMTP_USER") or f"no-reply@{setting('SMTP_HOST') or 'localhost'}"


def build_email(msg: OutboxMessage, sender: str) -> EmailMessage:
    """A plain-text UTF-8 e-mail; a malformed address raises ValueError (recorded)."""
    email = EmailMessage()
    email["Subject"] = msg.subject
    email["From"] = sender
    email["To"] = Address(display_name=msg.to_user.name, addr_spec=msg.to_email)
    email["Date"] = formatdate(localtime=True)
    domain = sender.rpartition("@")[2].strip(" >") or "localhost"
    email["Message-ID"] = make_msgid(idstring=f"ntm-outbox-{msg.id}", domain=domain)
    email["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies
    email.set_content(msg.body, charset="utf-8")
    return email


class SmtpMailer:
    """One SMTP session per run, opened at the first message; any error drops
    it so the next message starts afresh."""

    def __init__(self) -> None:
        self.host, self.port = setting("SMTP_HOST"), int(setting("SMTP_PORT"))
        self.user, self.password = setting("SMTP_USER"), setting("SMTP_PASSWORD")
        self.starttls = bool(setting("SMTP_STARTTLS"))
        self.conn: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        if self.port == 465:  # implicit TLS (SMTPS)
            conn: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=SMTP_TIMEOUT,
                                                  context=ssl.create_default_context())
        else:
            conn = smtplib.SMTP(self.host, self.port, timeout=SMTP_TIMEOUT)
            if self.starttls:
                conn.starttls(context=ssl.create_default_context())
        if self.user:
            conn.login(self.user, self.password)
        return conn

    def send(self, email: EmailMessage) -> None:
        try:
            if self.conn is None:
                self.conn = self._connect()
            self.conn.send_message(email)
        except Exception:
            self.close()
            raise

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.quit()
            except (smtplib.SMTPException, OSError) as exc:  # already broken: nothing to say goodbye to
                log.debug("SMTP quit: %s", exc)
            self.conn = None


def _pending():
    return db.and_(OutboxMessage.sent_at.is_(None), OutboxMessage.to_email.is_not(None),
                   OutboxMessage.attempts < MAX_ATTEMPTS)


def _unclaimed(now):
    return db.or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now)


def _claim_next(after_id: int) -> tuple[int | None, OutboxMessage | None]:
    """(id looked at, the message now leased to this run, or None if another run
    took it first). Committed before returning: nothing stays locked. The lease's
    end is the message's `claimed_until` as returned (what _record checks)."""
    now = utcnow()
    found = db.session.execute(
        db.select(OutboxMessage.id).where(_pending(), _unclaimed(now), OutboxMessage.id > after_id)
        .order_by(OutboxMessage.id).limit(1)).scalar()
    if found is None:
        db.session.rollback()
        return None, None
    # The winner of two concurrent claims is whoever updates first: the other's
    # WHERE no longer matches (PostgreSQL re-checks it after the first commits).
    claimed = db.session.execute(
        update(OutboxMessage).where(OutboxMessage.id == found, _pending(), _unclaimed(now))
        .values(claimed_until=now + CLAIM_LEASE)
        .returning(OutboxMessage.id)
        .execution_options(synchronize_session=False)).first()
    db.session.commit()
    if claimed is None:
        return found, None
    return found, db.session.get(OutboxMessage, found, populate_existing=True)


def _record(msg: OutboxMessage, lease_until, error: str | None) -> bool:
    """Count the attempt and its outcome, and give the lease back, if this run still
    holds it; False if it ran out and another run has claimed the message since."""
    values = {"attempts": OutboxMessage.attempts + 1, "claimed_until": None, "last_error": error}
    if error is None:
        values["sent_at"] = utcnow()
    done = db.session.execute(
        update(OutboxMessage).where(OutboxMessage.id == msg.id, OutboxMessage.claimed_until == lease_until)
        .values(**values).execution_options(synchronize_session=False))
    db.session.commit()
    return done.rowcount == 1


def deliver_pending(mailer) -> tuple[int, int]:
    """Send every unsent message that has an address; (sent, failed). Runs its
    own transactions, one per message, so each outcome is recorded before the
    next message is tried."""
    db.session.commit()
    sent = failed = 0
    after = 0
    sender = sender_address()
    try:
        while True:
            looked, msg = _claim_next(after)
            if looked is None:
                break
            after = looked
            if msg is None:
                continue
            lease_until, attempt = msg.claimed_until, msg.attempts + 1
            try:
                mailer.send(build_email(msg, sender))
            except Exception as exc:  # noqa: BLE001  (whatever fails, it is recorded on the message; the run goes on)
                error = f"{type(exc).__name__}: {exc}"[:2000]
                failed += 1
                log.warning("outbox %s to %s failed (attempt %s of %s): %s", msg.id, msg.to_email,
                            attempt, MAX_ATTEMPTS, error)
            else:
                error = None
                sent += 1
                log.info("outbox %s sent to %s: %s", msg.id, msg.to_email, msg.kind)
            if not _record(msg, lease_until, error):
                log.warning("outbox %s: the lease ran out during the send and another run has it now; "
                            "its outcome is not recorded here (it may be sent twice)", msg.id)
    finally:
        mailer.close()
    return sent, failed
