"""Dossier endpoints: thin views. A write loads, calls one service and builds its answer
inside one unit of work (services.core.persist.unit_of_work), which commits it, or runs it
again on the latest state when it lost a race and the caller sent no `version`."""
from __future__ import annotations

from flask import request, url_for
from flask.views import MethodView

from ..auth import acting_user
from ..downloads import send_attachment, send_decision
from ..i18n import request_lang
from ..models import Dossier
from ..services import appraise_criterion, attach_evidence, create_dossier, fire_event, self_assess, set_fields
from ..services.core.common import load_dossier
from ..services.core.evidence import remove_evidence
from ..services.core.persist import unit_of_work
from ..services.core.reference import find_unit
from ..services.reading.lists import search_dossiers
from ..workflow.errors import BadRequest, NotFound
from . import schemas as s
from .boundary import Blueprint
from .serialize import attachment_dict, dossier_full, dossier_summary

blp = Blueprint("dossiers", __name__, description="Dossiers: create, assess, appraise, fire events")


def _full(dossier: Dossier) -> dict:
    return dossier_full(dossier, acting_user(), request_lang())


@blp.route("/dossiers", methods=["GET"])
@blp.arguments(s.DossierQuery, location="query")
@blp.response(200, s.DossierPage)
@blp.doc(security=[{"bearer": []}])
def list_dossiers(query: dict):
    """Dossiers visible to the caller, newest first (20 a page)."""
    unit = None
    if query.get("unit"):
        unit = find_unit(query["unit"])
        if unit is None:
            raise NotFound("Không có đơn vị mã này.", "No unit with this code.")
    result = search_dossiers(acting_user(), kind=query.get("kind"), state=query.get("state"),
                             unit=unit, year=query.get("year"), page=query["page"])
    nxt = None
    if result.page < result.pages:
        args = {k: v for k, v in request.args.items() if k != "page"}
        nxt = url_for("dossiers.list_dossiers", page=result.page + 1, _external=True, **args)
    return {"items": [dossier_summary(d) for d in result.items], "page": result.page,
            "pages": result.pages, "total": result.total, "next": nxt}


@blp.route("/dossiers", methods=["POST"])
@blp.arguments(s.DossierCreate)
@blp.response(201, s.DossierOut)
@blp.doc(security=[{"bearer": []}])
def create(body: dict):
    """Create a draft dossier for an applicant unit."""
    return unit_of_work(lambda: _full(create_dossier(acting_user(), body["kind"], body["unit"], body["year"])))


@blp.route("/dossiers/<int:dossier_id>", methods=["GET"])
@blp.response(200, s.DossierOut)
@blp.doc(security=[{"bearer": []}])
def get_dossier(dossier_id: int):
    """One dossier with criteria, attachments, history and the caller's allowed events."""
    return _full(load_dossier(dossier_id, acting_user()))


@blp.route("/dossiers/<int:dossier_id>/criteria/<code>", methods=["PUT"])
@blp.arguments(s.SelfAssessmentIn)
@blp.response(200, s.DossierOut)
@blp.doc(security=[{"bearer": []}])
def put_self_assessment(body: dict, dossier_id: int, code: str):
    """Self-assess one criterion (preparer or submitter, in draft or returned)."""
    version = body.get("version")

    def work() -> dict:
        dossier = load_dossier(dossier_id, acting_user())
        self_assess(acting_user(), dossier, code, body["self_assessment"], body.get("note"), version)
        return _full(dossier)
    return unit_of_work(work, version)


@blp.route("/dossiers/<int:dossier_id>/criteria/<code>/appraisal", methods=["POST"])
@blp.arguments(s.AppraisalIn)
@blp.response(200, s.DossierOut)
@blp.doc(security=[{"bearer": []}])
def post_appraisal(body: dict, dossier_id: int, code: str):
    """Record the appraiser's verdict on one criterion (in submitted)."""
    version = body.get("version")

    def work() -> dict:
        dossier = load_dossier(dossier_id, acting_user())
        appraise_criterion(acting_user(), dossier, code, body["verdict"], body.get("note"), version)
        return _full(dossier)
    return unit_of_work(work, version)


@blp.route("/dossiers/<int:dossier_id>/fields", methods=["PUT"])
@blp.arguments(s.FieldsIn)
@blp.response(200, s.DossierOut)
@blp.doc(security=[{"bearer": []}])
def put_fields(body: dict, dossier_id: int):
    """Set kind-specific fields declared in the definition, e.g. resident_satisfaction_pct."""
    def work() -> dict:
        dossier = load_dossier(dossier_id, acting_user())
        set_fields(acting_user(), dossier, body)
        return _full(dossier)
    return unit_of_work(work)


@blp.route("/dossiers/<int:dossier_id>/attachments", methods=["POST"])
@blp.arguments(s.UploadIn, location="files")
@blp.response(201, s.AttachmentOut)
@blp.doc(security=[{"bearer": []}])
def post_attachment(files: dict, dossier_id: int):
    """Upload an evidence file (multipart 'file', optional form field 'criterion').

    413 above the size limit; 415 for a type not accepted (PDF, JPG, PNG, DOCX, XLSX, ODT,
    DOC, XLS are); 422 when the file is not what its extension says to its last byte, or
    its name carries control or bidirectional characters."""
    upload = files.get("file")
    if upload is None or not hasattr(upload, "read"):
        raise BadRequest("Thiếu tệp: gửi multipart với trường 'file'.", "No file: send multipart with a 'file' field.")
    criterion = request.form.get("criterion") or None
    name, data = upload.filename or "", upload.read()

    def work() -> dict:
        dossier = load_dossier(dossier_id, acting_user())
        return attachment_dict(attach_evidence(acting_user(), dossier, name, data, criterion))
    return unit_of_work(work)


@blp.route("/dossiers/<int:dossier_id>/attachments/<int:attachment_id>", endpoint="attachment")
class AttachmentFile(MethodView):
    # One rule for both methods: an id out of range is then a 404 for each (two rules on
    # one path would answer the second method 405, Werkzeug matching methods first).

    @blp.doc(security=[{"bearer": []}], responses={200: {"description": "the file"}})
    def get(self, dossier_id: int, attachment_id: int):
        """Download an evidence file (a removed one too: it stays in the history)."""
        return send_attachment(load_dossier(dossier_id, acting_user()), attachment_id)

    @blp.arguments(s.AttachmentDeleteQuery, location="query")
    @blp.response(204)
    @blp.doc(security=[{"bearer": []}])
    def delete(self, query: dict, dossier_id: int, attachment_id: int):
        """Remove an evidence file while the dossier is a draft or returned (who may upload may remove).

        The file leaves `attachments[]` and the criteria's `evidence[]` and no longer counts for
        `submit`; its row and bytes stay, the history records the removal, and
        `GET .../attachments/{aid}` still returns it. 403 for who may not upload, 404 for an
        unknown file, 409 when it was already removed or `version` changed, 422 once the dossier
        is submitted (ask the appraising office to return it)."""
        version = query.get("version")

        def work() -> None:
            remove_evidence(acting_user(), load_dossier(dossier_id, acting_user()), attachment_id, version)
        unit_of_work(work, version)


@blp.route("/dossiers/<int:dossier_id>/events", methods=["POST"])
@blp.arguments(s.EventIn)
@blp.response(200, s.DossierOut)
@blp.doc(security=[{"bearer": []}])
def post_event(body: dict, dossier_id: int):
    """Fire a workflow event (submit, return, appraise, reject, recognize, revoke, accept, amend).

    `granted` {line_id: amount} for an event that grants per line (accepting a cement
    request in part): 400 on another event, 422 for a line not in the current round or
    an amount outside 0 to what the line asks."""
    version = body.get("version")

    def work() -> dict:
        dossier = load_dossier(dossier_id, acting_user())
        fire_event(acting_user(), dossier, body["event"], body.get("comment"), version, body.get("granted"))
        return _full(dossier)
    return unit_of_work(work, version)


@blp.route("/dossiers/<int:dossier_id>/decision.pdf", methods=["GET"])
@blp.doc(security=[{"bearer": []}], responses={200: {"description": "the issued decision PDF"}})
def decision_pdf(dossier_id: int):
    """The issued decision, the same bytes on every download."""
    return send_decision(dossier_id, acting_user())


@blp.route("/dossiers/<int:dossier_id>/revocation.pdf", methods=["GET"])
@blp.doc(security=[{"bearer": []}], responses={200: {"description": "the revocation decision PDF"}})
def revocation_pdf(dossier_id: int):
    """The decision that revoked this dossier's recognition (revoked dossiers)."""
    return send_decision(dossier_id, acting_user(), "revocation")


