"""A throw-away app for the benchmarks: SQLite, storage and signing keys in a
temporary folder, users of the demo district, dossiers made ready to recognise
through the real services (as tests/helpers.py and services/admin/demo.py do)."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from _common import ROOT  # noqa: F401  (puts the project on sys.path)

from workflow_app.app import create_app
from workflow_app.clock import VN_TZ, local_today
from workflow_app.extensions import db
from workflow_app.models import Dossier, User
from workflow_app.services import (
    appraise_criterion,
    attach_evidence,
    create_dossier,
    fire_event,
    self_assess,
    set_fields,
)
from workflow_app.services.core.reference import load_units
from workflow_app.services.core.users import create_user, issue_token
from workflow_app.signing.devca import init_dev

ISSUER = "tam-duong"
ISSUER_NAME = "Ủy ban nhân dân huyện Tam Đường"
SIGNER = "Trần Quốc Khánh"
COMMUNE = "na-tam"
APPROVER = "bench.approver"
VILLAGES = [f"na-tam-{i:02d}" for i in range(1, 9)]
FIRST_YEAR = 2020
# The district's roles act before the 2025 reform: dossiers are made and issued on
# this day (clock.pinned); API tokens are issued on the real clock, which the
# download server reads.
DISTRICT_ERA = datetime(2025, 3, 3, 9, 0, tzinfo=VN_TZ)
# A tiny valid one-page PDF (the upload check reads its structure): evidence content
# is not what is measured.
EVIDENCE = (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<</Type/Catalog/Pages 2 0 R>>\nendobj\n2 0 obj\n"
            b"<</Type/Pages/Kids[3 0 R]/Count 1>>\nendobj\n3 0 obj\n"
            b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Resources<<>>>>\nendobj\nxref\n0 4\n"
            b"0000000000 65535 f \n0000000015 00000 n \n0000000060 00000 n \n0000000111 00000 n \n"
            b"trailer\n<</Size 4/Root 1 0 R>>\nstartxref\n190\n%%EOF\n")


DATABASE_URL_FILE = "database-url"  # in the folder: run.py --database-url wrote the throw-away database's URL


def database_url(folder: Path) -> str:
    """SQLite in the folder, or the PostgreSQL database run.py made for this run."""
    named = folder / DATABASE_URL_FILE
    return named.read_text().strip() if named.exists() else f"sqlite:///{folder / 'bench.db'}"


def overrides(folder: Path) -> dict:
    """App configuration; the download server subprocess builds its app from the same."""
    return {
        "SQLALCHEMY_DATABASE_URI": database_url(folder),
        "STORAGE_DIR": str(folder / "storage"),
        "SIGNING_DIR": str(folder / "signing"),
        "SECRET_KEY": "bench-secret-key",
        "PUBLIC_BASE_URL": "http://127.0.0.1:5000",
        "WTF_CSRF_ENABLED": False,
        # Only preparation logs users in; a cheap hash keeps it short (tokens are SHA-256 anyway).
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    }


def quiet_logs() -> None:
    """create_app sets INFO logging; one line per decision would drown the table."""
    logging.getLogger().setLevel(logging.WARNING)


@dataclass
class World:
    folder: Path
    app: object
    submitter_id: int = 0
    appraiser_id: int = 0
    approver_id: int = 0
    viewer_id: int = 0
    slots: list[tuple[str, int]] = field(default_factory=list)  # (village, year) not used yet

    def user(self, user_id: int) -> User:
        return db.session.get(User, user_id)


def make_world(folder: Path) -> World:
    """Build the app and push its context (left pushed for the whole run)."""
    folder.mkdir(parents=True, exist_ok=True)
    app = create_app(overrides(folder))
    quiet_logs()
    app.app_context().push()
    db.create_all()
    load_units()
    # The project's own `flask signing init-dev` code: a development CA and the
    # district's key, so recognition signs exactly as it does in production.
    # The approver's specimen signature image too, as `make run` draws one for the demo's.
    init_dev(Path(app.config["SIGNING_DIR"]), ISSUER, ISSUER_NAME, SIGNER, usernames=[APPROVER])
    pw = "bench-pw-123"
    w = World(folder, app)
    w.submitter_id = create_user("bench.submitter", pw, "submitter", COMMUNE, "Tao Thị Mai").id
    w.appraiser_id = create_user("bench.appraiser", pw, "appraiser", ISSUER, "Nguyễn Văn Bình").id
    w.approver_id = create_user(APPROVER, pw, "approver", ISSUER, SIGNER, "vice_chairman").id
    w.viewer_id = create_user("bench.viewer", pw, "viewer", ISSUER, "Hoàng Thị Lan").id
    db.session.commit()
    last_year = local_today().year + 1  # create_dossier accepts 2020 .. next year
    w.slots = [(v, y) for y in range(FIRST_YEAR, last_year + 1) for v in VILLAGES]
    return w


def appraised_dossier(w: World) -> int:
    """One village dossier moved draft -> submitted -> appraised through the
    services: evidence and 'met' for every criterion, submit, every criterion
    passed, appraise. Returns its id (committed)."""
    if not w.slots:
        raise RuntimeError("no (village, year) left for another dossier: lower --issues")
    village, year = w.slots.pop(0)
    submitter, appraiser = w.user(w.submitter_id), w.user(w.appraiser_id)
    dossier = create_dossier(submitter, "village_ntm", village, year)
    for entry in list(dossier.current_criteria()):
        attach_evidence(submitter, dossier, f"minh-chung-{entry.code}.pdf", EVIDENCE, entry.code)
        self_assess(submitter, dossier, entry.code, "met", "Đã đạt theo báo cáo của bản.")
    set_fields(submitter, dossier, {"request_ref": "Tờ trình số 12/TTr-UBND ngày 02/9/2024"})
    fire_event(submitter, dossier, "submit")
    for entry in list(dossier.current_criteria()):
        appraise_criterion(appraiser, dossier, entry.code, "pass", "Đạt.")
    fire_event(appraiser, dossier, "appraise")
    db.session.commit()
    assert dossier.state == "appraised", dossier.state
    return dossier.id


def dossier(dossier_id: int) -> Dossier:
    return db.session.get(Dossier, dossier_id)


def token_for(w: World, user_id: int) -> str:
    token = issue_token(w.user(user_id))
    db.session.commit()
    return token
