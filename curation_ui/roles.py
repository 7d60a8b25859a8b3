"""Roles: annotators label, reject, undo and see stats; admins also import, export,
take down and manage the model. The table lives in ``roles.toml``."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from core.errors import FacesiftError

ROLES_FILE = Path(__file__).with_name("roles.toml")


class PermissionRefused(FacesiftError, PermissionError):
    """A user asked for something their role does not allow."""


@dataclass(frozen=True)
class User:
    """Who is using this session: the name every label event carries, and their role."""

    name: str
    role: str  # "annotator" or "admin"


@cache
def _table() -> tuple[dict[str, frozenset[str]], dict[str, str]]:
    data = tomllib.loads(ROLES_FILE.read_text(encoding="utf-8"))
    roles = {role: frozenset(perms) for role, perms in data["roles"].items()}
    return roles, dict(data["pages"])


def allowed(role: str, permission: str) -> bool:
    """Whether ``role`` may do ``permission`` (unknown roles may do nothing)."""
    return permission in _table()[0].get(role, frozenset())


def page_permission(page: str) -> str | None:
    """The permission a page needs; None for pages the table does not name (admins only)."""
    return _table()[1].get(page)


def may_see(role: str, page: str) -> bool:
    """Whether ``role`` is shown (and may run) the page ``page``."""
    perm = page_permission(page)
    return role == "admin" if perm is None else allowed(role, perm)


def require(user: User, permission: str) -> None:
    """Raise PermissionRefused unless ``user``'s role allows ``permission``."""
    if not allowed(user.role, permission):
        raise PermissionRefused(
            f"{user.name} ({user.role}) may not {permission}: ask an admin of this dataset"
        )


def import_path_inside(path: str | Path, root: str | Path | None) -> Path:
    """The resolved server path to import, refused unless it lies inside ``root``.

    ``root`` is ``facesift review --import-root``; without it no server path may be
    imported (only uploads). Symlinks are resolved first, so a link inside the
    root that points outside it is refused too; a relative path is taken under it.
    """
    if root is None:
        raise PermissionRefused(
            "importing a folder on the server needs `facesift review --import-root DIR`; "
            "upload the files instead"
        )
    return _inside(path, root, "import root")


def export_path_inside(path: str | Path, root: str | Path | None) -> Path:
    """The resolved export destination, refused unless it lies inside ``root``.

    ``root`` is ``facesift review --export-root``; without it any folder the app's
    user may write is allowed (the app on one's own machine). As for imports, symlinks
    and ``..`` are resolved first and a relative path is taken under the root.
    """
    if root is None:
        return Path(path).expanduser()
    return _inside(path, root, "export root")


def _inside(path: str | Path, root: str | Path, name: str) -> Path:
    base = Path(root).expanduser().resolve()
    p = Path(path).expanduser()
    p = (p if p.is_absolute() else base / p).resolve()
    if not p.is_relative_to(base):
        raise PermissionRefused(f"{str(path)!r} is outside the {name} {base}")
    return p
