"""The export stage: training-ready datasets with honest splits, a manifest and a card.

Use from code (the CLI and the review app do)::

    from exporter.options import ExportOptions
    from exporter.stage import export, prepare

    preview = prepare(cat, ExportOptions(out=path, format="hf"))  # counts, writes nothing
    result = export(cat, ExportOptions(out=path, format="hf"), on_progress=callback)
    result.counts, result.left_out, result.leakage, result.card

Errors meant for users are :class:`exporter.options.ExportError` (one line).
"""
