"""Files in a folder of this machine (STORAGE_DIR, or STORAGE_URL=file:///path): the
default, and the cache of copies the other stores keep for path_of."""
from __future__ import annotations

import hashlib
import os
import tempfile
import time
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

from .base import CHUNK, CONTENT_KEY, Missing, Opened, Stat, Store


@lru_cache(maxsize=8)
def local_store(folder: str) -> LocalStore:
    # Once per folder and process: downloads are hot, and mkdir/resolve are syscalls.
    return LocalStore(folder)


class LocalStore(Store):
    local = True

    def __init__(self, folder: str) -> None:
        root = Path(folder)
        root.mkdir(parents=True, exist_ok=True)
        self.root = root.resolve()

    def path(self, key: str) -> Path:
        # A content key names a file two levels below the (resolved) root and cannot
        # climb out of it; any other key is resolved on the file system and checked
        # (resolve() is one lstat per path component).
        if CONTENT_KEY.fullmatch(key) and key[:2] == key[3:5]:
            return self.root / key
        path = (self.root / key).resolve()
        if self.root not in path.parents:
            raise ValueError("storage key escapes the storage folder")
        return path

    def normal(self, key: str) -> str:
        return self.path(key).relative_to(self.root).as_posix()

    def put(self, key: str, data: bytes, digest: str = "") -> None:
        path = self.path(key)
        if not path.exists():
            self.write(path, [data])

    @staticmethod
    def write(path: Path, chunks) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename: a reader never sees half a file.
        fd, tmp = tempfile.mkstemp(dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                for chunk in chunks:
                    fh.write(chunk)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def read(self, key: str) -> bytes:
        try:
            return self.path(key).read_bytes()
        except FileNotFoundError:
            raise Missing(key) from None

    def open(self, key: str, start: int = 0) -> Opened:
        try:
            fh = self.path(key).open("rb")
        except FileNotFoundError:
            raise Missing(key) from None
        stat = os.fstat(fh.fileno())
        if start:
            fh.seek(start)
        return Opened(stat.st_size, stat.st_mtime, _pieces(fh), fh.close)

    def stat(self, key: str) -> Stat:
        try:
            stat = self.path(key).stat()
        except FileNotFoundError:
            raise Missing(key) from None
        return Stat(stat.st_size, stat.st_mtime)

    def sha256(self, key: str) -> str:
        try:
            with self.path(key).open("rb") as fh:
                return hashlib.file_digest(fh, "sha256").hexdigest()  # read in chunks
        except FileNotFoundError:
            raise Missing(key) from None

    def entries(self) -> Iterator[tuple[str, float]]:
        stack = [self.root]
        while stack:
            with os.scandir(stack.pop()) as found:
                for entry in found:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(Path(entry.path))
                    else:
                        rel = Path(entry.path).relative_to(self.root).as_posix()
                        yield rel, entry.stat(follow_symlinks=False).st_mtime

    def now(self) -> float:
        """The file system's clock (a test's frozen clock or a skewed host clock would
        misjudge a file's age)."""
        try:
            with tempfile.TemporaryFile(dir=self.root) as fh:
                return os.fstat(fh.fileno()).st_mtime
        except OSError:  # a read-only storage folder: the host clock will do
            return time.time()


def _pieces(fh) -> Iterator[bytes]:
    while piece := fh.read(CHUNK):
        yield piece
