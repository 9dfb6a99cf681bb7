"""`flask doctor`: exit 0 on data that keeps its invariants, exit 1 naming each breach.

Every breach is made for real (files deleted, edited or added under STORAGE_DIR, rows
deleted or renumbered in the database) on data issued through the API.
"""
from __future__ import annotations

import os
from types import SimpleNamespace

import pytest
from helpers import dossier_in, fire
from sqlalchemy import delete, update

from workflow_app.extensions import db
from workflow_app.models import Decision, Document, Dossier, decision_dossiers
from workflow_app.services.admin.doctor import find_breaches
from workflow_app.services.core.storage import path_of
from workflow_app.services.documents.decisions import decision_of


def doctor(app, *args):
    return app.test_cli_runner().invoke(args=["doctor", *args], catch_exceptions=False)


def assert_clean(app):
    """The doctor's verdict for tests elsewhere (concurrency, killed renders)."""
    db.session.expire_all()
    breaches = find_breaches(grace_seconds=0)
    assert breaches == [], "\n".join(breaches)


@pytest.fixture
def world(app, make_user, api_as):
    """Two dossiers appraised (appraisal reports 1 and 2, both rendered at issue), the first
    recognised (decision 1) and its evidence: every kind of numbered row and file."""
    officer = make_user("submitter", "na-tam")
    appraiser = api_as(make_user("appraiser", "tam-duong"))
    approver = api_as(make_user("approver", "tam-duong"))
    ids = [dossier_in(officer, unit, 2024, "submitted").id for unit in ("na-tam-01", "na-tam-02")]
    for dossier_id in ids:
        assert fire(appraiser, dossier_id, "appraise").status_code == 200
    assert fire(approver, ids[0], "recognize").status_code == 200
    report = db.session.execute(db.select(Document).where(
        Document.dossier_id == ids[0], Document.kind == "appraisal_report")).scalar_one()
    assert approver.get(f"/api/v1/dossiers/{ids[0]}/documents/{report.id}.pdf").status_code == 200
    dossier = db.session.get(Dossier, ids[0])
    return SimpleNamespace(ids=ids, decision=decision_of(dossier), attachment=dossier.attachments[0])


def test_clean_data_exits_0(app, world):
    result = doctor(app)
    assert result.exit_code == 0, result.output
    assert "No breach: 1 decisions, 2 documents, 28 attachments, 2 registers, 4 files checked." in result.output


def test_a_deleted_file_is_named(app, world):
    path_of(world.decision.pdf_key).unlink()
    result = doctor(app)
    assert result.exit_code == 1
    assert (f"BREACH recognition decision 01/QĐ-UBND of tam-duong ({world.decision.year}, id {world.decision.id}): "
            f"file {world.decision.pdf_key} is missing") in result.output


def test_edited_bytes_are_named_with_both_hashes(app, world):
    path = path_of(world.attachment.storage_key)
    path.write_bytes(path.read_bytes() + b"%edited")
    result = doctor(app)
    assert result.exit_code == 1
    line = next(x for x in result.output.splitlines() if world.attachment.storage_key in x)
    assert line.startswith(f"BREACH attachment {world.attachment.id} 'mc.pdf' of dossier ")
    assert "(and 27 more rows)" in line  # one stored file, named by every criterion of both
    assert f"recorded {world.attachment.sha256}" in line


def test_a_stray_file_is_named_once_past_the_grace_period(app, world):
    stray = path_of(world.decision.pdf_key).parent / "left-over.pdf"
    stray.write_bytes(b"%PDF-1.4 no row")
    rel = f"{world.decision.pdf_key[:2]}/left-over.pdf"
    # Just written: maybe a transaction in flight, not yet a breach.
    assert doctor(app).exit_code == 0
    result = doctor(app, "--grace", "0")
    assert result.exit_code == 1
    assert f"BREACH stray file {rel} in the storage folder: no row names it" in result.output
    os.utime(stray, (0, 0))  # written long ago
    assert f"stray file {rel}" in doctor(app).output


def test_a_deleted_decision_row_breaks_the_register_and_the_dossier(app, world):
    db.session.execute(delete(decision_dossiers).where(decision_dossiers.c.decision_id == world.decision.id))
    db.session.execute(delete(Decision).where(Decision.id == world.decision.id))
    db.session.commit()
    result = doctor(app, "--grace", "0")
    assert result.exit_code == 1
    code = db.session.get(Dossier, world.ids[0]).code
    year = world.decision.year
    assert (f"BREACH decision register of tam-duong for {year} (counter at 1): number 1 issued by the counter "
            "but no decision holds it") in result.output
    assert f"BREACH dossier {code} (id {world.ids[0]}) is recognized but no recognition decision names it" \
        in result.output
    assert f"BREACH stray file {world.decision.pdf_key} in the storage folder: no row names it" in result.output


def test_a_duplicated_number_and_the_gap_it_leaves_are_named(app, world):
    second = db.session.execute(db.select(Document).where(
        Document.dossier_id == world.ids[1], Document.kind == "appraisal_report")).scalar_one()
    db.session.execute(update(Document).where(Document.id == second.id).values(number=1))
    db.session.commit()
    result = doctor(app)
    assert result.exit_code == 1
    lines = [x for x in result.output.splitlines() if x.startswith("BREACH")]
    year = world.decision.year
    assert len(lines) == 2, result.output
    assert lines[0].startswith(f"BREACH appraisal report register of tam-duong for {year} (counter at 2): "
                               "number 1 is held by 2 rows: appraisal_report 01/")
    assert lines[1] == (f"BREACH appraisal report register of tam-duong for {year} (counter at 2): number 2 "
                        "issued by the counter but no appraisal report holds it")


def test_a_number_beyond_the_counter_is_named(app, world):
    db.session.execute(update(Decision).where(Decision.id == world.decision.id).values(number=5))
    db.session.commit()
    out = doctor(app).output
    assert "decision register of tam-duong" in out and "number 5 is outside 1..1" in out
    assert "number 1 issued by the counter but no decision holds it" in out


def test_a_recognised_dossier_without_decision_is_named(app, world, make_user):
    officer = make_user("submitter", "na-tam")
    dossier = dossier_in(officer, "na-tam-03", 2024, "recognized")  # moved by hand, no decision
    result = doctor(app)
    assert result.exit_code == 1
    assert [x for x in result.output.splitlines() if x.startswith("BREACH")] == [
        f"BREACH dossier {dossier.code} (id {dossier.id}) is recognized but no recognition decision names it"]


def test_a_revoked_dossier_needs_its_revocation_decision(app, world, make_user):
    db.session.execute(update(Dossier).where(Dossier.id == world.ids[0]).values(state="revoked"))
    db.session.commit()
    out = doctor(app).output
    assert f"(id {world.ids[0]}) is revoked but no revocation decision names it" in out
