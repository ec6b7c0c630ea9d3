"""Read-only file browsers over generated audit exports and archives.

Guarded by the ``AuditExports`` resource. Browsing and downloading only:
upload, delete, rename, mkdir and edit are switched off *and* refused in the
guard, whatever the role may write. Paths are resolved (symlinks included)
and must stay inside the configured directory. Each download goes through
``on_file_download`` -> ``app.services.audit.download_events.file_downloaded`` before
the file is sent: the audit trail hooks in there.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

from flask import abort, current_app, request
from flask_admin import expose
from flask_admin.contrib.fileadmin import BaseFileAdmin, LocalFileStorage
from flask_login import current_user

from app.services.audit import download_events
from app.web.admin.guard import FabPermissionMixin

AUDIT_FILES_RESOURCE = "AuditExports"
PARTIAL_SUFFIXES = (".tmp", ".part", ".partial")


class ConfiguredDirectoryStorage(LocalFileStorage):
    """Local storage whose root is read from the app config on each request.

    Each test builds several apps with different directories, and the directory
    may not exist before the first export is written.
    """

    def __init__(self, config_key: str) -> None:
        super(LocalFileStorage, self).__init__(on_windows=os.name == "nt")
        self.config_key = config_key
        self.separator = os.sep

    @property
    def base_path(self) -> str:  # type: ignore[override]
        return str(Path(current_app.config[self.config_key]).resolve())

    @base_path.setter
    def base_path(self, _value: str) -> None:  # LocalFileStorage.__init__ is bypassed
        pass


class AuditFileBrowser(FabPermissionMixin, BaseFileAdmin):
    fab_resource: ClassVar[str | None] = AUDIT_FILES_RESOURCE
    read_only_endpoints: ClassVar[frozenset[str]] = frozenset({"index", "index_view", "download"})

    can_upload = False
    can_delete = False
    can_delete_dirs = False
    can_mkdir = False
    can_rename = False
    can_download = True
    editable_extensions: ClassVar[tuple[str, ...]] = ()
    action_disallowed_list: ClassVar[list[str]] = ["delete", "edit"]

    def __init__(self, config_key: str, **kwargs: Any) -> None:
        super().__init__(storage=ConfiguredDirectoryStorage(config_key), **kwargs)

    def fab_can_write(self) -> bool:
        return False  # read-only for everyone

    def _handle_view(self, name: str, **kwargs: Any) -> Any:
        refused = super()._handle_view(name, **kwargs)
        if refused is None:
            Path(self.get_base_path()).mkdir(parents=True, exist_ok=True)
        return refused

    def is_in_folder(self, base_path: str, directory: Any) -> bool:
        # Flask-Admin compares string prefixes ("/x/exports2" passes for "/x/exports")
        # and does not resolve symlinks; compare resolved paths instead.
        base = Path(base_path).resolve()
        target = Path(directory).resolve()
        return target == base or base in target.parents

    def is_accessible_path(self, path: str) -> bool:
        # Hidden and partial files (written under a temporary name, renamed when complete) stay out of sight.
        # Links that lead outside the directory are not listed either.
        parts = Path(path).parts
        if any(part.startswith(".") for part in parts) or path.endswith(PARTIAL_SUFFIXES):
            return False
        base = self.get_base_path()
        return self.is_in_folder(base, os.path.join(base, path))

    @property
    def _debug(self) -> bool:  # never re-raise into Werkzeug's debugger from here
        return False

    @expose("/download/<path:path>")
    def download(self, path: str | None = None) -> Any:
        base_path, full_path, rel_path = self._normalize_path(path)
        if not self.is_accessible_path(rel_path) or not os.path.isfile(full_path):
            abort(404)
        self.on_file_download(full_path, rel_path)
        return super().download(path)

    def on_file_download(self, full_path: str, rel_path: str) -> None:
        """Called before a file is sent; the download is refused if this raises."""
        download_events.file_downloaded(
            user_id=getattr(current_user, "id", None),
            area=self.endpoint,
            relative_path=rel_path,
            size_bytes=os.path.getsize(full_path),
            ip=request.remote_addr,
        )
