"""What SIGNING_DIR holds, by name (written by `flask signing init-dev`, or by hand
for a real issuer):

    root.pem                      the CA chain's root (optional)
    <issuer>.key.pem / .cert.pem  the issuer's signing key and certificate
    <issuer>.seal.png             the issuer's seal image (optional)
    signatures/<username>.png     a signer's signature image (optional)
"""
from __future__ import annotations

import base64
import logging
import re
from pathlib import Path

log = logging.getLogger(__name__)

# Unit codes ("tam-duong") and usernames ("canbo.natam") name files: no "/", no leading dot.
_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}")
MAX_IMAGE_BYTES = 1024 * 1024  # every signed decision embeds the images: keep them small
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def check_name(name: str, what: str) -> str:
    if not _NAME.fullmatch(name or ""):
        raise ValueError(f"bad {what} {name!r} for a file name in SIGNING_DIR")
    return name


def key_paths(folder: Path, issuer_code: str) -> tuple[Path, Path]:
    check_name(issuer_code, "issuer code")
    return folder / f"{issuer_code}.key.pem", folder / f"{issuer_code}.cert.pem"


def seal_path(folder: Path, issuer_code: str) -> Path:
    return Path(folder) / f"{check_name(issuer_code, 'issuer code')}.seal.png"


def signature_path(folder: Path, username: str) -> Path:
    return Path(folder) / "signatures" / f"{check_name(username, 'username')}.png"


def signing_material(folder: Path, issuer_code: str) -> tuple[Path, Path, list[Path]] | None:
    """(key, certificate, chain) of the issuer, or None when it has no key here."""
    folder = Path(folder)
    key, cert = key_paths(folder, issuer_code)
    if not (key.is_file() and cert.is_file()):
        return None
    root = folder / "root.pem"
    return key, cert, [root] if root.is_file() else []


def png_data_uri(path: Path) -> str | None:
    """The PNG at ``path`` as a data: URI, or None if there is none. A file that is
    not a PNG or is too large is left out with a warning rather than failing the
    decision: the signature itself does not depend on it."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        return None
    except ValueError:  # a name the file system refuses (NUL): nothing there
        return None
    if not data.startswith(_PNG_MAGIC) or len(data) > MAX_IMAGE_BYTES:
        log.warning("%s is not a PNG under %d bytes: left out of the decision", path, MAX_IMAGE_BYTES)
        return None
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")
