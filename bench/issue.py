"""Issue time of one decision (A) vs WeasyPrint alone rendering the same HTML (B).

A: the public service path, as the API's POST /events does it: fire_event(approver,
   dossier, "recognize") + commit — numbering, rendering, signing, storage, audit,
   whatever the code does today.
B: the decision's HTML, rendered beforehand (untimed) from the same context the
   issuing code builds, laid out by weasyprint.HTML(string=..., base_url=<assets>)
   .write_pdf() and nothing else.
Pairs are interleaved (AB, BA, AB, ...) on fresh dossiers, after a warm-up.
"""
from __future__ import annotations

import gc
import secrets
import time
from pathlib import Path

import world as W
from _common import median, p90

from workflow_app.extensions import db
from workflow_app.services import fire_event

TEMPLATE = "pdf/decision.html"


def assets_url() -> str:
    """Base URL of the print assets (decision.css), as the renderer uses it."""
    try:
        from workflow_app.pdf.render import ASSETS_URL
        return ASSETS_URL
    except ImportError:
        return (W.ROOT / "workflow_app" / "pdf" / "assets").as_uri() + "/"


def template_html(context: dict) -> str:
    """The decision template rendered with ``context`` exactly as the issuing code
    renders it: render.py's render_html (or its Jinja environment in older code),
    else Flask's render_template."""
    from workflow_app.pdf import render

    if hasattr(render, "render_html"):
        return render.render_html(TEMPLATE, context)
    if hasattr(render, "_jinja_env"):
        return render._jinja_env().get_template(TEMPLATE).render(context)
    from flask import render_template
    return render_template(TEMPLATE, **context)


def decision_html(dossier, number: int) -> str:
    """The HTML issue_decision would lay out for ``dossier`` as decision ``number``
    (same facts, same context builder; only the random verify token differs)."""
    from workflow_app.clock import local_now
    from workflow_app.pdf.decision import DecisionFacts, decision_context
    from workflow_app.services.core.reference import find_unit
    from workflow_app.services.core.wording import committee_of, in_sentence, place_name
    from workflow_app.services.documents.decisions import verify_url

    issuer = find_unit(W.ISSUER)
    now = local_now()
    unit = dossier.unit
    proposer_unit = unit.parent or unit
    facts = DecisionFacts(
        kind=dossier.kind, issuer_code=issuer.code, issuer_name=issuer.name, issuer_place=place_name(issuer),
        number=number, symbol=f"{number}/QĐ-UBND", issued_on=now.date(), year=dossier.year,
        units=[(unit.name, in_sentence(unit.parent.name) if unit.parent else "")],
        proposer=committee_of(proposer_unit), request_ref=(dossier.fields or {}).get("request_ref"),
        appraisal_ref=None, signer_name=W.SIGNER, signer_capacity="vice_chairman",
        verify_url=verify_url(secrets.token_urlsafe(16)), dossier_codes=[dossier.code])
    context = decision_context(facts)
    context.update(signing_images_of(W.ISSUER, W.APPROVER))
    return template_html(context)


def signing_images_of(issuer_code: str, signer_username: str) -> dict:
    """The seal and signature images the issuing code puts into the decision when the
    issuer has a key (they are part of the page WeasyPrint lays out, not of what
    issuing adds to it); nothing in older code without them."""
    try:
        from workflow_app.signing.issuing import signing_images
        from workflow_app.signing.material import signing_material
    except ImportError:
        return {}
    from flask import current_app

    folder = Path(current_app.config["SIGNING_DIR"])
    if signing_material(folder, issuer_code) is None:
        return {"seal_image": None, "signature_image": None}
    return signing_images(folder, issuer_code, signer_username)


def weasyprint_alone(html: str, base_url: str) -> bytes:
    from weasyprint import HTML
    return HTML(string=html, base_url=base_url).write_pdf()


def issue(w: W.World, dossier_id: int) -> tuple[float, int]:
    """Time the recognize event on a freshly loaded dossier. Returns (seconds, number)."""
    db.session.remove()  # a new request's session: nothing cached from preparation
    approver, dossier = w.user(w.approver_id), W.dossier(dossier_id)
    t0 = time.perf_counter()
    fire_event(approver, dossier, "recognize")
    db.session.commit()
    elapsed = time.perf_counter() - t0
    from workflow_app.services.documents.decisions import decision_of
    decision = decision_of(dossier)
    assert dossier.state == "recognized" and decision is not None, dossier.state
    return elapsed, decision.number


def run(w: W.World, pairs: int, warmup: int, log=print) -> dict:
    base_url = assets_url()
    log(f"  preparing {pairs + warmup} appraised dossiers through the services ...")
    t0 = time.perf_counter()
    ids = [W.appraised_dossier(w) for _ in range(pairs + warmup)]
    log(f"  prepared in {time.perf_counter() - t0:.1f} s")
    # Untimed: the HTML of each dossier's decision, numbered as it will be (1, 2, ...).
    htmls = [decision_html(W.dossier(i), n) for n, i in enumerate(ids, start=1)]

    a_times, b_times, numbers = [], [], []
    signed = None
    sizes = {}
    for k, (dossier_id, html) in enumerate(zip(ids, htmls, strict=True)):
        gc.collect()
        order = "AB" if k % 2 == 0 else "BA"
        for which in order:
            if which == "A":
                ta, number = issue(w, dossier_id)
            else:
                t = time.perf_counter()
                pdf_b = weasyprint_alone(html, base_url)
                tb = time.perf_counter() - t
        if k < warmup:
            log(f"  warm-up {k + 1}/{warmup}: issue {ta * 1000:.0f} ms, WeasyPrint alone {tb * 1000:.0f} ms")
            continue
        a_times.append(ta)
        b_times.append(tb)
        numbers.append(number)
        if signed is None:
            from workflow_app.services.core.storage import path_of
            from workflow_app.services.documents.decisions import decision_of
            pdf_a = path_of(decision_of(W.dossier(dossier_id)).pdf_key).read_bytes()
            signed = b"/ByteRange" in pdf_a
            sizes = {"issued_pdf_bytes": len(pdf_a), "baseline_pdf_bytes": len(pdf_b),
                     "issued_pdf_pages": _pages(pdf_a), "baseline_pdf_pages": _pages(pdf_b)}
    ratio = median(a_times) / median(b_times)
    return {
        "pairs": pairs, "warmup": warmup, "order": "interleaved AB/BA",
        "signed": signed, **sizes,
        # The seal / signature images the issued decision carries are in B's HTML too.
        "baseline_images": {"seal": 'class="seal-image"' in htmls[0], "signature": 'class="sign-image"' in htmls[0]}
        if htmls else None,
        "issue_s": {"median": median(a_times), "p90": p90(a_times), "min": min(a_times), "all": a_times},
        "weasyprint_s": {"median": median(b_times), "p90": p90(b_times), "min": min(b_times), "all": b_times},
        "ratio_of_medians": ratio, "goal": "<= 1.3", "pass": ratio <= 1.3,
        "decision_numbers": numbers,
        "first_dossier_id": ids[warmup] if pairs else None, "dossier_ids": ids,
    }


def _pages(pdf: bytes) -> int | None:
    try:
        import io

        from pypdf import PdfReader  # not required; fall back to pyHanko's reader
        return len(PdfReader(io.BytesIO(pdf)).pages)
    except ImportError:
        pass
    try:
        import io

        from pyhanko.pdf_utils.reader import PdfFileReader
        return int(PdfFileReader(io.BytesIO(pdf)).root["/Pages"]["/Count"])
    except Exception:  # noqa: BLE001 - page count is informative only
        return None


if __name__ == "__main__":  # a one-off look: python bench/issue.py
    import tempfile

    from workflow_app.clock import pinned

    with tempfile.TemporaryDirectory(prefix="ntm-bench-") as tmp, pinned(W.DISTRICT_ERA):
        w = W.make_world(Path(tmp))
        r = run(w, pairs=3, warmup=1)
        print({k: v for k, v in r.items() if k not in ("dossier_ids",)})
