"""Dossiers open when a reform takes effect pass to the successor authority.

Who acts is already resolved by date (the road in force, the unit tree of the
day); what the reform adds is the record: each open dossier in the reshaped area
gets one history entry, dated the reform's effective day when applied then (or
later, when the reform is loaded after the fact), citing the legal basis and
naming the authority it leaves and the one it reaches."""
from __future__ import annotations

import secrets
from datetime import date

from ...clock import local_date
from ...extensions import db
from ...formats import vn_date
from ...models import AuditRecord, Dossier, Reform, Unit, User
from ...permissions import Capacity
from ..core.common import definition_of, record
from ..core.reforms import ReformFile
from ..core.wording import committee_of

ACTION = "takeover"
SYSTEM_USERNAME = "he-thong"


def system_user() -> User:
    """The actor of records nobody in particular made (no roles, cannot sign in)."""
    user = db.session.execute(db.select(User).where(User.username == SYSTEM_USERNAME)).scalar_one_or_none()
    if user is None:
        user = User(username=SYSTEM_USERNAME, name="Hệ thống", active=False)
        user.set_password(secrets.token_urlsafe(32))
        db.session.add(user)
        db.session.flush()
    return user


def authority_on(dossier: Dossier, day: date) -> Unit | None:
    """The unit that decides the dossier on `day`: the applicant's ancestor (or itself)
    at the level of whoever issues the decision in the road in force then."""
    d = definition_of(dossier, day)
    deciding = [e for e in d.events.values() if "issue_decision" in e.effects] or list(d.events.values())
    chain = [dossier.unit, *dossier.unit.ancestors_on(day)]
    for event in deciding:
        for actor in event.by:
            unit = next((u for u in chain if u.level == actor.level), None)
            if unit is not None:
                return unit
    return None


def _in_progress(dossier: Dossier, day: date) -> bool:
    """Still on its way to a decision: some event leads to a state that is not closed.
    A recognised dossier only waits for a possible revocation, which simply falls to
    whoever holds that power on the day."""
    d = definition_of(dossier, day)
    return any(not d.states[e.dest].closed for e in d.events_from(dossier.state))


def take_over(reform: ReformFile) -> list[str]:
    """One history record per dossier open on the reform's eve whose applicant or
    deciding authority the reform abolished; none for a dossier that has one."""
    row = db.session.execute(db.select(Reform).where(Reform.code == reform.code)).scalar_one()
    abolished = set(reform.abolished)
    done = set(db.session.execute(
        db.select(AuditRecord.dossier_id).where(AuditRecord.action == ACTION,
                                                AuditRecord.data["reform"].as_string() == reform.code)).scalars())
    open_ones = db.session.execute(db.select(Dossier).where(Dossier.open_key.is_not(None))
                                   .order_by(Dossier.id)).scalars()
    changes, actor = [], None
    for dossier in open_ones:
        if dossier.id in done or local_date(dossier.created_at) >= reform.effective:
            continue  # already handed over, or opened under the new tree: nothing to hand over
        eve = dossier.unit.path_on(reform.last_day) or ""
        if not abolished & set(eve.strip("/").split("/")) or not _in_progress(dossier, reform.last_day):
            continue
        before, after = authority_on(dossier, reform.last_day), authority_on(dossier, reform.effective)
        if after is None:
            continue
        actor = actor or system_user()
        comment = (f"Chuyển giao theo {reform.legal_basis}: từ ngày {vn_date(reform.effective)} hồ sơ do "
                   f"{committee_of(after)} xem xét, quyết định"
                   + (f" thay {committee_of(before)}." if before is not None and before is not after else "."))
        record(dossier, actor, Capacity("system", after, None), ACTION, from_state=dossier.state,
               to_state=dossier.state, comment=comment,
               data={"reform": reform.code, "from": before.code if before else None, "to": after.code,
                     "effective": reform.effective.isoformat(), "reform_id": row.id})
        changes.append(f"dossier {dossier.code}: taken over by {after.code}")
    return changes
