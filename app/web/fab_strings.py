"""FAB's and Flask-Admin's own strings that show on our pages, so our catalogue translates them (issue 17).

FAB's templates and security views call ``_()`` / ``lazy_gettext`` with their own English msgids; Flask-Babel
serves them from our ``translations/`` catalogue when it has them, but ``make extract-messages`` only finds
msgids written in our code. The ``N_`` markers below put them there ("List Groups", the delete confirmation,
"Detail", "Base Permissions", "Views/Menus", ...). Flask-Admin (``/admin``) translates with its own domain
and builds its page-size menu as "50 items"; ``install`` makes its templates ask our catalogue first.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, g
from flask_babel import gettext

from app.i18n import N_

FAB_MESSAGES = (
    N_("Are you sure you want to delete this item?"),
    N_("Actions"),
    N_("Add"),
    N_("Add Base Permission"),
    N_("Add Filter"),
    N_("Add Group"),
    N_("Add Permission on Views/Menus"),
    N_("Add Role"),
    N_("Add User"),
    N_("Add View Menu"),
    N_("Add a new record"),
    N_("Audit Info"),
    N_("Back"),
    N_("Base Permissions"),
    N_("Changed by"),
    N_("Changed on"),
    N_("Copy Role"),
    N_("Copy the selected roles?"),
    N_("Created by"),
    N_("Created on"),
    N_("Delete"),
    N_("Delete record"),
    N_("Detail"),
    N_("Edit"),
    N_("Edit Base Permission"),
    N_("Edit Group"),
    N_("Edit Permission on Views/Menus"),
    N_("Edit Role"),
    N_("Edit User"),
    N_("Edit User Information"),
    N_("Edit View Menu"),
    N_("Edit record"),
    N_("Failed login count"),
    N_("Full Name"),
    N_("Groups"),
    N_("Invalid login. Please try again."),
    N_("Is Active?"),
    N_("It's not a good policy to remove a user, just make it inactive"),
    N_("Last login"),
    N_("List Base Permissions"),
    N_("List Permissions on Views/Menus"),
    N_("List Roles"),
    N_("List Users"),
    N_("List View Menus"),
    N_("List of Registration Requests"),
    N_("Login"),
    N_("Login count"),
    N_("Logout"),
    N_("Name"),
    N_("No records found"),
    N_("Password Changed"),
    N_("Permission"),
    N_("Permission on Views/Menus"),
    N_("Permissions"),
    N_("Personal Info"),
    N_("Please rewrite the user's password to confirm"),
    N_("Record Count"),
    N_("Reset Password"),
    N_("Reset Password Form"),
    N_("Reset my password"),
    N_("Role"),
    N_("Save"),
    N_("Search"),
    N_("Security"),
    N_("Show"),
    N_("Show Base Permission"),
    N_("Show Group"),
    N_("Show Permission on Views/Menus"),
    N_("Show Registration"),
    N_("Show Role"),
    N_("Show User"),
    N_("Show View Menu"),
    N_("Show record"),
    N_("Sign In"),
    N_("The user's email, this will also be used for OID auth"),
    N_("The user's password for authentication"),
    N_("User Statistics"),
    N_("User confirmation needed"),
    N_("User info"),
    N_("User information changed"),
    N_("User's Statistics"),
    N_("User(s) exists in the group, cannot delete"),
    N_("User(s) exists in the role, cannot delete"),
    N_("Username valid for authentication on DB or LDAP, unused for OID auth"),
    N_("View/Menu"),
    N_("Views/Menus"),
    N_("Your user information"),
)

# Flask-Admin's page-size menu and its rows-per-page label (grids offer 20, 50 and 100 rows).
ADMIN_MESSAGES = (
    N_("items"),
    N_("20 items"),
    N_("50 items"),
    N_("100 items"),
)


def admin_gettext(string: str, **variables: Any) -> str:
    """Flask-Admin's ``_gettext``: our catalogue's translation if it has one, else Flask-Admin's own."""
    from flask_admin import babel as admin_babel

    ours = gettext(string, **variables)
    plain = string % variables if variables else string
    return ours if ours != plain else admin_babel.gettext(string, **variables)


def admin_ngettext(singular: str, plural: str, num: int, **variables: Any) -> str:
    """Flask-Admin's ``_ngettext``: the form it shows ("50 items") from our catalogue, else its own."""
    from flask_admin import babel as admin_babel

    chosen = singular if num == 1 else plural
    ours = gettext(chosen)
    return ours if ours != chosen else admin_babel.ngettext(singular, plural, num, **variables)


def install(app: Flask) -> None:
    """Give every Flask-Admin page our translating ``_gettext`` / ``_ngettext`` (its per-request template args)."""

    @app.before_request
    def _admin_translations() -> None:
        if "_admin_template_args" not in g:
            g._admin_template_args = {"_gettext": admin_gettext, "_ngettext": admin_ngettext}
