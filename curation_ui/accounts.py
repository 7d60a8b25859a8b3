"""Review accounts: names, roles and salted password hashes in a private TOML file.

The file (``datasets/<dataset>/users.toml`` unless ``--auth FILE`` names another)
holds, per user, a role and an scrypt hash with its own random salt; a password
is never written anywhere. The file is replaced atomically and readable by its
owner only.
"""

from __future__ import annotations

import base64
import getpass
import hashlib
import hmac
import json
import os
import re
import secrets
import stat
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from core.contract import option
from core.errors import FacesiftError
from core.storage import write_atomic

AUTH_FILE = "users.toml"
SECRETS_FILE = Path(".streamlit") / "secrets.toml"  # where `st.login` reads its [auth] section
ROLES = ("annotator", "admin")
MIN_PASSWORD = 8
MAX_PASSWORD = 1024
# scrypt cost: 2**14 x 8 x 1 takes ~16 MB and ~50 ms, the interactive-login setting
# the scrypt paper and OWASP recommend; stored with each hash so it can be raised later.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,63}$")


class AccountError(FacesiftError, ValueError):
    """An account that cannot be added, read or removed as asked."""


@dataclass(frozen=True)
class Account:
    """One user of the review app."""

    name: str
    role: str  # "annotator" or "admin"
    password_hash: str  # "scrypt$N$r$p$salt$hash" (base64)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def auth_path(dataset_dir: Path, override: Path | None = None) -> Path:
    """Where a dataset's accounts live: ``override`` if given, else ``<dataset>/users.toml``."""
    return Path(override).expanduser() if override else Path(dataset_dir) / AUTH_FILE


def check_name(name: str) -> str:
    """A valid user name, or an AccountError saying what a name may hold."""
    if not _NAME.match(name or ""):
        raise AccountError(
            f"bad user name {name!r}: up to 64 letters, digits, '.', '_', '@', '+' or '-'"
        )
    return name


def check_password(password: str) -> str:
    """A password long enough (and not absurdly long), or an AccountError."""
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"a password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"a password has at most {MAX_PASSWORD} characters")
    return password


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """An scrypt hash of ``password`` with a fresh 16-byte salt, cost parameters included."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32
    )
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches a stored hash (constant-time comparison)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        want = base64.b64decode(digest, validate=True)
        got = hashlib.scrypt(
            password.encode("utf-8"),
            salt=base64.b64decode(salt, validate=True),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(want),
            maxmem=2**26,
        )
    except (ValueError, TypeError):  # a damaged hash never matches
        return False
    return hmac.compare_digest(got, want)


def load_accounts(path: Path) -> dict[str, Account]:
    """The accounts in ``path`` by name; none when the file does not exist."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise AccountError(f"cannot read the accounts file {path}: {e}") from None
    out: dict[str, Account] = {}
    for name, entry in (data.get("users") or {}).items():
        role = entry.get("role") if isinstance(entry, dict) else None
        pw = entry.get("password") if isinstance(entry, dict) else None
        if not _NAME.match(name) or role not in ROLES or not isinstance(pw, str):
            raise AccountError(f"accounts file {path}: bad entry for user {name!r}")
        out[name] = Account(name, role, pw)
    return out


def _toml(accounts: dict[str, Account]) -> str:
    lines = [
        "# facesift review accounts (facesift user add/list/remove).",
        "# Passwords are stored only as salted scrypt hashes.",
    ]
    for acc in sorted(accounts.values(), key=lambda a: a.name):
        # JSON strings of these ASCII values are valid TOML basic strings.
        lines += [
            "",
            f"[users.{json.dumps(acc.name)}]",
            f"role = {json.dumps(acc.role)}",
            f"password = {json.dumps(acc.password_hash)}",
        ]
    return "\n".join(lines) + "\n"


def save_accounts(path: Path, accounts: dict[str, Account]) -> None:
    """Replace the accounts file atomically, readable and writable by its owner only."""
    path = Path(path)
    write_atomic(path, _toml(accounts).encode("utf-8"))  # mkstemp creates it 0600
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)


def add_user(path: Path, name: str, password: str, *, admin: bool = False) -> tuple[Account, bool]:
    """Add a user, or set a new password and role for an existing one; (account, was it new)."""
    name = check_name(name)
    check_password(password)
    accounts = load_accounts(path)
    new = name not in accounts
    acc = Account(name, "admin" if admin else "annotator", hash_password(password))
    save_accounts(path, {**accounts, name: acc})
    return acc, new


def remove_user(path: Path, name: str) -> Account:
    """Remove a user (their past label events stay under their name)."""
    accounts = load_accounts(path)
    if name not in accounts:
        raise AccountError(f"no user {name!r} in {path}")
    acc = accounts.pop(name)
    save_accounts(path, accounts)
    return acc


def authenticate(accounts: dict[str, Account], name: str, password: str) -> Account | None:
    """The account when ``password`` is right for ``name``; None otherwise.

    An unknown name still costs one scrypt, so the answer time does not tell
    which names exist.
    """
    acc = accounts.get((name or "").strip())
    if acc is None:
        verify_password(password, _DUMMY_HASH)
        return None
    return acc if verify_password(password, acc.password_hash) else None


_DUMMY_HASH = hash_password("facesift-no-such-user", salt=b"\0" * 16)


def read_password(name: str, *, from_stdin: bool) -> str:
    """A new password: the first line of stdin, or typed twice at a terminal prompt."""
    if from_stdin:
        return check_password(sys.stdin.readline().rstrip("\r\n"))
    if not sys.stdin.isatty():
        raise AccountError("no terminal to ask for the password: pipe it in with --password-stdin")
    first = getpass.getpass(f"password for {name}: ")
    check_password(first)
    if getpass.getpass("the same password again: ") != first:
        raise AccountError("the two passwords differ; nothing was changed")
    return first


def oidc_provider(auth: Mapping | None) -> str | None:
    """The provider ``st.login`` should use for an ``[auth]`` secrets section, or None.

    Streamlit needs ``redirect_uri`` and ``cookie_secret``, then either a default
    provider (``client_id`` and ``server_metadata_url`` in the section itself) or a
    named sub-section holding them.
    """
    if not auth or not auth.get("redirect_uri") or not auth.get("cookie_secret"):
        return None
    if auth.get("client_id") and auth.get("server_metadata_url"):
        return "default"
    for name, sub in auth.items():
        if isinstance(sub, Mapping) and sub.get("client_id") and sub.get("server_metadata_url"):
            return str(name)
    return None


def secrets_auth(files: list[Path] | None = None) -> dict | None:
    """The ``[auth]`` section Streamlit would read (``~/.streamlit`` then ``./.streamlit``)."""
    found: dict = {}
    for path in files or [Path.home() / ".streamlit" / "secrets.toml", SECRETS_FILE]:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            continue  # absent or unreadable: Streamlit would not use it either
        if isinstance(data.get("auth"), dict):
            found.update(data["auth"])
    return found or None


# --- `facesift user ...` options ------------------------------------------------


@dataclass(frozen=True)
class AuthFileOptions:
    """Which accounts file a ``facesift user`` command works on."""

    auth: Path | None = option(
        None, help="accounts file (default: the dataset's users.toml)", metavar="FILE"
    )


@dataclass(frozen=True)
class UserAddOptions(AuthFileOptions):
    """``facesift user add NAME``."""

    name: str = option(
        "",
        help="user name (the annotator name on their labels)",
        positional=True,
        metavar="NAME",
        show_default=False,
    )
    admin: bool = option(False, help="may also import, export, take down and manage the model")
    password_stdin: bool = option(
        False, help="read the password from the first line of standard input (no prompt)"
    )


@dataclass(frozen=True)
class UserRemoveOptions(AuthFileOptions):
    """``facesift user remove NAME``."""

    name: str = option("", help="user name", positional=True, metavar="NAME", show_default=False)
