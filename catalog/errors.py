"""The base of every error facesift reports to a user as one line."""


class FacesiftError(Exception):
    """An error with a message fit to show as it is: bad input, not a bug."""
