"""What the route tests know about FAB's own views."""

from __future__ import annotations

FAB_SECURITY_VIEWS = {
    "UserDBModelView",
    "RoleModelView",
    "UserGroupModelView",
    "PermissionModelView",
    "ViewMenuModelView",
    "PermissionViewModelView",
    "ResetPasswordView",
    "MenuApi",
}
