"""A development certificate authority: one self-signed root and, per issuing
body, a signing certificate for its signer, plus specimen seal and signature
images. For local use and tests only — production keys come from a real
(licensed) CA / USB token / HSM, and real images from the body."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .material import check_name, key_paths, seal_path, signature_path
from .specimen import seal_png, signature_png

ROOT_CERT = "root.pem"
ROOT_KEY = "root.key.pem"
ROOT_NAME = "Workflow App Development Root CA"


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _write_key(path: Path, key) -> None:
    path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    path.chmod(0o600)


def _write_cert(path: Path, cert: x509.Certificate) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _make_root(key, now: dt.datetime, name: str = ROOT_NAME) -> x509.Certificate:
    subject = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Development only - not trusted"),
        x509.NameAttribute(NameOID.COMMON_NAME, name),
    ])
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    return (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=3652))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=False, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(key, hashes.SHA256())
    )


def _make_signer(key, root_key, root: x509.Certificate, now: dt.datetime,
                 issuer_name: str, signer_name: str, days: int = 3 * 365) -> x509.Certificate:
    subject = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, issuer_name),
        x509.NameAttribute(NameOID.COMMON_NAME, signer_name),
    ])
    root_ski = root.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(root.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(min(now + dt.timedelta(days=days), root.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=True, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION,
                                              x509.ObjectIdentifier("1.3.6.1.4.1.311.10.3.12")]),
                       critical=False)  # emailProtection + MS document signing
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(root_ski),
                       critical=False)
        .sign(root_key, hashes.SHA256())
    )


def init_dev(folder: Path, issuer_code: str, issuer_name: str, signer_name: str,
             *, force: bool = False, usernames: Iterable[str] = ()) -> dict:
    """Create (if missing) the development root CA and the signing key +
    certificate of one issuer under ``folder``, the issuer's specimen seal image
    and a specimen signature image for each of ``usernames``. Existing files are
    kept unless ``force``; a forced run replaces the issuer's key and certificate
    (and the root too, which invalidates every other issuer's certificate in the
    folder) and redraws the images.

    Returns {"root": Path, "root_key": Path, "key": Path, "cert": Path,
    "chain": [Path], "seal": Path, "signatures": {username: Path},
    "created": [names of files written]}.
    """
    folder = Path(folder)
    if not issuer_code or "/" in issuer_code or issuer_code.startswith("."):
        raise ValueError(f"bad issuer code {issuer_code!r}")
    for username in usernames:
        check_name(username, "username")
    folder.mkdir(parents=True, exist_ok=True)
    root_path, root_key_path = folder / ROOT_CERT, folder / ROOT_KEY
    key_path, cert_path = key_paths(folder, issuer_code)
    now = dt.datetime.now(dt.UTC)
    created: list[str] = []

    if force or not (root_path.exists() and root_key_path.exists()):
        root_key = _key()
        root = _make_root(root_key, now)
        _write_key(root_key_path, root_key)
        _write_cert(root_path, root)
        created += [root_key_path.name, root_path.name]
        force = True  # a new root needs a new issuer certificate
    else:
        root_key = serialization.load_pem_private_key(root_key_path.read_bytes(), password=None)
        root = x509.load_pem_x509_certificate(root_path.read_bytes())

    if force or not (key_path.exists() and cert_path.exists()):
        key = _key()
        _write_key(key_path, key)
        _write_cert(cert_path, _make_signer(key, root_key, root, now, issuer_name, signer_name))
        created += [key_path.name, cert_path.name]


    images = [(seal_path(folder, issuer_code), lambda: seal_png(issuer_name))]
    signatures = {username: signature_path(folder, username) for username in usernames}
    images += [(path, lambda name=username: signature_png(name)) for username, path in signatures.items()]
    for path, draw in images:
        if force or not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(draw())
            created.append(str(path.relative_to(folder)))

    return {"root": root_path, "root_key": root_key_path, "key": key_path, "cert": cert_path,
            "chain": [root_path], "seal": seal_path(folder, issuer_code), "signatures": signatures,
            "created": created}
