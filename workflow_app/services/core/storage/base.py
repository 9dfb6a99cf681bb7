"""What every file store offers (local folder, the database, an S3-compatible object
store): bytes put and read by key, a read in chunks for downloads, the list of keys
with the time each was stored, and that store's clock. Keys are content addressed
(storage/__init__.py makes them): the bytes under a key never change."""
from __future__ import annotations

import hashlib
import io
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

CHUNK = 1024 * 1024  # bytes per stored chunk (database) and per streamed piece

# The keys put_bytes makes: "<2 hex>/<64 hex><suffix>".
CONTENT_KEY = re.compile(r"[0-9a-f]{2}/[0-9a-f]{64}(\.[A-Za-z0-9]{1,10})?")


class Missing(FileNotFoundError):
    """No stored file under that key."""


@dataclass(frozen=True)
class Stat:
    """A stored file's size and when it was stored (seconds since the epoch, None when unknown)."""

    size: int
    stored_at: float | None


@dataclass
class Opened:
    """A stored file being read: its whole size, when it was stored (seconds since the
    epoch, None when unknown) and its bytes from the offset asked for, in pieces of at
    most CHUNK."""

    size: int
    stored_at: float | None
    chunks: Iterator[bytes]
    release: Callable[[], None] | None = None  # what close() gives back (a file, a response)

    def close(self) -> None:
        close = getattr(self.chunks, "close", None)
        if close is not None:
            close()
        if self.release is not None:
            self.release()


class Store(ABC):
    """One place the files live; ``local`` stores have a path for each key."""

    local = False

    @abstractmethod
    def put(self, key: str, data: bytes, digest: str) -> None:
        """Store the bytes under the key; nothing happens when the key is stored already."""

    @abstractmethod
    def read(self, key: str) -> bytes:
        """The whole file (Missing when there is none)."""

    @abstractmethod
    def open(self, key: str, start: int = 0) -> Opened:
        """The file in chunks from byte `start` on, read from there (not read from the
        beginning and skipped); Missing, before any byte, when there is none."""

    @abstractmethod
    def stat(self, key: str) -> Stat:
        """The file's size and time without reading it (Missing when there is none)."""

    @abstractmethod
    def entries(self) -> Iterator[tuple[str, float]]:
        """Every stored key with the time it was stored (seconds since the epoch)."""

    @abstractmethod
    def now(self) -> float:
        """Now, by the clock that stamps the stored files."""

    def normal(self, key: str) -> str:
        """The key as ``entries`` names it; ValueError for a key that could not be stored."""
        if CONTENT_KEY.fullmatch(key):
            return key
        parts = key.split("/")
        if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts) or "\\" in key:
            raise ValueError("storage key escapes the storage folder")
        return key

    def sha256(self, key: str) -> str:
        """The SHA-256 of the stored bytes, read in chunks (Missing when there is none)."""
        opened = self.open(key)
        digest = hashlib.sha256()
        try:
            for piece in opened.chunks:
                digest.update(piece)
        finally:
            opened.close()
        return digest.hexdigest()

    def for_threads(self) -> Store:
        """The same store, usable from threads that have no app context."""
        return self

    def path(self, key: str) -> Path | None:
        """The file's path on this machine (local stores only)."""
        return None


class StoredReader(io.RawIOBase):
    """A read-only file over a stored file, for send_file to stream bytes that are not
    in a local file. Nothing is read before the first read(); a seek() before it moves
    where the store starts reading (a Range request reads from its offset), and `stop`
    ends the file early (the end of the range)."""

    def __init__(self, store: Store, key: str, size: int, start: int = 0, stop: int | None = None) -> None:
        super().__init__()
        self._store, self._key, self._size = store, key, size
        self._pos, self._stop = start, size if stop is None else min(stop, size)
        self._opened: Opened | None = None
        self._chunks: Iterator[bytes] = iter(())
        self._left = memoryview(b"")

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        target = {io.SEEK_SET: offset, io.SEEK_CUR: self._pos + offset, io.SEEK_END: self._size + offset}[whence]
        if target != self._pos:
            self._release()  # the next read opens the store again at the new place
            self._pos = max(target, 0)
        return self._pos

    def readinto(self, buffer) -> int:
        if self._pos >= self._stop:
            return 0
        if self._opened is None:
            self._opened = self._store.open(self._key, self._pos)
            self._chunks = iter(self._opened.chunks)
        while not self._left:
            piece = next(self._chunks, None)
            if piece is None:
                return 0
            self._left = memoryview(piece)  # sliced without copying
        count = min(len(buffer), len(self._left), self._stop - self._pos)
        buffer[:count] = self._left[:count]
        self._left = self._left[count:]
        self._pos += count
        return count

    def _release(self) -> None:
        if self._opened is not None:
            self._opened.close()
        self._opened, self._chunks, self._left = None, iter(()), memoryview(b"")

    def close(self) -> None:
        if not self.closed:
            self._release()
        super().close()
