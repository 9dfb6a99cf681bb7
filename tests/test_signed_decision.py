"""Recognition signs the decision once (PAdES, per-issuer key in SIGNING_DIR);
downloads return those signed bytes, and the signature validates."""
from __future__ import annotations

import hashlib
from pathlib import Path

from helpers import dossier_in, fire

from workflow_app.signing.devca import init_dev
from workflow_app.signing.pades import verify_pdf


def test_recognition_issues_a_signed_pdf_that_validates(app, make_user, api_as):
    folder = Path(app.config["SIGNING_DIR"])
    paths = init_dev(folder, "tam-duong", "Ủy ban nhân dân huyện Tam Đường", "Trần Quốc Khánh")
    officer = make_user("submitter", "na-tam")
    approver = make_user("approver", "tam-duong", name="Trần Quốc Khánh", capacity="vice_chairman")
    dossier = dossier_in(officer, "na-tam-04", 2024, "appraised")
    api = api_as(approver)
    r = fire(api, dossier.id, "recognize")
    assert r.status_code == 200, r.json
    decision = r.json["decision"]
    pdf = api.get(decision["pdf_url"]).data
    assert pdf == api.get(decision["pdf_url"]).data  # signed once, same bytes every time
    assert hashlib.sha256(pdf).hexdigest() == decision["sha256"]
    check = verify_pdf(pdf, paths["root"])
    assert check.valid and check.intact and check.trusted, check.reason
    assert check.signer == "Trần Quốc Khánh"
    tampered = bytearray(pdf)
    tampered[len(pdf) // 3] ^= 0x01
    assert not verify_pdf(bytes(tampered), paths["root"]).valid


def test_without_a_key_the_decision_is_stored_unsigned(app, make_user, api_as):
    officer = make_user("submitter", "na-tam")
    approver = make_user("approver", "tam-duong")
    dossier = dossier_in(officer, "na-tam-05", 2024, "appraised")
    r = fire(api_as(approver), dossier.id, "recognize")
    pdf = api_as(approver).get(r.json["decision"]["pdf_url"]).data
    assert pdf.startswith(b"%PDF") and b"/ByteRange" not in pdf
