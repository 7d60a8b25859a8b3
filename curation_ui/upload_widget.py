"""The pages' file inputs: Streamlit's uploader with facesift's bounds on names and sizes.

A name a browser could not send (a crafted client's ``x.exe``, ``noext``, ``..``)
or a file over the page's limit is refused in one ``st.error`` line; the page
stays usable. The gateway already refuses them before the app sees a byte; this
is the same rule for an app served without it (on loopback, no accounts).
"""

from __future__ import annotations

import streamlit as st
from streamlit.errors import StreamlitAPIException
from streamlit.runtime.uploaded_file_manager import UploadedFile

from core.errors import one_line
from curation_ui.uploads import MB, name_refusal, size_refusal


def file_input(
    label: str,
    *,
    types: frozenset[str],
    key: str,
    max_mb: int,
    multiple: bool = False,
    where=st,
) -> list[UploadedFile]:
    """The files chosen in an uploader (in ``where``: a column, the page) taking ``types``
    (extensions) up to ``max_mb`` each; refused ones are left out, each with its one line."""
    try:
        got = where.file_uploader(
            label,
            type=sorted(types),
            accept_multiple_files=multiple,
            key=key,
            max_upload_size=max_mb,
        )
    except StreamlitAPIException as e:  # Streamlit's own check of a crafted name
        st.error(one_line(f"refused upload: {e}"))
        return []
    files = got if isinstance(got, list) else [got] if got is not None else []
    kept = []
    for f in files:
        why = name_refusal(f.name, types) or size_refusal(f.name, f.size, max_mb * MB)
        if why:
            st.error(why)
        else:
            kept.append(f)
    return kept
