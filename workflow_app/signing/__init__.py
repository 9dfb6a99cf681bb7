"""PAdES signing of decision PDFs (pyHanko) and a development CA.

Public API:
    init_dev(folder, issuer_code, issuer_name, signer_name, *, force=False, usernames=()) -> dict
    sign_pdf(pdf, key_path, cert_path, chain_paths, *, signer_name, capacity,
             issuer_name, signing_time, box=None, page=-1, text_box=None) -> bytes
    verify_pdf(pdf, root_cert_path) -> SignatureCheck

Issuing an official document (render in a worker, images, slot, signature) is
workflow_app.signing.issuing.render_signed_pdf.
"""
from .devca import init_dev
from .pades import SignatureCheck, sign_pdf, verify_pdf

__all__ = ["SignatureCheck", "init_dev", "sign_pdf", "verify_pdf"]
