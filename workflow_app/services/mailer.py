"""Delivering the outbox over SMTP (configured by environment, see config.py).

`deliver_pending` claims one message at a time with a compare-and-set UPDATE
that counts the attempt and leases the message for CLAIM_LEASE, and commits it
before talking to the SMTP server: no lock is held during the conversation
(SQLite's write lock would stop every writer of the app for as long as the
server takes). Two cron runs therefore never send the same message; a failed one
records its error, gives the lease back and is retried by the next run, up to
MAX_ATTEMPTS. A run that dies between sending and recording leaves its lease to
run out: the message is then sent again (at least once, never lost).
"""
from __future__ import annotations

import logging
import smtplib
import ssl
from email.headerregistry import Address
from email.message import EmailMessage
from datetime import timedelta
from email.utils import formatdate, make_msgid

from sqlalchemy import update

from ..extensions import db
from ..models import utcnow
from ..models.progress import OutboxMessage
from .common import setting

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
    took it first). Committed before returning: nothing stays locked."""
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
        .values(attempts=OutboxMessage.attempts + 1, claimed_until=now + CLAIM_LEASE)
        .returning(OutboxMessage.id)
        .execution_options(synchronize_session=False)).first()
    db.session.commit()
    if claimed is None:
        return found, None
    return found, db.session.get(OutboxMessage, found, populate_existing=True)


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
            try:
                mailer.send(build_email(msg, sender))
            except Exception as exc:  # noqa: BLE001  (whatever fails, it is recorded on the message; the run goes on)
                msg.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                failed += 1
                log.warning("outbox %s to %s failed (attempt %s of %s): %s", msg.id, msg.to_email,
                            msg.attempts, MAX_ATTEMPTS, msg.last_error)
            else:
                msg.sent_at, msg.last_error = utcnow(), None
                sent += 1
                log.info("outbox %s sent to %s: %s", msg.id, msg.to_email, msg.kind)
            msg.claimed_until = None
            db.session.commit()
    finally:
        mailer.close()
    return sent, failed
