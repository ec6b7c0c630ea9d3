"""Uploaded import files: kept under ``instance/imports/<token>/``, read as CSV or XLSX, templates.

An upload is stored once (``source.csv`` or ``source.xlsx`` beside ``meta.json`` naming the table and
the uploader); the preview and the commit job read the same bytes, so what was previewed is what is
written. The token is random and the meta names its owner: a person opens only their own uploads.
"""

from __future__ import annotations

import csv
import io
import json
import re
import secrets
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import gettext as _

from app.services.artifacts import partial_path, publish

DEFAULT_MAX_BYTES = 10 * 1024 * 1024  # the app's MAX_CONTENT_LENGTH: a bigger body never reaches the view
MAX_ROWS = 200_000
TOKEN = re.compile(r"[A-Za-z0-9_-]{20,40}")
KINDS = {"csv": "source.csv", "xlsx": "source.xlsx"}


class ImportFileError(ValueError):
    """An upload the import cannot read (wrong type, too large, no header); the message says why."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Upload:
    token: str
    table: str
    kind: str
    console_user_id: int
    filename: str
    folder: Path

    @property
    def source(self) -> Path:
        return self.folder / KINDS[self.kind]

    @property
    def error_report(self) -> Path:
        return self.folder / "errors.csv"


def max_bytes() -> int:
    return int(current_app.config.get("IMPORT_MAX_BYTES") or DEFAULT_MAX_BYTES)


def root() -> Path:
    return Path(current_app.config.get("IMPORTS_DIR") or Path(current_app.config["INSTANCE_DIR"]) / "imports")


def sniff_kind(filename: str, head: bytes) -> str:
    """``csv`` or ``xlsx`` from the name and the first bytes; anything else is refused."""
    name = filename.lower()
    if name.endswith(".xlsx"):
        if not head.startswith(b"PK\x03\x04"):
            raise ImportFileError(_("The file is named .xlsx but is not an Excel workbook."))
        return "xlsx"
    if name.endswith(".csv") or name.endswith(".txt"):
        if b"\x00" in head:
            raise ImportFileError(_("The file is named .csv but holds binary data."))
        return "csv"
    raise ImportFileError(_("Upload a .csv or .xlsx file."))


def store(table: str, filename: str, data: bytes, console_user_id: int) -> Upload:
    """Keep an upload (checked for size and type) and return its handle."""
    if len(data) > max_bytes():
        raise ImportFileError(_("The file is larger than %(mb)s MB.", mb=max_bytes() // (1024 * 1024)), 413)
    if not data:
        raise ImportFileError(_("The file is empty."))
    kind = sniff_kind(filename, data[:8])
    token = secrets.token_urlsafe(18)
    folder = root() / token
    folder.mkdir(parents=True, exist_ok=False)
    upload = Upload(token, table, kind, console_user_id, filename[-200:], folder)
    part = partial_path(upload.source)
    part.write_bytes(data)
    publish(part, upload.source)
    meta = {"table": table, "kind": kind, "console_user_id": console_user_id, "filename": upload.filename}
    (folder / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    return upload


def load(token: str) -> Upload | None:
    """The upload behind ``token``, or None (unknown or malformed token)."""
    if not TOKEN.fullmatch(token or ""):
        return None
    folder = root() / token
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return Upload(token, meta["table"], meta["kind"], int(meta["console_user_id"]), meta["filename"], folder)


def read_rows(upload: Upload) -> tuple[list[str], Iterator[list[Any]]]:
    """The header (trimmed, lower case) and the data rows of an upload."""
    if upload.kind == "xlsx":
        return _read_xlsx(upload.source)
    return _read_csv(upload.source.read_bytes())


def _read_csv(data: bytes) -> tuple[list[str], Iterator[list[Any]]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportFileError(_("The CSV file is not UTF-8 text.")) from None
    sample = text[:4096]
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise ImportFileError(_("The file has no header row.")) from None
    except csv.Error as exc:
        raise ImportFileError(_("The CSV file cannot be read: %(problem)s", problem=str(exc))) from None
    return _clean_header(header), _guard_csv(reader)


def _guard_csv(reader: Any) -> Iterator[list[Any]]:
    try:
        yield from reader
    except csv.Error as exc:
        raise ImportFileError(_("The CSV file cannot be read: %(problem)s", problem=str(exc))) from None


def _read_xlsx(path: Path) -> tuple[list[str], Iterator[list[Any]]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ImportFileError(_("The Excel file cannot be read: %(problem)s", problem=type(exc).__name__)) from None
    sheet = book.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    try:
        header = next(rows)
    except StopIteration:
        book.close()
        raise ImportFileError(_("The file has no header row.")) from None

    def body() -> Iterator[list[Any]]:
        try:
            for row in rows:
                yield ["" if v is None else v for v in row]
        finally:
            book.close()

    return _clean_header(["" if h is None else str(h) for h in header]), body()


def _clean_header(header: list[str]) -> list[str]:
    cleaned = [str(h).strip().lower().replace(" ", "_") for h in header]
    if not any(cleaned):
        raise ImportFileError(_("The file has no header row."))
    return cleaned


def template_csv(header: list[str]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(header)
    return buffer.getvalue().encode("utf-8")


def template_xlsx(header: list[str]) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("import")
    sheet.append(header)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
