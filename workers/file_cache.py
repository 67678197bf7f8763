"""A configuration file read once and kept until it changes, instead of once per incident."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Generic, TypeVar

T = TypeVar("T")


class FileCache(Generic[T]):
    """``read()`` again only when the file changed (modification time, size, inode) or when
    ``also()`` answers something new (e.g. the year, for a calendar resolved per year).
    A read that raises is not kept: the next call reads again and raises again."""

    def __init__(
        self, path: Path, read: Callable[[], T], also: Callable[[], Hashable] = lambda: None
    ) -> None:
        self.path = path
        self._read = read
        self._also = also
        self._key: Hashable = None
        self._value: T | None = None

    def __call__(self) -> T:
        try:
            stat = self.path.stat()
        except OSError:
            return self._read()  # says what is wrong with the file
        key = (stat.st_mtime_ns, stat.st_size, stat.st_ino, self._also())
        if self._value is None or key != self._key:
            self._value = self._read()
            self._key = key
        return self._value
