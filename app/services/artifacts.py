"""Files a job writes and resumes: partial names, durable appends, one SHA-256, manifests.

A job writes its file under a hidden partial name and grows it batch by batch; each batch
is on disk (fsynced) before the job commits the checkpoint that records the file's size, so
a rerun cuts the file back to that size and carries on. Only a complete file is renamed to
its final name; its manifest is renamed in last. Audit export, data-subject export and
retention archives share this.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from types import TracebackType
from typing import Any

CHUNK = 1 << 20


def partial_path(final: Path) -> Path:
    """Where a job writes ``final`` until it is complete: a hidden sibling folder on the same
    filesystem, so the rename is atomic and browsing ``exports/`` or ``archive/`` never shows a part."""
    folder = final.parent.parent / f".partial-{final.parent.name}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{final.name}.part"


def sha256(source: Path | bytes) -> str:
    """The hex SHA-256 of a file (read in chunks, never whole) or of bytes in memory."""
    if isinstance(source, bytes):
        return hashlib.sha256(source).hexdigest()
    digest = hashlib.sha256()
    with open(source, "rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fsync_dir(path: Path) -> None:
    """Make the renames in a folder survive a power loss."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(part: Path, final: Path) -> None:
    """Rename a complete partial file to its final name, durably."""
    os.replace(part, final)
    fsync_dir(final.parent)


def write_manifest(path: Path, body: dict[str, Any]) -> None:
    """A manifest (sorted, indented JSON) written under its partial name, fsynced, then renamed into place."""
    tmp = partial_path(path)
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(body, indent=2, sort_keys=True))
        fh.flush()
        os.fsync(fh.fileno())
    publish(tmp, path)


class ResumableFile:
    """A partial file reopened at its committed size (whatever a killed attempt wrote after it
    is cut off), then grown by durable writes.

    With ``hashed``, its SHA-256 grows with every write (what an earlier attempt left is read
    once, on opening), so the finished file is never read back to hash it.
    """

    def __init__(self, path: Path, size: int, hashed: bool = False) -> None:
        self.path = path
        with open(path, "ab"):  # created if missing
            pass
        self._fh = open(path, "r+b")  # noqa: SIM115 (closed by close() / the context manager)
        self._fh.truncate(size)
        self.size = size
        self._digest = hashlib.sha256() if hashed else None
        if self._digest is not None:
            for chunk in iter(lambda: self._fh.read(CHUNK), b""):
                self._digest.update(chunk)
        self._fh.seek(size)

    def write(self, data: bytes, at: int | None = None) -> None:
        """Make ``data`` durable at offset ``at`` (default: the end), dropping whatever followed it:
        a batch retried after its transaction rolled back overwrites its own earlier bytes."""
        if at is not None and at != self.size:
            if self._digest is not None:
                raise ValueError("a hashed file only grows at its end")
            self._fh.seek(at)
        self._fh.write(data)
        self._fh.truncate()
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self.size = self._fh.tell()
        if self._digest is not None:
            self._digest.update(data)

    def hexdigest(self) -> str:
        if self._digest is None:
            raise ValueError("this file is not hashed as it is written")
        return self._digest.hexdigest()

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> ResumableFile:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
