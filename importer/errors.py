"""Errors an import reports to the user as one line."""

from core.errors import FacesiftError


class ImportRefused(FacesiftError, ValueError):
    """An import that cannot start: a missing path, a wrong option, an unreadable file."""
