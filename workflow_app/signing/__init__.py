"""PAdES signing of decision PDFs (pyHanko) and a development CA.

Public API:
    init_dev(folder, issuer_code, issuer_name, signer_name, *, force=False) -> dict
    sign_pdf(pdf, key_path, cert_path, chain_paths, *, signer_name, capacity,
             issuer_name, signing_time) -> bytes
    verify_pdf(pdf, root_cert_path) -> SignatureCheck
"""
from .devca import init_dev
from .pades import SignatureCheck, sign_pdf, verify_pdf

__all__ = ["SignatureCheck", "init_dev", "sign_pdf", "verify_pdf"]
