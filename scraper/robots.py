"""X-Robots-Tag opt-outs: the image's server says not to use it for AI or indexing."""

from __future__ import annotations

from collections.abc import Iterable

OPT_OUT_DIRECTIVES = frozenset({"noai", "noimageai", "noindex", "noimageindex", "none"})
# Directives whose value contains a colon and must not be read as a user-agent scope.
_VALUED = ("unavailable_after", "max-snippet", "max-image-preview", "max-video-preview")


def opted_out(header_values: Iterable[str], ua_token: str) -> str | None:
    """The opt-out directive that applies to us, or None.

    Each value is one ``X-Robots-Tag`` header: ``noai, noindex`` applies to every
    crawler; ``googlebot: noindex`` only to Google's; ``facesift: noai`` to us.
    A scope lasts until the next ``name:`` in the same header.
    """
    ua = ua_token.lower()
    for value in header_values:
        scope: str | None = None
        for raw in value.split(","):
            token = raw.strip().lower()
            if not token:
                continue
            if ":" in token and not token.startswith(_VALUED):
                name, _, rest = token.partition(":")
                if name.strip() and " " not in name.strip():
                    scope, token = name.strip(), rest.strip()
            if scope not in (None, ua, "*"):
                continue
            for word in token.split():
                if word in OPT_OUT_DIRECTIVES:
                    return word
    return None
