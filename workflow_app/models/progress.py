"""Issue 5's tables: the reminder outbox and the steering committee's
members, site visits and monthly reports. Campaign deadlines, holidays and
step time limits are data files (states/, reference_data/), not tables."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .dossiers import Dossier
from .times import utcnow
from .units import Unit
from .users import User


class OutboxMessage(db.Model):
    """An e-mail to send. `dedupe_key` ("<kind>:<user>:<dossier>:<step>:<day>")
    is unique, so queuing the same reminder twice is a no-op: `reminders send`
    may run from cron every few minutes."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))  # due_soon, overdue, returned, decision_issued
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    to_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    to_email: Mapped[str | None] = mapped_column(String(254))
    dossier_id: Mapped[int | None] = mapped_column(ForeignKey("dossiers.id"), index=True)
    step: Mapped[str | None] = mapped_column(String(30))
    day: Mapped[date]
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    # A sending run's lease (services/notify/mailer.py): nobody else sends it before then.
    claimed_until: Mapped[datetime | None]

    to_user: Mapped[User] = relationship()
    dossier: Mapped[Dossier | None] = relationship()


class CommitteeMember(db.Model):
    """A steering-committee member and what they own: criteria codes per
    dossier kind ({"<kind>": ["1", "7"]}) and commune codes."""

    __tablename__ = "committee_members"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    criteria: Mapped[dict] = mapped_column(JSON, default=dict)
    communes: Mapped[list] = mapped_column(JSON, default=list)

    user: Mapped[User] = relationship(lazy="joined")


class CommitteeVisit(db.Model):
    __tablename__ = "committee_visits"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    visited_on: Mapped[date]
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship()
    commune: Mapped[Unit] = relationship()


class MonthlyReport(db.Model):
    """A member's report on one commune for one month ("2024-09"), due before
    the 25th of that month; filed later, it is late."""

    __tablename__ = "monthly_reports"
    __table_args__ = (UniqueConstraint("user_id", "commune_id", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    month: Mapped[str] = mapped_column(String(7), index=True)
    body: Mapped[str] = mapped_column(Text, default="")
    criteria: Mapped[dict] = mapped_column(JSON, default=dict)  # code -> {"status": ..., "note": ...}
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship()
    commune: Mapped[Unit] = relationship()
