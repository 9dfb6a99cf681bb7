"""The audit chain's tail: records deleted at the end of a dossier's chain (or all
of them) are found through the head kept on the dossier row; deleted together
with a rewound head, or rewritten wholesale, through the signed checkpoints; a
forged checkpoint is refused; on PostgreSQL the database itself refuses to
update, delete or truncate audit rows. Real databases, the real CLI."""
from __future__ import annotations

import json
from datetime import timedelta

import frozen_clock
import pytest
import time_machine
from audit_helpers import allow_audit_rewrite, rewrite_chain
from conftest import PG_URL
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from workflow_app.clock import local_today
from workflow_app.extensions import db
from workflow_app.models import AuditCheckpoint, AuditRecord, Dossier
from workflow_app.models.audit import GENESIS
from workflow_app.services import create_dossier, self_assess
from workflow_app.services.core.audit import heads_digest


def run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def verify(app):
    return run(app, "audit", "verify")


def checkpoint(app):
    result = run(app, "audit", "checkpoint")
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def dossier(app, make_user):
    """A dossier whose chain holds 4 records (create, then 3 self-assessments)."""
    user = make_user("submitter", "na-tam")
    d = create_dossier(user, "village_ntm", "na-tam-01", 2024)
    for code in ("1", "2", "3"):
        self_assess(user, d, code, "met", "ok")
    db.session.commit()
    d.user = user
    return d


def more_records(d, n: int) -> None:
    for i in range(n):
        self_assess(d.user, d, "4", "met" if i % 2 == 0 else "not_met", f"lần {i}")
    db.session.commit()


def delete_records(dossier_id: int, from_seq: int) -> None:
    allow_audit_rewrite()
    db.session.execute(text("DELETE FROM audit_records WHERE dossier_id = :d AND seq >= :s"),
                       {"d": dossier_id, "s": from_seq})
    db.session.commit()


def rewind_head(dossier_id: int, count: int) -> None:
    """Set the dossier row's head to its record `count` (what a careful forger does)."""
    last = db.session.execute(db.select(AuditRecord.hash).where(
        AuditRecord.dossier_id == dossier_id, AuditRecord.seq == count)).scalar() or GENESIS
    db.session.execute(text("UPDATE dossiers SET audit_count = :c, audit_head = :h WHERE id = :d"),
                       {"c": count, "h": last, "d": dossier_id})
    db.session.commit()


def names(d) -> str:
    return f"dossier {d.code} (id {d.id})"


# ----------------------------------------------------------------------------- the head on the dossier row

def test_the_head_follows_every_append(app, dossier):
    rows = db.session.execute(db.select(AuditRecord.seq, AuditRecord.hash).where(
        AuditRecord.dossier_id == dossier.id).order_by(AuditRecord.seq)).all()
    db.session.expire_all()
    d = db.session.get(Dossier, dossier.id)
    assert [seq for seq, _ in rows] == [1, 2, 3, 4]
    assert (d.audit_count, d.audit_head) == (4, rows[-1].hash)
    result = verify(app)
    assert result.exit_code == 0, result.output
    assert "Audit chain intact: 4 records checked in 1 dossiers; no checkpoint yet." in result.output


@pytest.mark.parametrize("deleted,message", [
    (1, "1 record missing at the end (head says 4, found 3)"),
    (2, "2 records missing at the end (head says 4, found 2)"),
    (4, "all 4 records missing (head says 4, found none)"),
])
def test_records_deleted_at_the_end_are_named(app, dossier, deleted, message):
    delete_records(dossier.id, 5 - deleted)
    result = verify(app)
    assert result.exit_code == 1
    assert f"Audit chain broken in {names(dossier)}: {message}" in result.output


def test_a_head_rewound_alone_is_named(app, dossier):
    rewind_head(dossier.id, 3)
    result = verify(app)
    assert result.exit_code == 1
    assert f"{names(dossier)}: 1 record beyond the head (head says 3, found 4)" in result.output


def test_the_next_record_after_a_deleted_tail_leaves_a_gap(app, dossier):
    """The chain grows from the head on the row, not from the last record left:
    a new record cannot paper over the records deleted before it."""
    delete_records(dossier.id, 4)
    more_records(dossier, 1)
    seqs = db.session.execute(db.select(AuditRecord.seq).where(AuditRecord.dossier_id == dossier.id)
                              .order_by(AuditRecord.seq)).scalars().all()
    assert seqs == [1, 2, 3, 5]
    result = verify(app)
    assert result.exit_code == 1
    assert f"({names(dossier)}, seq 5): 1 record missing before it (sequence gap: expected 4)" in result.output


# ----------------------------------------------------------------------------- signed checkpoints

def test_checkpoint_signs_every_head_and_then_only_what_moved(app, dossier, make_user):
    other_user = make_user("submitter", "giang-ma")
    other = create_dossier(other_user, "village_ntm", "giang-ma-01", 2024)
    db.session.commit()
    first = checkpoint(app)
    assert f"Checkpoint #1 of {local_today().isoformat()}: 2 dossiers, 5 records" in first.output
    more_records(dossier, 2)
    second = checkpoint(app)
    assert "Checkpoint #2" in second.output and "2 dossiers, 7 records" in second.output
    cps = db.session.execute(db.select(AuditCheckpoint).order_by(AuditCheckpoint.seq)).scalars().all()
    assert set(cps[0].heads) == {str(dossier.id), str(other.id)}
    last = db.session.execute(db.select(AuditRecord.hash).where(
        AuditRecord.dossier_id == dossier.id, AuditRecord.seq == 6)).scalar_one()
    assert cps[1].heads == {str(dossier.id): [6, last]}  # the other dossier did not move
    result = verify(app)
    assert result.exit_code == 0, result.output
    assert f"7 records checked in 2 dossiers; last checkpoint #2 of {local_today().isoformat()}." in result.output


def test_records_deleted_with_their_head_are_caught_by_the_checkpoint(app, dossier):
    checkpoint(app)                     # sees 4 records
    more_records(dossier, 2)            # 5 and 6: after the checkpoint
    # Deleting what came after the checkpoint, and rewinding the head, is not
    # detectable (the documented limit): the database holds a consistent past.
    delete_records(dossier.id, 5)
    rewind_head(dossier.id, 4)
    assert verify(app).exit_code == 0
    # Reaching into what the checkpoint saw is.
    delete_records(dossier.id, 3)
    rewind_head(dossier.id, 2)
    result = verify(app)
    assert result.exit_code == 1
    day = local_today().isoformat()
    assert (f"Audit chain broken in {names(dossier)}: 2 records missing at the end "
            f"(checkpoint #1 of {day} says 4, found 2)") in result.output
    delete_records(dossier.id, 1)
    rewind_head(dossier.id, 0)
    result = verify(app)
    assert f"{names(dossier)}: all 4 records missing (checkpoint #1 of {day} says 4, found none)" in result.output


def test_a_rewritten_chain_with_its_head_is_caught_by_the_checkpoint(app, dossier):
    checkpoint(app)

    def soften(rec: AuditRecord) -> None:
        if rec.seq == 2:
            rec.comment = "sửa lén"
    rewrite_chain(dossier.id, soften)   # re-chained, head moved: consistent without the checkpoint
    second = db.session.execute(db.select(AuditRecord).where(
        AuditRecord.dossier_id == dossier.id, AuditRecord.seq == 4)).scalar_one()
    result = verify(app)
    assert result.exit_code == 1
    assert (f"at record {second.id} ({names(dossier)}, seq 4): differs from the record checkpoint "
            f"#1 of {local_today().isoformat()} saw (chain rewritten)") in result.output


def test_a_dossier_gone_with_its_records_is_named(app, dossier):
    checkpoint(app)
    dossier_id = dossier.id
    allow_audit_rewrite()
    for table in ("audit_records", "criterion_entries"):
        db.session.execute(text(f"DELETE FROM {table} WHERE dossier_id = :d"), {"d": dossier_id})
    db.session.execute(text("DELETE FROM dossiers WHERE id = :d"), {"d": dossier_id})
    db.session.commit()
    result = verify(app)
    assert result.exit_code == 1
    assert (f"dossier id {dossier_id}: gone from the database, with its 4 records "
            f"(checkpoint #1 of {local_today().isoformat()} saw them)") in result.output


def test_a_forged_checkpoint_is_refused(app, dossier):
    """Whoever rewinds a checkpoint together with the records and the head cannot
    sign it: the key comes from SECRET_KEY, which the database does not hold."""
    checkpoint(app)
    delete_records(dossier.id, 3)
    rewind_head(dossier.id, 2)
    cp = db.session.execute(db.select(AuditCheckpoint)).scalar_one()
    head = db.session.get(Dossier, dossier.id)
    forged = {str(dossier.id): [2, head.audit_head]}
    allow_audit_rewrite()
    db.session.execute(text("UPDATE audit_checkpoints SET heads = :h, records = 2, digest = :g WHERE id = :i"),
                       {"h": json.dumps(forged), "i": cp.id, "g": heads_digest({dossier.id: (2, head.audit_head)})})
    db.session.commit()
    result = verify(app)
    assert result.exit_code == 1
    assert (f"Audit chain broken at checkpoint #1 of {local_today().isoformat()}: its signature does not match"
            in result.output)


def test_a_deleted_checkpoint_is_named(app, dossier):
    for _ in range(3):
        checkpoint(app)
    allow_audit_rewrite()
    db.session.execute(text("DELETE FROM audit_checkpoints WHERE seq = 2"))
    db.session.commit()
    result = verify(app)
    assert result.exit_code == 1
    assert "at checkpoint #3 of" in result.output and "1 checkpoint missing before it (expected #2)" in result.output


def test_a_stale_or_deleted_newest_checkpoint_fails_the_age_check(app, dossier):
    # Deleting the newest checkpoints leaves no gap to see: only their age tells.
    aged = ("audit", "verify", "--max-checkpoint-age", "2")
    result = run(app, *aged)
    assert result.exit_code == 1 and "no checkpoint yet" in result.output
    assert verify(app).exit_code == 0  # without the option, an intact chain passes
    checkpoint(app)
    assert run(app, *aged).exit_code == 0
    with time_machine.travel(frozen_clock.NOW + timedelta(days=3), tick=False):
        result = run(app, *aged)
    assert result.exit_code == 1 and "3 days old (more than 2)" in result.output
    allow_audit_rewrite()
    db.session.execute(text("DELETE FROM audit_checkpoints"))
    db.session.commit()
    assert verify(app).exit_code == 0 and run(app, *aged).exit_code == 1


def test_checkpoints_outlive_a_secret_key_rotation_only_through_the_fallbacks(app, dossier):
    checkpoint(app)
    old = app.config["SECRET_KEY"]
    app.config["SECRET_KEY"] = "a-new-secret-key"
    assert "its signature does not match" in verify(app).output
    app.config["SECRET_KEY_FALLBACKS"] = [old]
    result = verify(app)
    assert result.exit_code == 0, result.output
    assert "Checkpoint #2" in checkpoint(app).output  # signed with the new key
    app.config["SECRET_KEY_FALLBACKS"] = []
    assert "at checkpoint #1" in verify(app).output


def test_no_checkpoint_is_written_over_a_broken_chain(app, dossier):
    delete_records(dossier.id, 4)
    result = run(app, "audit", "checkpoint")
    assert result.exit_code == 1
    assert f"No checkpoint written. Audit chain broken in {names(dossier)}: 1 record missing" in result.output
    assert db.session.execute(db.select(db.func.count(AuditCheckpoint.id))).scalar() == 0


# ----------------------------------------------------------------------------- the database refuses

@pytest.mark.skipif(not PG_URL, reason="the append-only trigger is PostgreSQL's")
@pytest.mark.parametrize("statement", [
    "UPDATE audit_records SET comment = 'sửa lén' WHERE seq = 2",
    "DELETE FROM audit_records WHERE seq = 4",
    "TRUNCATE audit_records CASCADE",
    "UPDATE audit_checkpoints SET records = 0",
    "DELETE FROM audit_checkpoints",
])
def test_postgresql_refuses_to_change_audit_rows(app, dossier, statement):
    checkpoint(app)
    before = db.session.execute(text("SELECT seq, comment, hash FROM audit_records ORDER BY seq")).all()
    with pytest.raises(DBAPIError, match="refused: the audit trail is append-only"):
        db.session.execute(text(statement))
    db.session.rollback()
    assert db.session.execute(text("SELECT seq, comment, hash FROM audit_records ORDER BY seq")).all() == before
    assert db.session.execute(text("SELECT count(*) FROM audit_checkpoints")).scalar() == 1
    assert verify(app).exit_code == 0
