"""Streamlit's own command line, in a process that ends with the facesift that started it.

``facesift review`` runs the app as ``python -m curation_ui.streamlit_child run APP ...``
instead of ``python -m streamlit run APP ...``: the server first arms the kernel's
parent-death signal (SIGTERM, so Streamlit shuts down as on a stop signal), so a
SIGKILLed facesift does not leave it serving. Armed here, in the server's own process,
rather than in a ``preexec_fn``, which is not safe in a parent that runs threads.
"""

from __future__ import annotations

import signal

from core.processes import die_with_parent


def main() -> None:
    """Arm the parent-death signal, then run Streamlit's command line."""
    die_with_parent(signal.SIGTERM)
    from streamlit.web.cli import main as streamlit_main

    streamlit_main(prog_name="streamlit")


if __name__ == "__main__":
    main()
