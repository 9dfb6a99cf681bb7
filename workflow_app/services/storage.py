"""Content-addressed file storage under STORAGE_DIR (never under static/)."""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from .common import setting


def _root() -> Path:
    root = Path(setting("STORAGE_DIR"))
    root.mkdir(parents=True, exist_ok=True)
    return root


def put_bytes(data: bytes, suffix: str = "") -> tuple[str, str]:
    """Store bytes; return (storage key, SHA-256). Same bytes, same key."""
    digest = hashlib.sha256(data).hexdigest()
    key = f"{digest[:2]}/{digest}{suffix}"
    path = _root() / key
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename: a reader never sees half a file.
        fd, tmp = tempfile.mkstemp(dir=path.parent)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    return key, digest


def path_of(key: str) -> Path:
    root = _root().resolve()
    path = (root / key).resolve()
    if root not in path.parents:
        raise ValueError("storage key escapes the storage folder")
    return path


def read_bytes(key: str) -> bytes:
    return path_of(key).read_bytes()
