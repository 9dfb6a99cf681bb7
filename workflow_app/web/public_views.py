"""Public pages: decision verification, health, language switch."""
from __future__ import annotations

from flask import jsonify, redirect, render_template, request, session, url_for
from sqlalchemy import text

from ..errors import wants_json
from ..extensions import db
from ..i18n import LANGS
from ..services.decisions import find_by_token
from ..workflow.errors import NotFound
from . import bp


@bp.get("/healthz")
def healthz():
    db.session.execute(text("SELECT 1"))
    return jsonify({"status": "ok"})


@bp.get("/lang/<lang>")
def set_lang(lang: str):
    if lang in LANGS:
        session["lang"] = lang
    target = request.args.get("next", "")
    # Only local paths: an open redirect would let a link send users elsewhere.
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("web.index")
    return redirect(target)


@bp.get("/verify/<token>")
def verify(token: str):
    decision = find_by_token(token) if len(token) <= 64 else None
    if decision is None:
        raise NotFound("Không tìm thấy quyết định với mã xác minh này. Hãy kiểm tra lại đường dẫn hoặc mã QR.",
                       "No decision has this verification code. Check the link or QR code.")
    info = {
        "number": decision.number, "symbol": decision.symbol, "issued_on": decision.issued_on.isoformat(),
        "issuer": {"code": decision.issuer.code, "name": decision.issuer.name},
        "type": decision.type, "status": decision.status, "signer": decision.signer_name,
        "subject": decision.subject, "sha256": decision.pdf_sha256,
        "units": [{"code": d.unit.code, "name": d.unit.name,
                   "parent": d.unit.parent.name if d.unit.parent else None, "dossier": d.code}
                  for d in decision.dossiers],
    }
    if wants_json() or request.args.get("format") == "json":
        return jsonify(info)
    return render_template("web/verify.html", d=info, issued_on=decision.issued_on)
