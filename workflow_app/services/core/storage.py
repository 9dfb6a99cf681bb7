"""Content-addressed file storage under STORAGE_DIR (never under static/)."""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
from functools import lru_cache
from pathlib import Path

from .common import setting


def _root() -> Path:
    return _resolved_root(str(setting("STORAGE_DIR")))


@lru_cache(maxsize=8)
def _resolved_root(folder: str) -> Path:
    # Once per folder and process: downloads are hot, and mkdir/resolve are syscalls.
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    return root.resolve()


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


# The keys put_bytes makes: "<2 hex>/<64 hex><suffix>". Such a key names a file two
# levels below the (resolved) root and cannot climb out of it; any other key is
# resolved on the file system and checked (downloads are hot: resolve() is one
# lstat per path component).
_CONTENT_KEY = re.compile(r"[0-9a-f]{2}/[0-9a-f]{64}(\.[A-Za-z0-9]{1,10})?")


def path_of(key: str) -> Path:
    root = _root()
    if _CONTENT_KEY.fullmatch(key) and key[:2] == key[3:5]:
        return root / key
    path = (root / key).resolve()
    if root not in path.parents:
        raise ValueError("storage key escapes the storage folder")
    return path


def read_bytes(key: str) -> bytes:
    return path_of(key).read_bytes()
