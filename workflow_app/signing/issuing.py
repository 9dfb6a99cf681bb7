"""Render an official document and sign it: the one entry point for issuing.

    render_signed_pdf(template, context, *, issuer_code, issuer_name, signer_username,
                      signer_name, capacity, when) -> bytes

1. When the issuer has a key in SIGNING_DIR, the seal image (<issuer>.seal.png) and the
   signer's signature image (signatures/<username>.png), if present, go into the
   context as ``seal_image`` / ``signature_image`` (PNG data: URIs). Without a key they
   stay out: an unsigned PDF must not look signed.
2. The template is rendered in a worker process (time limit, bounded memory; see
   pdf/worker.py), which also reports where the template's ``data-pdf-slot="signature"``
   element (and its ``signature-text`` area) landed.
3. The PDF is PAdES-signed once with the issuer's key, the visible widget on that slot.
   Without a key the unsigned PDF is returned and a warning logged.
"""
from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

from flask import current_app

from ..pdf.printing import render_document
from .material import png_data_uri, seal_path, signature_path, signing_material
from .pades import sign_pdf

log = logging.getLogger(__name__)

SIGNATURE_SLOT = "signature"
SIGNATURE_TEXT_SLOT = "signature-text"


def signing_images(folder: Path, issuer_code: str, signer_username: str) -> dict[str, str | None]:
    """Context values for the slot's images (None when the file is missing)."""
    try:
        signature = png_data_uri(signature_path(folder, signer_username))
    except ValueError:  # a username that cannot name a file has no image
        signature = None
    return {"seal_image": png_data_uri(seal_path(folder, issuer_code)), "signature_image": signature}


def render_signed_pdf(template: str, context: dict, *, issuer_code: str, issuer_name: str,
                      signer_username: str, signer_name: str, capacity: str, when: datetime,
                      signing_dir: str | Path | None = None) -> bytes:
    """The signed PDF of ``template`` (unsigned when the issuer has no key).

    ``issuer_name`` is the signing body as printed in the stamp ("Ủy ban nhân dân huyện
    Tam Đường"); ``capacity`` the capacity lines joined ("KT. CHỦ TỊCH - PHÓ CHỦ TỊCH");
    ``when`` the signing time (naive = Vietnam time). ``signing_dir`` defaults to the
    current app's SIGNING_DIR. Raises pdf.worker.RenderTimeout / RenderFailed (503).
    """
    folder = Path(signing_dir if signing_dir is not None else _app_signing_dir())
    material = signing_material(folder, issuer_code)
    context = dict(context)
    if material is None:
        context.update(seal_image=None, signature_image=None)
    else:
        context.update(signing_images(folder, issuer_code, signer_username))
    rendered = render_document(template, context)
    if material is None:
        log.warning("no signing key for %s in %s: document left unsigned", issuer_code, folder)
        return rendered.pdf


    key, cert, chain = material
    slot, text = rendered.slots.get(SIGNATURE_SLOT), rendered.slots.get(SIGNATURE_TEXT_SLOT)
    placement: dict = {}
    if slot is None:
        log.warning("%s has no signature slot: stamp at the bottom right of the last page", template)
    else:
        placement = {"box": slot.box, "page": slot.page,
                     "text_box": text.box if text is not None and text.page == slot.page else None}
    pdf = sign_pdf(rendered.pdf, key, cert, chain, signer_name=signer_name, capacity=capacity,
                   issuer_name=issuer_name, signing_time=when, **placement)
    log.info("%s signed for %s by %s", template, issuer_code, signer_username)
    return pdf


def _app_signing_dir() -> str:
    return current_app.config["SIGNING_DIR"]
