"""Content-addressed file storage (never under static/), in the store STORAGE_URL
chooses at deployment:

- unset or ``file:///path``: a folder of this machine (STORAGE_DIR; local.py);
- ``database`` (the app's own database) or ``postgresql://...``: rows of chunks (database.py);
- ``s3://bucket/prefix``: an S3-compatible object store (s3.py).

Keys are "<2 hex>/<sha256><suffix>": the same bytes, the same key, in every store.
With a store that is not a local folder, STORAGE_DIR holds copies made for path_of
(a cache: any machine may lose it)."""
from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ..common import setting
from .base import CONTENT_KEY, Missing, Opened, Stat, Store, StoredReader  # noqa: F401  (the interface, for callers)
from .database import DatabaseStore, other_database
from .local import LocalStore, local_store
from .s3 import s3_store

DATABASE_KEYWORD = "database"  # STORAGE_URL naming the app's own database
SCHEMES = ("file", "postgresql", "postgres", "s3")


def backend() -> Store:
    """The store the app's configuration names (one object per process and store)."""
    return store_for(setting("STORAGE_URL") or "")


def store_for(url: str) -> Store:
    """The store a STORAGE_URL names (empty: the STORAGE_DIR folder); `flask storage copy`
    names two. An object store's address and region are the app's settings."""
    url = url.strip()
    if not url:
        return local_store(str(setting("STORAGE_DIR")))
    if url == DATABASE_KEYWORD:
        return DatabaseStore()
    parts = urlsplit(url)
    if parts.scheme == "file":
        return local_store(unquote(parts.path))
    if parts.scheme in ("postgresql", "postgres"):
        return DatabaseStore(other_database(url))
    if parts.scheme == "s3":
        return s3_store(parts.netloc, parts.path, setting("STORAGE_S3_ENDPOINT") or "",
                        setting("STORAGE_S3_REGION") or "")
    raise RuntimeError(f"STORAGE_URL {url!r}: unknown kind of storage")


def put_bytes(data: bytes, suffix: str = "") -> tuple[str, str]:
    """Store bytes; return (storage key, SHA-256). Same bytes, same key."""
    digest = hashlib.sha256(data).hexdigest()
    key = f"{digest[:2]}/{digest}{suffix}"
    backend().put(key, data, digest)
    return key, digest


def digest_of(key: str) -> str | None:
    """The SHA-256 a content key names ("ab/ab12…ef.pdf" -> "ab12…ef"), None for another key."""
    if not CONTENT_KEY.fullmatch(key):
        return None
    return key[3:67]


def read_bytes(key: str) -> bytes:
    return backend().read(key)


def open_stored(key: str) -> Opened:
    """The stored file in chunks, for a download (Missing when there is none)."""
    return backend().open(key)


def path_of(key: str) -> Path:
    """A path on this machine holding the file: the file itself in a local folder,
    else a copy fetched once into STORAGE_DIR (Missing when the store has none)."""
    store = backend()
    if isinstance(store, LocalStore):
        return store.path(key)
    folder = local_store(str(setting("STORAGE_DIR")))
    path = folder.path(key)
    if not path.is_file():
        opened = store.open(key)
        try:
            folder.write(path, opened.chunks)
        finally:
            opened.close()
    return path
